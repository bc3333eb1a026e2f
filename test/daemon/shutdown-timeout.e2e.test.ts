/**
 * What --shutdown-timeout cut off, in words and exit status (docs/daemon.md#shutdown): steps
 * still running are cut off (false: the command exits 1); a run whose steps had all finished,
 * cut off while it wrote its record, is said to be so (true: exit 0). Deterministic: the control
 * plane parks the call the test names until the test lets it go, so the timeout always fires.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { cleanup } from '../support/cleanup.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';

/**
 * `cp` whose call `park` (`part.method`) parks, once `after` (another call) has answered, until
 * `release()`: the run is held exactly there.
 */
function parking(cp: ControlPlane, park: string, after?: string) {
  let parked = () => {};
  const state = {
    parked: new Promise<void>((resolve) => (parked = resolve)),
    release: () => {},
  };
  const released = new Promise<void>((resolve) => (state.release = resolve));
  let ready = after === undefined;
  const methods = (part: string, target: object) =>
    new Proxy(target, {
      get: (t, key) => {
        const value: unknown = Reflect.get(t, key);
        if (typeof value !== 'function') return value;
        const call = `${part}.${String(key)}`;
        return async (...args: unknown[]) => {
          if (call === park && ready) {
            parked();
            await released;
          }
          const answer: unknown = await value.apply(t, args);
          if (call === after) ready = true;
          return answer;
        };
      },
    });
  const parts = new Set([park, after].map((c) => c?.split('.')[0]));
  const proxied = new Proxy(cp, {
    get: (t, key) => {
      const value: unknown = Reflect.get(t, key);
      if (parts.has(String(key))) return methods(String(key), value as object);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
  return { cp: proxied, state };
}

/** A daemon watching the fixture's folder, its first run parked as `park` says, then stopped. */
async function stoppedWhileParked(park: string, after?: string) {
  const folder = join(tempDir(), 'repo');
  for (const [path, content] of Object.entries(manifests())) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
  const embedded = await EmbeddedControlPlane.open({ path: null });
  cleanup.add(() => embedded.close());
  const { cp, state } = parking(embedded, park, after);
  const h = await startTestDaemon({
    cp,
    flags: { watch: folder, 'watch-debounce': '1h', 'shutdown-timeout': '10ms' },
  });
  cleanup.add(h.stop);
  await state.parked;
  const stepsNotCut = await h.daemon.stop();
  // Let the run end before the folders go.
  state.release();
  await h.daemon.firstRun;
  const warned = h.logs
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level === 40 && l.msg.startsWith('shutdown timeout'))
    .map((l) => l.msg);
  return { stepsNotCut, warned, embedded };
}

describe('a shutdown that times out names what it cut off', () => {
  it('steps still running: said so, and false (exit 1)', async () => {
    const { stepsNotCut, warned } = await stoppedWhileParked('queues.createQueue');
    expect(warned).toEqual([
      'shutdown timeout (10ms, --shutdown-timeout): steps were still running and were cut off; the next start converges from the live state',
    ]);
    expect(stepsNotCut).toBe(false);
  });

  it('every step done, the inventory being recorded: not said to be steps, and true (exit 0)', async () => {
    const { stepsNotCut, warned, embedded } = await stoppedWhileParked(
      'inventory.readInventory',
      'queues.createQueue',
    );
    expect(warned).toEqual([
      "shutdown timeout (10ms, --shutdown-timeout): no step was running; writing the run's record (inventory, history) was cut off",
    ]);
    expect(stepsNotCut).toBe(true);
    expect((await embedded.listQueues()).map((q) => q.name)).toContain('batch');
  });

  it('every step done, the apply lock being released: said so, and true (exit 0)', async () => {
    const { stepsNotCut, warned } = await stoppedWhileParked('applyLock.releaseApplyLock');
    expect(warned).toEqual([
      'shutdown timeout (10ms, --shutdown-timeout): no step was running; releasing the apply lock was cut off (it lapses by itself)',
    ]);
    expect(stepsNotCut).toBe(true);
  });
});
