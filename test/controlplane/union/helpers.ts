/**
 * A real embedded control plane serving Union's API (Connect + gRPC on one port, with the
 * local OAuth2 server) on 127.0.0.1, and the `union` backend opened against it through
 * openControlPlane — the same path `poolsync --control-plane union+http://…` takes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, type DescService } from '@bufbuild/protobuf';
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { expect } from 'vitest';
import { ControlPlaneError } from '../../../src/controlplane/errors.js';
import {
  ScopeLevel,
  SettingState,
  SettingsSchema,
} from '../../../src/gen/flyteidl2/settings/settings_definition_pb.js';
import { EmbeddedControlPlane } from '../../../src/controlplane/embedded/embedded.js';
import {
  unionOAuthServer,
  type OAuthClientConfig,
} from '../../../src/standins/union/oauth-client-file.js';
import type { OAuthStandIn } from '../../../src/standins/oauth/server.js';
import { startControlPlaneServer } from '../../../src/controlplane/embedded/server.js';
import { createUnionApi, type UnionApi } from '../../../src/standins/union/union-api.js';
import { openControlPlane } from '../../../src/controlplane/open.js';
import type { ControlPlane } from '../../../src/controlplane/types.js';
import type { ClientTuning } from '../../../src/controlplane/opener.js';
import type { Capabilities } from '../../../src/model/common.js';
import { discover, parseApiKey, unionTokens } from '../../../src/controlplane/union/oauth.js';
import { createUnionTransport } from '../../../src/controlplane/union/transport.js';
import {
  UNION_CAPABILITIES,
  type UnionControlPlane,
} from '../../../src/controlplane/union/union.js';

export const CLIENT: OAuthClientConfig = {
  client_id: 'poolsync-ci',
  client_secret: 's3cr3t-client-secret-do-not-print',
  org: 'acme',
  token_ttl_seconds: 3600,
  authorization_metadata_key: 'flyte-authorization',
};

export function apiKey(endpoint: string, c: Partial<OAuthClientConfig> = {}): string {
  const k = { ...CLIENT, ...c };
  return Buffer.from(`${endpoint}:${k.client_id}:${k.client_secret}:${k.org}`).toString('base64');
}

/** The projects the stand-in's organisation has unless a test names others. */
export const PROJECTS = ['ml', 'ops'];

export interface UnionServer {
  embedded: EmbeddedControlPlane;
  oauth: OAuthStandIn;
  /** The stand-in's Union API (its queue extras: fields beyond poolsync's QueueSpec). */
  api: UnionApi;
  /** `127.0.0.1:PORT` */
  host: string;
  url: (protocol: 'connect' | 'grpc') => string;
  dir: string;
  close(): Promise<void>;
}

export async function startUnionServer(
  opts: {
    client?: Partial<OAuthClientConfig>;
    interceptors?: Interceptor[];
    now?: () => number;
    /** Union's CLI with --insecure sends no token (union-api.ts). */
    acceptUnauthenticated?: boolean;
    /** How long DeleteCluster leaves an active cluster DELETING (lifecycle.ts; default 0). */
    deletingMs?: number;
    /** The organisation's projects (ListProjects; default PROJECTS). */
    projects?: readonly string[];
    /** Its archived projects (ListProjects answers them ARCHIVED). */
    archivedProjects?: readonly string[];
    /** `control-plane serve --capabilities` (default: Union's, soft deletes included). */
    capabilities?: Capabilities;
  } = {},
): Promise<UnionServer> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-union-'));
  // Union has every capability, soft deletes included (its client, flyteplugins-union 0.19.1):
  // so does the control plane standing in for it.
  const embedded = await EmbeddedControlPlane.open({
    path: join(dir, 'state.json'),
    capabilities: { ...(opts.capabilities ?? UNION_CAPABILITIES) },
  });
  const client = { ...CLIENT, ...opts.client };
  const oauth = unionOAuthServer(client, opts.now);
  const api = createUnionApi({
    controlPlane: embedded,
    oauth,
    org: client.org,
    metricsIntervalMs: 50,
    projects: opts.projects ?? PROJECTS,
    ...(opts.archivedProjects ? { archivedProjects: opts.archivedProjects } : {}),
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
    ...(opts.acceptUnauthenticated ? { acceptUnauthenticated: true } : {}),
    ...(opts.deletingMs !== undefined ? { deletingMs: opts.deletingMs } : {}),
  });
  const server = await startControlPlaneServer({ controlPlane: embedded, mounts: [api] });
  const host = new URL(server.url).host;
  return {
    embedded,
    oauth,
    api,
    host,
    dir,
    url: (protocol) => `union+http://${host}${protocol === 'grpc' ? '?protocol=grpc' : ''}`,
    close: async () => {
      await server.close();
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Opens the union backend with the API key in POOLSYNC_UNION_API_KEY (as a user would). */
export async function openUnion(
  s: UnionServer,
  protocol: 'connect' | 'grpc',
  key = apiKey(s.host),
  tuning: Pick<ClientTuning, 'pageSize' | 'connections' | 'clock'> = {},
): Promise<UnionControlPlane> {
  const cp: ControlPlane = await openControlPlane(s.url(protocol), {
    http: { maxRetries: 4, minRetryDelayMs: 5, maxRetryDelayMs: 20, ...tuning },
    env: { POOLSYNC_UNION_API_KEY: key },
  });
  return cp as UnionControlPlane;
}

/** stderr less apply's warning that this backend has no apply lock of its own (apply-lock.ts). */
export function unexpectedStderr(stderr: string): string {
  return stderr.replace(/^warning: the union control plane has no apply lock of its own:.*\n/m, '');
}

/** The ControlPlaneError `p` rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ControlPlaneError);
    return err as ControlPlaneError;
  }
  throw new Error('expected a rejection');
}

/**
 * A client of one of the stand-in's services that is not poolsync's backend (as Union's own
 * client or a newer Union tool calls it), with a token from the stand-in's OAuth2 server.
 */
export async function rawClient<S extends DescService>(
  server: UnionServer,
  service: S,
  protocol: 'connect' | 'grpc' = 'connect',
): Promise<{ client: Client<S>; close: () => void }> {
  const key = parseApiKey(apiKey(server.host), 'test');
  const baseUrl = `http://${server.host}`;
  const discovery = await discover(baseUrl);
  const { transport, close } = createUnionTransport({
    baseUrl,
    protocol,
    tokens: unionTokens(key, discovery),
    header: discovery.headerName,
  });
  return { client: createClient(service, transport), close };
}

/**
 * Sets run.default_queue of a project/domain as Union's settings service stores it (a state a
 * test starts from, as someone's earlier write left it).
 */
export function setDefaultQueue(s: UnionServer, project: string, domain: string, queue: string) {
  s.api.settings.put(
    { level: ScopeLevel.PROJECT, domain, project },
    create(SettingsSchema, {
      run: { defaultQueue: { state: SettingState.VALUE, stringValue: queue } },
    }),
  );
}
