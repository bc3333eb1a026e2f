/**
 * Which default-queue settings a plan reads (src/plan/fingerprint.ts): the declared ones; with
 * prune, the inventory's too, or every one when prune may delete settings poolsync did not
 * apply; every one again when the plan drains, deletes or moves a queue.
 */
import { describe, expect, it } from 'vitest';
import type { DesiredState } from '../../src/model/desired.js';
import type { Plan } from '../../src/model/plan.js';
import { needsEverySetting, settingsNeed } from '../../src/plan/fingerprint.js';

const ML_DEV = { project: 'ml', domain: 'development', queue: 'web' };

function desired(config: Partial<DesiredState['config']>): DesiredState {
  return { default_queues: [ML_DEV], config } as unknown as DesiredState;
}

describe('settingsNeed', () => {
  it('prune off: the declared project/domains only, whatever the inventory holds', () => {
    const need = settingsNeed(desired({ prune: false }));
    expect(need(null)).toEqual([{ project: 'ml', domain: 'development' }]);
    expect(need(['DefaultQueue/ops/prod'])).toEqual([{ project: 'ml', domain: 'development' }]);
  });

  it('prune with an inventory: the declared ones and those it lists', () => {
    const need = settingsNeed(desired({ prune: true, declared_kinds: ['DefaultQueue'] }));
    expect(need(['DefaultQueue/ops/prod', 'Queue/web', 'DefaultQueue/ml/development'])).toEqual([
      { project: 'ml', domain: 'development' },
      { project: 'ops', domain: 'prod' },
    ]);
  });

  it('prune that may delete any setting: every one', () => {
    // The inventory not read (a state built in-process): the declared kinds rule (prune-scope.ts).
    const declared = settingsNeed(desired({ prune: true, declared_kinds: ['DefaultQueue'] }));
    expect(declared(undefined)).toBe('all');
    // None recorded yet: prune deletes no setting poolsync did not apply, so the declared ones.
    expect(declared(null)).toEqual([{ project: 'ml', domain: 'development' }]);
    // `manage:` claims the kind whole.
    const claimed = settingsNeed(desired({ prune: true, manage: ['DefaultQueue'] }));
    expect(claimed([])).toBe('all');
    // `manage:` without it: the inventory's only.
    const queues = settingsNeed(desired({ prune: true, manage: ['Queue'] }));
    expect(queues(null)).toEqual([{ project: 'ml', domain: 'development' }]);
  });
});

describe('needsEverySetting', () => {
  const plan = (ops: string[], read = true) =>
    ({
      steps: ops.map((op) => ({ op })),
      ...(read ? { default_queues_read: [] } : {}),
    }) as unknown as Plan;

  it('a plan made with some settings that drains, deletes or moves a queue or cluster', () => {
    for (const op of [
      'drain_queue',
      'delete_queue',
      'move_queue',
      'delete_cluster',
      'move_cluster',
    ])
      expect(needsEverySetting(plan(['create_queue', op]))).toBe(true);
    expect(needsEverySetting(plan(['create_queue', 'update_queue', 'set_default_queue']))).toBe(
      false,
    );
    // Made with every setting already.
    expect(needsEverySetting(plan(['drain_queue'], false))).toBe(false);
  });
});
