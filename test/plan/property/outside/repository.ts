/**
 * A generated repository (world.ts RepoSpec) written as a user writes one: YAML documents under
 * kind folders and a poolsync.yaml, read by poolsync's loader like any other. Mostly valid by
 * construction (selectors name declared members of the queue's pool, settings name declared
 * queues), not always: `absent: [ClusterPool/default]` beside a cluster in it is the loader's to
 * refuse (V16).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ABSENT,
  ACCELERATORS,
  CLUSTERS,
  DOMAINS,
  LABELS,
  MANAGE,
  POOLS,
  PROJECTS,
  QUEUES,
  WORKFLOW,
  type RepoSpec,
} from './world.js';

const PRIORITIES = ['min', 'medium', 'max'];
const FAIRNESS = ['round_robin', 'shuffle_interleave'];
const SCHEDULING = ['strict_fifo', 'greedy_capacity'];

/** A pool's contract, by version (the object store tells versions apart). */
export const contractOf = (pool: string, version: number) => ({
  object_store_ref: { uri: `s3://${pool}-v${version}`, endpoint: '' },
  secret_store: { type: 'AWS_SECRETS_MANAGER' as const, locator: 'us-east-1' },
  image_registry: null,
});

function doc(kind: string, name: string, spec: string, guard = false): string {
  const annotations = guard ? '  annotations:\n    poolsync/prevent-destroy: "true"\n' : '';
  return `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${annotations}spec:\n${spec}`;
}

const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

/** Every delete of a flyteadmin row poolsync manages, by address (acceptCascade). */
function cascades(): string[] {
  const out: string[] = [];
  for (const kind of ['PoolAssignment', 'ExecutionClusterLabel'])
    for (const project of PROJECTS)
      for (const domain of DOMAINS)
        out.push(`${kind}/${project}/${domain}`, `${kind}/${project}/${domain}/${WORKFLOW}`);
  // A label's project-wide row (its delete takes every row of the project).
  for (const project of PROJECTS) out.push(`ExecutionClusterLabel/${project}/*`);
  return out;
}

/** The documents of `r` by path, and the addresses it declares (for `--target`). */
export function repositoryFiles(r: RepoSpec): { files: Map<string, string>; addresses: string[] } {
  const files = new Map<string, string>();
  const addresses: string[] = [];
  const absent = r.absent.map((i) => ABSENT[i]!);
  const config = [
    'apiVersion: poolsync/v1',
    'kind: RepoConfig',
    `prune: ${r.prune}`,
    ...(r.manage ? [`manage: ${list(r.manage.map((i) => MANAGE[i]!))}`] : []),
    ...(absent.length ? [`absent: ${list(absent)}`] : []),
    ...(r.accept ? [`acceptCascade: ${list(cascades())}`] : []),
  ];
  files.set('poolsync.yaml', `${config.join('\n')}\n`);

  for (const p of r.pools) {
    const name = POOLS[p.name]!;
    const c = contractOf(name, p.version);
    files.set(
      `pools/${name}.yaml`,
      doc(
        'ClusterPool',
        name,
        `  object_store_ref: { uri: "${c.object_store_ref.uri}" }\n  secret_store: { type: ${c.secret_store.type}, locator: ${c.secret_store.locator} }\n`,
        p.guard,
      ),
    );
    addresses.push(`ClusterPool/${name}`);
  }
  const pools = ['default', ...r.pools.map((p) => POOLS[p.name]!)];
  const poolOf = (i: number) => pools[i % pools.length]!;

  const clusters = r.clusters.map((c) => ({ ...c, name: CLUSTERS[c.name]!, pool: poolOf(c.pool) }));
  for (const c of clusters) {
    files.set(
      `clusters/${c.name}.yaml`,
      doc('Cluster', c.name, `  pool: ${c.pool}\n  enabled: ${c.enabled}\n`, c.guard),
    );
    addresses.push(`Cluster/${c.name}`, `Queue/${c.name}`);
  }

  const queues: string[] = [];
  for (const q of r.queues) {
    const name = QUEUES[q.name]!;
    const pool = poolOf(q.pool);
    const members = clusters.filter((c) => c.pool === pool).map((c) => c.name);
    const picked = [...new Set(q.pick.map((i) => members[i % Math.max(1, members.length)]!))];
    const selector = q.wildcard ? ['*'] : picked.filter(Boolean);
    const lines = [
      `  pool: ${pool}`,
      `  clusters: ${list(selector)}`,
      `  run_concurrency: ${q.run * 10}`,
      `  action_concurrency: ${q.run * 100}`,
      `  priority: ${PRIORITIES[q.priority]}`,
      `  fairness: ${FAIRNESS[q.fairness]}`,
      ...(q.depth ? ['  depth: 500'] : []),
    ];
    if (q.caps) {
      const accelerators = q.caps.accelerators.map((a, i) => `${ACCELERATORS[a]}: ${i + 1}`);
      if (accelerators.length) lines.push(`  max_accelerators: { ${accelerators.join(', ')} }`);
      lines.push(`  max_resources: { ${q.caps.cpu ? 'cpu: "8"' : ''} }`);
      lines.push(`  scheduling: ${SCHEDULING[q.caps.scheduling]}`);
    }
    files.set(`queues/${name}.yaml`, doc('Queue', name, `${lines.join('\n')}\n`, q.guard));
    addresses.push(`Queue/${name}`);
    queues.push(name);
  }
  for (const c of r.conamed) {
    const cluster = clusters.find((x) => x.name === CLUSTERS[c.cluster]);
    if (!cluster) continue;
    files.set(
      `queues/${cluster.name}.yaml`,
      doc(
        'Queue',
        cluster.name,
        `  run_concurrency: ${c.run * 10}\n  action_concurrency: ${c.run * 100}\n`,
      ),
    );
  }
  const defaultAbsent = absent.includes('Queue/default');
  if (r.defaultQueue && !defaultAbsent) {
    files.set(
      'queues/default.yaml',
      doc(
        'Queue',
        'default',
        `  run_concurrency: ${r.defaultQueue.run * 10}\n  action_concurrency: ${r.defaultQueue.run * 100}\n`,
      ),
    );
    addresses.push('Queue/default');
  }

  for (const a of r.assignments) {
    const [project, domain] = [PROJECTS[a.project]!, DOMAINS[a.domain]!];
    const name = `${project}-${domain}${a.workflow ? '-wf' : ''}`;
    const workflow = a.workflow ? `  workflow: ${WORKFLOW}\n` : '';
    files.set(
      `assignments/${name}.yaml`,
      doc(
        'PoolAssignment',
        name,
        `  project: ${project}\n  domain: ${domain}\n${workflow}  pool: ${poolOf(a.pool)}\n`,
      ),
    );
    addresses.push(`PoolAssignment/${project}/${domain}${a.workflow ? `/${WORKFLOW}` : ''}`);
  }

  // A setting names a declared queue: a Queue document, a declared cluster's, or `default`.
  const named = [...queues, ...clusters.map((c) => c.name), ...(defaultAbsent ? [] : ['default'])];
  for (const s of r.settings) {
    if (named.length === 0) break;
    const [project, domain] = [PROJECTS[s.project]!, DOMAINS[s.domain]!];
    files.set(
      `settings/${project}-${domain}.yaml`,
      doc(
        'DefaultQueue',
        `${project}-${domain}`,
        `  project: ${project}\n  domain: ${domain}\n  queue: ${named[s.queue % named.length]}\n`,
      ),
    );
    addresses.push(`DefaultQueue/${project}/${domain}`);
  }

  if (r.labels.length > 0) {
    // flyteadmin's labels name a ClusterLabel, which names an ExecutionCluster (V10, V11).
    for (const label of LABELS) {
      files.set(
        `flyte/cluster-${label}.yaml`,
        doc('ExecutionCluster', `${label}-1`, '  inCluster: true\n'),
      );
      files.set(
        `flyte/label-${label}.yaml`,
        doc('ClusterLabel', label, `  clusters:\n    - { cluster: ${label}-1, weight: 1 }\n`),
      );
    }
    for (const l of r.labels) {
      // A domain index past DOMAINS: the project-wide label (no domain, so no workflow).
      const project = PROJECTS[l.project]!;
      const domain = DOMAINS[l.domain] ?? null;
      const wf = l.workflow && domain !== null;
      const name = `${project}-${domain ?? 'all'}${wf ? '-wf' : ''}`;
      const workflow = wf ? `  workflow: ${WORKFLOW}\n` : '';
      const domainLine = domain === null ? '' : `  domain: ${domain}\n`;
      files.set(
        `labels/${name}.yaml`,
        doc(
          'ExecutionClusterLabel',
          name,
          `  project: ${project}\n${domainLine}${workflow}  label: ${LABELS[l.label]}\n`,
        ),
      );
      addresses.push(
        `ExecutionClusterLabel/${project}/${domain ?? '*'}${wf ? `/${WORKFLOW}` : ''}`,
      );
    }
  }
  return { files, addresses };
}

/**
 * Writes `r` under `dir`; the `--target` address it asks for, if any, among the addresses
 * `planned` keeps (flyteadmin plans no ClusterPool: there it is configuration only).
 */
export async function writeRepository(
  dir: string,
  r: RepoSpec,
  planned: (address: string) => boolean = () => true,
): Promise<string | null> {
  const written = repositoryFiles(r);
  const { files } = written;
  const addresses = written.addresses.filter(planned);
  for (const [path, text] of files) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return r.target === null || addresses.length === 0
    ? null
    : addresses[r.target % addresses.length]!;
}
