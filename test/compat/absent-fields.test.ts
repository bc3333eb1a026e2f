/**
 * Read old, write current (docs/versioning.md, issue 77): a record written before an optional
 * field existed lacks it, and reads as if written with the field's schema default (null for
 * one without a default); only a field the schema requires is missing. Every field here comes
 * from schemas/ (SPEC_FIELDS), so a field added later is held to this by the same tests.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { SPEC_FIELDS, type SpecField } from '../../src/gen/manifests/kinds.js';
import { QUEUE_DEFAULTS, QUEUE_PLACEMENT, QUEUE_SPEC_FIELDS } from '../../src/model/common.js';
import { queueSpecShape } from '../../src/model/shapes.js';
import { parsePlanFile, sealOf } from '../../src/render/plan-file.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';

const BUILD = join(REPO_ROOT, 'test', 'fixtures', 'compat', 'b8137a5c');
type Fields = Readonly<Record<string, SpecField>>;
type Obj = Record<string, unknown>;

/** What an absent `f` reads as: its default, else null. */
const absentValue = (f: SpecField): unknown => ('default' in f ? f.default : null);

/**
 * Removes from `record` every optional field of `fields` holding what it would read as when
 * absent (nested records too), as a build before those fields would have written it; counts them.
 */
function strip(record: Obj, fields: Fields, removed: { count: number }): void {
  for (const [name, f] of Object.entries(fields)) {
    const v = record[name];
    if (f.fields && typeof v === 'object' && v !== null) strip(v as Obj, f.fields, removed);
    if (!f.required && JSON.stringify(v) === JSON.stringify(absentValue(f))) {
      delete record[name];
      removed.count++;
    }
  }
}

/** The kind's record each stored part and journaled op carries. */
const QUEUE: Fields = Object.fromEntries(QUEUE_SPEC_FIELDS.map((f) => [f, SPEC_FIELDS.Queue[f]]));
const PARTS: [string, string, Fields][] = [
  ['pools', 'contract', SPEC_FIELDS.ClusterPool],
  ['deleted_pools', 'contract', SPEC_FIELDS.ClusterPool],
  ['queues', 'spec', QUEUE],
  ['deleted_queues', 'spec', QUEUE],
];
const OP_PARTS: Record<string, [string, Fields]> = {
  create_pool: ['contract', SPEC_FIELDS.ClusterPool],
  update_pool: ['contract', SPEC_FIELDS.ClusterPool],
  create_queue: ['spec', QUEUE],
  update_queue: ['spec', QUEUE],
  set_assignment: ['assignment', SPEC_FIELDS.PoolAssignment],
};

/** The corpus' embedded state (snapshot and journal) in a fresh repository, `edit`ed. */
function olderState(edit: (snapshot: Obj, ops: Obj[]) => void): string {
  const repo = join(tempFolder('poolsync-absent-'), 'repo');
  cpSync(join(BUILD, 'repo'), repo, { recursive: true });
  cpSync(join(BUILD, 'embedded'), join(repo, '.poolsync'), { recursive: true });
  const path = join(repo, '.poolsync', 'control-plane.json');
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as Obj;
  const lines = readFileSync(`${path}.journal`, 'utf8').trimEnd().split('\n');
  const entries = lines.map((l) => JSON.parse(l) as { op: Obj });
  edit(
    snapshot,
    entries.map((e) => e.op),
  );
  writeFileSync(path, JSON.stringify(snapshot));
  writeFileSync(`${path}.journal`, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
  return repo;
}

function stripAll(snapshot: Obj, ops: Obj[]): number {
  const removed = { count: 0 };
  const state = snapshot.state as Record<string, Obj[] | undefined>;
  for (const [list, part, fields] of PARTS)
    for (const r of state[list] ?? []) strip(r[part] as Obj, fields, removed);
  for (const a of state.assignments ?? []) strip(a, SPEC_FIELDS.PoolAssignment, removed);
  for (const op of ops) {
    const [part, fields] = OP_PARTS[op.op as string] ?? [];
    if (part) strip(op[part] as Obj, fields!, removed);
  }
  return removed.count;
}

function inFolder(dir: string, args: string[]) {
  const cwd = process.cwd();
  process.chdir(dir);
  return runCli(args).finally(() => process.chdir(cwd));
}

async function liveOf(repo: string) {
  const path = join(repo, '.poolsync', 'control-plane.json');
  const cp = await EmbeddedControlPlane.open({ path, readOnly: true });
  try {
    return { pools: await cp.listPools(), queues: await cp.listQueues() };
  } finally {
    await cp.close();
  }
}

describe('a stored record without its optional fields', () => {
  it('reads each as its default (snapshot and journal): plan says "No changes", the state is the same', async () => {
    let removed = 0;
    const older = olderState((snapshot, ops) => (removed = stripAll(snapshot, ops)));
    // Not vacuous: the corpus holds pools and queues with defaults (endpoint "", depth 10000 …).
    expect(removed).toBeGreaterThan(20);
    const plan = await inFolder(older, ['plan', '.', '--detailed-exitcode']);
    // Nothing to send; the apply adopts what the earlier build recorded without a repository.
    expect([plan.code, plan.stderr]).toEqual([2, '']);
    expect(plan.stdout).toContain('Nothing to send to the control plane, but the apply records');
    expect(await liveOf(older)).toEqual(await liveOf(olderState(() => {})));
  });

  it('refuses a record without a required field, in one line naming it (snapshot, then journal)', async () => {
    const required = Object.keys(SPEC_FIELDS.Queue).find(
      (f) => SPEC_FIELDS.Queue[f as keyof typeof SPEC_FIELDS.Queue].required,
    )!;
    const noSnapshotField = olderState((snapshot) => {
      const queues = (snapshot.state as { queues: { spec: Obj }[] }).queues;
      delete queues[0]!.spec[required];
    });
    const fromSnapshot = await inFolder(noSnapshotField, ['plan', '.']);
    expect(fromSnapshot.code).toBe(1);
    expect(fromSnapshot.stderr).toMatch(
      new RegExp(
        `^Error: \\S+control-plane.json is not .*state.queues\\[0\\].spec.${required} is missing.*\\n$`,
      ),
    );
    const noJournalField = olderState((_, ops) => {
      delete (ops.find((o) => o.op === 'create_queue')!.spec as Obj)[required];
    });
    const fromJournal = await inFolder(noJournalField, ['plan', '.']);
    expect(fromJournal.code).toBe(1);
    expect(fromJournal.stderr).toMatch(
      new RegExp(`^Error: \\S+journal:\\d+: .*op.spec.${required} is missing.*\\n$`),
    );
  });

  it('in a saved plan (its queue specs): read as its default by parsePlanFile (show, apply)', () => {
    const doc = JSON.parse(readFileSync(join(BUILD, 'plan.json'), 'utf8')) as Obj;
    const removed = { count: 0 };
    for (const step of doc.steps as { op: string; args: Obj }[])
      if (OP_PARTS[step.op]?.[0] === 'spec') strip(step.args, QUEUE, removed);
    expect(removed.count).toBeGreaterThan(0);
    doc.seal = sealOf(doc, null); // as the earlier build would have sealed what it wrote
    const plan = parsePlanFile(JSON.stringify(doc), 'plan.json', { key: null });
    const original = parsePlanFile(readFileSync(join(BUILD, 'plan.json'), 'utf8'), 'plan.json', {
      key: null,
    });
    expect(plan.steps).toEqual(original.steps);
  });

  it('gets a copy of a list default: records filled alike share nothing', () => {
    const a: Obj = { run_concurrency: 1, action_concurrency: 1 };
    const b: Obj = { run_concurrency: 1, action_concurrency: 1 };
    expect([queueSpecShape(a), queueSpecShape(b)]).toEqual([null, null]);
    expect(a.clusters).toEqual(SPEC_FIELDS.Queue.clusters.default);
    expect(a.clusters).not.toBe(b.clusters);
    expect(a.clusters).not.toBe(SPEC_FIELDS.Queue.clusters.default);
  });
});

describe('a REST body of an older client (control-plane serve)', () => {
  it('takes the default of each optional field it leaves out; a required one is refused (Q3)', async () => {
    const { url } = await servedControlPlane();
    const call = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Obj };
    };
    // A contract with only its required fields.
    const pool = await call('POST', '/v1/pools', {
      name: 'prod',
      contract: {
        object_store_ref: { uri: 's3://prod' },
        secret_store: { type: 'VAULT', locator: 'secret/prod' },
      },
    });
    expect(pool.status).toBe(201);
    // Each field it left out as its default, or null (endpoint "", image_registry null …).
    const contract = pool.body.contract as Obj;
    const store = SPEC_FIELDS.ClusterPool.object_store_ref.fields;
    expect(contract.object_store_ref).toEqual({
      uri: 's3://prod',
      endpoint: absentValue(store.endpoint),
    });
    for (const [f, field] of Object.entries(SPEC_FIELDS.ClusterPool as Fields))
      if (!field.required) expect(contract[f], f).toEqual(absentValue(field));
    const created = await call('POST', '/v1/queues', {
      name: 'batch',
      pool: 'prod',
      run_concurrency: 3,
      action_concurrency: 4,
    });
    expect(created.status).toBe(201);
    // An update (Q3: the whole spec) from a client that knows none of the defaulted settings.
    const settings = QUEUE_SPEC_FIELDS.filter(
      (f) => !SPEC_FIELDS.Queue[f].required && !(QUEUE_PLACEMENT as readonly string[]).includes(f),
    );
    expect(settings.length).toBeGreaterThan(0);
    const given = { pool: 'prod', clusters: [], run_concurrency: 5, action_concurrency: 6 };
    const updated = await call('PUT', '/v1/queues/batch', given);
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      ...given,
      ...Object.fromEntries(
        settings.map((f) => [f, QUEUE_DEFAULTS[f as keyof typeof QUEUE_DEFAULTS]]),
      ),
    });
    // The fields Q3 needs stated are still refused when absent.
    const partial = await call('PUT', '/v1/queues/batch', {
      run_concurrency: 5,
      action_concurrency: 6,
    });
    expect(partial.status).toBe(400);
    expect(String(partial.body.message)).toContain('missing pool, clusters');
    const noCount = await call('PUT', '/v1/queues/batch', {
      pool: 'prod',
      clusters: [],
      run_concurrency: 5,
    });
    expect(noCount.status).toBe(400);
    expect(String(noCount.body.message)).toContain('missing action_concurrency');
  });
});

describe('an answer of an older control-plane server, read by this REST client', () => {
  it('takes the default of each optional field it lacks (the corpus answers, stripped)', async () => {
    const answers = (file: string) =>
      JSON.parse(readFileSync(join(BUILD, 'rest', file), 'utf8')) as { items: Obj[] };
    const older = { queues: answers('queues.json'), pools: answers('pools.json') };
    const removed = { count: 0 };
    for (const q of older.queues.items) strip(q, QUEUE, removed);
    for (const p of older.pools.items) strip(p.contract as Obj, SPEC_FIELDS.ClusterPool, removed);
    expect(removed.count).toBeGreaterThan(20);
    const server = createServer((req, res) => {
      const kind = req.url?.split('?')[0] === '/v1/queues' ? 'queues' : 'pools';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(older[kind]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new HttpControlPlane(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    );
    try {
      // Every field answered as recorded, and each of the schema's, the stripped ones included.
      const queues = (await client.listQueues()) as unknown as Obj[];
      expect(queues).toMatchObject(answers('queues.json').items);
      for (const q of queues) for (const f of Object.keys(QUEUE)) expect(q).toHaveProperty(f);
      const pools = await client.listPools();
      expect(pools).toMatchObject(answers('pools.json').items);
      for (const p of pools)
        for (const f of Object.keys(SPEC_FIELDS.ClusterPool)) expect(p.contract).toHaveProperty(f);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
