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

/** A watched folder with queue `web` at run_concurrency 3 and cluster c1, the key in a file. */
function setUp(server: UnionServer) {
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
  const key = apiKey(server.host);
  writeFileSync(keyFile, key);
  return { work, dir, keyFile, key };
}

/** `poolsync daemon --watch DIR` against `server`; `out()`: its stdout and stderr so far. */
function startDaemon(server: UnionServer, work: string, dir: string, keyFile: string) {
  const child = spawn(
    process.execPath,
    cliFromSource(
      'daemon',
      '--watch',
      dir,
      '--control-plane',
      server.url('grpc'),
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
  return { child, out: () => out };
}

const runConcurrency = (n: number) => async () =>
  (await s!.embedded.getQueue('web')).run_concurrency === n ? true : null;

describe('poolsync daemon against union+http://', () => {
  it("reconciles a watched folder through Union's API, edits included; no secret in its output", async () => {
    s = await startUnionServer({ client: { token_ttl_seconds: 2 } });
    await s.embedded.registerCluster({ name: 'c1' });
    const { work, dir, keyFile, key } = setUp(s);
    const { child, out } = startDaemon(s, work, dir, keyFile);

    await until('first apply', runConcurrency(3), waiting);
    // Past the token's lifetime: the daemon's next run fetches a new token.
    await new Promise((r) => setTimeout(r, 2_100));
    writeFileSync(join(dir, 'queues', 'web.yaml'), QUEUE(8));
    await until('edit applied', runConcurrency(8), waiting);
    expect(s.oauth.issued).toBeGreaterThanOrEqual(2);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(out()).not.toContain(key);
    expect(out()).not.toContain(CLIENT.client_secret);
    expect(out()).not.toMatch(/Bearer /);
  }, 240_000);

  it('asks for a token again at the run after one refused, and applies (the refusal held one run)', async () => {
    s = await startUnionServer({ client: { token_ttl_seconds: 2 } });
    await s.embedded.registerCluster({ name: 'c1' });
    const { work, dir, keyFile } = setUp(s);
    const { child, out } = startDaemon(s, work, dir, keyFile);
    await until('first apply', runConcurrency(3), waiting);
    // Token requests (the token's refresh, whenever the daemon asks) are refused until the
    // daemon has said so, then the endpoint is normal: which request comes first is not the test's.
    const oauth = s.oauth;
    const issue = oauth.token.bind(oauth);
    let refusing = true;
    let refusals = 0;
    let issued = 0;
    oauth.token = (req, form) => {
      if (!refusing) {
        issued++;
        return issue(req, form);
      }
      refusals++;
      return { status: 401, body: { error: 'invalid_client' } };
    };
    await new Promise((r) => setTimeout(r, 2_100));
    writeFileSync(join(dir, 'queues', 'web.yaml'), QUEUE(8));
    await until(
      'the refusal said',
      async () => (/refused the API key/.test(out()) ? true : null),
      waiting,
    );
    refusing = false;
    await until('edit applied at a later run', runConcurrency(8), waiting);
    expect(refusals).toBeGreaterThanOrEqual(1);
    expect(issued).toBeGreaterThanOrEqual(1);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 240_000);
});
