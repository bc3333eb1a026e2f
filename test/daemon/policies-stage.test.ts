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
    const { run } = unitPolicies(config, {
      PATH: '/nonexistent',
      HOME: tempFolder('home-'),
      XDG_CACHE_HOME: tempFolder('cache-'),
    });
    const desired = {
      config: { policies: { path: 'pol', owners: [], line: 4 } },
    } as unknown as DesiredState;
    const report = await run({} as Plan, desired, '/repo');
    expect(report?.error).toMatch(
      /^poolsync\.yaml:4: policies\.path 'pol' needs the Open Policy Agent and none was found/,
    );
  });
});
