/**
 * Label weights as flyteadmin uses them (flytestdlib/random/weighted_random_list.go): relative,
 * 0 skips a cluster, all 0 share equally. The plan warns when a label's weights do not sum to 1,
 * saying what each cluster gets.
 */
import { warningText } from '../../src/render/common.js';
import { warningDocument } from '../../src/render/json.js';
import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import { computePlan } from '../../src/plan/index.js';

const at = { file: 'l.yaml', line: 1, column: 1 };
function plan(weights: [string, number][]) {
  const desired: DesiredState = {
    pools: [],
    clusters: [],
    queues: [],
    assignments: [],
    cluster_labels: [
      {
        name: 'gpu',
        clusters: weights.map(([cluster, weight]) => ({ cluster, weight })),
        annotations: {},
        source: at,
      },
    ],
    config: { prune: false, ignore: [] },
    commit: null,
  };
  return computePlan(desired, {
    pools: [],
    clusters: [],
    queues: [],
    assignments: [],
    capabilities: { ...BASELINE_CAPABILITIES },
  });
}

describe('LABEL_WEIGHTS_RELATIVE', () => {
  it('explains relative weights when they do not sum to 1', () => {
    expect(
      plan([
        ['a', 0.5],
        ['b', 0.5],
      ]).warnings,
    ).toEqual([]);
    // float32 rounding of 0.1 + 0.2 + 0.7 is within the tolerance.
    expect(
      plan([
        ['a', 0.1],
        ['b', 0.2],
        ['c', 0.7],
      ]).warnings,
    ).toEqual([]);
    expect(
      plan([
        ['a', 1],
        ['b', 0.6],
      ]).warnings.map((w) => warningDocument(w)),
    ).toEqual([
      {
        code: 'LABEL_WEIGHTS_RELATIVE',
        address: 'ClusterLabel/gpu',
        message:
          "the weights of label 'gpu' sum to 1.6, not 1: flyteadmin treats them as relative (each cluster gets weight / sum of the weights; 0 skips a cluster): 'a' 62.5%, 'b' 37.5%",
      },
    ]);
    expect(
      warningText(
        plan([
          ['a', 0],
          ['b', 0],
        ]).warnings[0]!,
      ),
    ).toContain('every weight is 0, so flyteadmin gives each cluster an equal share');
    expect(
      plan([
        ['a', 0],
        ['b', 1],
      ]).warnings,
    ).toEqual([]);
  });
});
