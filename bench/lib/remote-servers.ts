/**
 * The servers of `bench/remote-bench.ts`, each in a process of its own (their CPU is not the
 * client's): the Union stand-in (`poolsync control-plane serve --oauth-client-file`) over a seeded
 * embedded state, and the real flyteadmin v1.13.0 (scripts/flyte-go.sh, the test harness of
 * test/flyteadmin/real/) with its projects registered.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { UNION_CAPABILITIES } from '../../src/controlplane/union/union.js';
import { mapLimit } from '../../src/util/map-limit.js';
import { RealFlyteadmins, registerProject } from '../../test/flyteadmin/real/server.js';
import { realMissing } from '../../test/flyteadmin/real/binaries.js';
import { seedStateFile } from './seed.js';
import type { ScaleModel } from './scale.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const DOMAINS = ['development', 'staging', 'production'];

export interface Served {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The Union API key for the endpoint `host` (base64 of host:client:secret:org). */
  apiKey(host: string): string;
  stop(): Promise<void>;
}

/**
 * The Union stand-in in its own process over `model` (none: the empty organisation), with
 * `projects` × 3 domains whose project/domain settings name the `default` queue.
 */
export async function startUnionStandIn(
  dir: string,
  model: ScaleModel | null,
  projects: number,
): Promise<Served> {
  const state = join(dir, 'union-cp.json');
  // Union's capabilities, as `control-plane serve` gives a new state it serves through Union's API.
  const cp = await EmbeddedControlPlane.open({
    path: state,
    capabilities: { ...UNION_CAPABILITIES },
  });
  const pairs = Array.from({ length: projects }, (_, p) =>
    DOMAINS.map((d) => [`p${p}`, d] as const),
  ).flat();
  await mapLimit(pairs, 64, ([p, d]) => cp.setDefaultQueue(p, d, 'default'));
  await cp.close();
  if (model) await seedStateFile(state, { ...model, assignments: [] });
  const client = join(dir, 'union-client.yaml');
  await writeFile(client, 'client_id: bench\nclient_secret: bench-secret\norg: acme\n');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'control-plane',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--state',
      state,
      '--oauth-client-file',
      client,
      // Its ListProjects lists them, and it holds settings of listed projects only.
      ...Array.from({ length: projects }, (_, p) => ['--flyte-project', `p${p}`]).flat(),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    if (url)
      return {
        url,
        apiKey: (host) => Buffer.from(`${host}:bench:bench-secret:acme`).toString('base64'),
        stop,
      };
    if (child.exitCode !== null) throw new Error(`control-plane serve exited:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`control-plane serve did not start:\n${out}`);
}

/** The real flyteadmin with `projects` registered (p0 … pN-1), or why it cannot run here. */
export async function startRealFlyteadmin(projects: number): Promise<Served | string> {
  if (realMissing) return realMissing;
  const real = new RealFlyteadmins();
  const server = await real.start();
  await mapLimit(
    Array.from({ length: projects }, (_, p) => `p${p}`),
    16,
    (id) => registerProject(server.httpUrl, id),
  );
  return {
    url: server.httpUrl,
    apiKey: () => '',
    stop: async () => {
      await server.close();
      await real.close();
    },
  };
}
