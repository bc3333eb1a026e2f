/**
 * The wire to Union: a Connect (default) or gRPC transport of @connectrpc/connect-node, its auth
 * interceptor, and withRetry, which maps gRPC status codes to ControlPlaneError codes, keeping
 * the server's message.
 *
 * Retried, as the REST and flyteadmin clients do (issue 38, item 5): UNAVAILABLE,
 * RESOURCE_EXHAUSTED (waiting the delay of google.rpc.RetryInfo, through the pacer) and
 * DEADLINE_EXCEEDED; a failure to connect (the fast-fail budget until Union has answered once,
 * util/reach.ts); a connection lost after the request may have been sent, and a 5xx (INTERNAL,
 * UNKNOWN, a proxy's page): every write is idempotent or reads its effect back on a retry (RPC
 * below says which; issue 46, item 9). Never retried: a token the token endpoint refused (its
 * own requests were retried already, ../oauth.ts), and a limit that ended the call: its deadline,
 * which every attempt's RPC carries (`deadlines`), and connect's readMaxBytes.
 */
import { Code, ConnectError, type Interceptor, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from '@connectrpc/connect-node';
import { connectionLost, oversizedHeaders, Reach } from '../../util/reach.js';
import { ControlPlaneError, type ControlPlaneErrorCode, unreachable } from '../errors.js';
import type { TokenSource } from '../oauth.js';
import type { RetryPolicy } from '../../util/backoff.js';
import { type Attempt, retrying, type RetryLoop } from '../retry.js';
import type { Lane } from '../../util/pacer.js';
import type { AsyncLocalStorage } from 'node:async_hooks';
import {
  CallDeadline,
  DEFAULT_LIMITS,
  limitErrorOf,
  limitOf,
  limitWords,
  noticeSilence,
  type TransportLimits,
  type WaitListener,
} from '../../util/transport-limits.js';
import { RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';

export type UnionProtocol = 'connect' | 'grpc';

const RETRIED = new Set([Code.Unavailable, Code.ResourceExhausted, Code.DeadlineExceeded]);

/**
 * `<header>: Bearer …`. A unary call answered UNAUTHENTICATED is sent once more with a new token:
 * the server may have revoked or rotated it while unexpired here (as flyte-sdk-ts does).
 */
export function authInterceptor(
  tokens: TokenSource,
  header: string,
  deadlines?: AsyncLocalStorage<CallDeadline>,
): Interceptor {
  // A deadline that ends while the token is awaited names the token request, not the RPC.
  const token = async () => {
    const deadline = deadlines?.getStore();
    if (deadline) deadline.waitingFor = tokens.asking;
    try {
      return await tokens.token();
    } finally {
      if (deadline) deadline.waitingFor = null;
    }
  };
  return (next) => async (req) => {
    req.header.set(header, `Bearer ${await token()}`);
    try {
      return await next(req);
    } catch (err) {
      if (req.stream || !(err instanceof ConnectError) || err.code !== Code.Unauthenticated)
        throw err;
      tokens.invalidate();
      req.header.set(header, `Bearer ${await token()}`);
      return next(req);
    }
  };
}

export function createUnionTransport(opts: {
  baseUrl: string;
  protocol: UnionProtocol;
  tokens: TokenSource;
  header: string;
  limits?: TransportLimits;
  /** The deadline of the call each RPC is an attempt of (withRetry). */
  deadlines?: AsyncLocalStorage<CallDeadline>;
  /** A daemon's leadership term: the calls in flight are abandoned. */
  signal?: AbortSignal | undefined;
}): { transport: Transport; close: () => void } {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const { signal } = opts;
  const interceptors: Interceptor[] = [authInterceptor(opts.tokens, opts.header, opts.deadlines)];
  if (signal)
    interceptors.push(
      (next) => (req) => next({ ...req, signal: AbortSignal.any([req.signal, signal]) }),
    );
  const common = {
    baseUrl: opts.baseUrl,
    interceptors,
    defaultTimeoutMs: limits.callTimeoutMs,
    readMaxBytes: limits.maxResponseBytes,
  };
  // Our own HTTP/2 session, so close() ends it instead of leaving it to its idle timeout; a
  // connection that answers no PING within the read timeout is closed with its calls.
  const session = new Http2SessionManager(opts.baseUrl, {
    pingIntervalMs: limits.readTimeoutMs,
    pingTimeoutMs: limits.readTimeoutMs,
  });
  const { deadlines } = opts;
  const bounded = (transport: Transport) =>
    deadlines ? withDeadlines(transport, deadlines) : transport;
  if (opts.protocol === 'grpc')
    return {
      transport: bounded(createGrpcTransport({ ...common, sessionManager: session })),
      close: () => session.abort(),
    };
  // Connect: HTTP/2 over TLS (ALPN), HTTP/1.1 in clear text (local servers). Binary, not
  // JSON: protobuf-es keeps the fields poolsync's .proto does not declare as unknown fields
  // through fromBinary/toBinary, but its JSON codec drops them, and a queue update writes back
  // what it read (read-modify-write, union.ts). gRPC is always binary.
  const connect = { ...common, useBinaryFormat: true };
  const transport = opts.baseUrl.startsWith('https:')
    ? createConnectTransport({ ...connect, httpVersion: '2', sessionManager: session })
    : createConnectTransport({ ...connect, httpVersion: '1.1' });
  return { transport: bounded(transport), close: () => session.abort() };
}

function withDeadlines(
  transport: Transport,
  deadlines: AsyncLocalStorage<CallDeadline>,
): Transport {
  const signalOf = (signal: AbortSignal | undefined) => {
    const deadline = deadlines.getStore()?.signal;
    return deadline && signal ? AbortSignal.any([signal, deadline]) : (deadline ?? signal);
  };
  return {
    unary: (method, signal, ...rest) => transport.unary(method, signalOf(signal), ...rest),
    stream: (method, signal, ...rest) => transport.stream(method, signalOf(signal), ...rest),
  };
}

/** Over readMaxBytes (before or after decompression). */
const tooLarge = (err: ConnectError): boolean =>
  err.code === Code.ResourceExhausted && /readMaxBytes/.test(err.rawMessage);

const CODES: Partial<Record<Code, ControlPlaneErrorCode>> = {
  [Code.InvalidArgument]: 'INVALID_ARGUMENT',
  [Code.OutOfRange]: 'INVALID_ARGUMENT',
  [Code.NotFound]: 'NOT_FOUND',
  [Code.AlreadyExists]: 'ALREADY_EXISTS',
  [Code.FailedPrecondition]: 'FAILED_PRECONDITION',
  [Code.Aborted]: 'FAILED_PRECONDITION',
  [Code.Unimplemented]: 'FAILED_PRECONDITION',
  [Code.Unauthenticated]: 'UNAUTHENTICATED',
  [Code.PermissionDenied]: 'PERMISSION_DENIED',
};

export function isCode(err: unknown, code: 'NotFound' | 'AlreadyExists'): boolean {
  return err instanceof ConnectError && err.code === Code[code];
}

/** For messages: `cloudidl.queue.QueueService/GetQueue` and `Queue/q1`. */
export interface CallInfo {
  rpc: string;
  address: string | null;
  org: string;
}

export interface UnionRetry
  extends RetryPolicy, Pick<RetryLoop, 'pacer' | 'lane' | 'clock' | 'signal'> {
  reach?: Reach;
  /** For "nothing accepts connections at …". */
  origin?: string;
  limits?: TransportLimits;
  deadlines?: AsyncLocalStorage<CallDeadline>;
  onWait?: WaitListener | undefined;
}

/** The delay Union asks for (google.rpc.RetryInfo in the error's details), in ms. */
export function retryInfoMs(err: ConnectError): number | null {
  const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return delay ? Number(delay.seconds) * 1000 + Math.ceil(delay.nanos / 1e6) : null;
}

const READ_RPC = /\/(List|Get|Watch)[A-Z]/;

function toControlPlaneError(err: ConnectError, call: CallInfo): ControlPlaneError {
  const where = call.address ? `${call.address}: ` : '';
  const lost = connectionLost(err);
  if (lost !== null) {
    // Not the server's ABORTED (a conflict): the connection went away under the call.
    const landed = READ_RPC.test(call.rpc)
      ? ''
      : '; it may have been carried out: run `poolsync plan` to see';
    return new ControlPlaneError(
      'UNAVAILABLE',
      `${where}the connection to Union was lost before its answer arrived (${lost}, from ${call.rpc})${landed}`,
      call.address,
    );
  }
  const code = CODES[err.code] ?? 'UNAVAILABLE';
  // A message that names the object already (the stand-in's, from poolsync's store) names it once.
  const message = err.rawMessage.startsWith(where)
    ? err.rawMessage.slice(where.length)
    : err.rawMessage;
  const said = message || '(no message)';
  // The code as gRPC spells it: NotFound → NOT_FOUND.
  const grpcCode = Code[err.code].replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
  const via = `${grpcCode} from ${call.rpc}`;
  let hint = '';
  if (err.code === Code.Unauthenticated)
    hint =
      ': Union did not accept the token; check the API key (POOLSYNC_UNION_API_KEY / --api-key-file) is for this endpoint';
  else if (err.code === Code.PermissionDenied)
    hint = `: the API key's application may not do this in organisation "${call.org}"; check the key's org and that its role allows it`;
  else if (err.code === Code.Unimplemented)
    hint = ': this Union endpoint does not offer the call (an older or different deployment)';
  return new ControlPlaneError(code, `${where}${said} (${via})${hint}`, call.address);
}

export interface CallState {
  /** Sent again after a transient failure: it may have landed before. */
  retried: boolean;
}

/** A 5xx: Union's INTERNAL or UNKNOWN, or a proxy's page without a Connect code (`HTTP 500`). */
const serverError = (err: ConnectError): boolean =>
  err.code === Code.Unknown || err.code === Code.Internal;

export function withRetry<T>(
  call: CallInfo,
  policy: UnionRetry,
  fn: (state: CallState) => Promise<T>,
): Promise<T> {
  const reach = policy.reach ?? new Reach();
  const limits = policy.limits ?? DEFAULT_LIMITS;
  const now = policy.clock ? () => policy.clock!.now() : Date.now;
  const label = `${call.address ? `${call.address}: ` : ''}${call.rpc}`;
  const deadline = new CallDeadline(limits, now, label);
  // No retries given: an attempt has no read timeout of its own, so the call's deadline ends the wait.
  const waitedFor = () => deadline.waitingOn ?? policy.origin ?? '';
  const heard = noticeSilence(limits, waitedFor, policy.onWait, policy.clock);
  const send = (n: number) => fn({ retried: n > 0 });
  const attempt = policy.deadlines
    ? (n: number) => policy.deadlines!.run(deadline, () => send(n))
    : send;
  const loop = {
    ...policy,
    reach,
    label,
    deadline,
    address: call.address,
    read: READ_RPC.test(call.rpc),
    heard,
  };
  return retrying(loop, async (n): Promise<Attempt<T>> => {
    try {
      const value = await attempt(n);
      heard();
      reach.answered = true;
      return { ok: true, value };
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      // The token source's refusal (or failure after its own retries), wrapped by connect.
      if (err.cause instanceof ControlPlaneError) throw err.cause;
      const limit = tooLarge(err) ? 'size' : limitOf(err);
      if (limit === 'call') throw limitError(err, call);
      if (limit === 'size')
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${call.address ? `${call.address}: ` : ''}${call.rpc}: ${limitWords('size', limits)}`,
          call.address,
        );
      // Answered: the same server answers the same way.
      const answered = oversizedHeaders(err);
      if (answered)
        throw new ControlPlaneError('UNAVAILABLE', `${label}: ${answered}`, call.address);
      const failure = reach.failureOf(err);
      // Anything but a failure to connect came from Union (or a proxy in front of it).
      if (failure === null && err.cause === undefined) {
        heard();
        reach.answered = true;
      }
      const exhausted = err.code === Code.ResourceExhausted;
      return {
        ok: false,
        transient:
          failure !== null ||
          RETRIED.has(err.code) ||
          connectionLost(err) !== null ||
          serverError(err),
        failure,
        throttled: exhausted
          ? { said: 'RESOURCE_EXHAUSTED', delayMs: retryInfoMs(err) }
          : undefined,
        error: (attempts) =>
          failure && policy.origin
            ? unreachable(call.rpc, 'Union', policy.origin, failure, attempts, limits)
            : toControlPlaneError(err, call),
      };
    }
  }).finally(() => {
    heard();
    deadline.done();
  });
}

/** The call's deadline fired: its own words (the LimitError connect carries as the cause). */
function limitError(err: ConnectError, call: CallInfo): ControlPlaneError {
  const message = limitErrorOf(err)?.message ?? err.message;
  return new ControlPlaneError('UNAVAILABLE', message, call.address);
}

/**
 * Every Union RPC poolsync calls (proto/, from the flyteplugins-union wheel). Each is safe to
 * send again after a lost connection: reads are; a write is when sending it twice is sending it
 * once (said beside it), else its caller reads its effect back on a retry (`retried`); a create's
 * AlreadyExists goes to its step, which reads the object (src/apply/steps.ts existing).
 */
const Q = 'cloudidl.queue.QueueService';
const C = 'cloudidl.cluster.ClusterService';
const P = 'cloudidl.clusterpool.ClusterPoolService';
const S = 'flyteidl2.settings.SettingsService';

export const RPC = {
  listQueues: `${Q}/ListQueues`,
  getQueue: `${Q}/GetQueue`,
  createQueue: `${Q}/CreateQueue`,
  // The whole spec: sent again, the same queue.
  updateQueue: `${Q}/UpdateQueue`,
  // Setting a state twice is setting it once.
  updateQueueState: `${Q}/UpdateQueueState`,
  watchQueueMetrics: `${Q}/WatchQueueMetrics`,
  deleteQueue: `${Q}/DeleteQueue`,
  undeleteQueue: `${Q}/UndeleteQueue`,
  listClusters: `${C}/ListClusters`,
  getCluster: `${C}/GetCluster`,
  createCluster: `${C}/CreateCluster`,
  updateCluster: `${C}/UpdateCluster`,
  // With the generation read just before: a retry refused for a stale generation reads back.
  updateClusterState: `${C}/UpdateClusterState`,
  deleteCluster: `${C}/DeleteCluster`,
  undeleteCluster: `${C}/UndeleteCluster`,
  listPools: `${P}/List`,
  getPool: `${P}/Get`,
  createPool: `${P}/Create`,
  // The whole config: sent again, the same pool.
  updatePool: `${P}/Update`,
  deletePool: `${P}/Delete`,
  undeletePool: `${P}/Undelete`,
  listProjects: 'flyteidl2.project.ProjectService/ListProjects',
  getSettingsForEdit: `${S}/GetSettingsForEdit`,
  // Versioned: a version conflict (or ALREADY_EXISTS) reads the level again (settings.ts).
  createSettings: `${S}/CreateSettings`,
  updateSettings: `${S}/UpdateSettings`,
} as const;

export type RpcName = keyof typeof RPC;

/** `addr`: the object for messages (null for lists). */
export type Call = <T>(
  rpc: RpcName,
  addr: string | null,
  fn: (s: CallState) => Promise<T>,
  /** `bulk`: a read fanned out by the thousand, after every other call (util/pacer.ts). */
  lane?: Lane,
) => Promise<T>;
