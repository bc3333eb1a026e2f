/**
 * flyteadmin before v1.13.0 has no GetDomains (`GET /api/v1/domains`, flyteorg/flyte #5443):
 * its gateway answers NotFound. poolsync then takes the domains every project of ListProjects
 * carries, so a plan against v1.12 works and still refuses a domain flyteadmin does not have.
 * Run against the real v1.12.0 and v1.13.0 and the stand-in with and without the route.
 */
import { whyText } from '../../src/render/common.js';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { exampleRepo } from './helpers.js';
import { FLYTEADMIN_WITHOUT_DOMAINS, flyteadminBinaries } from './real/binaries.js';
import { flyteadminTargets, type FlyteadminUnderTest } from './targets.js';

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('flyteadmin $name: domains', (target) => {
  for (const getDomains of [true, false]) {
    describe(getDomains ? 'with GetDomains (v1.13+)' : 'without GetDomains (before v1.13)', () => {
      let fa: FlyteadminUnderTest | undefined;
      let cp: ControlPlane | undefined;
      let repo: Awaited<ReturnType<typeof exampleRepo>> | undefined;
      beforeEach(({ skip }) => {
        if (target.missing) skip(target.missing);
        if (
          target.name !== 'stand-in' &&
          !getDomains &&
          !flyteadminBinaries(FLYTEADMIN_WITHOUT_DOMAINS)
        )
          skip(`no ${FLYTEADMIN_WITHOUT_DOMAINS}: run scripts/flyte-go.sh`);
      });
      afterEach(async () => {
        await cp?.close();
        await fa?.close();
        await repo?.cleanup();
      });

      it('the plan reads the domains and refuses one flyteadmin does not have', async () => {
        fa = await target.start({ domains: ['development', 'staging'], getDomains });
        const route = await fa.call('GET', '/api/v1/domains');
        expect([route.status, route.json['code']]).toEqual(
          getDomains ? [200, undefined] : [404, 5],
        );
        repo = await exampleRepo('flyte-oss');
        cp = await openControlPlane(fa.url, { env: process.env });
        expect((await readLiveState(cp)).flyteadmin?.domains).toEqual(['development', 'staging']);
        const r = await planRepository(repo.dir, cp);
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        const blocked = r.plan.changes.filter((c) => c.action === 'blocked');
        expect(blocked.map((c) => [c.address, whyText(c)])).toEqual([
          [
            'ExecutionClusterLabel/team1/production',
            "domain 'production' is not one of flyteadmin's domains (development, staging), which refuses its attributes: correct the domain",
          ],
        ]);
        expect((await executePlan(r.plan, cp)).ok).toBe(true);
        expect(await fa.rows('EXECUTION_CLUSTER_LABEL')).toHaveLength(3);
      });
    });
  }
});
