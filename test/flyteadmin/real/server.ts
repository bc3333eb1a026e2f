/**
 * The real flyteadmin (scripts/flyte-go.sh) on 127.0.0.1 for one test or one file: a temp
 * folder with its config (a PostgreSQL database migrated by `flyteadmin migrate run`: see
 * postgres.ts for why not SQLite; local storage, auth off, the domains and, when given, the
 * cluster configuration), then `flyteadmin serve` on free ports; the projects registered through its API (POST /api/v1/projects, as `flytectl create
 * project` does). close() stops it by PID and removes the folder.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../../support/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dump } from 'js-yaml';
import type { ProjectState } from '../../../src/model/flyte.js';
import { FLYTEADMIN, flyteadminBinaries, type FlyteadminBinaries } from './binaries.js';
import { startPostgres, type Postgres } from './postgres.js';
import { stopsWithThisProcess } from '../../support/stops-with-this-process.js';

const run = promisify(execFile);

export interface RealFlyteadminOptions {
  /** scripts/flyte-go.sh target (default FLYTEADMIN). */
  release?: string;
  /** Registered before the tests run; ACTIVE unless said. */
  projects?: (string | { id: string; state?: ProjectState })[];
  /** flyteadmin's `domains` (default: its own default, development, staging, production). */
  domains?: string[];
  /**
   * The `clusters` section (labelClusterMap, clusterConfigs, defaultExecutionLabel), or a
   * function of the folder where the clusters' tokens and CAs are (`credentialsFor`).
   */
  clusters?: unknown;
  /** Names of clusters whose token and CA the probe writes to `credentialsDir`. */
  credentialsFor?: string[];
}

export interface RealFlyteadmin {
  release: string;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  /** flyteadmin+http://127.0.0.1:PORT */
  url: string;
  /** Its gRPC port's address, as flytectl's `admin.endpoint` takes it (dns:///127.0.0.1:PORT). */
  grpcEndpoint: string;
  configFile: string;
  /** Where the clusters' tokens and CAs are (DIR/NAME_token, DIR/NAME_cacert). */
  credentialsDir: string;
  /** Runs flyteadmin-probe with this server's config (see probe/main.go). */
  probe(command: string, args: string[]): Promise<string>;
  /** The same with another `clusters` section (a configuration `serve` could not start with here). */
  probeWith(clusters: unknown, command: string, args: string[]): Promise<string>;
  /** flyteadmin's own log so far. */
  log(): Promise<string>;
  close(): Promise<void>;
}

/** The `server` and storage parts every run shares; ports and paths filled in per run. */
function baseConfig(
  dir: string,
  ports: { http: number; grpc: number; profiler: number },
  db: { pg: Postgres; name: string },
) {
  return {
    server: {
      httpPort: ports.http,
      grpc: { port: ports.grpc },
      // Without clusterConfigs flyteadmin makes its in-cluster client from this file; it
      // never calls the API server during these tests.
      'kube-config': join(dir, 'kubeconfig'),
      security: { secure: false, useAuth: false },
    },
    database: {
      postgres: {
        host: db.pg.host,
        port: db.pg.port,
        dbname: db.name,
        username: 'postgres',
        password: 'unused', // trust authentication on the socket
        options: 'sslmode=disable',
      },
    },
    storage: {
      type: 'stow',
      stow: { kind: 'local', config: { path: join(dir, 'storage') } },
      container: 'flyte',
    },
    flyteadmin: {
      runScheduler: false,
      profilerPort: ports.profiler,
      metadataStoragePrefix: ['metadata', 'admin'],
    },
    // The namespace sync would call the clusters: it runs on its own elsewhere.
    cluster_resources: { standaloneDeployment: true },
    Logger: { level: 3, 'show-source': false },
  };
}

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`;

/**
 * The real flyteadmins of one test file: one PostgreSQL (postgres.ts), one migrated template
 * database per release, a copy of it per server. close() in afterAll.
 */
export class RealFlyteadmins {
  private pg: Promise<Postgres> | null = null;
  private readonly templates = new Map<string, Promise<string>>();
  private count = 0;

  private postgres(): Promise<Postgres> {
    return (this.pg ??= startPostgres());
  }

  /** `flyteadmin migrate run` into a template database, once per release. */
  private template(release: string, bins: FlyteadminBinaries): Promise<string> {
    let t = this.templates.get(release);
    if (!t) {
      t = (async () => {
        const pg = await this.postgres();
        const name = `template_${release.replace(/[^a-z0-9]/g, '_')}`;
        await pg.sql(`CREATE DATABASE ${name}`);
        const dir = await mkdtemp(join(tmpdir(), 'poolsync-flyteadmin-migrate-'));
        try {
          const file = join(dir, 'flyteadmin.yaml');
          const ports = { http: 0, grpc: 0, profiler: 0 };
          await writeFile(file, dump(baseConfig(dir, ports, { pg, name })));
          await run(bins.flyteadmin, ['--config', file, 'migrate', 'run'], { maxBuffer: 1 << 26 });
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
        return name;
      })();
      this.templates.set(release, t);
    }
    return t;
  }

  async start(opts: RealFlyteadminOptions = {}): Promise<RealFlyteadmin> {
    const release = opts.release ?? FLYTEADMIN;
    const bins = flyteadminBinaries(release);
    if (!bins) throw new Error(`no ${release}: run scripts/flyte-go.sh`);
    const template = await this.template(release, bins);
    const pg = await this.postgres();
    const name = `flyteadmin_${process.pid}_${++this.count}`;
    await pg.sql(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    const server = await startServer(bins, opts, { pg, name });
    return {
      ...server,
      close: async () => {
        await server.close();
        await pg.sql(`DROP DATABASE IF EXISTS ${name}`);
      },
    };
  }

  async close(): Promise<void> {
    const pg = this.pg;
    this.pg = null;
    this.templates.clear();
    if (pg) await (await pg).close();
  }
}

async function startServer(
  bins: FlyteadminBinaries,
  opts: RealFlyteadminOptions,
  db: { pg: Postgres; name: string },
): Promise<RealFlyteadmin> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-real-flyteadmin-'));
  try {
    const credentialsDir = join(dir, 'credentials');
    await mkdir(join(dir, 'storage', 'flyte'), { recursive: true });
    await mkdir(credentialsDir);
    await writeFile(join(dir, 'kubeconfig'), KUBECONFIG);
    if (opts.credentialsFor?.length)
      await run(bins.probe, ['credentials', '-dir', credentialsDir, ...opts.credentialsFor]);
    const configFile = join(dir, 'flyteadmin.yaml');
    const logFile = join(dir, 'flyteadmin.log');
    let probes = 0;
    // A port found free can be taken before flyteadmin binds it (another test's server): try
    // again with others when flyteadmin says so.
    for (let attempt = 1; ; attempt++) {
      const ports = { http: await freePort(), grpc: await freePort(), profiler: await freePort() };
      const config: Record<string, unknown> = baseConfig(dir, ports, db);
      if (opts.domains) config['domains'] = opts.domains.map((id) => ({ id, name: id }));
      if (opts.clusters !== undefined)
        config['clusters'] =
          typeof opts.clusters === 'function'
            ? (opts.clusters as (dir: string) => unknown)(credentialsDir)
            : opts.clusters;
      await writeFile(configFile, dump(config));
      const httpUrl = `http://127.0.0.1:${ports.http}`;
      const child = spawn(bins.flyteadmin, ['--config', configFile, 'serve'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      stopsWithThisProcess(child);
      const log: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => log.push(c));
      child.stderr.on('data', (c: Buffer) => log.push(c));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const ready = await waitReady(httpUrl, exited);
      const text = () => Buffer.concat(log).toString('utf8');
      if (!ready) {
        await writeFile(logFile, text());
        if (/address already in use/.test(text()) && attempt < 5) continue;
        throw new Error(
          `${bins.release} did not start:\n${text().split('\n').slice(-15).join('\n')}`,
        );
      }
      const server: RealFlyteadmin = {
        release: bins.release,
        httpUrl,
        url: `flyteadmin+${httpUrl}`,
        grpcEndpoint: `dns:///127.0.0.1:${ports.grpc}`,
        configFile,
        credentialsDir,
        probe: async (command, args) =>
          (await run(bins.probe, [command, '-config', configFile, ...args], { maxBuffer: 1 << 24 }))
            .stdout,
        probeWith: async (clusters, command, args) => {
          const file = join(dir, `probe-${++probes}.yaml`);
          await writeFile(file, dump({ ...config, clusters }));
          return (
            await run(bins.probe, [command, '-config', file, ...args], { maxBuffer: 1 << 24 })
          ).stdout;
        },
        log: async () => text(),
        close: () => stop(child, exited, dir),
      };
      for (const p of opts.projects ?? []) {
        const project = typeof p === 'string' ? { id: p } : p;
        await registerProject(httpUrl, project.id);
        if (project.state && project.state !== 'ACTIVE')
          await setProjectState(httpUrl, project.id, project.state);
      }
      return server;
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls /healthcheck until it answers 200 (true) or flyteadmin exits (false). */
async function waitReady(httpUrl: string, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    try {
      const res = await fetch(`${httpUrl}/healthcheck`);
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
  }
  return false;
}

async function stop(child: ChildProcess, exited: Promise<number | null>, dir: string) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await rm(dir, { recursive: true, force: true });
}

/** flyteadmin's REST API without auth (the real server runs with useAuth off). */
export async function call(
  httpUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${httpUrl}${path}`, {
    method,
    // grpc-gateway picks its JSON by Accept: proto field names for application/json (flyteadmin
    // configures that marshaler), lowerCamelCase without it.
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

export async function registerProject(httpUrl: string, id: string): Promise<void> {
  const res = await call(httpUrl, 'POST', '/api/v1/projects', { project: { id, name: id } });
  if (res.status !== 200)
    throw new Error(`register ${id}: ${res.status} ${JSON.stringify(res.json)}`);
}

/** UpdateProject with the new state (flytectl update project --archive / --activate). */
export async function setProjectState(
  httpUrl: string,
  id: string,
  state: ProjectState,
): Promise<void> {
  const res = await call(httpUrl, 'PUT', `/api/v1/projects/${id}`, { id, name: id, state });
  if (res.status !== 200)
    throw new Error(`update ${id}: ${res.status} ${JSON.stringify(res.json)}`);
}
