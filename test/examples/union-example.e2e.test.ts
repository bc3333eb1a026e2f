/**
 * The bundled example (examples/config-repo) against the Union stand-in with Union's capability
 * set (issue 46, "Done when"), through the CLI as a user runs it. Without its PoolAssignments:
 * apply exits 0 and the next plan has no step (its disabled prod-eu-west-1 is drained before
 * eu-residency pins it: remote/_cluster.py:363-365). With them: Union v2 has no pool
 * assignments (a DefaultQueue per project/domain replaced them), so the plan is refused with
 * BACKEND_KIND naming each document, and nothing is applied; poolsync does not drop a user's
 * documents silently.
 */
import { execFile } from 'node:child_process';
import { cp as copy, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { cliFromSource } from '../helpers/cli-from-source.js';
import { tempDir } from '../apply/helpers/repo.js';
import { apiKey, startUnionServer, type UnionServer } from '../controlplane/union/helpers.js';

const run = promisify(execFile);
let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function poolsync(server: UnionServer, ...args: string[]) {
  try {
    const r = await run(
      process.execPath,
      cliFromSource(...args, '--control-plane', server.url('connect')),
      {
        env: { ...process.env, POOLSYNC_UNION_API_KEY: apiKey(server.host), NO_COLOR: '1' },
      },
    );
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('examples/config-repo against the Union stand-in', () => {
  it('without its PoolAssignments: apply exits 0, the next plan has nothing to do', async () => {
    s = await startUnionServer();
    const dir = join(await tempDir('poolsync-union-example-'), 'repo');
    await copy('examples/config-repo', dir, { recursive: true });
    await rm(join(dir, 'assignments'), { recursive: true });
    const applied = await poolsync(s, 'apply', dir, '--auto-approve');
    expect(applied.code, applied.out).toBe(0);
    expect(applied.out).toContain('Apply complete');
    const again = await poolsync(s, 'plan', dir, '--detailed-exitcode');
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('No changes');
    expect((await s.embedded.getCluster('prod-eu-west-1')).enabled).toBe(false);
  }, 120_000);

  it('with them: refused before anything is sent (BACKEND_KIND), exit 1', async () => {
    s = await startUnionServer();
    const dir = join(await tempDir('poolsync-union-example-'), 'repo');
    await copy('examples/config-repo', dir, { recursive: true });
    const applied = await poolsync(s, 'apply', dir, '--auto-approve');
    expect(applied.code).toBe(1);
    expect(applied.out).toContain('BACKEND_KIND');
    expect(applied.out).toContain('the union backend cannot manage PoolAssignment');
    expect((await s.embedded.listClusters()).length).toBe(0);
  }, 120_000);
});
