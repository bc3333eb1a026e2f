/**
 * The real defaults against hostile servers (issue 60; docs/control-plane.md, Limits): every
 * client of the CLI, run as a user runs it (a child process, `--max-old-space-size=256`, no limit
 * flag), against an endless body, one byte every 5 s, a gzip bomb of 1 GiB, a server that never
 * answers and a port whose packets are dropped; and a wrong Union API secret. Prints, per case,
 * the seconds to the exit, the peak resident memory (VmHWM) and the error's first line. The tests
 * (test/controlplane/hostile.test.ts) check the same with small injected limits.
 *
 *   node --import tsx scripts/hostile-servers.ts            # every case (~15 min: the defaults wait)
 *   node --import tsx scripts/hostile-servers.ts dropped    # the cases whose name holds the word
 *
 * Runs dist/cli/main.js when built (`npm run build`), else the source through tsx.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedControlPlane } from '../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../src/controlplane/embedded/server.js';
import { flyteadminGateway, FlyteadminStore } from '../src/standins/flyteadmin/gateway.js';
import { OAUTH_PATHS } from '../src/standins/oauth/server.js';
import { unionOAuthServer } from '../src/standins/union/oauth-client-file.js';
import { createUnionApi } from '../src/standins/union/union-api.js';
import { UNION_CAPABILITIES } from '../src/controlplane/union/union.js';
import { dropping, startHostileServer, type Hostility } from '../test/support/hostile-server.js';

const ROOT = resolve(import.meta.dirname, '..');
const BUILT = join(ROOT, 'dist/cli/main.js');
const CLI = existsSync(BUILT)
  ? [BUILT]
  : ['--import', join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'), join(ROOT, 'src/cli/main.ts')];

interface Run {
  seconds: number;
  peakMb: number;
  code: number | null;
  said: string;
}

/** `poolsync ARGS` under a 256 MB heap: its time, its peak resident set, its first error line. */
function poolsync(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--max-old-space-size=256', ...CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'poolsync-home-')), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let peak = 0;
  const sample = () => {
    try {
      const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      peak = Math.max(peak, Number(kb ?? 0));
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 50);
  return new Promise((done) =>
    child.on('exit', (code) => {
      clearInterval(timer);
      done({
        seconds: (performance.now() - started) / 1000,
        peakMb: peak / 1024,
        code,
        said: stderr.split('\n').find((l) => l.trim() !== '') ?? '',
      });
    }),
  );
}

const CLIENT_ID = 'poolsync-ci';
const CLIENT_SECRET = 'flyte-secret-4f1b2c9e';
const UNION = { client_id: 'poolsync-ci', client_secret: 'union-secret-77aa', org: 'acme' };
const unionKey = (host: string, secret = UNION.client_secret) =>
  Buffer.from(`${host}:${UNION.client_id}:${secret}:${UNION.org}`).toString('base64');

async function standIns() {
  const fa = await EmbeddedControlPlane.open({ path: null });
  const flyte = await startControlPlaneServer({
    controlPlane: fa,
    mounts: [
      {
        handle: flyteadminGateway({
          oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
          store: new FlyteadminStore({ projects: ['flytesnacks'] }),
        }),
      },
    ],
  });
  const un = await EmbeddedControlPlane.open({
    path: null,
    capabilities: { ...UNION_CAPABILITIES },
  });
  const union = await startControlPlaneServer({
    controlPlane: un,
    mounts: [
      createUnionApi({
        controlPlane: un,
        oauth: unionOAuthServer({
          ...UNION,
          token_ttl_seconds: 3600,
          authorization_metadata_key: 'authorization',
        }),
        org: UNION.org,
      }),
    ],
  });
  return {
    flyte: flyte.url,
    union: union.url,
    close: async () => {
      await flyte.close();
      await union.close();
      await fa.close();
      await un.close();
    },
  };
}

const oauthPath = (path: string) =>
  OAUTH_PATHS.some((p) => path.startsWith(p)) || path.startsWith('/.well-known');

/** Each client as the CLI reaches it, given the hostile server's `host`. */
function clients(up: { flyte: string; union: string }) {
  return [
    {
      name: 'REST',
      args: (host: string) => ['plan', 'examples/config-repo', '--control-plane', `http://${host}`],
    },
    {
      name: 'flyteadmin',
      args: (host: string) => [
        'plan',
        'examples/flyte-oss',
        '--control-plane',
        `flyteadmin+http://${host}`,
      ],
    },
    {
      name: 'flyteadmin OAuth',
      upstream: up.flyte,
      args: (host: string) => [
        'plan',
        'examples/flyte-oss',
        '--control-plane',
        `flyteadmin+http://${host}`,
      ],
      env: () => ({
        POOLSYNC_FLYTE_CLIENT_ID: CLIENT_ID,
        POOLSYNC_FLYTE_CLIENT_SECRET: CLIENT_SECRET,
      }),
    },
    {
      name: 'Union',
      upstream: up.union,
      contentType: 'application/proto',
      args: (host: string) => [
        'plan',
        'examples/config-repo',
        '--control-plane',
        `union+http://${host}`,
      ],
      env: (host: string) => ({ POOLSYNC_UNION_API_KEY: unionKey(host) }),
    },
    {
      name: 'forge (GitHub)',
      args: (host: string) => [
        'plan',
        'examples/config-repo',
        '--control-plane',
        `file:${join(mkdtempSync(join(tmpdir(), 'poolsync-cp-')), 'cp.json')}`,
        '--comment',
        'github',
        '--repo',
        'acme/cfg',
        '--pr',
        '1',
        '--commit',
        'a'.repeat(40),
        '--api-url',
        `http://${host}`,
      ],
      env: () => ({ GITHUB_TOKEN: 'ghp_hostile0000000000' }),
    },
    { name: 'daemon client', args: (host: string) => ['status', '--daemon', `http://${host}`] },
  ];
}

const line = (name: string, r: Run) =>
  `${name.padEnd(44)} ${r.seconds.toFixed(1).padStart(6)} s ${r.peakMb.toFixed(0).padStart(5)} MB  exit ${r.code}  ${r.said.slice(0, 220)}`;

async function main(filter: string | undefined) {
  const up = await standIns();
  const want = (name: string) => filter === undefined || name.includes(filter);
  try {
    console.log(`poolsync: ${CLI.at(-1)}, node --max-old-space-size=256, default limits\n`);
    for (const client of clients(up)) {
      for (const mode of ['endless', 'trickle', 'bomb', 'silent'] as Hostility[]) {
        const name = `${client.name}, ${mode}`;
        if (!want(name)) continue;
        const s = await startHostileServer({
          mode,
          upstream: client.upstream,
          passes: client.upstream ? oauthPath : undefined,
          contentType: client.contentType,
          trickleMs: 5_000,
          bombBytes: 1024 * 1024 * 1024,
        });
        try {
          console.log(line(name, await poolsync(client.args(s.host), client.env?.(s.host))));
        } finally {
          await s.close();
        }
      }
      const name = `${client.name}, dropped packets`;
      if (!want(name)) continue;
      const d = await dropping();
      try {
        const host = `127.0.0.1:${d.port}`;
        console.log(line(name, await poolsync(client.args(host), client.env?.(host))));
      } finally {
        await d.close();
      }
    }
    if (want('wrong Union secret')) {
      const host = new URL(up.union).host;
      const r = await poolsync(clients(up)[3]!.args(host), {
        POOLSYNC_UNION_API_KEY: unionKey(host, 'wrong'),
      });
      console.log(line('Union, wrong API secret', r));
    }
  } finally {
    await up.close();
  }
}

await main(process.argv[2]);
