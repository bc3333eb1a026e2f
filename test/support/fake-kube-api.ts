/**
 * A stand-in for the Kubernetes API server, for the Lease (coordination.k8s.io/v1) and ConfigMap
 * (core/v1) calls poolsync makes, on a real socket, answering as kube-apiserver 1.37 does:
 * test/lease/kube-answers.ts lists every request poolsync's Lease and inventory code can send and
 * what the real server answers, and test/lease/kube-answers.test.ts holds this stand-in and the
 * real server (scripts/kube-go.sh) to it. In the real server's order: authentication (a bearer
 * token: the ServiceAccount's of the kubeconfig, an administrator's for the tests' own setup; no
 * token is `system:anonymous`, an unknown one 401), authorization (the Role of
 * examples/deploy/rbac.yaml: get, create and update of Leases and ConfigMaps in namespace
 * `poolsync`, nothing else: 403 Forbidden), decoding (400: not JSON, a MicroTime that is not RFC
 * 3339 with microseconds, binaryData that is not base64, a name or namespace other than the
 * URL's), validation (422: names, ConfigMap keys, data over 1 MiB of values, an update without
 * resourceVersion where the resource takes none), then storage: 409 AlreadyExists, 409 Conflict
 * on a stale resourceVersion or a UID precondition (a Lease deleted since it was read), 404, and
 * Leases created by an update (PUT of a new name: 201), as their REST strategy allows. An update
 * that changes nothing keeps the resourceVersion; empty maps are left out of answers; `Status`
 * bodies carry `details`. A kubeconfig for the ServiceAccount is written.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { tempFolder } from './temp-folder.js';

type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace: string; resourceVersion: string };
};
type Lease = KubeObject & { spec: Record<string, unknown> };
export type ConfigMap = KubeObject & {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
};

export interface LeaseWrite {
  method: 'POST' | 'PUT';
  name: string;
  holder: string | null;
  status: number;
}

export interface FakeKubeApi {
  url: string;
  /** The ServiceAccount's kubeconfig (what poolsync runs with). */
  kubeconfig: string;
  /** The ServiceAccount's bearer token, and an administrator's (the tests' own setup). */
  token: string;
  adminToken: string;
  /** `NS/NAME` → Lease, as stored (tests read it; they change it through the API). */
  leases: Map<string, Lease>;
  writes: LeaseWrite[];
  /** `NS/NAME` → ConfigMap. */
  configMaps: Map<string, ConfigMap>;
  /** Every ConfigMap write and its answer, e.g. `PUT NS/NAME 409`. */
  configMapWrites: string[];
  close(): Promise<void>;
}

/** The namespace the Role and RoleBinding of examples/deploy/rbac.yaml are applied in. */
export const NAMESPACE = 'poolsync';
export const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:poolsync`;
const SA_VERBS = new Set(['get', 'create', 'update']);
const MAX_CONFIGMAP_BYTES = 1024 * 1024;
const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface Resource {
  plural: 'leases' | 'configmaps';
  kind: 'Lease' | 'ConfigMap';
  apiVersion: string;
  /** The API group ('' for core), as `details.group` and RBAC name it. */
  group: string;
  path: RegExp;
  /** PUT of a name that does not exist creates it (the REST strategy's AllowCreateOnUpdate). */
  createOnUpdate: boolean;
  /** PUT without a resourceVersion is taken (AllowUnconditionalUpdate). */
  unconditionalUpdate: boolean;
  store: Map<string, KubeObject>;
  /** 400: what cannot be decoded, as the server's decoder says it. */
  undecodable(body: Record<string, unknown>): string | null;
  /** 422: field errors of a valid object (apis/*\/validation). */
  invalid(body: KubeObject): { field: string; reason: string; message: string }[];
}

/** `leases.coordination.k8s.io`, `configmaps`: how messages name the resource. */
const qualified = (r: Resource) => (r.group ? `${r.plural}.${r.group}` : r.plural);

/** An API server `Status` error body. */
export function status(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    }),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The object as the server answers it: empty maps (omitempty) left out. */
function answer(obj: KubeObject): KubeObject {
  const out = structuredClone(obj);
  const meta = out.metadata as Record<string, unknown>;
  for (const k of ['labels', 'annotations'])
    if (meta[k] && Object.keys(meta[k] as object).length === 0) delete meta[k];
  for (const k of ['data', 'binaryData'])
    if (out[k] && Object.keys(out[k] as object).length === 0) delete out[k];
  return out;
}

const nameErrors = (name: unknown) =>
  typeof name !== 'string' || name === ''
    ? [
        {
          field: 'metadata.name',
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
        },
      ]
    : DNS_SUBDOMAIN.test(name) && name.length <= 253
      ? []
      : [
          {
            field: 'metadata.name',
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
          },
        ];

function resources(
  leases: Map<string, KubeObject>,
  configMaps: Map<string, KubeObject>,
): Resource[] {
  return [
    {
      plural: 'leases',
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      group: 'coordination.k8s.io',
      path: /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/,
      createOnUpdate: true,
      unconditionalUpdate: false,
      store: leases,
      undecodable(body) {
        const spec = (body.spec ?? {}) as Record<string, unknown>;
        for (const f of ['acquireTime', 'renewTime']) {
          const v = spec[f];
          if (v !== undefined && v !== null && !(typeof v === 'string' && MICRO.test(v)))
            return `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`;
        }
        return null;
      },
      invalid: (body) => nameErrors(body.metadata.name),
    },
    {
      plural: 'configmaps',
      kind: 'ConfigMap',
      apiVersion: 'v1',
      group: '',
      path: /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/,
      createOnUpdate: false,
      unconditionalUpdate: true,
      store: configMaps,
      undecodable(body) {
        for (const v of Object.values((body.binaryData ?? {}) as Record<string, unknown>))
          if (typeof v !== 'string' || !BASE64.test(v))
            return 'ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data at input byte 0';
        return null;
      },
      // pkg/apis/core/validation ValidateConfigMap: keys, and the values' bytes (not the keys').
      invalid(body) {
        const errors = nameErrors(body.metadata.name);
        const cm = body as ConfigMap;
        let size = 0;
        for (const [bag, values] of [
          ['data', cm.data ?? {}],
          ['binaryData', cm.binaryData ?? {}],
        ] as const) {
          for (const [k, v] of Object.entries(values)) {
            if (!CONFIG_KEY.test(k))
              errors.push({
                field: `${bag}[${k}]`,
                reason: 'FieldValueInvalid',
                message: `Invalid value: ${JSON.stringify(k)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
              });
            size += bag === 'data' ? Buffer.byteLength(v) : Buffer.from(v, 'base64').length;
          }
        }
        if (size > MAX_CONFIGMAP_BYTES)
          errors.push({
            field: '[]',
            reason: 'FieldValueTooLong',
            message: `Too long: may not be more than ${MAX_CONFIGMAP_BYTES} bytes`,
          });
        return errors;
      },
    },
  ];
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const token = `kube-token-${randomUUID()}`;
  const adminToken = `kube-admin-${randomUUID()}`;
  const leases = new Map<string, Lease>();
  const configMaps = new Map<string, ConfigMap>();
  const writes: LeaseWrite[] = [];
  const configMapWrites: string[] = [];
  const all = resources(leases as Map<string, KubeObject>, configMaps as Map<string, KubeObject>);
  let rv = 1000;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = req.headers.authorization;
    const user =
      auth === undefined
        ? 'system:anonymous'
        : auth === `Bearer ${token}`
          ? SERVICE_ACCOUNT
          : auth === `Bearer ${adminToken}`
            ? 'admin'
            : null;
    if (user === null) return status(res, 401, 'Unauthorized', 'Unauthorized');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const r = all.find((candidate) => candidate.path.test(path));
    const m = r?.path.exec(path);
    if (!r || !m)
      return status(res, 404, 'NotFound', 'the server could not find the requested resource', {});
    const [, namespace, name] = m as unknown as [string, string, string | undefined];
    const verb =
      req.method === 'GET'
        ? name
          ? 'get'
          : 'list'
        : req.method === 'POST' && !name
          ? 'create'
          : req.method === 'PUT' && name
            ? 'update'
            : req.method === 'PATCH' && name
              ? 'patch'
              : req.method === 'DELETE' && name
                ? 'delete'
                : null;
    if (verb === null)
      return status(
        res,
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
        {},
      );
    const details = (n: string | undefined, kind: string = r.plural) => ({
      ...(n ? { name: n } : {}),
      ...(r.group ? { group: r.group } : {}),
      kind,
    });
    if (
      user !== 'admin' &&
      !(user === SERVICE_ACCOUNT && namespace === NAMESPACE && SA_VERBS.has(verb))
    )
      return status(
        res,
        403,
        'Forbidden',
        `${qualified(r)}${name ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${r.plural}" in API group "${r.group}" in the namespace "${namespace}"`,
        details(name),
      );
    const key = (n: string) => `${namespace}/${n}`;
    const notFound = (n: string) =>
      status(res, 404, 'NotFound', `${qualified(r)} "${n}" not found`, details(n));
    if (verb === 'get') {
      const found = r.store.get(key(name!));
      if (!found) return notFound(name!);
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(answer(found)));
    }
    if (verb === 'delete') {
      const found = r.store.get(key(name!));
      if (!found) return notFound(name!);
      r.store.delete(key(name!));
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { ...details(name), uid: found.metadata.uid },
        }),
      );
    }
    if (verb === 'list' || verb === 'patch')
      return status(res, 405, 'MethodNotAllowed', 'not served by this stand-in (admin only)', {});

    // create and update: decode, check, validate, store.
    const text = await readBody(req);
    let body: KubeObject;
    try {
      body = JSON.parse(text) as KubeObject;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error();
    } catch {
      return status(
        res,
        400,
        'BadRequest',
        `the object provided is unrecognized (must be of type ${r.kind}): couldn't get version/kind; json parse error`,
      );
    }
    body.metadata = { ...((body.metadata ?? {}) as KubeObject['metadata']) };
    const log = (code: number, n: string) => {
      if (r.plural === 'configmaps') configMapWrites.push(`${req.method} ${key(n)} ${code}`);
      else
        writes.push({
          method: req.method as 'POST' | 'PUT',
          name: n,
          holder: ((body as Lease).spec?.holderIdentity as string) ?? null,
          status: code,
        });
    };
    const bad = r.undecodable(body);
    if (bad) return status(res, 400, 'BadRequest', bad);
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace)
      return status(
        res,
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    if (verb === 'update' && body.metadata.name !== name)
      return status(
        res,
        400,
        'BadRequest',
        `the name of the object (${String(body.metadata.name ?? '')}) does not match the name on the URL (${name})`,
      );
    const n = body.metadata.name;
    const invalid = (kindWords: string, kind: string, causes: ReturnType<Resource['invalid']>) => {
      log(422, n);
      return status(
        res,
        422,
        'Invalid',
        `${kindWords} "${n ?? ''}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        { ...details(n || undefined, kind), causes },
      );
    };
    const current = typeof n === 'string' ? r.store.get(key(n)) : undefined;
    const creating = verb === 'create' || current === undefined;
    if (verb === 'update' && current === undefined) {
      if (!r.createOnUpdate) return (log(404, n), notFound(n));
      // A UID precondition names an object that is gone (deleted since it was read).
      if (body.metadata.uid !== undefined) {
        log(409, n);
        return status(
          res,
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${qualified(r)} "${n}": StorageError: invalid object, Code: 4, Key: /registry/${r.plural}/${namespace}/${n}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: ${String(body.metadata.uid)}, UID in object meta: `,
          details(n),
        );
      }
    }
    const kindWords = r.group ? `${r.kind}.${r.group}` : r.kind;
    const errors = r.invalid(body);
    if (errors.length > 0) return invalid(kindWords, r.kind, errors);
    if (verb === 'create' && current !== undefined) {
      log(409, n);
      return status(res, 409, 'AlreadyExists', `${qualified(r)} "${n}" already exists`, details(n));
    }
    if (!creating) {
      const sent = body.metadata.resourceVersion;
      if (sent === undefined && !r.unconditionalUpdate)
        return invalid(qualified(r), r.plural, [
          {
            field: 'metadata.resourceVersion',
            reason: 'FieldValueInvalid',
            message: 'Invalid value: 0: must be specified for an update',
          },
        ]);
      if (
        (sent !== undefined && sent !== current!.metadata.resourceVersion) ||
        (body.metadata.uid !== undefined && body.metadata.uid !== current!.metadata.uid)
      ) {
        log(409, n);
        return status(
          res,
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${qualified(r)} "${n}": the object has been modified; please apply your changes to the latest version and try again`,
          details(n),
        );
      }
    }
    const kept = creating
      ? {
          uid: randomUUID(),
          creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        }
      : { uid: current!.metadata.uid, creationTimestamp: current!.metadata.creationTimestamp };
    const next = answer({
      ...body,
      apiVersion: r.apiVersion,
      kind: r.kind,
      metadata: { ...body.metadata, namespace, ...kept, resourceVersion: '' },
    });
    // An update that changes nothing is no write: the resourceVersion stays.
    const unchanged =
      !creating &&
      isDeepStrictEqual(
        { ...next, metadata: { ...next.metadata, resourceVersion: '' } },
        { ...answer(current!), metadata: { ...current!.metadata, resourceVersion: '' } },
      );
    next.metadata.resourceVersion = unchanged ? current!.metadata.resourceVersion : String(++rv);
    r.store.set(key(n), next);
    const code = creating ? 201 : 200;
    log(code, n);
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(next));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) status(res, 500, 'InternalError', 'the stand-in failed');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeconfig: writeKubeconfig(url, token),
    token,
    adminToken,
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

/** A kubeconfig (in a new temp folder) for the API server at `url`, with a bearer token. */
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
      `- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: ${NAMESPACE}`,
      'current-context: test',
      '',
    ].join('\n'),
  );
  return kubeconfig;
}
