/**
 * Union's API (cloudidl.queue.QueueService, cloudidl.cluster.ClusterService,
 * flyteidl2.settings.SettingsService, flyteidl2.project.ProjectService; messages in src/gen/)
 * over an embedded control plane, on its port next to the REST API, so the `union` backend is
 * tested end to end through the real client library and every wire protocol (Connect, gRPC and
 * gRPC-Web through connect-node's adapter). Calls need a token of the stand-in OAuth2 server
 * (standins/oauth/server.ts) in its discovered header (terraform-provider-unionai
 * internal/provider/oauth.go), and must name its organisation.
 *
 * The services: queue-service.ts, cluster-service.ts, settings-service.ts; what the stand-in
 * keeps beside the embedded store: lifecycle.ts. ListProjects lists the organisation's projects
 * (`projects`), each with every domain, whatever their settings, as Union does (flyte 2.12.1
 * flyte/remote/_project.py:130-181). Definitions: proto/, from Union's own client
 * (flyteplugins-union 0.19.1), whose behaviour the stand-in follows and is tested against
 * (test/controlplane/union/flyte-cli.e2e.test.ts, standin-rules.test.ts).
 *
 * Why a protocol sniffer: gRPC needs HTTP/2, the REST API and Connect clients speak HTTP/1.1,
 * and Node's clear-text HTTP/2 server cannot fall back to HTTP/1.1 (that needs TLS and ALPN).
 * So the port is a plain TCP server that looks at the first bytes of each connection: the
 * HTTP/2 connection preface goes to an HTTP/2 server (h2c, "prior knowledge", as gRPC clients
 * connect to http:// URLs), anything else to the existing HTTP/1.1 server.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Server, type Http2Session } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from 'pino';
import type { OAuthStandIn } from '../oauth/server.js';
import { Lifecycle, QueueExtras } from './lifecycle.js';
import { ProjectService, ProjectState } from '../../gen/flyteidl2/project/project_service_pb.js';
import { ControlPlaneError } from '../../controlplane/errors.js';
import { DEFAULT_DOMAINS, GRPC_STATUS } from '../flyteadmin/gateway.js';
import { logRequest } from '../../controlplane/embedded/server.js';
import type { EmbeddedControlPlane } from '../../controlplane/embedded/embedded.js';
import { page } from './pb-views.js';
import { queueRoutes, type ServiceContext } from './queue-service.js';
import { clusterRoutes } from './cluster-service.js';
import { SettingsLevels, settingsRoutes } from './settings-service.js';

export interface UnionApiOptions {
  controlPlane: EmbeddedControlPlane;
  org: string;
  /** Interval of WatchQueueMetrics messages. */
  metricsIntervalMs?: number;
  /** How long DeleteCluster leaves an active cluster DELETING (default 0). */
  deletingMs?: number;
  /** The organisation's projects (ListProjects), all active. */
  projects?: readonly string[];
  /** Its archived projects: listed ARCHIVED (flyte/remote/_project.py:120-122), settings kept. */
  archivedProjects?: readonly string[];
  /** The OAuth2 server whose tokens the API takes, served on the same port. */
  oauth: OAuthStandIn;
  /** Outermost interceptors (tests inject faults here). */
  interceptors?: Interceptor[];
  /** Request log of the HTTP/2 (gRPC) requests, as server.ts logs HTTP/1.1 ones. */
  logger?: Logger;
  /**
   * Calls without a token pass (one that is there must still be valid): Union's CLI sends none
   * with `--insecure` (flyte remote/_client/auth/_session.py), as the tests that drive it do.
   */
  acceptUnauthenticated?: boolean;
}

/** What createUnionApi serves: a mount of the embedded control plane's port (server.ts). */
export type UnionApi = ReturnType<typeof createUnionApi>;

const PREFIXES = [
  '/cloudidl.queue.QueueService/',
  '/cloudidl.cluster.ClusterService/',
  '/cloudidl.clusterpool.ClusterPoolService/',
  '/flyteidl2.settings.SettingsService/',
  '/flyteidl2.project.ProjectService/',
];
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function authInterceptor(oauth: OAuthStandIn, acceptUnauthenticated: boolean): Interceptor {
  const header = oauth.authorizationMetadataKey;
  return (next) => async (req) => {
    const check = oauth.check(req.header.get(header));
    if (check === 'missing' && acceptUnauthenticated) return next(req);
    if (check === 'missing')
      throw new ConnectError(
        `no token in the "${header}" header: get one with OAuth2 client credentials (/.well-known/oauth-authorization-server)`,
        Code.Unauthenticated,
      );
    if (check !== 'ok')
      throw new ConnectError(
        check === 'expired' ? 'the token has expired' : 'the token is not valid',
        Code.Unauthenticated,
      );
    return next(req);
  };
}

type Rpc = ReturnType<typeof connectNodeAdapter>;

/** The HTTP/2 (h2c) server: the RPCs, with a request log of method, path and outcome. */
function rpcServer(rpc: Rpc, isRpc: (url: string | undefined) => boolean, logger?: Logger) {
  return createH2Server((req, res) => {
    logRequest(req, res, logger);
    if (isRpc(req.url)) rpc(req, res);
    else res.writeHead(404).end();
  });
}

/** The port's listener: a connection opening with the HTTP/2 preface to `h2`, others to `http1`. */
function sniffer(h2: Http2Server, http1: Server, sockets: Set<Socket>): NetServer {
  return createNetServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      const n = Math.min(chunk.length, PREFACE.length);
      const target = chunk.subarray(0, n).equals(PREFACE.subarray(0, n)) ? h2 : http1;
      target.emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.on('error', () => socket.destroy());
  });
}

export function createUnionApi(opts: UnionApiOptions) {
  const extras = new QueueExtras();
  const life = new Lifecycle(opts.deletingMs ?? 0);
  const settings = new SettingsLevels();
  const rpc = connectNodeAdapter({
    routes: unionRoutes(opts, { cp: opts.controlPlane, extras, life, settings }),
    interceptors: [
      ...(opts.interceptors ?? []),
      authInterceptor(opts.oauth, opts.acceptUnauthenticated === true),
      errorInterceptor,
    ],
  });
  const isRpc = (url: string | undefined) => PREFIXES.some((p) => (url ?? '').startsWith(p));
  const h2 = rpcServer(rpc, isRpc, opts.logger);
  const sessions = new Set<Http2Session>();
  // Every connection of the port: the HTTP/1.1 server does not track sockets it did not
  // accept itself (its closeAllConnections needs its own listen), so close() ends them here.
  const sockets = new Set<Socket>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return {
    /** The queue fields beyond poolsync's 7, and generations, soft deletes, apps (lifecycle.ts). */
    queueExtras: extras,
    lifecycle: life,
    settings,
    /** Serves an HTTP/1.1 request when it is for the Union API or OAuth; false otherwise. */
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      if (isRpc(req.url)) {
        rpc(req, res);
        return true;
      }
      return opts.oauth.handle(req, res);
    },
    listener(http1: Server): NetServer {
      return sniffer(h2, http1, sockets);
    },
    /** Ends every connection of the port (HTTP/2 sessions and HTTP/1.1 sockets). */
    close(): void {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
    },
  };
}

/** ControlPlaneError → the gRPC status Union would answer, with the same message. */
const errorInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    if (err instanceof ControlPlaneError)
      throw new ConnectError(err.message, GRPC_STATUS[err.code][0] as Code);
    throw err;
  }
};

/** The largest page served (ListQueues, ListClusters, ListProjects). */
const MAX_PAGE = 1000;

function unionRoutes(
  opts: UnionApiOptions,
  state: Pick<ServiceContext, 'cp' | 'extras' | 'life' | 'settings'>,
): (router: ConnectRouter) => void {
  const { org } = opts;
  const checkOrg = (given: string | undefined) => {
    if (given !== org)
      throw new ConnectError(
        `organization "${given ?? ''}" is not served here (the API key's organization must be "${org}")`,
        Code.PermissionDenied,
      );
  };
  const services: ServiceContext = {
    ...state,
    org,
    max: MAX_PAGE,
    checkOrg,
    metricsIntervalMs: opts.metricsIntervalMs ?? 1000,
  };
  return (router) => {
    queueRoutes(services)(router);
    clusterRoutes(services)(router);
    router.service(ProjectService, {
      async listProjects(req) {
        checkOrg(req.org);
        const domains = DEFAULT_DOMAINS.map((d) => ({ id: d, name: d }));
        const archived = new Set(opts.archivedProjects ?? []);
        const all = [...new Set([...(opts.projects ?? []), ...archived])].sort().map((id) => ({
          id,
          name: id,
          org,
          domains,
          state: archived.has(id) ? ProjectState.ARCHIVED : ProjectState.ACTIVE,
        }));
        const p = page(all, (x) => x.id, req, MAX_PAGE);
        return { projects: { projects: p.items, token: p.token } };
      },
    });
    const projects = new Set([...(opts.projects ?? []), ...(opts.archivedProjects ?? [])]);
    settingsRoutes({ org, settings: state.settings, checkOrg, projects })(router);
  };
}
