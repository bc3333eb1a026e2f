/**
 * A daemon whose policies come from poolsync.yaml alone, without OPA: each run fails closed,
 * naming poolsync.yaml's line, not a `--policies` the daemon was never given.
 */
import { describe, expect, it } from 'vitest';
import { unitPolicies } from '../../src/daemon/stages/policies.js';
import type { DaemonConfig } from '../../src/daemon/config.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { Plan } from '../../src/model/plan.js';
import { tempFolder } from '../support/temp-folder.js';

describe('the daemon’s policy stage without OPA', () => {
  it('names poolsync.yaml’s policies.path at its line', async () => {
    const config = { policies: undefined, source: { kind: 'watch' } } as unknown as DaemonConfig;
    const { follow, run } = unitPolicies(config, {
      PATH: '/nonexistent',
      HOME: tempFolder('home-'),
      XDG_CACHE_HOME: tempFolder('cache-'),
    });
    const desired = {
      config: { policies: { path: 'pol', owners: [], line: 4 } },
    } as unknown as DesiredState;
    follow(desired, '/repo');
    const report = await run({} as Plan, desired);
    expect(report?.error).toMatch(
      /^poolsync\.yaml:4: policies\.path 'pol' needs the Open Policy Agent and none was found/,
    );
  });

  it('fails a pull request’s plan closed until a run has loaded the followed branch', async () => {
    const config = { source: { kind: 'git', branch: 'main' } } as unknown as DaemonConfig;
    const { follow, pullRequest } = unitPolicies(config, {});
    const report = await pullRequest({} as Plan, {} as DesiredState, 'feature');
    expect(report?.error).toMatch(
      /^no valid commit of branch main was loaded since the daemon started .*: this plan fails closed/,
    );
    follow({ config: {} } as DesiredState, '/repo');
    expect(await pullRequest({} as Plan, {} as DesiredState, 'feature')).toBeNull();
  });
});
