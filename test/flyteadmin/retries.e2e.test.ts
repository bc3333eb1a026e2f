/**
 * Retries through the cutting proxy (test/support/cutting-proxy.ts) in front of the real
 * flyteadmin: every other answer is cut or reset after its headers, after flyteadmin has done
 * the call. poolsync's reads and its writes (PUT and DELETE of matchable attributes, which
 * flyteadmin applies as CreateOrUpdate and a struct-condition delete: the same again is the same
 * state) are retried, so plan → apply → plan ends with nothing to do, as without the cuts.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { executePlan } from '../../src/apply/executor.js';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import type { Plan } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { startCuttingProxy, type CutMode } from '../support/cutting-proxy.js';
import { exampleRepo } from './helpers.js';
import { realMissing } from './real/binaries.js';
import { RealFlyteadmins } from './real/server.js';

const real = new RealFlyteadmins();
afterAll(() => real.close());
describe('the flyteadmin client through cut answers of the real flyteadmin', () => {
  beforeEach(({ skip }) => {
    if (realMissing) skip(realMissing);
  });

  it.each(['cut', 'reset'] as const)(
    'every other answer %s: plan, apply with prune, plan again: nothing to do',
    async (mode: CutMode) => {
      const fa = await real.start({ projects: ['flytesnacks', 'project1', 'team1'] });
      cleanup.add(() => fa.close());
      const proxy = await startCuttingProxy(fa.httpUrl, (n) => (n % 2 === 1 ? mode : 'pass'));
      cleanup.add(() => proxy.close());
      const repo = await exampleRepo('flyte-oss');
      cleanup.add(repo.cleanup);
      const cp: ControlPlane = new FlyteadminControlPlane(proxy.url, {
        minRetryDelayMs: 1,
        maxRetryDelayMs: 5,
      });
      cleanup.add(() => cp.close());
      const plan = async (): Promise<Plan> => {
        const r = await planRepository(repo.dir, cp);
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        return r.plan;
      };
      // A label set by hand, which prune deletes: a DELETE through the cuts too.
      const put = await fa.probe('insert-row', [
        '-project',
        'flytesnacks',
        '-domain',
        'development',
        '-value',
        'label1',
      ]);
      expect(put).toBe('');
      const { readFile, writeFile } = await import('node:fs/promises');
      const config = `${repo.dir}/poolsync.yaml`;
      await writeFile(
        config,
        (await readFile(config, 'utf8')).replace('prune: false', 'prune: true'),
      );
      const first = await plan();
      expect(first.steps.map((s) => s.op).sort()).toEqual([
        'delete_execution_cluster_label',
        ...Array(4).fill('set_execution_cluster_label'),
      ]);
      expect((await executePlan(first, cp)).ok).toBe(true);
      expect((await plan()).steps).toEqual([]);
      expect(proxy.counts.cut).toBeGreaterThan(4);
    },
  );
});
