/**
 * Every request poolsync's Lease and inventory code can send (src/lease/), and how the real
 * kube-apiserver 1.37 answers it, recorded from it (scripts/kube-go.sh; RBAC on, as the
 * ServiceAccount of examples/deploy/rbac.yaml): the real server and the stand-in
 * (fake-kube-api.ts) are each held to this one table, so the stand-in answers as the server
 * does, and a disagreement found later is fixed in the stand-in. Issue 48 found 14 requests the
 * stand-in answered otherwise; each is marked (issue 48) below.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIGMAPS, KUBE_SERVERS, LEASES, type Answer, type KubeServer } from './kube-servers.js';

const MICRO = '2026-11-24T10:00:00.000000Z';
const lease = (name: string, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace: 'poolsync', ...metadata },
  spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: MICRO, renewTime: MICRO },
});
const configMap = (name: string, rest: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'poolsync' },
  ...rest,
});
type Obj = { metadata: Record<string, unknown>; spec?: Record<string, unknown> };
const body = (a: Answer) => a.body as Obj & Record<string, unknown>;
const SA = 'system:serviceaccount:poolsync:poolsync';
const leaseDetails = (name?: string) => ({
  ...(name ? { name } : {}),
  group: 'coordination.k8s.io',
  kind: 'leases',
});
const cmDetails = (name?: string) => ({ ...(name ? { name } : {}), kind: 'configmaps' });
const forbidden = (what: string, user: string, verb: string, plural: string, group: string) =>
  `${what} is forbidden: User "${user}" cannot ${verb} resource "${plural}" in API group "${group}" in the namespace "poolsync"`;

interface Case {
  what: string;
  /** The request under test (after any setup), as the ServiceAccount unless it says. */
  send(k: KubeServer, name: string): Promise<Answer>;
  status: number;
  /** The `Status` body's reason, message (a RegExp: the part that holds) and details. */
  reason?: string;
  message?: string | RegExp;
  details?: Record<string, unknown>;
  /** More about a success. */
  then?: (a: Answer) => void;
}

const CASES: Case[] = [
  {
    what: 'GET of a Lease that does not exist',
    send: (k, n) => k.call('sa', 'GET', `${LEASES}/${n}`),
    status: 404,
    reason: 'NotFound',
    message: /^leases\.coordination\.k8s\.io "lease-\d+" not found$/,
  },
  {
    what: 'POST of a Lease; empty maps are left out of the answer (issue 48)',
    send: (k, n) => k.call('sa', 'POST', LEASES, lease(n, { annotations: {}, labels: {} })),
    status: 201,
    then: (a) => {
      expect(body(a).metadata.annotations).toBeUndefined();
      expect(body(a).metadata.labels).toBeUndefined();
      expect(body(a).metadata.uid).toEqual(expect.any(String));
    },
  },
  {
    what: 'POST of a Lease that exists',
    send: async (k, n) => (
      await k.call('sa', 'POST', LEASES, lease(n)),
      k.call('sa', 'POST', LEASES, lease(n))
    ),
    status: 409,
    reason: 'AlreadyExists',
    message: /^leases\.coordination\.k8s\.io "lease-\d+" already exists$/,
  },
  {
    what: 'PUT with the resourceVersion read, changing the holder',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', LEASES, lease(n)));
      const put = await k.call('sa', 'PUT', `${LEASES}/${n}`, {
        ...read,
        spec: { ...read.spec, holderIdentity: 'b' },
      });
      expect(body(put).metadata.resourceVersion).not.toBe(read.metadata.resourceVersion);
      return put;
    },
    status: 200,
  },
  {
    what: 'PUT that changes nothing keeps the resourceVersion (issue 48)',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', LEASES, lease(n)));
      const put = await k.call('sa', 'PUT', `${LEASES}/${n}`, read);
      expect(body(put).metadata.resourceVersion).toBe(read.metadata.resourceVersion);
      return put;
    },
    status: 200,
  },
  {
    what: 'PUT with a stale resourceVersion',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', LEASES, lease(n)));
      await k.call('sa', 'PUT', `${LEASES}/${n}`, {
        ...read,
        spec: { ...read.spec, holderIdentity: 'b' },
      });
      return k.call('sa', 'PUT', `${LEASES}/${n}`, {
        ...read,
        spec: { ...read.spec, holderIdentity: 'c' },
      });
    },
    status: 409,
    reason: 'Conflict',
    message:
      /^Operation cannot be fulfilled on leases\.coordination\.k8s\.io "lease-\d+": the object has been modified; please apply your changes to the latest version and try again$/,
  },
  {
    what: 'PUT of a Lease without a resourceVersion (issue 48)',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', LEASES, lease(n)));
      const { resourceVersion: _rv, ...metadata } = read.metadata;
      return k.call('sa', 'PUT', `${LEASES}/${n}`, { ...read, metadata });
    },
    status: 422,
    reason: 'Invalid',
    message:
      /^leases\.coordination\.k8s\.io "lease-\d+" is invalid: metadata\.resourceVersion: Invalid value: 0: must be specified for an update$/,
  },
  {
    what: 'PUT of a Lease that does not exist creates it (issue 48)',
    send: (k, n) => k.call('sa', 'PUT', `${LEASES}/${n}`, lease(n)),
    status: 201,
  },
  {
    what: 'PUT of a Lease deleted since it was read: the UID precondition fails (issue 48)',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', LEASES, lease(n)));
      await k.call('admin', 'DELETE', `${LEASES}/${n}`);
      return k.call('sa', 'PUT', `${LEASES}/${n}`, {
        ...read,
        spec: { ...read.spec, holderIdentity: 'b' },
      });
    },
    status: 409,
    reason: 'Conflict',
    message:
      /^Operation cannot be fulfilled on leases\.coordination\.k8s\.io "lease-\d+": .*Precondition failed: UID in precondition: [0-9a-f-]{36}, UID in object meta: $/,
  },
  {
    what: 'PUT whose body names another object (issue 48)',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', LEASES, lease(n)));
      return k.call('sa', 'PUT', `${LEASES}/${n}`, {
        ...read,
        metadata: { ...read.metadata, name: 'other' },
      });
    },
    status: 400,
    reason: 'BadRequest',
    message: /^the name of the object \(other\) does not match the name on the URL \(lease-\d+\)$/,
  },
  {
    what: 'PUT whose body names another namespace (issue 48)',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', LEASES, lease(n)));
      return k.call('sa', 'PUT', `${LEASES}/${n}`, {
        ...read,
        metadata: { ...read.metadata, namespace: 'default' },
      });
    },
    status: 400,
    reason: 'BadRequest',
    message:
      'the namespace of the provided object does not match the namespace sent on the request',
  },
  {
    what: 'POST with a MicroTime in milliseconds',
    send: (k, n) =>
      k.call('sa', 'POST', LEASES, {
        ...lease(n),
        spec: { ...lease(n).spec, renewTime: '2026-11-24T10:00:00.000Z' },
      }),
    status: 400,
    reason: 'BadRequest',
    message:
      /^Lease in version "v1" cannot be handled as a Lease: parsing time "2026-11-24T10:00:00\.000Z" as "2006-01-02T15:04:05\.000000Z07:00": cannot parse/,
  },
  {
    what: 'POST of a Lease whose name is not a DNS subdomain (issue 48)',
    send: (k) => k.call('sa', 'POST', LEASES, lease('Bad_Name')),
    status: 422,
    reason: 'Invalid',
    message:
      /^Lease\.coordination\.k8s\.io "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    details: {
      name: 'Bad_Name',
      group: 'coordination.k8s.io',
      kind: 'Lease',
      causes: [expect.objectContaining({ field: 'metadata.name', reason: 'FieldValueInvalid' })],
    },
  },
  ...(['PATCH', 'DELETE'] as const).map((method): Case => ({
    what: `${method} of a Lease: the ServiceAccount may not (issue 48)`,
    send: async (k, n) => (
      await k.call('sa', 'POST', LEASES, lease(n)),
      k.call(
        'sa',
        method,
        `${LEASES}/${n}`,
        method === 'PATCH' ? { spec: { holderIdentity: 'z' } } : undefined,
      )
    ),
    status: 403,
    reason: 'Forbidden',
    message: new RegExp(
      `^leases\\.coordination\\.k8s\\.io "lease-\\d+" is forbidden: User "${SA}" cannot ${method.toLowerCase()} resource "leases" in API group "coordination\\.k8s\\.io" in the namespace "poolsync"$`,
    ),
  })),
  {
    what: 'LIST of Leases: the ServiceAccount may not (issue 48)',
    send: (k) => k.call('sa', 'GET', LEASES),
    status: 403,
    reason: 'Forbidden',
    message: forbidden('leases.coordination.k8s.io', SA, 'list', 'leases', 'coordination.k8s.io'),
    details: leaseDetails(),
  },
  {
    what: 'GET of a Lease in another namespace: the Role is namespaced',
    send: (k) => k.call('sa', 'GET', '/apis/coordination.k8s.io/v1/namespaces/default/leases/x'),
    status: 403,
    reason: 'Forbidden',
    message: `leases.coordination.k8s.io "x" is forbidden: User "${SA}" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "default"`,
    details: leaseDetails('x'),
  },
  {
    what: 'GET without a token is system:anonymous, forbidden (issue 48)',
    send: (k) => k.call('anonymous', 'GET', `${LEASES}/x`),
    status: 403,
    reason: 'Forbidden',
    message: forbidden(
      'leases.coordination.k8s.io "x"',
      'system:anonymous',
      'get',
      'leases',
      'coordination.k8s.io',
    ),
  },
  {
    what: 'GET of a ConfigMap that does not exist',
    send: (k, n) => k.call('sa', 'GET', `${CONFIGMAPS}/${n}`),
    status: 404,
    reason: 'NotFound',
    message: /^configmaps "lease-\d+" not found$/,
  },
  {
    what: 'POST of a ConfigMap with empty data and labels: left out of the answer (issue 48)',
    send: (k, n) =>
      k.call('sa', 'POST', CONFIGMAPS, {
        ...configMap(n, { data: {} }),
        metadata: { name: n, labels: {} },
      }),
    status: 201,
    then: (a) => {
      expect(body(a).data).toBeUndefined();
      expect(body(a).metadata.labels).toBeUndefined();
    },
  },
  {
    what: 'POST of a ConfigMap that exists',
    send: async (k, n) => (
      await k.call('sa', 'POST', CONFIGMAPS, configMap(n)),
      k.call('sa', 'POST', CONFIGMAPS, configMap(n))
    ),
    status: 409,
    reason: 'AlreadyExists',
    message: /^configmaps "lease-\d+" already exists$/,
  },
  {
    what: 'PUT of a ConfigMap with a stale resourceVersion',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', CONFIGMAPS, configMap(n)));
      await k.call('sa', 'PUT', `${CONFIGMAPS}/${n}`, { ...read, data: { a: '1' } });
      return k.call('sa', 'PUT', `${CONFIGMAPS}/${n}`, { ...read, data: { a: '2' } });
    },
    status: 409,
    reason: 'Conflict',
    message:
      /^Operation cannot be fulfilled on configmaps "lease-\d+": the object has been modified/,
  },
  {
    what: 'PUT of a ConfigMap without a resourceVersion is taken',
    send: async (k, n) => {
      await k.call('sa', 'POST', CONFIGMAPS, configMap(n));
      return k.call('sa', 'PUT', `${CONFIGMAPS}/${n}`, configMap(n, { data: { a: '1' } }));
    },
    status: 200,
  },
  {
    what: 'PUT of a ConfigMap that does not exist: no create on update',
    send: (k, n) => k.call('sa', 'PUT', `${CONFIGMAPS}/${n}`, configMap(n, { data: { a: '1' } })),
    status: 404,
    reason: 'NotFound',
    details: { name: expect.stringMatching(/^lease-\d+$/), kind: 'configmaps' },
  },
  {
    what: 'PUT of a ConfigMap deleted since it was read',
    send: async (k, n) => {
      const read = body(await k.call('sa', 'POST', CONFIGMAPS, configMap(n)));
      await k.call('admin', 'DELETE', `${CONFIGMAPS}/${n}`);
      return k.call('sa', 'PUT', `${CONFIGMAPS}/${n}`, { ...read, data: { a: '1' } });
    },
    status: 404,
    reason: 'NotFound',
  },
  {
    what: 'a ConfigMap of 1 MiB of values (keys not counted) is taken',
    send: (k, n) =>
      k.call(
        'sa',
        'POST',
        CONFIGMAPS,
        configMap(n, {
          data: { 'a-long-key.json': 'x'.repeat(1024 * 1024 - 10), b: 'y'.repeat(10) },
        }),
      ),
    status: 201,
  },
  {
    what: 'a ConfigMap over 1 MiB of values is refused',
    send: (k, n) =>
      k.call('sa', 'POST', CONFIGMAPS, configMap(n, { data: { k: 'x'.repeat(1024 * 1024 + 1) } })),
    status: 422,
    reason: 'Invalid',
    message:
      /^ConfigMap "lease-\d+" is invalid: \[\]: Too long: may not be more than 1048576 bytes$/,
    details: {
      name: expect.stringMatching(/^lease-\d+$/),
      kind: 'ConfigMap',
      causes: [
        {
          reason: 'FieldValueTooLong',
          message: 'Too long: may not be more than 1048576 bytes',
          field: '[]',
        },
      ],
    },
  },
  {
    what: 'a ConfigMap key with a slash is refused (issue 48)',
    send: (k, n) => k.call('sa', 'POST', CONFIGMAPS, configMap(n, { data: { 'a/b': '1' } })),
    status: 422,
    reason: 'Invalid',
    message:
      /^ConfigMap "lease-\d+" is invalid: data\[a\/b\]: Invalid value: "a\/b": a valid config key must consist of alphanumeric characters/,
  },
  {
    what: 'binaryData that is not base64 is refused (issue 48)',
    send: (k, n) =>
      k.call('sa', 'POST', CONFIGMAPS, configMap(n, { binaryData: { k: '!!notbase64' } })),
    status: 400,
    reason: 'BadRequest',
    message:
      /^ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data at input byte 0$/,
  },
  {
    what: 'a ConfigMap whose name is not a DNS subdomain is refused (issue 48)',
    send: (k) => k.call('sa', 'POST', CONFIGMAPS, configMap('Bad_Name')),
    status: 422,
    reason: 'Invalid',
    message: /^ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name"/,
  },
  ...(['PATCH', 'DELETE'] as const).map((method): Case => ({
    what: `${method} of a ConfigMap: the ServiceAccount may not (issue 48)`,
    send: async (k, n) => (
      await k.call('sa', 'POST', CONFIGMAPS, configMap(n)),
      k.call(
        'sa',
        method,
        `${CONFIGMAPS}/${n}`,
        method === 'PATCH' ? { data: { z: '1' } } : undefined,
      )
    ),
    status: 403,
    reason: 'Forbidden',
    message: new RegExp(
      `^configmaps "lease-\\d+" is forbidden: User "${SA}" cannot ${method.toLowerCase()} resource "configmaps" in API group "" in the namespace "poolsync"$`,
    ),
  })),
  {
    what: 'LIST of ConfigMaps: the ServiceAccount may not (issue 48)',
    send: (k) => k.call('sa', 'GET', CONFIGMAPS),
    status: 403,
    reason: 'Forbidden',
    message: forbidden('configmaps', SA, 'list', 'configmaps', ''),
    details: cmDetails(),
  },
];

let count = 0;
for (const kind of KUBE_SERVERS) {
  describe.skipIf(kind.skip !== null)(`the ${kind.name} answers as kube-apiserver 1.37`, () => {
    let k: KubeServer;
    beforeAll(async () => {
      k = await kind.start();
    });
    afterAll(() => k?.close());

    it.each(CASES)('$what', async (c) => {
      const a = await c.send(k, `lease-${++count}`);
      expect({ status: a.status, body: a.body }).toMatchObject({ status: c.status });
      if (c.reason !== undefined) {
        const s = body(a) as unknown as {
          kind: string;
          reason: string;
          message: string;
          code: number;
          details?: unknown;
        };
        expect(s.kind).toBe('Status');
        expect(s.code).toBe(c.status);
        expect(s.reason).toBe(c.reason);
        if (typeof c.message === 'string') expect(s.message).toBe(c.message);
        else if (c.message) expect(s.message).toMatch(c.message);
        // Status bodies carry details: the object's name, group and kind (issue 48).
        if (c.details) expect(s.details).toEqual(c.details);
        else if (c.reason !== 'BadRequest')
          expect(s.details).toMatchObject({ kind: expect.any(String) });
      }
      c.then?.(a);
    });
  });
}
