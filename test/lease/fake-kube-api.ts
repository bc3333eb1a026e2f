/**
 * A Kubernetes-API-compatible Lease endpoint for tests (coordination.k8s.io/v1), on a real
 * socket, speaking what the API server does for the calls poolsync makes: GET, POST (create)
 * and PUT (replace) of namespaced Leases, `Status` bodies for errors, 404 NotFound, 409
 * AlreadyExists on a create of an existing name, 409 Conflict on a PUT whose
 * metadata.resourceVersion is not the stored one, 400 for a MicroTime that is not RFC 3339
 * with microseconds, 401 without the bearer token. A kubeconfig pointing at it is written.
 * ConfigMaps (core/v1) likewise: GET, POST and PUT with the same 404/409 rules, and 422 Invalid
 * for data over the API server's limit (1 MiB, keys and values of data and binaryData).
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { tempFolder } from '../helpers/temp-folder.js';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: Record<string, unknown> & { name: string; namespace: string; resourceVersion: string };
  spec: Record<string, unknown>;
}

export interface LeaseWrite {
  method: 'POST' | 'PUT';
  name: string;
  holder: string | null;
  status: number;
}

export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: Record<string, unknown> & { name: string; namespace: string; resourceVersion: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface FakeKubeApi {
  url: string;
  kubeconfig: string;
  token: string;
  leases: Map<string, Lease>;
  writes: LeaseWrite[];
  /** `NS/NAME` → ConfigMap. */
  configMaps: Map<string, ConfigMap>;
  /** Every ConfigMap write and its answer, e.g. `PUT NS/NAME 409`. */
  configMapWrites: string[];
  close(): Promise<void>;
}

const PATH =
  /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([a-z0-9-]+)\/leases(?:\/([a-z0-9.-]+))?$/;
const CONFIGMAPS = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/configmaps(?:\/([a-z0-9.-]+))?$/;
const MAX_CONFIGMAP_BYTES = 1024 * 1024;
const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

/** An API server `Status` error body. */
export function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    }),
  );
}

function body(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err as Error);
      }
    });
    req.on('error', reject);
  });
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const token = `kube-token-${randomUUID()}`;
  const leases = new Map<string, Lease>();
  const writes: LeaseWrite[] = [];
  const configMaps = new Map<string, ConfigMap>();
  const configMapWrites: string[] = [];
  const version = { rv: 1000 };
  let rv = 1000;
  const server = createServer((req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        return status(res, 401, 'Unauthorized', 'Unauthorized');
      }
      const url = new URL(req.url ?? '/', 'http://x');
      const cm = CONFIGMAPS.exec(url.pathname);
      if (cm) {
        version.rv = Math.max(version.rv, rv);
        await configMapCall(req, res, cm[1]!, cm[2], configMaps, configMapWrites, version);
        rv = version.rv;
        return;
      }
      const m = PATH.exec(url.pathname);
      if (!m)
        return status(res, 404, 'NotFound', 'the server could not find the requested resource');
      const [, namespace, name] = m as unknown as [string, string, string | undefined];
      const key = (n: string) => `${namespace}/${n}`;
      const notFound = (n: string) =>
        status(res, 404, 'NotFound', `leases.coordination.k8s.io "${n}" not found`);
      const checkTimes = (lease: Lease): string | null => {
        for (const f of ['acquireTime', 'renewTime']) {
          const v = lease.spec?.[f];
          if (v !== undefined && v !== null && !(typeof v === 'string' && MICRO.test(v))) {
            return `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`;
          }
        }
        return null;
      };
      const reply = (code: number, lease: Lease) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(lease));
      };
      if (req.method === 'GET' && name) {
        const lease = leases.get(key(name));
        return lease ? reply(200, lease) : notFound(name);
      }
      if (req.method === 'POST' && !name) {
        const lease = (await body(req)) as Lease;
        const n = lease.metadata?.name;
        const bad = checkTimes(lease);
        if (bad) return status(res, 400, 'BadRequest', bad);
        if (leases.has(key(n))) {
          writes.push({ method: 'POST', name: n, holder: null, status: 409 });
          return status(
            res,
            409,
            'AlreadyExists',
            `leases.coordination.k8s.io "${n}" already exists`,
          );
        }
        const stored: Lease = {
          ...lease,
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            ...lease.metadata,
            namespace,
            uid: randomUUID(),
            resourceVersion: String(++rv),
            creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        };
        leases.set(key(n), stored);
        writes.push({
          method: 'POST',
          name: n,
          holder: (lease.spec?.holderIdentity as string) ?? null,
          status: 201,
        });
        return reply(201, stored);
      }
      if (req.method === 'PUT' && name) {
        const lease = (await body(req)) as Lease;
        const current = leases.get(key(name));
        if (!current) return notFound(name);
        const bad = checkTimes(lease);
        if (bad) return status(res, 400, 'BadRequest', bad);
        const sent = lease.metadata?.resourceVersion;
        if (sent !== undefined && sent !== current.metadata.resourceVersion) {
          writes.push({
            method: 'PUT',
            name,
            holder: (lease.spec?.holderIdentity as string) ?? null,
            status: 409,
          });
          return status(
            res,
            409,
            'Conflict',
            `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          );
        }
        const stored: Lease = {
          ...lease,
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...current.metadata, ...lease.metadata, resourceVersion: String(++rv) },
        };
        leases.set(key(name), stored);
        writes.push({
          method: 'PUT',
          name,
          holder: (lease.spec?.holderIdentity as string) ?? null,
          status: 200,
        });
        return reply(200, stored);
      }
      res.setHeader('allow', 'GET, POST, PUT');
      return status(
        res,
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    })().catch(() => {
      if (!res.headersSent) status(res, 400, 'BadRequest', 'the body is not a JSON Lease');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = writeKubeconfig(url, token);
  return {
    url,
    kubeconfig,
    token,
    leases,
    writes,
    configMaps,
    configMapWrites,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A ConfigMap call, as the API server answers it. */
async function configMapCall(
  req: IncomingMessage,
  res: ServerResponse,
  namespace: string,
  name: string | undefined,
  store: Map<string, ConfigMap>,
  log: string[],
  version: { rv: number },
): Promise<void> {
  const reply = (code: number, cm: ConfigMap) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(cm));
  };
  const notFound = (n: string) => status(res, 404, 'NotFound', `configmaps "${n}" not found`);
  const tooBig = (cm: ConfigMap): boolean => {
    let n = 0;
    for (const [k, v] of Object.entries(cm.data ?? {})) n += k.length + Buffer.byteLength(v);
    for (const [k, v] of Object.entries(cm.binaryData ?? {}))
      n += k.length + Buffer.from(v, 'base64').length;
    return n > MAX_CONFIGMAP_BYTES;
  };
  const invalid = (n: string) =>
    status(
      res,
      422,
      'Invalid',
      `ConfigMap "${n}" is invalid: []: Too long: must have at most ${MAX_CONFIGMAP_BYTES} bytes`,
    );
  if (req.method === 'GET' && name) {
    const found = store.get(`${namespace}/${name}`);
    return found ? reply(200, found) : notFound(name);
  }
  if (req.method === 'POST' && !name) {
    const sent = (await body(req)) as ConfigMap;
    const n = sent.metadata?.name;
    const key = `${namespace}/${n}`;
    if (tooBig(sent)) return (log.push(`POST ${key} 422`), invalid(n));
    if (store.has(key)) {
      log.push(`POST ${key} 409`);
      return status(res, 409, 'AlreadyExists', `configmaps "${n}" already exists`);
    }
    const stored: ConfigMap = {
      ...sent,
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...sent.metadata,
        namespace,
        uid: randomUUID(),
        resourceVersion: String(++version.rv),
      },
    };
    store.set(key, stored);
    log.push(`POST ${key} 201`);
    return reply(201, stored);
  }
  if (req.method === 'PUT' && name) {
    const sent = (await body(req)) as ConfigMap;
    const key = `${namespace}/${name}`;
    const current = store.get(key);
    if (!current) return notFound(name);
    if (tooBig(sent)) return (log.push(`PUT ${key} 422`), invalid(name));
    const rv = sent.metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) {
      log.push(`PUT ${key} 409`);
      return status(
        res,
        409,
        'Conflict',
        `Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const stored: ConfigMap = {
      ...sent,
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...current.metadata, ...sent.metadata, resourceVersion: String(++version.rv) },
    };
    store.set(key, stored);
    log.push(`PUT ${key} 200`);
    return reply(200, stored);
  }
  res.setHeader('allow', 'GET, POST, PUT');
  return status(res, 405, 'MethodNotAllowed', 'the server does not allow this method');
}

/** A kubeconfig (in a new temp folder) for the fake API server at `url`, with its bearer token. */
export function writeKubeconfig(url: string, token: string): string {
  const kubeconfig = join(tempFolder('poolsync-kube-'), 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: test\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: test\n  user:\n    token: ${token}`,
      'contexts:',
      '- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: poolsync',
      'current-context: test',
      '',
    ].join('\n'),
  );
  return kubeconfig;
}
