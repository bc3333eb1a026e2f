/**
 * A clock that moves only when slept on (RetryTuning.clock): waits of an hour take no time, and
 * the test reads every wait the client made. Share `now` with the forge (`forge.now`).
 */
export function fakeClock(start = Date.parse('2026-03-02T10:00:00Z')) {
  let t = start;
  const waits: number[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => {
      waits.push(ms);
      t += ms;
      return Promise.resolve();
    },
    waits,
  };
}
