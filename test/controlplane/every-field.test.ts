/**
 * Issue 77 item 3: one manifest per kind with every field of its schema set (SPEC_FIELDS, each
 * to a value other than its default), applied, exported and planned again on each backend that
 * stores the kind: embedded (file:), the REST API (`control-plane serve`'s server), the Union
 * stand-in and flyteadmin (stand-in and real). The export must give back every field the
 * backend carries, and both folders plan to "No changes" (to send, with configuration-only kinds). A field a backend does not carry is
 * named in DROPPED (or follows from the model: a Cluster field no control plane stores, Union's
 * queue caps); a field added to a schema is generated here by its type, so it fails this test,
 * naming it, until its backends carry it or it is listed.
 */
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { load, dump } from '../../src/util/js-yaml.js';
import { SPEC_FIELDS, type ManifestKind, type SpecField } from '../../src/gen/manifests/kinds.js';
import { CLUSTER_FIELDS, QUEUE_CAP_FIELDS } from '../../src/model/common.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { backendInfo, type BackendInfo } from '../../src/controlplane/types.js';
import { runCli } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';
import { apiKey, startUnionServer } from './union/helpers.js';
import { flyteadminTargets } from '../flyteadmin/targets.js';

type Fields = Readonly<Record<string, SpecField>>;
type Spec = Record<string, unknown>;

/** Left out of the manifest, for the reason given beside it. */
const OMIT = Symbol('omit');

const POOL = 'every';
const CLUSTER = 'every-1';
const QUEUE = 'every-q';
const LABEL = 'every-label';
const KEY = { project: 'team1', domain: 'development' };

/**
 * Values that must mean something to the rules (a reference, a URI, a key a backend knows);
 * every other field is generated from its type (`generated`).
 */
const MEANT: Record<string, unknown> = {
  'ClusterPool.object_store_ref.uri': 's3://every-field/meta',
  'ClusterPool.object_store_ref.endpoint': 'https://s3.eu-west-1.amazonaws.com',
  'ClusterPool.secret_store.locator': 'eu-west-1',
  'ClusterPool.image_registry.locator': 'registry.example.com/every',
  'Cluster.pool': POOL,
  // Union self-managed's pool map, instead of pool (C7): rendered, stored by no backend.
  'Cluster.pools': OMIT,
  // V6: what the data plane is deployed with equals the pool's contract.
  'Cluster.data_plane.object_store_uri': 's3://every-field/meta',
  'Cluster.data_plane.secret_store.type': 'OCI_VAULT',
  'Cluster.data_plane.secret_store.locator': 'eu-west-1',
  'Cluster.data_plane.image_registry': 'registry.example.com/every',
  'Queue.pool': POOL,
  'Queue.clusters': [CLUSTER],
  'Queue.max_resources.cpu': '4',
  'Queue.max_resources.memory': '16Gi',
  'Queue.max_resources.ephemeral_storage': '100Gi',
  // V15: Union caps GPUs per accelerator, with max_accelerators.
  'Queue.max_resources.gpu': OMIT,
  'Queue.max_accelerators': { 'nvidia_gpu/nvidia-h100': 8 },
  'PoolAssignment.project': KEY.project,
  'PoolAssignment.domain': KEY.domain,
  'PoolAssignment.workflow': 'wf.every',
  'PoolAssignment.pool': POOL,
  'DefaultQueue.project': KEY.project,
  'DefaultQueue.domain': KEY.domain,
  'DefaultQueue.queue': QUEUE,
  'ExecutionCluster.endpoint': 'https://dataplane.example.com:443',
  // Instead of auth: flyteadmin's own credentials.
  'ExecutionCluster.inCluster': OMIT,
  'ExecutionCluster.auth.type': 'file_path',
  'ExecutionCluster.auth.tokenPath': '/var/run/credentials/every_token',
  'ExecutionCluster.auth.certPath': '/var/run/credentials/every_cacert',
  'ClusterLabel.clusters': [{ cluster: 'every_dataplane', weight: 1 }],
  'ExecutionClusterLabel.project': KEY.project,
  'ExecutionClusterLabel.domain': KEY.domain,
  'ExecutionClusterLabel.workflow': 'wf.every',
  'ExecutionClusterLabel.label': LABEL,
};

/** Names of the objects of the named kinds. */
const NAMES: Partial<Record<ManifestKind, string>> = {
  ClusterPool: POOL,
  Cluster: CLUSTER,
  Queue: QUEUE,
  ExecutionCluster: 'every_dataplane',
  ClusterLabel: LABEL,
};

/** A value of `f` other than its default, by its type; undefined when it must be MEANT. */
function generated(name: string, f: SpecField): unknown {
  const d = f.default;
  switch (f.type) {
    case 'enum':
      return f.values!.filter((v) => v !== d).at(-1);
    case 'boolean':
      return d !== true;
    case 'integer':
    case 'number':
      return ((d as number | undefined) ?? 0) + 7;
    case 'string':
      return `v-${name.replaceAll('_', '-')}`;
    case 'array':
      return f.items && ['string', 'enum'].includes(f.items.type)
        ? [generated(name, f.items)]
        : undefined;
    default:
      return undefined;
  }
}

/** The spec of `kind` with every field set (`skip`: leaves left out on this backend). */
function specOf(kind: string, fields: Fields, skip: (path: string) => boolean, at = kind): Spec {
  const out: Spec = {};
  for (const [name, f] of Object.entries(fields)) {
    const path = `${at}.${name}`;
    const meant = Object.hasOwn(MEANT, path) ? MEANT[path] : undefined;
    if (meant === OMIT || skip(path)) continue;
    const value = f.fields && meant === undefined ? specOf(kind, f.fields, skip, path) : meant;
    const v = value ?? generated(name, f);
    if (v === undefined) throw new Error(`every-field.test.ts: name a value for ${path} in MEANT`);
    if ('default' in f) expect(v, `${path} is set to its default`).not.toEqual(f.default);
    out[name] = v;
  }
  return out;
}

/** Each leaf of `spec` by its path (`ClusterPool.secret_store.type`); mappings of `fields` walked. */
function leaves(fields: Fields, spec: Spec, at: string, out = new Map<string, unknown>()) {
  for (const [name, v] of Object.entries(spec)) {
    const f = fields[name];
    if (f?.fields && typeof v === 'object' && v !== null)
      leaves(f.fields, v as Spec, `${at}.${name}`, out);
    else out.set(`${at}.${name}`, v);
  }
  return out;
}

/**
 * The fields a backend stores objects of the kind of, but cannot carry: left out of its
 * manifests (declared, they would plan a change every time). Every entry must be a field of the
 * schema (checked below), so a stale one fails too.
 */
const DROPPED: Record<string, readonly string[]> = {
  embedded: [],
  'REST API': [],
  union: [],
  'flyteadmin stand-in': [],
  'flyteadmin (real)': [],
};

/** Fields no backend stores, by the model: a Cluster's besides CLUSTER_FIELDS (data_plane, pools). */
const unstored = (path: string) =>
  path.startsWith('Cluster.') &&
  !(CLUSTER_FIELDS as readonly string[]).includes(path.split('.')[1]!);

interface Started {
  url: string;
  env: Record<string, string | undefined>;
  close(): Promise<void>;
}

interface Backend {
  name: string;
  missing: string | null;
  start(): Promise<Started>;
}

const fa = flyteadminTargets();
afterAll(() => fa.close());

const BACKENDS: Backend[] = [
  {
    name: 'embedded',
    missing: null,
    start: async () => ({
      url: `file:${join(tempFolder('poolsync-every-cp-'), 'cp.json')}`,
      env: {},
      close: async () => {},
    }),
  },
  {
    name: 'REST API',
    missing: null,
    async start() {
      const embedded = await EmbeddedControlPlane.open({
        path: join(tempFolder('poolsync-every-rest-'), 'cp.json'),
      });
      const token = 'every-field-token';
      const server = await startControlPlaneServer({ controlPlane: embedded, token });
      return {
        url: server.url,
        env: { POOLSYNC_TOKEN: token },
        close: async () => {
          await server.close();
          await embedded.close();
        },
      };
    },
  },
  {
    name: 'union',
    missing: null,
    async start() {
      const s = await startUnionServer({ projects: [KEY.project] });
      return {
        url: s.url('connect'),
        env: { POOLSYNC_UNION_API_KEY: apiKey(s.host) },
        close: () => s.close(),
      };
    },
  },
  ...fa.list.map((t) => ({
    name: `flyteadmin ${t.name === 'stand-in' ? 'stand-in' : '(real)'}`,
    missing: t.missing,
    async start() {
      const f = await t.start();
      return { url: f.url, env: {}, close: () => f.close() };
    },
  })),
];

/** The documents of a folder, by kind and name (keyed kinds: by kind). */
async function documents(dir: string): Promise<Map<string, Spec>> {
  const out = new Map<string, Spec>();
  for (const file of await readdir(dir, { recursive: true })) {
    if (!file.endsWith('.yaml')) continue;
    const doc = load(await readFile(join(dir, file), 'utf8')) as {
      kind: ManifestKind;
      metadata: { name: string };
      spec: Spec;
    };
    out.set(NAMES[doc.kind] ? `${doc.kind}/${doc.metadata.name}` : doc.kind, doc.spec);
  }
  return out;
}

const idOf = (kind: ManifestKind) => (NAMES[kind] ? `${kind}/${NAMES[kind]}` : kind);

describe.each(BACKENDS)('every field of every kind it stores, on $name', (backend) => {
  it('apply → export gives each field back, and both folders plan to "No changes"', async ({
    skip,
  }) => {
    if (backend.missing) skip(backend.missing);
    const cp = await backend.start();
    try {
      const opened = await openControlPlane(cp.url, { env: { ...process.env, ...cp.env } });
      const info: BackendInfo = backendInfo(opened);
      await opened.close();
      const skip = (path: string) =>
        DROPPED[backend.name]!.includes(path) ||
        (!info.queueCaps && (QUEUE_CAP_FIELDS as string[]).includes(path.split('.')[1]!));
      const declared = (Object.keys(SPEC_FIELDS) as ManifestKind[]).filter(
        (k) => info.kinds.includes(k) || info.configKinds?.includes(k),
      );
      const stored = declared.filter((k) => info.kinds.includes(k));
      const repo = tempFolder('poolsync-every-repo-');
      const written = new Map<ManifestKind, Spec>();
      for (const kind of declared) {
        const spec = specOf(kind, SPEC_FIELDS[kind], skip);
        written.set(kind, spec);
        const metadata = { name: NAMES[kind] ?? `every-${kind.toLowerCase()}` };
        const doc = { apiVersion: 'poolsync/v1', kind, metadata, spec };
        await writeFile(join(repo, `${kind}.yaml`), dump(doc));
      }
      // In a folder of the test's: apply keeps its records (and an inventory) under ./.poolsync.
      const state = tempFolder('poolsync-every-state-');
      const run = (...args: string[]) =>
        runCli([...args, '--control-plane', cp.url], cp.env, state).then((r) => ({
          ...r,
          all: r.stdout + r.stderr,
        }));

      const applied = await run('apply', repo, '--auto-approve');
      expect(applied.code, applied.all).toBe(0);
      const out = tempFolder('poolsync-every-export-');
      const exported = await run('export', '--dir', out);
      expect(exported.code, exported.all).toBe(0);
      const back = await documents(out);
      const lost: string[] = [];
      for (const kind of stored) {
        const spec = back.get(idOf(kind));
        expect(spec, `${idOf(kind)} is exported`).toBeDefined();
        const had = leaves(SPEC_FIELDS[kind], spec ?? {}, kind);
        for (const [path, value] of leaves(SPEC_FIELDS[kind], written.get(kind)!, kind))
          if (!unstored(path) && !isDeepStrictEqual(had.get(path), value)) lost.push(path);
      }
      // Each field comes back as written, or is named in DROPPED for this backend.
      expect(lost, `fields ${backend.name} does not give back: name them in DROPPED`).toEqual([]);
      // Configuration-only kinds in no rendered file (no poolsync.yaml render): nothing to send,
      // and whether they are deployed is unknown, not a change: exit 0 (docs/plan.md).
      const nothing = [
        0,
        expect.stringContaining(info.configKinds?.length ? 'No changes to send' : 'No changes.'),
      ];
      const again = await run('plan', repo, '--detailed-exitcode');
      expect([again.code, again.all]).toEqual(nothing);

      // The configuration kinds have no API: copied, as a user copies them from Helm values.
      await mkdir(join(out, 'config'), { recursive: true });
      for (const kind of declared.filter((k) => !stored.includes(k)))
        await writeFile(
          join(out, 'config', `${kind}.yaml`),
          await readFile(join(repo, `${kind}.yaml`)),
        );
      const replan = await run('plan', out, '--detailed-exitcode');
      expect([replan.code, replan.all]).toEqual(nothing);
    } finally {
      await cp.close();
    }
  });
});

describe('DROPPED', () => {
  it('names only fields of the schemas', () => {
    const all = new Set<string>();
    const walk = (fields: Fields, at: string) => {
      for (const [n, f] of Object.entries(fields)) {
        all.add(`${at}.${n}`);
        if (f.fields) walk(f.fields, `${at}.${n}`);
      }
    };
    for (const [kind, fields] of Object.entries(SPEC_FIELDS)) walk(fields, kind);
    expect(
      Object.values(DROPPED)
        .flat()
        .filter((p) => !all.has(p)),
    ).toEqual([]);
    expect(Object.keys(DROPPED).sort()).toEqual(BACKENDS.map((b) => b.name).sort());
  });
});
