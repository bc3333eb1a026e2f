/**
 * A poolsync daemon's address given to --control-plane is recognised by its 404 (the endpoints it
 * lists) and named, with the address of the control plane it serves, if any (docs/daemon.md
 * "Drift by hand"), as --daemon recognises a control plane's (src/cli/commands/daemon-client.ts).
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startOwnTestDaemon } from '../daemon/harness.js';
import { cleanup } from '../support/cleanup.js';
import { runCli } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/config-repo');
const ADMIN_TOKEN = 'an-admin-token-long-enough-for-the-daemon';

/** A daemon watching a copy of the example (serving its control plane as the quickstart does, or not). */
async function daemonOn(serveControlPlane: boolean) {
  const work = tempFolder('poolsync-daemon-address-');
  cpSync(EXAMPLE, join(work, 'repo'), { recursive: true });
  const t = await startOwnTestDaemon({
    flags: { watch: join(work, 'repo') },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN },
    deps: { serveControlPlane },
  });
  cleanup.add(t.stop);
  await t.daemon.firstRun;
  return { work, url: t.daemon.url };
}

describe('--control-plane naming a poolsync daemon', () => {
  it('says so and gives the address of the control plane it serves, which plans with its admin token', async () => {
    const { work, url } = await daemonOn(true);
    const wrong = await runCli(['plan', 'repo', '--control-plane', url], {}, work);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      `Error: control plane: NOT_FOUND: GET ${url}/v1/capabilities answered HTTP 404: ${url} is a poolsync daemon (its address is for --daemon), not a control-plane API; it serves its embedded control plane at ${url}/control-plane: use --control-plane ${url}/control-plane with the daemon's admin token (--token-file .poolsync/admin-token in the quickstart's folder, or POOLSYNC_TOKEN)\n`,
    );
    writeFileSync(join(work, 'admin-token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
    const advised = ['--control-plane', `${url}/control-plane`, '--token-file', 'admin-token'];
    const right = await runCli(['plan', 'repo', ...advised], {}, work);
    expect(right.stderr).toBe('');
    expect(right.code).toBe(0);
    expect(right.stdout).toContain('No changes.');
  }, 120_000);

  it('of a daemon that serves no control plane, says to give the one it reconciles', async () => {
    const { work, url } = await daemonOn(false);
    const wrong = await runCli(['plan', 'repo', '--control-plane', url], {}, work);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `${url} is a poolsync daemon (its address is for --daemon), not a control-plane API, and this daemon serves none`,
    );
    expect(wrong.stderr).not.toContain('/control-plane ');
  }, 120_000);
});
