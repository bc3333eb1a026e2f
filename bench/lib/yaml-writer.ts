/**
 * Writes a ScaleModel as a config repository (manifests.md): one folder per kind, several
 * documents per file, written the way people write them (defaults left out, flow-style
 * selectors). Hand-rolled rather than js-yaml's dump so that the output is stable across
 * library versions and fast at 100,000 objects.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScaleAssignment, ScaleCluster, ScaleModel, ScalePool, ScaleQueue } from './scale.js';

/**
 * Documents per file: a few hundred in a small organisation, a few thousand in a large one
 * (from LARGE objects on, files hold a team's objects rather than a pool's), and never more
 * than MAX_FILE_BYTES: manifests.md caps a file at 1 MiB by default, and the generated
 * organisation must validate with the defaults.
 */
const DOCUMENTS_PER_FILE = 250;
const LARGE = 50_000;
const DOCUMENTS_PER_LARGE_FILE = 4_000;
const MAX_FILE_BYTES = 960 * 1024;

export interface WrittenRepository {
  dir: string;
  files: number;
  documents: number;
  bytes: number;
}

/** Plain scalars where YAML reads them back as the same string, quoted otherwise. */
function str(value: string): string {
  const plain =
    /^[a-zA-Z0-9][-a-zA-Z0-9._/]*(:[-a-zA-Z0-9._/]+)*(:\/\/[-a-zA-Z0-9._/]+)?$/.test(value) &&
    !/^(true|false|yes|no|on|off|null|~|[-+]?[0-9][0-9._]*(e[-+]?[0-9]+)?)$/i.test(value);
  return plain ? value : JSON.stringify(value);
}

function header(kind: string, name: string, annotations: Record<string, string> = {}): string {
  let out = `---\napiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${str(name)}\n`;
  const keys = Object.keys(annotations);
  if (keys.length > 0) {
    out += '  annotations:\n';
    for (const k of keys) out += `    ${str(k)}: ${JSON.stringify(annotations[k])}\n`;
  }
  return out;
}

export function poolYaml(pool: ScalePool): string {
  const c = pool.contract;
  let out = header(
    'ClusterPool',
    pool.name,
    pool.preventDestroy ? { 'poolsync/prevent-destroy': 'true' } : {},
  );
  out += `spec:\n  object_store_ref:\n    uri: ${str(c.object_store_ref.uri)}\n`;
  if (c.object_store_ref.endpoint !== '')
    out += `    endpoint: ${str(c.object_store_ref.endpoint)}\n`;
  out += `  secret_store:\n    type: ${c.secret_store.type}\n    locator: ${str(c.secret_store.locator)}\n`;
  if (c.image_registry) out += `  image_registry:\n    locator: ${str(c.image_registry.locator)}\n`;
  return out;
}

export function clusterYaml(cluster: ScaleCluster): string {
  let out = header('Cluster', cluster.name) + `spec:\n  pool: ${str(cluster.pool)}\n`;
  if (!cluster.enabled) out += '  enabled: false\n';
  const dp = cluster.data_plane;
  if (dp) {
    out += '  data_plane:\n';
    if (dp.object_store_uri !== undefined)
      out += `    object_store_uri: ${str(dp.object_store_uri)}\n`;
    if (dp.secret_store) {
      const parts: string[] = [];
      if (dp.secret_store.type !== undefined) parts.push(`type: ${dp.secret_store.type}`);
      if (dp.secret_store.locator !== undefined)
        parts.push(`locator: ${str(dp.secret_store.locator)}`);
      out += `    secret_store: { ${parts.join(', ')} }\n`;
    }
    if (dp.image_registry !== undefined) out += `    image_registry: ${str(dp.image_registry)}\n`;
  }
  return out;
}

export function queueYaml(queue: ScaleQueue): string {
  const s = queue.spec;
  const omitted = new Set(queue.omitted);
  let out = header('Queue', queue.name) + 'spec:\n';
  if (!omitted.has('pool')) out += `  pool: ${str(s.pool)}\n`;
  if (!omitted.has('clusters'))
    out += `  clusters: [${s.clusters.map((c) => (c === '*' ? '"*"' : str(c))).join(', ')}]\n`;
  out += `  run_concurrency: ${s.run_concurrency}\n  action_concurrency: ${s.action_concurrency}\n`;
  if (!omitted.has('depth')) out += `  depth: ${s.depth}\n`;
  if (!omitted.has('priority')) out += `  priority: ${s.priority}\n`;
  if (!omitted.has('fairness')) out += `  fairness: ${s.fairness}\n`;
  return out;
}

export function assignmentYaml(a: ScaleAssignment): string {
  let out = header('PoolAssignment', a.name);
  out += `spec:\n  project: ${str(a.project)}\n  domain: ${str(a.domain)}\n`;
  if (a.workflow !== null) out += `  workflow: ${str(a.workflow)}\n`;
  out += `  pool: ${str(a.pool)}\n`;
  return out;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Relative path → file content, for the whole repository. */
export function renderRepository(model: ScaleModel): Map<string, string> {
  const files = new Map<string, string>();
  const large = model.objects >= LARGE;
  const perFile = large ? DOCUMENTS_PER_LARGE_FILE : DOCUMENTS_PER_FILE;
  const addChunked = <T>(folder: string, base: string, items: T[], render: (item: T) => string) => {
    const chunks: string[] = [];
    let chunk: string[] = [];
    let bytes = 0;
    for (const item of items) {
      const text = render(item);
      if (chunk.length === perFile || (chunk.length > 0 && bytes + text.length > MAX_FILE_BYTES)) {
        chunks.push(chunk.join(''));
        chunk = [];
        bytes = 0;
      }
      chunk.push(text);
      bytes += text.length;
    }
    if (chunk.length > 0) chunks.push(chunk.join(''));
    chunks.forEach((text, i) => {
      const suffix = chunks.length > 1 ? `-${String(i + 1).padStart(2, '0')}` : '';
      files.set(`${folder}/${base}${suffix}.yaml`, text);
    });
  };
  const team = (pool: string) => pool.replace(/-(prod|staging|dev)-\d+$/, '');
  const fileOf = (pool: string) => (large ? team(pool) : pool);

  // Past the default of 250,000 documents per repository, the organisation says how many it
  // holds (poolsync.yaml `limits.documents`), as a large real one would.
  const limits =
    model.objects * 1.2 > 250_000
      ? `limits:\n  documents: ${Math.ceil((model.objects * 1.2) / 1000) * 1000}\n`
      : '';
  files.set(
    'poolsync.yaml',
    '# Generated by bench/generate.ts: the poolsync scale benchmark organisation.\n' +
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\nignore: []\n' +
      limits,
  );
  // Pools grouped by team, clusters and queues by pool, assignments by project group.
  for (const [name, pools] of groupBy(model.pools, (p) => team(p.name))) {
    addChunked('pools', name, pools, poolYaml);
  }
  for (const [name, clusters] of groupBy(model.clusters, (c) => fileOf(c.pool))) {
    addChunked('clusters', name, clusters, clusterYaml);
  }
  for (const [name, queues] of groupBy(model.queues, (q) => fileOf(q.spec.pool))) {
    addChunked('queues', name, queues, queueYaml);
  }
  addChunked('assignments', 'assignments', model.assignments, assignmentYaml);
  return files;
}

/** Writes the repository into `dir` (emptied first). */
export async function writeRepository(model: ScaleModel, dir: string): Promise<WrittenRepository> {
  await rm(dir, { recursive: true, force: true });
  const files = renderRepository(model);
  const folders = new Set(
    [...files.keys()].filter((f) => f.includes('/')).map((f) => f.slice(0, f.lastIndexOf('/'))),
  );
  await mkdir(dir, { recursive: true });
  for (const folder of folders) await mkdir(join(dir, folder), { recursive: true });
  let bytes = 0;
  let documents = 0;
  await Promise.all(
    [...files].map(([path, content]) => {
      bytes += Buffer.byteLength(content);
      documents += content.split('\n---\n').length - (content.startsWith('---\n') ? 0 : 1);
      return writeFile(join(dir, path), content);
    }),
  );
  return { dir, files: files.size, documents, bytes };
}
