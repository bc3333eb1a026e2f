/**
 * Pairs (group, value) of small integers grouped by group, in two flat arrays: the values of
 * group g are `values[start[g] .. start[g + 1])`, in the order given (a counting sort). A list
 * per group was megabytes at 100,000 steps (issue 63): the step graph's dependencies
 * (src/plan/graph.ts) and the executor's dependents (src/apply/executor.ts).
 *
 * `pairs` calls `add` once per pair, and is called twice (to count, then to place), so the
 * pairs need not be held in arrays of their own.
 */
export function grouped(
  groups: number,
  pairs: (add: (group: number, value: number) => void) => void,
): { start: Int32Array; values: Int32Array } {
  const start = new Int32Array(groups + 1);
  pairs((group) => start[group + 1]!++);
  for (let g = 0; g < groups; g++) start[g + 1]! += start[g]!;
  const values = new Int32Array(start[groups]!);
  const next = start.slice(0, groups);
  pairs((group, value) => (values[next[group]!++] = value));
  return { start, values };
}
