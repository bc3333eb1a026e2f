/**
 * Issue 73 item 3, as reported: `poolsync apply` killed (SIGKILL, a child process) in the middle
 * of an undelete → move → activate chain, and the next `apply` finishes it. The Union stand-in
 * runs in this process and holds the k-th call of one step kind (UndeleteQueue, the move's
 * UpdateQueue, the activation's UpdateQueueState) until the test has killed the apply that sent
 * it; then it drops the held call (the server never carried it out) or lets it land (it did).
 * Either way the next apply must leave every declared queue ACTIVE, as read through Union's own
 * QueueService, and the plan after it must be empty. `POOLSYNC_CHAIN_QUEUES` sets how many
 * queues the chain moves (default 20; the report had 200), `POOLSYNC_CHAIN_RUNS` how many times
 * each case runs (after the first, at a queue drawn at random), `POOLSYNC_CHAIN_PARALLELISM` the
 * apply's --parallelism (default 1: nothing else in flight at the kill).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import {
  QueueService,
  QueueState,
  type UpdateQueueStateRequest,
} from '../../../src/gen/cloudidl/queue/queue_pb.js';
import { runCli, startCli } from '../../support/cli.js';
import { tempDir } from '../../support/repo.js';
import { until } from '../../support/until.js';
import {
  apiKey,
  CLIENT,
  rawClient,
  startUnionServer,
  type UnionServer,
  unexpectedStderr,
} from './helpers.js';

const QUEUES = Number(process.env.POOLSYNC_CHAIN_QUEUES ?? 20);
const RUNS = Number(process.env.POOLSYNC_CHAIN_RUNS ?? 1);
const PARALLELISM = process.env.POOLSYNC_CHAIN_PARALLELISM ?? '1';
const names = Array.from({ length: QUEUES }, (_, i) => `q${String(i + 1).padStart(3, '0')}`);

const closing: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of closing.splice(0).reverse()) await f();
});

const doc = (kind: string, name: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata: {name: ${name}}\nspec: ${spec}\n`;
const pool = (name: string) =>
  doc(
    'ClusterPool',
    name,
    `{object_store_ref: {uri: "s3://acme-${name}/metadata"}, secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}}`,
  );
const cluster = (name: string, p: string) => doc('Cluster', name, `{pool: ${p}}`);
const queues = (p: string, c: string) =>
  names.map((q) =>
    doc('Queue', q, `{pool: ${p}, clusters: [${c}], run_concurrency: 4, action_concurrency: 10}`),
  );
const ALL = [pool('p1'), pool('p2'), cluster('c1', 'p1'), cluster('c2', 'p2')];
const wild = (p: string) =>
  names.map((q) =>
    doc('Queue', q, `{pool: ${p}, clusters: ["*"], run_concurrency: 4, action_concurrency: 10}`),
  );

/**
 * Each chain: the repositories applied first, the one whose apply is killed, and the step kinds
 * its chain sends in order (each one a boundary the kill is made at).
 */
const CHAINS = {
  // Pruned (drained, deleted), then declared again elsewhere: undeleted, moved, activated.
  'undelete → move → activate': {
    before: [[...ALL, ...queues('p1', 'c1')], ALL],
    last: [...ALL, ...queues('p2', 'c2')],
    pool: 'p2',
    steps: ['undelete_queue', 'move_queue', 'activate_queue'],
  },
  // Declared again as it was: undeleted (it comes back DRAINED) and activated.
  'undelete → activate': {
    before: [[...ALL, ...queues('p1', 'c1')], ALL],
    last: [...ALL, ...queues('p1', 'c1')],
    pool: 'p1',
    steps: ['undelete_queue', 'activate_queue'],
  },
  // Moved to another pool: drained, moved, activated.
  'drain → move → activate': {
    before: [[...ALL, ...wild('p1')]],
    last: [...ALL, ...wild('p2')],
    pool: 'p2',
    steps: ['drain_queue', 'move_queue', 'activate_queue'],
  },
  // Pruned: drained, deleted.
  'drain → delete': {
    before: [[...ALL, ...queues('p1', 'c1')]],
    last: ALL,
    pool: null,
    steps: ['drain_queue', 'delete_queue'],
  },
} as const satisfies Record<
  string,
  { before: string[][]; last: string[]; pool: string | null; steps: string[] }
>;

/** A step kind of a chain: the RPC its writes are, told apart by what they ask. */
const BOUNDARIES = {
  undelete_queue: (method: string) => method === 'UndeleteQueue',
  move_queue: (method: string) => method === 'UpdateQueue',
  drain_queue: (method: string, message: unknown) =>
    method === 'UpdateQueueState' &&
    (message as UpdateQueueStateRequest).state === QueueState.DRAINING,
  activate_queue: (method: string, message: unknown) =>
    method === 'UpdateQueueState' &&
    (message as UpdateQueueStateRequest).state === QueueState.ACTIVE,
  delete_queue: (method: string) => method === 'DeleteQueue',
} as const;

interface Gate {
  /** Holds the `k`-th call `matches` (1-based) until `release`. */
  arm(step: keyof typeof BOUNDARIES, k: number): void;
  held: boolean;
  /** Ends the held call: dropped (refused, never carried out) or carried out. */
  release(outcome: 'dropped' | 'landed'): void;
}

function gate(): { gate: Gate; interceptor: Interceptor } {
  let armed: { step: keyof typeof BOUNDARIES; k: number; seen: number } | null = null;
  let open: ((outcome: 'dropped' | 'landed') => void) | null = null;
  const g: Gate = {
    arm: (step, k) => (armed = { step, k, seen: 0 }),
    held: false,
    release: (outcome) => open!(outcome),
  };
  const interceptor: Interceptor = (next) => async (req) => {
    const a = armed;
    if (!a || !BOUNDARIES[a.step](req.method.name, req.message) || ++a.seen !== a.k)
      return next(req);
    armed = null;
    const outcome = await new Promise<'dropped' | 'landed'>((resolve) => {
      open = resolve;
      g.held = true;
    });
    if (outcome === 'dropped')
      throw new ConnectError('the client went away before this was carried out', Code.Canceled);
    return next(req);
  };
  return { gate: g, interceptor };
}

async function world() {
  const { gate: g, interceptor } = gate();
  const s: UnionServer = await startUnionServer({ interceptors: [interceptor] });
  closing.push(() => s.close());
  const root = await tempDir('poolsync-union-chain-kill-');
  const repo = join(root, 'repo');
  const env = {
    POOLSYNC_UNION_API_KEY: apiKey(s.host),
    POOLSYNC_CONTROL_PLANE: s.url('connect'),
  };
  const raw = await rawClient(s, QueueService);
  closing.push(raw.close);
  const write = async (docs: string[]) => {
    await mkdir(repo, { recursive: true });
    await writeFile(
      join(repo, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n',
    );
    await writeFile(join(repo, 'objects.yaml'), docs.join('---\n'));
  };
  const apply = async () => {
    const r = await runCli(['apply', repo, '--auto-approve'], env, root);
    expect(unexpectedStderr(r.stderr)).toBe('');
    expect(r.code, r.stdout).toBe(0);
    return r;
  };
  /** Each queue's state and pool as Union's QueueService serves them. */
  const states = async () => {
    const out: Record<string, string> = {};
    for (const name of names) {
      const q = (await raw.client.getQueue({ id: { organization: CLIENT.org, name } })).queue;
      out[name] =
        `${QueueState[q?.status?.state ?? QueueState.UNSPECIFIED]} ${q?.spec?.clusterPoolName}`;
    }
    return out;
  };
  return { s, g, env, root, repo, write, apply, states };
}

describe('issue 73 item 3: an apply killed (SIGKILL) mid-chain is finished by the next apply', () => {
  const cases = Object.entries(CHAINS).flatMap(([chain, c]) =>
    c.steps.flatMap((step) =>
      (['dropped', 'landed'] as const).map((outcome) => [chain, step, outcome] as const),
    ),
  );
  it.each(cases)(
    `${QUEUES} queues, %s: killed while the %s call of the middle queue is held (%s); the next apply finishes the chain, then no changes`,
    async (chain, step, outcome) => {
      // The middle queue's call: some queues are through the whole chain, some not started.
      // More runs (POOLSYNC_CHAIN_RUNS) each hold the call of a queue drawn at random.
      for (let run = 0; run < RUNS; run++) {
        const k = run === 0 ? Math.ceil(QUEUES / 2) : 1 + Math.floor(Math.random() * QUEUES);
        await killedAt(chain as keyof typeof CHAINS, step, outcome, k);
        for (const f of closing.splice(0).reverse()) await f();
      }
    },
    600_000 * RUNS,
  );

  async function killedAt(
    chain: keyof typeof CHAINS,
    step: keyof typeof BOUNDARIES,
    outcome: 'dropped' | 'landed',
    k: number,
  ): Promise<void> {
    const c = CHAINS[chain];
    const w = await world();
    for (const docs of c.before) {
      await w.write(docs);
      await w.apply();
    }
    await w.write(c.last);
    w.g.arm(step, k);
    const run = startCli(
      ['apply', w.repo, '--auto-approve', '--parallelism', PARALLELISM],
      w.env,
      w.root,
    );
    closing.push(async () => {
      run.child.kill('SIGKILL');
      await run.done;
    });
    await until('the apply sending the held call', () => w.g.held || null, {
      timeoutMs: 300_000,
      detail: () => run.stdout() + run.stderr(),
    });
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).not.toContain('Apply complete');
    w.g.release(outcome);
    const expected = Object.fromEntries(
      names.map((n) => [n, c.pool === null ? 'DELETED p1' : `ACTIVE ${c.pool}`]),
    );
    // The kill left the chain unfinished (unless the held call, carried out, was its last).
    const last = outcome === 'landed' && step === c.steps[c.steps.length - 1] && k === QUEUES;
    const cut = await w.states();
    if (!last) expect(cut).not.toEqual(expected);
    const left = names.filter((n) => cut[n] !== expected[n]).length;
    if (process.env.POOLSYNC_TEST_TIMINGS)
      process.stderr.write(`${chain}, ${step} of queue ${k} ${outcome}: ${left} left unfinished\n`);

    const next = await w.apply();
    if (!last) expect(next.stdout).toContain('Apply complete');
    // Every declared queue ACTIVE in its pool, every pruned one gone, as QueueService says.
    expect(await w.states()).toEqual(expected);
    const settled = await runCli(['plan', w.repo, '--detailed-exitcode'], w.env, w.root);
    expect(settled.code, settled.stdout).toBe(0);
  }
});
