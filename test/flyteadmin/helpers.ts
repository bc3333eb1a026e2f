/**
 * A flyteadmin to test against: the stand-in (src/standins/flyteadmin: gateway.ts over store.ts,
 * behaving as upstream) served with OAuth2 on 127.0.0.1 by the embedded control plane's server.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { ControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import {
  flyteadminGateway,
  FlyteadminStore,
  type FlyteadminStoreOptions,
  type FlyteOAuthOptions,
} from '../../src/standins/flyteadmin/gateway.js';
import { openServedControlPlane } from '../support/served-control-plane.js';

export const CLIENT_ID = 'poolsync-ci';
export const CLIENT_SECRET = 'flyte-secret-4f1b2c9e';

/** The projects of the examples (flyte-oss, union-self-managed), registered as flyteadmin's seed-projects would. */
export const EXAMPLE_PROJECTS = ['flytesnacks', 'project1', 'team1'];

export interface Flyteadmin {
  embedded: EmbeddedControlPlane;
  /** flyteadmin's state: rows, projects, domains (tests seed and inspect it). */
  store: FlyteadminStore;
  server: ControlPlaneServer;
  url: string;
  close(): Promise<void>;
}

export async function startFlyteadmin(
  oauth: FlyteOAuthOptions | null = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  seed: FlyteadminStoreOptions = { projects: EXAMPLE_PROJECTS },
  gateway: { httpAuthorizationHeader?: string } = {},
): Promise<Flyteadmin> {
  const store = new FlyteadminStore(seed);
  const { embedded, server, url, close } = await openServedControlPlane({
    mounts: [
      { handle: flyteadminGateway(oauth ? { oauth, store, ...gateway } : { store, ...gateway }) },
    ],
  });
  return { embedded, store, server, url: `flyteadmin+${url}`, close };
}

const git = promisify(execFile);

/** A real Git repository in a temp folder holding a copy of `example`, committed. */
export async function exampleRepo(
  example: string,
): Promise<{ dir: string; commit: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-flyteadmin-'));
  await cp(`examples/${example}`, dir, { recursive: true });
  await git('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  await git('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'add', '.'], {
    cwd: dir,
  });
  await git(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'seed'],
    { cwd: dir },
  );
  const { stdout } = await git('git', ['rev-parse', 'HEAD'], { cwd: dir });
  return { dir, commit: stdout.trim(), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Sets the OAuth2 client credentials poolsync reads (secret in a file), returns the undo. */
export async function useCredentials(id: string, secret: string): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-secret-'));
  const file = join(dir, 'client-secret');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  const before = {
    id: process.env.POOLSYNC_FLYTE_CLIENT_ID,
    file: process.env.POOLSYNC_FLYTE_CLIENT_SECRET_FILE,
  };
  process.env.POOLSYNC_FLYTE_CLIENT_ID = id;
  process.env.POOLSYNC_FLYTE_CLIENT_SECRET_FILE = file;
  return async () => {
    for (const [k, v] of [
      ['POOLSYNC_FLYTE_CLIENT_ID', before.id],
      ['POOLSYNC_FLYTE_CLIENT_SECRET_FILE', before.file],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(dir, { recursive: true, force: true });
  };
}

/** A token straight from the OAuth2 endpoints, as flytectl would get one. */
export async function token(
  baseUrl: string,
  id = CLIENT_ID,
  secret = CLIENT_SECRET,
): Promise<string> {
  const meta = (await (
    await fetch(`${baseUrl}/.well-known/oauth-authorization-server`)
  ).json()) as { token_endpoint: string };
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=all',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}
