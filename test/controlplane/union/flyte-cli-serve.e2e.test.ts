/**
 * Union's own `flyte` CLI against `poolsync control-plane serve` as a user runs both (child
 * processes), the exact ways docs/union.md ("Union's CLI against `control-plane serve`") gives:
 * flags, and a flyte config file. The CLI sends no token over plain HTTP (`--insecure`, flyte
 * remote/_client/auth/_session.py), so serve refuses it unless started with
 * `--union-accept-unauthenticated`, which only a loopback --listen may use.
 * Skipped, saying why, without the venv (scripts/install-union-venv.sh).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliRun } from '../../support/cli.js';
import { tempDir } from '../../support/repo.js';
import { stopsWithThisProcess } from '../../support/stops-with-this-process.js';
import { flyteCli, venv } from './flyte-cli.js';

if (typeof venv === 'string') console.warn(`flyte-cli-serve.e2e.test.ts ${venv}`);

const SECRET = 'local-trial-secret-7f3a';
const CLIENT = `client_id: poolsync-dev\nclient_secret: ${SECRET}\norg: acme\n`;

let serve: CliRun | undefined;
afterEach(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.done;
  serve = undefined;
});

/** `control-plane serve` with the Union API on a free port of 127.0.0.1, and that port. */
async function startServe(dir: string, extra: string[]): Promise<{ run: CliRun; port: number }> {
  const run = startCli([
    'control-plane',
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--state',
    join(dir, 'cp.json'),
    '--oauth-client-file',
    join(dir, 'oauth-client.yaml'),
    '--flyte-project',
    'ml',
    ...extra,
  ]);
  stopsWithThisProcess(run.child, 'SIGKILL');
  await run.waitForOutput((out) => out.includes('control plane listening on '));
  const port = Number(
    /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.stdout() + run.stderr())![1],
  );
  return { run, port };
}

describe('control-plane serve --union-accept-unauthenticated: refusals', () => {
  it('only with --oauth-client-file, and only on loopback', async () => {
    const dir = await tempDir('poolsync-serve-unauth-');
    await writeFile(join(dir, 'oauth-client.yaml'), CLIENT);
    const serveArgs = ['control-plane', 'serve', '--state', join(dir, 'cp.json')];
    const wide = await runCli([
      ...serveArgs,
      '--listen',
      '0.0.0.0:0',
      '--oauth-client-file',
      join(dir, 'oauth-client.yaml'),
      '--union-accept-unauthenticated',
    ]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain(
      '--union-accept-unauthenticated serves the Union API without a token, so only on loopback: --listen "0.0.0.0:0" is not 127.0.0.1, ::1 or localhost',
    );
    const alone = await runCli([
      ...serveArgs,
      '--listen',
      '127.0.0.1:0',
      '--union-accept-unauthenticated',
    ]);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain('--union-accept-unauthenticated needs --oauth-client-file FILE');
  });
});

describe.skipIf(typeof venv === 'string')(
  "Union's `flyte` CLI against `poolsync control-plane serve`",
  () => {
    it('refused without the opt-in; with it, the CLI and poolsync each read and plan what the other wrote', async () => {
      const dir = await tempDir('poolsync-flyte-serve-');
      const home = join(dir, 'home');
      await mkdir(home);
      await writeFile(join(dir, 'oauth-client.yaml'), CLIENT);
      await writeFile(
        join(dir, 'gpu-pool.yaml'),
        'name: gpu\nconfig:\n  object_store_ref: {uri: s3://gpu-bucket/meta, endpoint: ""}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n  image_registry: {locator: reg.example.com/union}\n',
      );
      const flyte = async (args: string[]) => {
        const r = await flyteCli(args, { HOME: home });
        return { ...r, out: r.out.replace(/\s+/g, ' ') };
      };
      const ok = async (args: string[]) => {
        const r = await flyte(args);
        expect(r.code, `flyte ${args.join(' ')}: ${r.out}`).toBe(0);
        return r.out;
      };
      const endpointFlags = (port: number) => [
        ...['--endpoint', `dns:///127.0.0.1:${port}`, '--org', 'acme', '--insecure'],
      ];

      // Nothing weaker by default: without the opt-in the CLI's calls carry no token and fail.
      const plain = await startServe(dir, []);
      serve = plain.run;
      const refused = await flyte([...endpointFlags(plain.port), 'get', 'queue']);
      expect(refused.code).not.toBe(0);
      expect(refused.out).toMatch(/no token in the "authorization" header/);
      serve.child.kill('SIGTERM');
      await serve.done;

      const opened = await startServe(dir, ['--union-accept-unauthenticated']);
      serve = opened.run;
      const { port } = opened;
      expect(serve.stderr()).toMatch(/Union API calls without a token are accepted/);

      // The docs' two ways: flags, and a config file (flyte config _internal.py: admin.*, task.org).
      const flags = endpointFlags(port);
      const config = join(dir, 'flyte.yaml');
      await writeFile(
        config,
        `admin:\n  endpoint: dns:///127.0.0.1:${port}\n  insecure: true\ntask:\n  org: acme\n`,
      );
      const viaConfig = ['--config', config];

      await ok([...flags, 'create', 'cluster-pool', 'gpu', '--file', join(dir, 'gpu-pool.yaml')]);
      await ok([...flags, 'create', 'cluster', 'g1', '--pool', 'gpu']);
      await ok([
        ...viaConfig,
        'create',
        'queue',
        'batch',
        '--run-concurrency',
        '5',
        '--action-concurrency',
        '50',
        '--cluster-pool',
        'gpu',
        '--cluster',
        'g1',
      ]);
      expect(await ok([...viaConfig, 'get', 'cluster-pool'])).toContain('gpu');
      expect(await ok([...viaConfig, 'get', 'cluster', 'g1'])).toContain('g1');
      expect(await ok([...flags, 'get', 'queue', 'batch'])).toContain('batch');

      // poolsync, with client credentials as ever, exports what the CLI wrote and plans no change.
      const cpUrl = `union+http://127.0.0.1:${port}`;
      const env = {
        POOLSYNC_UNION_API_KEY: Buffer.from(
          `127.0.0.1:${port}:poolsync-dev:${SECRET}:acme`,
        ).toString('base64'),
      };
      const repo = join(dir, 'local-union');
      const exp = await runCli(['export', '--control-plane', cpUrl, '--dir', repo], env, dir);
      expect(exp.code, exp.stderr).toBe(0);
      expect(await readFile(join(repo, 'queues', 'batch.yaml'), 'utf8')).toMatch(/pool: gpu/);
      const plan = await runCli(['plan', repo, '--control-plane', cpUrl], env, dir);
      expect(plan.code, plan.stderr).toBe(0);
      // What the CLI made: nothing to send, and the apply adopts it.
      expect(plan.stdout).toContain(
        'Nothing to send to the control plane, but the apply records 3 objects',
      );

      // The reverse: a queue poolsync applies, the CLI reads.
      await writeFile(
        join(repo, 'queues', 'nightly.yaml'),
        'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: nightly\nspec:\n  pool: gpu\n  run_concurrency: 3\n  action_concurrency: 30\n',
      );
      const apply = await runCli(
        ['apply', repo, '--control-plane', cpUrl, '--auto-approve'],
        env,
        dir,
      );
      expect(apply.code, apply.stderr).toBe(0);
      const nightly = await ok([...viaConfig, 'get', 'queue', 'nightly']);
      expect(nightly).toContain('nightly');
      expect(nightly).toContain('gpu');

      serve.child.kill('SIGTERM');
      const done = await serve.done;
      serve = undefined;
      expect(done.stdout + done.stderr).not.toContain(SECRET);
    }, 600_000);
  },
);
