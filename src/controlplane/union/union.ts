/**
 * The `union` backend: poolsync's ControlPlane over Union's own API (Connect by default, gRPC
 * with `?protocol=grpc`; proto/, from the flyteplugins-union wheel), authenticated by an API key
 * through OAuth2 client credentials; no step of this backend is manual.
 *
 * Round trips: the list calls readLiveState makes in parallel share one ListClusters and one
 * ListQueues sweep; default-queue settings are read only for the project/domains asked, up to
 * `parallelism` at once. A write is one call from the object as last read (`Latest`, sweeps.ts)
 * and returns what Union answered, or, where the answer is empty, the object as the write left
 * it; nothing is read back.
 */
import { createClient, type Transport } from '@connectrpc/connect';
import { ClusterPoolService } from '../../gen/cloudidl/clusterpool/clusterpool_pb.js';
import type { Capabilities } from '../../model/common.js';
import { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { QueueService, QueueState } from '../../gen/cloudidl/queue/queue_pb.js';
import { ProjectService } from '../../gen/flyteidl2/project/project_service_pb.js';
import type { BackendProfile, CapabilityCalls, ControlPlane } from '../types.js';
import { UnionClusters } from './clusters.js';
import { UnionPools } from './pools.js';
import { UnionQueues } from './queues.js';
import { type Call, createUnionTransport, RPC, type UnionRetry, withRetry } from './transport.js';
import { DefaultQueueSettings } from './settings.js';
import { Pacer } from '../../util/pacer.js';
import { Reach } from '../../util/reach.js';
import { DEFAULT_RETRY } from '../../util/backoff.js';
import { UserError } from '../../util/user-error.js';
import type { Env } from '../../util/env.js';
import { type ClientTuning, limitsOf, retryPolicy } from '../opener.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { noticeSilence, type CallDeadline } from '../../util/transport-limits.js';
import { isLoopback } from '../../util/reach.js';
import { refuseUrlCredentials } from '../../util/url-credentials.js';
import { discover, resolveApiKey, unionTokens } from './oauth.js';

export interface UnionControlPlaneOptions {
  transport: Transport;
  org: string;
  /** For messages: `union+https://acme.hosted.unionai.cloud`. */
  url: string;
  retry: UnionRetry;
  pageSize: number;
  /** Calls in flight at once where a read fans out (default-queue settings). */
  parallelism: number;
  /** Closes the transport's HTTP/2 sessions. */
  onClose?: () => void;
  /** ControlPlane.credentialsRefused. */
  credentialsRefused?: () => boolean;
}

/**
 * Every capability is a call of Union's API (drain: UpdateQueueState; queue_move: UpdateQueue
 * naming a drained queue's new pool…). `default` can be drained and deleted like any other queue
 * (remote/_queue.py); a cluster another queue pins is drained, moved or deleted only once
 * unpinned (unpin_first, remote/_cluster.py).
 */
export const UNION_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  drain: true,
  queue_delete: true,
  pool_update: true,
  cluster_move: true,
  queue_move: true,
  soft_delete: true,
  default_delete: true,
  unpin_first: true,
});

export class UnionControlPlane implements ControlPlane {
  // No pool assignments (replaced by a DefaultQueue per project/domain) and no labels.
  readonly backend: BackendProfile = {
    name: 'union',
    queueCaps: true,
    replacedKinds: { PoolAssignment: 'DefaultQueue' },
  };
  readonly pools: UnionPools;
  readonly clusters: UnionClusters;
  readonly queues: UnionQueues;
  readonly defaultQueues: DefaultQueueSettings;
  readonly capabilityCalls: CapabilityCalls = {
    capabilities: async () => ({ ...UNION_CAPABILITIES }),
    updatePool: (name, contract) => this.pools.updatePool(name, contract),
    moveCluster: (name, pool) => this.clusters.moveCluster(name, pool),
    drainQueue: (name) => this.queues.setState(name, QueueState.DRAINING),
    activateQueue: (name) => this.queues.setState(name, QueueState.ACTIVE),
    deleteQueue: (name) => this.queues.deleteQueue(name),
  };
  readonly organization: string;
  readonly url: string;
  private readonly onClose: (() => void) | undefined;
  readonly credentialsRefused?: () => boolean;

  constructor(opts: UnionControlPlaneOptions) {
    const { pageSize } = opts;
    const org = (this.organization = opts.org);
    this.url = opts.url;
    this.onClose = opts.onClose;
    if (opts.credentialsRefused) this.credentialsRefused = opts.credentialsRefused;
    const call: Call = (rpc, addr, fn, lane) =>
      withRetry(
        { rpc: RPC[rpc], address: addr, org },
        lane ? { ...opts.retry, lane } : opts.retry,
        fn,
      );
    const client = <S extends Parameters<typeof createClient>[0]>(service: S) =>
      createClient(service, opts.transport);
    this.pools = new UnionPools(client(ClusterPoolService), org, call, pageSize);
    // Each kind's list needs the other's (a queue is cluster-managed when a cluster has its
    // name; a cluster's bound queues name it): both share their sweeps.
    this.queues = new UnionQueues(client(QueueService), org, call, pageSize, () =>
      this.clusters.raw(),
    );
    this.clusters = new UnionClusters(client(ClusterService), org, call, pageSize, this.queues);
    this.defaultQueues = new DefaultQueueSettings({
      org,
      transport: opts.transport,
      projects: client(ProjectService),
      call,
      pageSize,
      parallelism: opts.parallelism,
    });
  }

  async close(): Promise<void> {
    this.onClose?.();
  }
}

/** `union+https://HOST[:PORT][?protocol=grpc]` (`union+http://` for a loopback test server). */
function parseUnionUrl(url: string) {
  const inner = url.slice('union+'.length);
  if (!URL.canParse(inner))
    throw new UserError(`control plane "${url}" is not a valid URL (expected union+https://HOST)`);
  refuseUrlCredentials(
    url,
    'the control plane URL',
    'put the Union API key in POOLSYNC_UNION_API_KEY or an --api-key-file',
  );
  const parsed = new URL(inner);
  if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname))
    throw new UserError(
      `control plane "${url}": union+http:// is for a local test server only (127.0.0.1, ::1, localhost); use union+https://${parsed.host}`,
    );
  const protocol = parsed.searchParams.get('protocol') ?? 'connect';
  if (protocol !== 'connect' && protocol !== 'grpc')
    throw new UserError(
      `control plane "${url}": protocol must be connect (default) or grpc, got "${protocol}"`,
    );
  if (parsed.pathname !== '/' && parsed.pathname !== '')
    throw new UserError(
      `control plane "${url}": a Union URL is union+https://HOST[:PORT][?protocol=grpc], without a path`,
    );
  return { baseUrl: parsed.origin, host: parsed.host, protocol } as const;
}

/**
 * Whether a key's endpoint is the control plane at `baseUrl`, read with its scheme: a key naming
 * `host:443` serves `https://host` (the URL drops its default port).
 */
export function keyServes(endpoint: string, baseUrl: string): boolean {
  const base = new URL(baseUrl);
  const read = `${base.protocol}//${endpoint}`;
  if (!URL.canParse(read)) return false;
  const key = new URL(read);
  // Nothing but a host and port: `a@host` or `host/x` is no endpoint a key names.
  return (
    `${key.protocol}//${key.host}` === key.href.replace(/\/$/, '') &&
    key.host.toLowerCase() === base.host.toLowerCase()
  );
}

/** The API key (resolveApiKey) must be issued for HOST: its secret goes to no other endpoint. */
export async function openUnion(
  url: string,
  apiKeyFile: string | undefined,
  env: Env,
  tuning: ClientTuning = {},
): Promise<UnionControlPlane> {
  const { baseUrl, host, protocol } = parseUnionUrl(url);
  const key = await resolveApiKey(apiKeyFile, env, host);
  if (!keyServes(key.endpoint, baseUrl)) {
    // union+http:// is for this machine only (parseUnionUrl): another host is offered https.
    const keyHost = URL.canParse(`http://${key.endpoint}`)
      ? new URL(`http://${key.endpoint}`).hostname
      : key.endpoint;
    const scheme = isLoopback(keyHost) ? new URL(baseUrl).protocol : 'https:';
    throw new UserError(
      `the Union API key was issued for ${key.endpoint}, but the control plane is ${host}: use --control-plane union+${scheme}//${key.endpoint} or the key of ${host}`,
    );
  }
  // The OAuth2 requests share the RPCs' backoff and what is known of the endpoint (util/reach.ts).
  const retry = retryPolicy(tuning, DEFAULT_RETRY);
  const reach = new Reach();
  const { clock, signal, onWait } = tuning;
  const limits = limitsOf(tuning);
  const http = { retry, reach, limits, signal, onWait, clock };
  // Before any RPC, whose own wait notice covers its token requests: said here, as they say it.
  const heard = noticeSilence(limits, baseUrl, onWait, clock, retry.maxRetries);
  const discovery = await discover(baseUrl, { ...http, heard }).finally(heard);
  const tokens = unionTokens(key, discovery, http);
  // Asked for now, not at the first call: a plan loads its repository meanwhile (the token needs
  // nothing of it). A failure here is met again, and told, by the first call.
  tokens.token().catch(() => {});
  const deadlines = new AsyncLocalStorage<CallDeadline>();
  const { transport, close } = createUnionTransport({
    baseUrl,
    protocol,
    tokens,
    header: discovery.headerName,
    limits,
    deadlines,
    signal,
  });
  const parallelism = tuning.connections || 32;
  return new UnionControlPlane({
    transport,
    org: key.org,
    url: `union+${baseUrl}`,
    onClose: close,
    credentialsRefused: () => tokens.wasRefused,
    retry: {
      ...retry,
      reach,
      pacer: new Pacer('Union', parallelism, clock, tuning.onPace),
      onWait: tuning.onWait,
      clock,
      origin: baseUrl,
      limits,
      deadlines,
      signal,
    },
    parallelism,
    pageSize: tuning.pageSize || 1000,
  });
}
