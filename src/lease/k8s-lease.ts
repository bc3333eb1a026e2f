/**
 * A Lease as a lock (`daemon --leader-elect`, `--lock k8s:NAMESPACE/NAME`), as client-go's
 * LeaseLock: another identity's lease is taken over only once it has not changed for its
 * duration by this process's clock (never comparing two machines' clocks); every write is a PUT
 * carrying the resourceVersion read, so of two candidates one gets 409 Conflict and loses.
 *
 * The inventory in a ConfigMap (`--inventory`) for control planes that cannot keep it: one data
 * key per control plane, every other key, label and annotation kept. On 409 the ConfigMap is
 * read again and what this writer changed in its entry, field by field, is applied to the entry
 * there now (model/inventory.ts, mergeInventory). Over the API server's 1 MiB is refused before
 * sending; an entry that is not an inventory is an error naming the ConfigMap and key, never
 * overwritten.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  Observable,
  ResponseContext,
  ServerConfiguration,
  type RequestContext,
  createConfiguration,
  wrapHttpLibrary,
  type ApiConstructor,
  type ApiType,
  type Cluster,
  type ConfigurationOptions,
  type V1ConfigMap,
  type V1Lease,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import {
  mergeInventory,
  parseInventoryText,
  recordedAddresses,
  type InventoryRecord,
} from '../model/inventory.js';
import { backoffDelay } from '../util/backoff.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import type { K8sPlace } from '../util/k8s-place.js';
import {
  connectFailure,
  connectionLost,
  noAnswerWords,
  isLoopback,
  notJsonWords,
  oversizedHeaders,
  PROXY_ASKS_CREDENTIALS,
  redirectWords,
  TRANSIENT_STATUS,
} from '../util/reach.js';
import { UserError } from '../util/user-error.js';
import { load, YAMLException, yamlFileProblem } from '../util/js-yaml.js';
import type { Env } from '../util/env.js';
import {
  CallDeadline,
  limitOf,
  limitWords,
  noticeSilence,
  type TransportLimits,
  type WaitListener,
} from '../util/transport-limits.js';
import { boundedRequest } from '../util/bounded-request.js';

export type LeaseRef = K8sPlace;

/** The daemon's default to controller-runtime's (15 s, 10 s, 2 s). */
export interface LeaseTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /**
   * How long after its term ended a write of the term may still land (termTimings); default
   * lease duration − renew deadline.
   */
  longestWriteMs?: number | undefined;
  /** How long a new leader waits before its first write (default 0; termTimings). */
  takeoverWaitMs?: number | undefined;
}

/**
 * A kubeconfig whose every API call is bounded as every HTTP client's is (util/transport-
 * limits.ts: connect, read, call, size): client-node's fetch has no timer and no cap of its own,
 * so an API server (or a proxy before it) trickling or never ending its answer held a Lease
 * renewal or an inventory read forever, or took the process's memory.
 */
class BoundedKubeConfig extends KubeConfig {
  constructor(
    readonly limits: TransportLimits,
    private readonly onWait: WaitListener | undefined,
    private readonly clock: Clock,
  ) {
    super();
  }

  override makeApiClient<T extends ApiType>(api: ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    return new api(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: this },
        httpApi: wrapHttpLibrary({
          send: (req) => boundedSend(req, cluster.server, this.limits, this.onWait, this.clock),
        }),
      }),
    );
  }

  /**
   * A plain-http server on this machine (`kubectl proxy`'s http://127.0.0.1:8001) is used as
   * kubectl uses it; client-node would refuse it unless insecure-skip-tls-verify is set.
   */
  override getCurrentCluster(): Cluster | null {
    const cluster = super.getCurrentCluster();
    if (!cluster?.server.startsWith('http:') || cluster.skipTLSVerify || cluster.proxyUrl)
      return cluster;
    const { hostname, origin } = new URL(cluster.server);
    if (isLoopback(hostname)) return { ...cluster, skipTLSVerify: true };
    throw new UserError(
      `the Kubernetes API at ${origin} (${KUBE_SETTING}) is plain HTTP on another machine: the KUBECONFIG user's credentials would cross the network unencrypted. ` +
        "Give the API server's https:// address, or run `kubectl proxy` here and give http://127.0.0.1:8001; to send them unencrypted anyway, set insecure-skip-tls-verify: true on that cluster",
    );
  }
}

/** An answer poolsync does not read as the Kubernetes API's: said whole, with its status (`code`). */
export class KubeAnswerError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** The kinds of the resources poolsync reads and writes, by their plural in the URL. */
const KINDS: Record<string, string> = { leases: 'Lease', configmaps: 'ConfigMap' };

/**
 * What a call on one object must answer (a GET, PUT or POST under `namespaces/NS/PLURAL`):
 * apiVersion and name from the URL (a POST's from its body), kind where known; null: another call.
 */
function askedFor(
  method: string,
  path: string,
  body: string | undefined,
): { apiVersion: string; kind?: string; name: string } | null {
  const m =
    /^(?:.*?)\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))\/namespaces\/[^/]+\/([^/]+)(?:\/([^/]+))?$/.exec(
      path,
    );
  if (
    !m ||
    !['GET', 'PUT', 'POST'].includes(method) ||
    (method === 'POST') !== (m[4] === undefined)
  )
    return null;
  const name =
    m[4] ?? (JSON.parse(body ?? '{}') as { metadata?: { name?: string } }).metadata?.name;
  if (name === undefined) return null;
  return { apiVersion: m[1] ?? m[2]!, kind: KINDS[m[3]!], name: decodeURIComponent(name) };
}

/**
 * Refuses an answer client-node would read as something it is not: a success that is not JSON
 * (a sign-in page read as an empty Lease took no lock) or not the object asked for, a redirect
 * (never followed: the token would go with it), an error whose body is not JSON.
 */
function checkAnswer(
  req: RequestContext,
  url: URL,
  server: string,
  answer: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
): void {
  const { status } = answer;
  const at = `the Kubernetes API at ${url.origin}`;
  const check = `is ${KUBE_SETTING} the Kubernetes API's URL, not a sign-in page's or another server's?`;
  if (status >= 300 && status < 400)
    throw new KubeAnswerError(
      `${at} answered HTTP ${status}, ${redirectWords(answer.headers.location, url, server, { setting: `correct ${KUBE_SETTING}` })}`,
      status,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body.toString('utf8'));
  } catch {
    // An error's own body is not needed: its status says it (client-node would fail parsing it).
    throw status >= 200 && status < 300
      ? new KubeAnswerError(`${notJsonWords(at, status, answer.headers['content-type'])}: ${check}`)
      : new KubeAnswerError(statusWords(status, url.origin), status);
  }
  if (status < 200 || status >= 300) return;
  const asked = askedFor(req.getHttpMethod(), url.pathname, req.getBody() as string | undefined);
  if (asked === null) return;
  const got = (parsed ?? {}) as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown };
  };
  const matches =
    got.apiVersion === asked.apiVersion &&
    (asked.kind === undefined || got.kind === asked.kind) &&
    got.metadata?.name === asked.name;
  if (!matches)
    throw new KubeAnswerError(
      `${at} answered HTTP ${status} to ${req.getHttpMethod()} ${url.pathname} with ${JSON.stringify({ apiVersion: got.apiVersion, kind: got.kind, name: got.metadata?.name })}, not the ${asked.kind ?? 'object'} ${asked.name} (${asked.apiVersion}) asked for: ${check}`,
    );
}

/**
 * One API call within the call timeout (the term's signal, when it carries one, beside it); a
 * call silent for a few seconds is told to `onWait`, as the control plane's are.
 */
async function boundedSend(
  req: RequestContext,
  server: string,
  limits: TransportLimits,
  onWait: WaitListener | undefined,
  clock: Clock,
): Promise<ResponseContext> {
  const body = req.getBody();
  // client-node sends JSON text; a form is never asked for here.
  if (body !== undefined && typeof body !== 'string')
    throw new TypeError('the Kubernetes API client sends string bodies only');
  const url = new URL(req.getUrl());
  const deadline = new CallDeadline(limits);
  const heard = noticeSilence(limits, url.origin, onWait, clock);
  const term = req.getSignal();
  try {
    const answer = await boundedRequest(
      url,
      {
        method: req.getHttpMethod(),
        headers: req.getHeaders(),
        body,
        signal: term ? AbortSignal.any([term, deadline.signal]) : deadline.signal,
        agent: req.getAgent(),
      },
      limits,
    );
    checkAnswer(req, url, server, answer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(answer.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const text = () => Promise.resolve(answer.body.toString('utf8'));
    const binary = () => Promise.resolve(answer.body);
    return new ResponseContext(answer.status, headers, { text, binary });
  } finally {
    heard();
    deadline.done();
  }
}

/**
 * In a pod (KUBERNETES_SERVICE_HOST) its service account; else the files of KUBECONFIG (merged,
 * as kubectl does) or ~/.kube/config. Its calls are bounded by `limits`, the command's or the
 * daemon's (--connect-timeout, --read-timeout, --call-timeout, --max-response-size), and a call
 * waiting long is told to `onWait` (the command's waiting notice), timed by `clock`.
 */
export function loadKubeConfig(
  env: Env,
  limits: TransportLimits,
  onWait?: WaitListener,
  clock: Clock = SYSTEM_CLOCK,
): KubeConfig {
  const kc = new BoundedKubeConfig(limits, onWait, clock);
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  const fromKubeconfig = files.length > 0;
  try {
    if (env.KUBERNETES_SERVICE_HOST && files.length === 0) kc.loadFromCluster();
    else {
      if (files.length === 0 && env.HOME) files.push(join(env.HOME, '.kube', 'config'));
      for (const [i, file] of files.entries()) {
        // The client's own parse error quotes the lines around the fault, a token among them.
        try {
          load(readFileSync(file, 'utf8'));
        } catch (err) {
          if (err instanceof YAMLException) throw new Error(yamlFileProblem(file, err));
        }
        if (i === 0) kc.loadFromFile(file);
        else {
          const more = new KubeConfig();
          more.loadFromFile(file);
          kc.mergeConfig(more);
        }
      }
    }
  } catch (err) {
    throw new UserError(
      `cannot load a Kubernetes configuration (in-cluster service account or KUBECONFIG): ${(err as Error).message}; set KUBECONFIG to a kubeconfig file of the cluster, or run in a pod with a service account`,
    );
  }
  const where = fromKubeconfig ? `KUBECONFIG (${files.join(delimiter)})` : files.join(delimiter);
  const context = kc.getCurrentContext();
  const contextObject = context ? kc.getContextObject(context) : null;
  if (context && !contextObject)
    throw new UserError(
      `the current-context '${context}' of ${where} names no context in it: set current-context to one of its contexts (kubectl config use-context NAME)`,
    );
  const cluster = contextObject?.cluster;
  if (cluster && !kc.getCurrentCluster())
    throw new UserError(
      `the context '${context}' of ${where} names cluster '${cluster}', which it does not hold: add the cluster or point the context at one of its clusters`,
    );
  if (!kc.getCurrentCluster())
    throw new UserError(
      fromKubeconfig
        ? `no Kubernetes cluster configured in ${where}: it sets no current-context; set one (kubectl config use-context NAME)`
        : 'no Kubernetes cluster configured: run in a pod with a service account, or set KUBECONFIG',
    );
  return kc;
}

export interface LeaseObservation {
  /** By this identity now. */
  held: boolean;
  /** As last read (null: nobody), with the address it published (ADDRESS_ANNOTATION). */
  holder: string | null;
  holderAddress?: string | null;
}

/**
 * The leader's status server, for requests a follower hands to it. Written by the holder with
 * every acquire and renewal, so it always belongs to the current holderIdentity.
 */
const ADDRESS_ANNOTATION = 'poolsync.dev/holder-address';

/** `spec` over its own (renewed now unless it says when); `address` published, or removed (null). */
function rewritten(lease: V1Lease, address: string | null, spec: V1Lease['spec']): V1Lease {
  const annotations = { ...(lease.metadata?.annotations ?? {}) };
  if (address) annotations[ADDRESS_ANNOTATION] = address;
  else delete annotations[ADDRESS_ANNOTATION];
  const metadata = { ...lease.metadata, annotations };
  return { ...lease, metadata, spec: { ...lease.spec, renewTime: microTime(), ...spec } };
}

/** Now in RFC 3339 with microseconds, as the API server's MicroTime wants (not milliseconds). */
function microTime(): Date {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

/** Of a failed @kubernetes/client-node call; null: no answer. */
export function statusOf(err: unknown): number | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

/**
 * Short (client-node's message holds the response); 403 names the rights. One line, never a
 * stack: `apply --lock k8s:` said an API server out of reach as an internal error.
 */
function describe(err: unknown, what: string, objects: string, server: ApiServer): UserError {
  const status = statusOf(err);
  if (status === 403)
    return new UserError(
      `${what}: forbidden (403): the service account needs get, create and update on ${objects} (see examples/deploy/rbac.yaml)`,
    );
  if (err instanceof KubeAnswerError) return new UserError(`${what}: ${err.message}`);
  if (status !== null) return new UserError(`${what}: ${statusWords(status, server.origin)}`);
  return new UserError(`${what}: ${unanswered(err, server)}`);
}

/** An HTTP status the Kubernetes API (or what stands before it) answered, with what to do. */
export function statusWords(status: number, origin: string): string {
  const said = `the Kubernetes API at ${origin} answered HTTP ${status}`;
  if (status === 401)
    return `${said} (Unauthorized): it refused the credentials of the KUBECONFIG user (in a pod, the service account's token): renew them if they expired, or choose a context whose user it accepts`;
  if (status === 407)
    return `${said}: a proxy in front of it ${PROXY_ASKS_CREDENTIALS}: give them in the cluster's proxy-url (http://USER:PASSWORD@HOST:PORT)`;
  if (TRANSIENT_STATUS.includes(status))
    return `${said}: the API server, or a proxy or load balancer in front of it, is failing or overloaded; try again, and if it lasts check the API server (kubectl get --raw /readyz)`;
  return said;
}

/** Where the API server's URL comes from, for what to check. */
const KUBE_SETTING =
  "the current cluster's server in KUBECONFIG (in a pod, KUBERNETES_SERVICE_HOST)";

/** The API server's origin, and its calls' limits (null: a kubeconfig not made here, a test's). */
interface ApiServer {
  origin: string;
  limits: TransportLimits | null;
  /** The kubeconfig's proxy-url, without credentials, when its calls go through one. */
  proxy: string | null;
  /** Whether that proxy-url carries a user or password (sent by hpagent, never printed). */
  proxyCredentials: boolean;
}

/**
 * A call without an answer in the words of every client (util/reach.ts, util/transport-limits.ts),
 * naming the API server's origin (never a kubeconfig's credentials); another error (client-node's
 * own) as it is.
 */
function unanswered(err: unknown, server: ApiServer): string {
  const via = server.proxy ? ` through the proxy ${server.proxy} (the kubeconfig's proxy-url)` : '';
  const at = `the Kubernetes API at ${server.origin}${via}`;
  // Aborted while no term was cut (callers say that first): a limit of the call.
  const limit = limitOf(err);
  if (limit !== null && server.limits) return `${at}: ${limitWords(limit, server.limits)}`;
  const answered = oversizedHeaders(err);
  if (answered !== null) return `${at}: ${answered}`;
  // hpagent's words for a CONNECT the proxy did not answer 200.
  const refused = server.proxy && /^Bad response: (\d{3})$/.exec((err as Error).message ?? '');
  if (refused) return `${at}: ${proxyRefusal(Number(refused[1]), server.proxyCredentials)}`;
  if (connectFailure(err) === null && connectionLost(err) === null)
    return (err as Error).message ?? String(err);
  return `cannot reach the Kubernetes API: ${noAnswerWords(err, server.origin, KUBE_SETTING)}`;
}

/** A CONNECT the kubeconfig's proxy answered other than 200, with what to change. */
function proxyRefusal(status: number, credentials: boolean): string {
  const form = '(http://USER:PASSWORD@HOST:PORT)';
  if (status !== 407)
    return `the proxy refused to connect to it (HTTP ${status}): check proxy-url, and that the proxy lets this machine reach the API server`;
  return credentials
    ? `the proxy ${PROXY_ASKS_CREDENTIALS} and refused the ones in proxy-url: correct its USER:PASSWORD ${form}`
    : `the proxy ${PROXY_ASKS_CREDENTIALS}: give them in proxy-url ${form}`;
}

/** A call that got no HTTP status, in the words above (flyteadmin's clusters ConfigMap). */
export const unansweredCall = (err: unknown, kc: KubeConfig): string =>
  unanswered(err, serverOf(kc));

function serverOf(kc: KubeConfig): ApiServer {
  const { server = '', proxyUrl } = kc.getCurrentCluster() ?? {};
  // Scheme and host only: a socks5:// URL has no origin, and a URL's user and password stay out.
  const originOf = (url: string) =>
    URL.canParse(url) ? `${new URL(url).protocol}//${new URL(url).host}` : url;
  const proxied = proxyUrl && URL.canParse(proxyUrl) ? new URL(proxyUrl) : null;
  return {
    origin: originOf(server),
    limits: kc instanceof BoundedKubeConfig ? kc.limits : null,
    proxy: proxyUrl ? originOf(proxyUrl) : null,
    proxyCredentials: proxied !== null && (proxied.username !== '' || proxied.password !== ''),
  };
}

const LEASES = 'leases.coordination.k8s.io';

export class LeaseLock {
  private readonly api: CoordinationV1Api;
  private observed: { key: string; at: number } | null = null;
  private lastHolder: string | null = null;
  private readonly durationSeconds: number;
  readonly where: string;
  private readonly server: ApiServer;
  /** Published with the lease while this identity holds it (ADDRESS_ANNOTATION); null: none. */
  address: string | null = null;

  constructor(
    kc: KubeConfig,
    readonly ref: LeaseRef,
    readonly identity: string,
    leaseDurationMs: number,
    /** Judges how long a renewal has gone unchanged (never the holder's clock). */
    private readonly clock: Clock = SYSTEM_CLOCK,
    /**
     * Judge a lease seen for the first time by its renewTime against this clock (a one-shot
     * `apply` cannot wait a whole lease duration the way a leader candidate does).
     */
    private readonly trustRenewTime = false,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.server = serverOf(kc);
    this.durationSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
    this.where = `Lease ${ref.namespace}/${ref.name}`;
  }

  /** client-go tryAcquireOrRenew. Conflicts are a lost race, not an error. */
  async tryAcquireOrRenew(): Promise<LeaseObservation> {
    const lease = await this.read();
    if (lease === null) return this.create();
    const seen = this.observe(lease);
    if (seen.holder !== null && seen.holder !== this.identity && seen.valid) return seen;
    const body = this.takenOver(lease, seen.holder === this.identity);
    try {
      await this.api.replaceNamespacedLease({ ...this.ref, body });
    } catch (err) {
      if (statusOf(err) !== 409) throw describe(err, `updating ${this.where}`, LEASES, this.server);
      // Lost: another candidate wrote since the read, or the Lease was deleted since (the API
      // server fails the write's UID precondition). A Lease that is gone is created now, so its
      // holder keeps it; else whoever holds it now is the answer.
      const now = await this.read();
      return now === null ? this.create() : this.observe(now);
    }
    return this.won();
  }

  private won(): LeaseObservation {
    this.lastHolder = this.identity;
    this.observed = null;
    return { held: true, holder: this.identity, holderAddress: this.address };
  }

  private async read(): Promise<V1Lease | null> {
    try {
      return await this.api.readNamespacedLease(this.ref);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw describe(err, `reading ${this.where}`, LEASES, this.server);
    }
  }

  /** 409: another candidate was first. */
  private async create(): Promise<LeaseObservation> {
    const { namespace, name } = this.ref;
    // This identity's renewal of an empty Lease: acquired as it is renewed (one instant), no
    // transition yet, the address published.
    const empty = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace },
    };
    try {
      await this.api.createNamespacedLease({ namespace, body: this.takenOver(empty, true) });
    } catch (createErr) {
      if (statusOf(createErr) === 409) return { held: false, holder: this.lastHolder };
      throw describe(createErr, `creating ${this.where}`, LEASES, this.server);
    }
    return this.won();
  }

  /**
   * The lease as read: its holder, and whether it is still valid, judged by when this process
   * first saw its current renewal (client-go's observedTime), not by the holder's clock.
   */
  private observe(lease: V1Lease): LeaseObservation & { valid: boolean } {
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ? spec.holderIdentity : null;
    const holderAddress = holder
      ? (lease.metadata?.annotations?.[ADDRESS_ANNOTATION] ?? null)
      : null;
    this.lastHolder = holder;
    const key = JSON.stringify([
      holder,
      String(spec.renewTime ?? ''),
      spec.leaseDurationSeconds ?? null,
      spec.leaseTransitions ?? null,
    ]);
    if (this.observed?.key !== key) {
      const renewed = Date.parse(String(spec.renewTime ?? ''));
      const age =
        this.observed === null && this.trustRenewTime && Number.isFinite(renewed)
          ? Math.max(0, Date.now() - renewed)
          : 0;
      this.observed = { key, at: this.clock.now() - age };
    }
    const duration = (spec.leaseDurationSeconds ?? this.durationSeconds) * 1000;
    const valid = this.observed.at + duration > this.clock.now();
    return { held: false, holder, holderAddress, valid };
  }

  /** Renewed (`mine`) or taken over by this identity. */
  private takenOver(lease: V1Lease, mine: boolean): V1Lease {
    const spec = lease.spec ?? {};
    const transitions = spec.leaseTransitions ?? 0;
    const now = microTime();
    return rewritten(lease, this.address, {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.durationSeconds,
      acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: mine ? transitions : transitions + 1,
    });
  }

  /** client-go ReleaseOnCancel: the next candidate need not wait. */
  async release(): Promise<void> {
    const lease = await this.read();
    if (lease === null || lease.spec?.holderIdentity !== this.identity) return;
    try {
      await this.api.replaceNamespacedLease({
        ...this.ref,
        body: rewritten(lease, null, { holderIdentity: '', leaseDurationSeconds: 1 }),
      });
      this.lastHolder = null;
    } catch (err) {
      if (statusOf(err) === 409) return; // changed meanwhile: no longer ours to release
      throw describe(err, `releasing ${this.where}`, LEASES, this.server);
    }
  }
}

/**
 * A request cut by its leadership term's end (`signal`), in words saying so rather than fetch's
 * (`The user aborted a request.`); null while the term lasts.
 */
function cutByTerm(signal: AbortSignal | undefined, what: string): UserError | null {
  if (!signal?.aborted) return null;
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : String(reason);
  return new UserError(`${what}: cut off, the leadership term ended (${why})`);
}

/** Every request carries the term's signal: once the term ends, none is sent or finished. */
function termCalls(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (req) => {
          req.setSignal(signal);
          return new Observable(Promise.resolve(req));
        },
        post: (res) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** The API server's limit on a ConfigMap's values (checkSize). */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;
/** Writes attempted before a run of conflicts is an error. */
const ATTEMPTS = 10;

/** A ConfigMap poolsync creates: labelled as its own, saying what it holds. */
const newConfigMap = (ref: K8sPlace, what: string, data: Record<string, string>) => ({
  namespace: ref.namespace,
  body: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      ...ref,
      labels: { 'app.kubernetes.io/managed-by': 'poolsync' },
      annotations: { 'poolsync.dev/what': what },
    },
    data,
  },
});

/** A write that met another writer's change (409) at each of its ATTEMPTS, said with who and what to do. */
function stillChanged(what: string, { namespace, name }: K8sPlace, writers: string): UserError {
  return new UserError(
    `${what}: changed by another writer between each read and write, ${ATTEMPTS} times in a row (HTTP 409 Conflict), so nothing was written: ` +
      `${writers}, or anything else updating it (\`kubectl -n ${namespace} get configmap ${name} -o yaml --show-managed-fields\` names its writers). ` +
      'Try again once that writer is done',
  );
}

export class ConfigMapInventory {
  private readonly api: CoreV1Api;
  /** This control plane's entry as last read or written (null: none); undefined until read. */
  private base: InventoryRecord | null | undefined = undefined;
  /** The ConfigMap as last read or written (null: none); undefined until read. */
  private seen: V1ConfigMap | null | undefined = undefined;
  /** Writes refused with 409 Conflict and retried. */
  conflicts = 0;
  readonly where: string;
  private readonly server: ApiServer;

  constructor(
    kc: KubeConfig,
    readonly ref: K8sPlace,
    readonly key: string,
    /**
     * Read when the ConfigMap has no entry for this control plane yet: the inventory kept in
     * the state folder before the ConfigMap was configured, moved there by the next write.
     */
    private readonly before: () => Promise<InventoryRecord | null> = () => Promise.resolve(null),
    private readonly clock: Clock = SYSTEM_CLOCK,
    /** The daemon's term: its end ends every call, as it ends the control plane's. */
    private readonly signal?: AbortSignal,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.server = serverOf(kc);
    this.where = `ConfigMap ${ref.namespace}/${ref.name}`;
    this.calls = signal && termCalls(signal);
  }

  /** The term's signal on each request. */
  private readonly calls: ConfigurationOptions | undefined;

  async readInventory(): Promise<InventoryRecord | null> {
    const cm = await this.get();
    const entry = this.entry(cm);
    this.seen = cm;
    this.base = entry;
    return entry ?? (await this.before());
  }

  async writeInventory(record: InventoryRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.signal?.throwIfAborted();
      // First from the ConfigMap as read (its resourceVersion: a write since is a 409), then
      // from the ConfigMap as it is now.
      const cm = attempt === 1 && this.seen !== undefined ? this.seen : await this.get();
      const now = this.entry(cm);
      const merged = mergeInventory(this.base, record, now);
      const data = { ...(cm?.data ?? {}), [this.key]: JSON.stringify(merged) };
      this.checkSize({ data, binaryData: cm?.binaryData ?? {} }, recordedAddresses(merged).length);
      try {
        this.seen =
          cm === null
            ? await this.create(data)
            : await this.api.replaceNamespacedConfigMap(
                { ...this.ref, body: { ...cm, data } },
                this.calls,
              );
        this.base = merged;
        return;
      } catch (err) {
        // 409: changed since read (PUT), or created meanwhile (POST); 404: deleted since read
        // (a ConfigMap is not created by a PUT): read it again, merge, write or create.
        const lost = statusOf(err) === 409 || (statusOf(err) === 404 && cm !== null);
        if (!lost || attempt >= ATTEMPTS) throw this.failure(err, 'writing');
        this.conflicts++;
        await this.clock.sleep(backoffDelay(attempt, 20, 1000), this.signal);
      }
    }
  }

  private async create(data: Record<string, string>): Promise<V1ConfigMap> {
    return await this.api.createNamespacedConfigMap(
      newConfigMap(
        this.ref,
        'the inventory of what poolsync applied, one key per control plane (docs/plan.md, Prune by inventory)',
        data,
      ),
      this.calls,
    );
  }

  private async get(): Promise<V1ConfigMap | null> {
    try {
      return await this.api.readNamespacedConfigMap(this.ref, this.calls);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw this.failure(err, 'reading');
    }
  }

  /** An entry that is not an inventory is an error, never "none". */
  private entry(cm: V1ConfigMap | null): InventoryRecord | null {
    const text = cm?.data?.[this.key];
    if (text === undefined) return null;
    const parsed = parseInventoryText(text, `${this.where}, key ${this.key},`);
    if (typeof parsed === 'string') {
      const { namespace, name } = this.ref;
      throw new UserError(
        `${this.where}, key ${this.key}, is not a poolsync inventory: ${parsed}. Nothing was written. ` +
          `Restore it (kubectl -n ${namespace} edit configmap ${name}), or remove that key: prune then ` +
          'deletes nothing poolsync did not apply until the next apply records the inventory again (docs/plan.md, Prune by inventory)',
      );
    }
    return parsed;
  }

  /**
   * Refused over the bytes the API server counts for a ConfigMap's size: the values of data, and
   * of binaryData decoded (pkg/apis/core/validation ValidateConfigMap; the keys are not counted).
   */
  private checkSize(cm: Pick<V1ConfigMap, 'data' | 'binaryData'>, count: number): void {
    let bytes = 0;
    for (const v of Object.values(cm.data ?? {})) bytes += Buffer.byteLength(v);
    for (const v of Object.values(cm.binaryData ?? {})) bytes += Buffer.from(v, 'base64').length;
    if (bytes <= CONFIGMAP_MAX_BYTES) return;
    const own = Buffer.byteLength(cm.data?.[this.key] ?? '');
    throw new UserError(
      `the inventory (${count} objects, ${own} bytes) does not fit in ${this.where}: a ConfigMap holds at most ` +
        `${CONFIGMAP_MAX_BYTES} bytes of values and it would hold ${bytes}. Nothing was written (the objects are applied; ` +
        'prune keeps the inventory as it was). Give this control plane a ConfigMap of its own ' +
        '(--inventory k8s:NAMESPACE/NAME, env POOLSYNC_INVENTORY), or remove the entries of control planes ' +
        'poolsync no longer manages from it',
    );
  }

  private failure(err: unknown, doing: string): Error {
    if (err instanceof UserError) return err;
    const what = `${doing} the inventory (${this.where})`;
    const cut = cutByTerm(this.signal, what);
    if (cut) return cut;
    if (statusOf(err) === 409)
      return stillChanged(
        what,
        this.ref,
        'another poolsync repository, CI job or daemon replica whose --inventory is this ConfigMap',
      );
    return describe(err, what, `configmaps in namespace ${this.ref.namespace}`, this.server);
  }
}

/**
 * One key of a ConfigMap holding a small JSON value every replica reads (the daemon's rollback
 * in force, daemon/rollback.ts): the last writer wins; a write that meets a change since its read
 * (409) or a ConfigMap removed meanwhile (404) reads it again and writes over it; every other
 * key, label and annotation is kept.
 */
export class ConfigMapValue {
  private readonly api: CoreV1Api;
  readonly where: string;
  private readonly server: ApiServer;

  constructor(
    kc: KubeConfig,
    readonly ref: K8sPlace,
    readonly key: string,
    private readonly what: string,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.server = serverOf(kc);
    this.where = `ConfigMap ${ref.namespace}/${ref.name}, key ${key}`;
  }

  /** With `signal` (a leadership term's): cut when it ends. */
  async read(signal?: AbortSignal): Promise<string | null> {
    return (await this.get(signal))?.data?.[this.key] ?? null;
  }

  /** `null` removes the key (a ConfigMap that is not there stays absent). */
  async write(text: string | null): Promise<void> {
    await this.update(() => text);
  }

  /**
   * `next` of the value as it is now (read again after a conflict). With `signal` (a leadership
   * term's), nothing is sent once it has ended and a request under way is cut: a deposed
   * leader writes nothing.
   */
  async update(next: (text: string | null) => string | null, signal?: AbortSignal): Promise<void> {
    const calls = signal && termCalls(signal);
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const cm = await this.get(signal);
      const text = next(cm?.data?.[this.key] ?? null);
      if (cm === null && text === null) return;
      const data = { ...(cm?.data ?? {}) };
      if (text === null) delete data[this.key];
      else data[this.key] = text;
      try {
        if (cm === null)
          await this.api.createNamespacedConfigMap(newConfigMap(this.ref, this.what, data), calls);
        else
          await this.api.replaceNamespacedConfigMap({ ...this.ref, body: { ...cm, data } }, calls);
        return;
      } catch (err) {
        signal?.throwIfAborted();
        const lost = statusOf(err) === 409 || (statusOf(err) === 404 && cm !== null);
        if (!lost || attempt >= ATTEMPTS) throw this.failure(err, 'writing');
        await this.clock.sleep(backoffDelay(attempt, 20, 1000), signal);
      }
    }
  }

  private async get(signal?: AbortSignal): Promise<V1ConfigMap | null> {
    try {
      return await this.api.readNamespacedConfigMap(this.ref, signal && termCalls(signal));
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw this.failure(err, 'reading', signal);
    }
  }

  private failure(err: unknown, doing: string, signal?: AbortSignal): UserError {
    const cut = cutByTerm(signal, `${doing} ${this.where}`);
    if (cut) return cut;
    if (statusOf(err) === 409)
      return stillChanged(`${doing} ${this.where}`, this.ref, 'another daemon replica sharing it');
    return describe(
      err,
      `${doing} ${this.where}`,
      `configmaps in namespace ${this.ref.namespace}`,
      this.server,
    );
  }
}
