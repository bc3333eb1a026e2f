/**
 * What only a process shows (issue 78): `plan`, `state list` and `export` against a control
 * plane whose certificate names another host ended with Node's exit 13 ("unsettled top-level
 * await") and printed nothing. As a user runs them, the test CA trusted the way a user trusts
 * one (NODE_EXTRA_CA_CERTS); and a `main` that never settles (fixtures/never-settles) is said
 * in one line, exit 1, whatever the cause. The in-process matrix is transport-errors.test.ts.
 */
import { spawn } from 'node:child_process';
import module from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokenEndpoint } from '../support/broken-endpoints.js';
import { REPO_ROOT } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

/** `poolsync ARGS` as a process, with `preload` after tsx; its exit code and output. */
function poolsync(args: string[], env: Record<string, string>, preload: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload, MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: tempFolder('poolsync-home-'), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('a process never ends silently (exit 13)', () => {
  it('plan, state list and export against a certificate for another name: exit 1, one line', async () => {
    const url = await brokenEndpoint('wrongName');
    const env = { NODE_EXTRA_CA_CERTS: join(REPO_ROOT, 'test/fixtures/tls/ca.pem') };
    const runs = await Promise.all(
      [
        ['plan', 'examples/config-repo'],
        ['state', 'list', 'examples/config-repo'],
        ['export', '--dir', tempFolder('poolsync-export-')],
      ].map((args) => poolsync([...args, '--control-plane', url], env)),
    );
    for (const r of runs) {
      expect(r.stderr).not.toMatch(/unsettled top-level await/);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(
        /^Error: control plane: UNAVAILABLE: GET https:\/\/127\.0\.0\.1:\d+\/v1\/\S+: cannot reach the control plane: the TLS certificate of https:\/\/127\.0\.0\.1:\d+ is not for 127\.0\.0\.1 \(it names DNS:other\.example\) \(ERR_TLS_CERT_ALTNAME_INVALID, 1 attempt\); use the host name the certificate is for in --control-plane/,
      );
    }
  });

  it('a command left waiting on what never finishes says so: exit 1, one line', async (t) => {
    // The fixture swaps main's module by a resolve hook: module.registerHooks (Node ≥ 22.15).
    if (!(module as { registerHooks?: unknown }).registerHooks)
      return t.skip(`Node ${process.version} has no module.registerHooks for the fixture's hook`);
    const hook = join(REPO_ROOT, 'test/fixtures/never-settles/hook.mjs');
    const r = await poolsync(['plan', 'examples/config-repo'], {}, ['--import', hook]);
    expect(r.stderr).not.toMatch(/unsettled top-level await/);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(
      'Internal error (please report it): poolsync was left waiting on work that can never finish, and stopped.\n',
    );
  });
});
