/**
 * The daemon against a Union endpoint: `poolsync daemon --watch DIR --control-plane
 * union+http://…?protocol=grpc` in a child process, the API key in a file named by
 * POOLSYNC_UNION_API_KEY_FILE, against the embedded control plane's Union API on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../daemon/helpers.js';
import { apiKey, CLIENT, startUnionServer, type UnionServer } from './helpers.js';
import { until, type UntilOptions } from '../../support/until.js';
import { cliFromSource } from '../../support/cli-from-source.js';
import { stopsWithThisProcess } from '../../support/stops-with-this-process.js';

const children: ChildProcess[] = [];
let s: UnionServer | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await s?.close();
  s = undefined;
});

let output = () => '';
const waiting: UntilOptions = {
  timeoutMs: 40_000,
  intervalMs: 100,
  retryErrors: true,
  detail: () => output(),
};

const QUEUE = (rc: number) =>
  `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: web\nspec:\n  pool: default\n  clusters: ["c1"]\n  run_concurrency: ${rc}\n  action_concurrency: 10\n`;

describe('poolsync daemon against union+http://', () => {
  it("reconciles a watched folder through Union's API, edits included; no secret in its output", async () => {
    s = await startUnionServer({ client: { token_ttl_seconds: 2 } });
    await s.embedded.registerCluster({ name: 'c1' });
    const work = tempDir();
    const dir = join(work, 'config');
    mkdirSync(join(dir, 'queues'), { recursive: true });
    writeFileSync(
      join(dir, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\nignore: []\n',
    );
    writeFileSync(join(dir, 'queues', 'web.yaml'), QUEUE(3));
    writeFileSync(
      join(dir, 'cluster.yaml'),
      'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: c1\nspec:\n  pool: default\n  enabled: true\n',
    );
    const keyFile = join(work, 'union-api-key');
    const key = apiKey(s.host);
    writeFileSync(keyFile, key);
    const child = spawn(
      process.execPath,
      cliFromSource(
        'daemon',
        '--watch',
        dir,
        '--control-plane',
        s.url('grpc'),
        '--policy',
        'all',
        '--listen',
        '127.0.0.1:0',
        '--watch-debounce',
        '200ms',
      ),
      {
        cwd: work,
        env: { ...process.env, POOLSYNC_UNION_API_KEY_FILE: keyFile, POOLSYNC_REPO: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    stopsWithThisProcess(child, 'SIGKILL');
    children.push(child);
    let out = '';
    output = () => out;
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));

    await until(
      'first apply',
      async () => ((await s!.embedded.getQueue('web')).run_concurrency === 3 ? true : null),
      waiting,
    );
    // Past the token's lifetime: the daemon's next run fetches a new token.
    await new Promise((r) => setTimeout(r, 2_100));
    writeFileSync(join(dir, 'queues', 'web.yaml'), QUEUE(8));
    await until(
      'edit applied',
      async () => ((await s!.embedded.getQueue('web')).run_concurrency === 8 ? true : null),
      waiting,
    );
    expect(s.oauth.issued).toBeGreaterThanOrEqual(2);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(out).not.toContain(key);
    expect(out).not.toContain(CLIENT.client_secret);
    expect(out).not.toMatch(/Bearer /);
  }, 240_000);
});
