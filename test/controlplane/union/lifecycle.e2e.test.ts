/**
 * Issue 73 against the Union stand-in: objects between states. Each case drives the CLI (in
 * process) and reads the queues through Union's own Connect API (QueueService, as Union's
 * client reads them), never through poolsync's backend. Another client's actions (a drain, a
 * delete) are made through that API too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import {
  type ListQueuesResponse,
  type Queue,
  QueueService,
  QueueState as PbQueueState,
  type UpdateQueueStateRequest,
} from '../../../src/gen/cloudidl/queue/queue_pb.js';
import { create } from '@bufbuild/protobuf';
import {
  ProjectService,
  ProjectState,
} from '../../../src/gen/flyteidl2/project/project_service_pb.js';
import {
  SettingState,
  SettingsSchema,
} from '../../../src/gen/flyteidl2/settings/settings_definition_pb.js';
import {
  type GetSettingsForEditRequest,
  SettingsService,
} from '../../../src/gen/flyteidl2/settings/settings_service_pb.js';
import type { Plan } from '../../../src/model/plan.js';
import { runCli } from '../../support/cli.js';
import { tempDir } from '../../support/repo.js';
import {
  apiKey,
  CLIENT,
  rawClient,
  setDefaultQueue,
  startUnionServer,
  type UnionServer,
  unexpectedStderr,
} from './helpers.js';
import { UNION_CAPABILITIES } from '../../../src/controlplane/union/union.js';

const closing: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of closing.splice(0).reverse()) await f();
});

const doc = (kind: string, name: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata: {name: ${name}}\nspec: ${spec}\n`;
const cluster = (name: string, pool = 'default') => doc('Cluster', name, `{pool: ${pool}}`);
const queue = (name: string, clusters: string[], run = 3) =>
  doc(
    'Queue',
    name,
    `{pool: default, clusters: ${JSON.stringify(clusters)}, run_concurrency: ${run}, action_concurrency: 10}`,
  );

interface World {
  s: UnionServer;
  env: Record<string, string>;
  repo: string;
  root: string;
  /** Writes the repository: its documents and poolsync.yaml. */
  write(docs: string[], config?: string): Promise<void>;
  cli(args: string[]): ReturnType<typeof runCli>;
  /** The plan `plan --out` saved, as `show --output json` prints it. */
  planJson(extra?: string[]): Promise<Plan>;
  /** Union's QueueService, as another client (Union's own CLI) calls it. */
  queues: Awaited<ReturnType<typeof rawClient<typeof QueueService>>>['client'];
  get(name: string): Promise<Queue>;
}

async function world(opts: Parameters<typeof startUnionServer>[0] = {}): Promise<World> {
  const s = await startUnionServer(opts);
  closing.push(() => s.close());
  const root = await tempDir('poolsync-union-lifecycle-');
  const repo = join(root, 'repo');
  const env = {
    POOLSYNC_UNION_API_KEY: apiKey(s.host),
    POOLSYNC_CONTROL_PLANE: s.url('connect'),
    POOLSYNC_PLAN_KEY: 'plan-key-of-the-ci-secret-0123456789abcdef',
  };
  const raw = await rawClient(s, QueueService);
  closing.push(raw.close);
  const id = (name: string) => ({ organization: CLIENT.org, name });
  const w: World = {
    s,
    env,
    repo,
    root,
    async write(docs, config = 'prune: true\n') {
      await mkdir(repo, { recursive: true });
      await writeFile(
        join(repo, 'poolsync.yaml'),
        `apiVersion: poolsync/v1\nkind: RepoConfig\n${config}`,
      );
      await writeFile(join(repo, 'objects.yaml'), docs.join('---\n'));
    },
    cli: (args) => runCli(args, env, root),
    async planJson(extra = []) {
      const file = join(root, 'plan.json');
      const planned = await runCli(['plan', repo, '--out', file, ...extra], env, root);
      expect(planned.stderr).toBe('');
      const shown = await runCli(['show', file, '--output', 'json'], env, root);
      expect(shown.code, shown.stderr).toBe(0);
      return JSON.parse(shown.stdout) as Plan;
    },
    queues: raw.client,
    get: async (name) => (await raw.client.getQueue({ id: id(name) })).queue!,
  };
  return w;
}

/** Another client's drain, as Union's client sends it (with the generation it read). */
async function drainByOther(w: World, name: string): Promise<void> {
  const q = await w.get(name);
  await w.queues.updateQueueState({
    id: { organization: CLIENT.org, name },
    state: PbQueueState.DRAINING,
    expectedStateGeneration: q.status!.stateGeneration,
  });
}

const ops = (plan: Plan) => plan.steps.map((s) => `${s.op} ${s.target}`);

async function applied(w: World): Promise<void> {
  const r = await w.cli(['apply', w.repo, '--auto-approve']);
  expect(unexpectedStderr(r.stderr)).toBe('');
  expect(r.code, r.stdout).toBe(0);
}

describe('issue 73 item 4: blocked means nothing is sent', () => {
  it('the default queue drained by another client and listed absent: blocked, no step, apply leaves it as it is', async () => {
    const w = await world();
    await w.write([cluster('c1'), queue('q1', ['c1'])]);
    await applied(w);
    // A setting names `default`: Union refuses its delete (remote/_queue.py:1011-1014).
    setDefaultQueue(w.s, 'ml', 'production', 'default');
    await drainByOther(w, 'default');
    const generation = (await w.get('default')).status!.stateGeneration;
    await w.write([cluster('c1'), queue('q1', ['c1'])], 'prune: true\nabsent: [Queue/default]\n');

    const plan = await w.planJson();
    const change = plan.changes.find((c) => c.address === 'Queue/default');
    expect(change?.action).toBe('blocked');
    expect(plan.summary.blocked).toBe(1);
    // main: the steps held `activate_queue Queue/default`, which apply sent.
    expect(ops(plan).filter((o) => o.endsWith('Queue/default'))).toEqual([]);

    const r = await w.cli(['apply', w.repo, '--auto-approve']);
    expect(unexpectedStderr(r.stderr)).toBe('');
    const after = await w.get('default');
    expect(after.status!.state).toBe(PbQueueState.DRAINED);
    expect(after.status!.stateGeneration).toBe(generation);
  });
});

describe('a queue deleted without soft_delete (`control-plane serve --capabilities`)', () => {
  it('DeleteQueue answers the queue it deleted; apply says it deleted it, not "already deleted"', async () => {
    const w = await world({ capabilities: { ...UNION_CAPABILITIES, soft_delete: false } });
    await w.write([cluster('c1'), queue('q1', ['c1']), queue('q2', ['c1'])]);
    await applied(w);
    await w.write([cluster('c1'), queue('q2', ['c1'])]);
    const r = await w.cli(['apply', w.repo, '--auto-approve', '--no-color']);
    expect([r.code, unexpectedStderr(r.stderr)]).toEqual([0, '']);
    // main: DeleteQueue answered 500 once the queue was gone, read by apply as already deleted.
    expect(r.stdout).toMatch(/Queue\/q1: Deletion complete after [^(\n]*\[/);
    await w.write([cluster('c1'), queue('q2', ['c1']), queue('q3', ['c1'])]);
    await applied(w);
    await drainByOther(w, 'q3');
    const q3 = await w.get('q3');
    const res = await w.queues.deleteQueue({
      id: { organization: CLIENT.org, name: 'q3' },
      expectedStateGeneration: q3.status!.stateGeneration,
    });
    expect(res.queue?.id?.name).toBe('q3');
    expect(res.queue?.deletedAt).toBeDefined();
  });
});

describe('issue 73 item 1: a DELETING queue is read as deleting, never as active', () => {
  /** q1 with work in flight, drained then deleted by another client: DELETING while it runs. */
  async function deleting(w: World, name: string): Promise<void> {
    await w.s.embedded.setQueueActivity(name, { runs_in_flight: 1, actions_in_flight: 2 });
    await drainByOther(w, name);
    await deleteByOther(w, name);
  }

  /** Another client's delete of a draining queue with work in flight: DELETING while it runs. */
  async function deleteByOther(w: World, name: string): Promise<void> {
    const q = await w.get(name);
    const res = await w.queues.deleteQueue({
      id: { organization: CLIENT.org, name },
      expectedStateGeneration: q.status!.stateGeneration,
    });
    expect(res.queue?.status?.state).toBe(PbQueueState.DELETING);
  }

  it('declared and being deleted: blocked, saying to wait and plan again; nothing sent', async () => {
    const w = await world();
    await w.write([cluster('c1'), queue('q1', ['c1'])]);
    await applied(w);
    await deleting(w, 'q1');

    const plain = await w.cli(['plan', w.repo, '--detailed-exitcode']);
    // main: "No changes", exit 0 (DELETING read as active).
    expect(plain.stdout).not.toContain('No changes');
    expect(plain.stdout).toMatch(/Queue\/q1[^\n]*blocked/);
    expect(plain.stdout).toContain('being deleted by another client');
    expect(plain.stdout).toContain('plan again');
    const plan = await w.planJson();
    expect(plan.changes.find((c) => c.address === 'Queue/q1')?.action).toBe('blocked');
    expect(ops(plan)).toEqual([]);

    // Its work ends: Union finishes the delete; the next plan undeletes and activates it.
    await w.s.embedded.setQueueActivity('q1', { runs_in_flight: 0, actions_in_flight: 0 });
    expect((await w.get('q1')).deletedAt).toBeDefined();
    await applied(w);
    const back = await w.get('q1');
    expect(back.status!.state).toBe(PbQueueState.ACTIVE);
    expect(back.deletedAt).toBeUndefined();
  });

  it('a saved plan activating a draining queue, then deleting by another client: refused naming it, never "already applied"', async () => {
    const w = await world();
    await w.write([cluster('c1'), queue('q1', ['c1'])]);
    await applied(w);
    await w.s.embedded.setQueueActivity('q1', { runs_in_flight: 1, actions_in_flight: 2 });
    await drainByOther(w, 'q1');
    const saved = join(w.root, 'p.plan');
    const planned = await w.cli(['plan', w.repo, '--out', saved]);
    expect([planned.code, planned.stderr]).toEqual([0, '']);
    expect(planned.stdout).toMatch(/state: "draining" → "active"/);
    await deleteByOther(w, 'q1');

    const r = await w.cli(['apply', saved]);
    // main: "was already applied: the control plane shows its changes made (Queue/q1)".
    expect(r.code).toBe(1);
    expect(unexpectedStderr(r.stderr)).toMatch(
      /^Error: stale plan: the control plane changed since \S+p\.plan was made: this object differs from the plan: Queue\/q1 \(being deleted by another client since the plan\) \(live state sha256:/,
    );
    expect((await w.get('q1')).status!.state).toBe(PbQueueState.DELETING);
  });

  it('pruned and being deleted: nothing to do (main planned drain → delete, which Union refuses)', async () => {
    const w = await world();
    await w.write([cluster('c1'), queue('q1', ['c1']), queue('q2', ['c1'])]);
    await applied(w);
    await deleting(w, 'q2');
    await w.write([cluster('c1'), queue('q1', ['c1'])]);

    const plan = await w.planJson();
    expect(ops(plan)).toEqual([]);
    const r = await w.cli(['apply', w.repo, '--auto-approve']);
    expect(unexpectedStderr(r.stderr)).toBe('');
    expect(r.code, r.stdout).toBe(0);
    expect((await w.get('q2')).status!.state).toBe(PbQueueState.DELETING);
  });
});

describe('issue 73 item 1: a state this poolsync does not know', () => {
  it('is an error naming the queue and the state, in one line: never read as active', async () => {
    let newer = false;
    const newerState: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (newer && !res.stream && req.method.name === 'ListQueues')
        for (const q of (res.message as ListQueuesResponse).queues)
          if (q.id?.name === 'q1') q.status!.state = 9 as PbQueueState;
      return res;
    };
    const w = await world({ interceptors: [newerState] });
    await w.write([cluster('c1'), queue('q1', ['c1'])]);
    await applied(w);
    newer = true;
    const r = await w.cli(['plan', w.repo, '--detailed-exitcode']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(
      'Queue/q1: Union reports state 9, which this poolsync does not know',
    );
    expect(r.stdout).not.toContain('No changes');
  });
});

describe('issue 73 item 5: --replace is planned as what Union can do', () => {
  it('--replace Cluster/c1 in its own pool: blocked, saying why and what to do; nothing sent', async () => {
    const w = await world();
    // No other queue pins c1 (Union would refuse its drain for that, unpin_first).
    await w.write([cluster('c1'), cluster('c2'), queue('q1', ['c2'])]);
    await applied(w);
    const generation = (await w.get('c1')).status!.stateGeneration;

    const plan = await w.planJson(['--replace', 'Cluster/c1']);
    const change = plan.changes.find((c) => c.address === 'Cluster/c1');
    // main: drain → move to the pool it is in (Union: ALREADY_EXISTS) → activate.
    expect(change?.action).toBe('blocked');
    // The JSON gives the reason in words (render/json.ts).
    expect((change as { reason?: string } | undefined)?.reason).toMatch(
      /keeps its name reserved.*refused.*drop --replace/,
    );
    expect(ops(plan)).toEqual([]);

    const r = await w.cli(['apply', w.repo, '--auto-approve', '--replace', 'Cluster/c1']);
    expect(unexpectedStderr(r.stderr)).toBe('');
    // The co-named queue is as it was: active, its state never changed.
    const c1 = await w.get('c1');
    expect(c1.status!.state).toBe(PbQueueState.ACTIVE);
    expect(c1.status!.stateGeneration).toBe(generation);
  });
});

describe('issue 73 item 6: every state change carries the generation poolsync read', () => {
  it('activate_queue sends the generation read; a state change by another client in between is a clear error, never overridden', async () => {
    const sent: bigint[] = [];
    let meddle: (() => Promise<void>) | null = null;
    const watch: Interceptor = (next) => async (req) => {
      if (req.method.name === 'UpdateQueueState') {
        const m = req.message as UpdateQueueStateRequest;
        // Only poolsync's: the other client's calls go through `meddle` while it is cleared.
        const other = meddle;
        meddle = null;
        if (other) {
          sent.push(m.expectedStateGeneration);
          await other();
        }
      }
      return next(req);
    };
    const w = await world({ interceptors: [watch] });
    await w.write([cluster('c1'), queue('q1', ['c1']), queue('q2', ['c1'])]);
    await applied(w);
    await drainByOther(w, 'q1');
    const read = (await w.get('q1')).status!.stateGeneration;

    // Another client activates and drains q1 again while poolsync's activation is in flight.
    meddle = async () => {
      for (const state of [PbQueueState.ACTIVE, PbQueueState.DRAINING]) {
        const q = await w.get('q1');
        await w.queues.updateQueueState({
          id: { organization: CLIENT.org, name: 'q1' },
          state,
          expectedStateGeneration: q.status!.stateGeneration,
        });
      }
    };
    const r = await w.cli(['apply', w.repo, '--auto-approve']);
    expect(sent).toEqual([read]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /);
    expect(unexpectedStderr(r.stderr) + r.stdout).toMatch(
      /Queue\/q1 changed state since poolsync read it \(state generation \d+, now \d+: drain(ing|ed)\); another client changed it, so Union refused this change/,
    );
    // The other client's drain stands (main sent no generation: q1 was activated over it).
    expect((await w.get('q1')).status!.state).not.toBe(PbQueueState.ACTIVE);

    // Planned again, it is seen as it is, and activated with the generation of that read.
    const again = (await w.get('q1')).status!.stateGeneration;
    meddle = async () => {};
    await applied(w);
    expect(sent).toEqual([read, again]);
    expect((await w.get('q1')).status!.state).toBe(PbQueueState.ACTIVE);
  });
});

describe('issue 73 item 2: a queue serving state is managed, and the drift view agrees with the plan', () => {
  it('right after an apply --refresh-only exits 0; a queue another client drained makes it exit 2, showing the state, as plan plans its activation', async () => {
    const w = await world();
    await w.write([cluster('c1'), queue('q1', ['c1']), queue('q2', ['c1'])]);
    await applied(w);
    // main: exit 2, every created queue "drifted" (scheduling: null → "strict_fifo").
    const fresh = await w.cli(['plan', '--refresh-only', '--detailed-exitcode']);
    expect(fresh.stderr).toBe('');
    expect(fresh.stdout).toMatch(/^No drift\./);
    expect(fresh.code).toBe(0);

    await drainByOther(w, 'q1');
    const drifted = await w.cli(['plan', '--refresh-only', '--detailed-exitcode', '-o', 'json']);
    // main: exit 0, the drained queue not shown at all.
    expect(drifted.code).toBe(2);
    const report = JSON.parse(drifted.stdout) as {
      drift: { address: string; diff: { path: string; before: unknown; after: unknown }[] }[];
    };
    expect(report.drift).toEqual([
      {
        address: 'Queue/q1',
        drift: 'changed',
        diff: [{ path: 'state', before: 'active', after: 'drained', forces_replacement: false }],
      },
    ]);
    const text = await w.cli(['plan', '--refresh-only']);
    expect(text.stdout).toMatch(/Queue\/q1[^]*state[^\n]*"active" → "drained"/);
    // The plan agrees: it activates exactly that queue.
    const plan = await w.planJson();
    expect(ops(plan)).toEqual(['activate_queue Queue/q1']);

    await applied(w);
    expect((await w.get('q1')).status!.state).toBe(PbQueueState.ACTIVE);
    const after = await w.cli(['plan', '--refresh-only', '--detailed-exitcode']);
    expect(after.code, after.stdout).toBe(0);
  });
});

/**
 * Issue 73 item 3: Union stops taking writes at the k-th of an apply (every write from it on is
 * refused, as a poolsync killed there would have sent none): the next apply finishes the chain,
 * the plan after it is empty, and no queue the repository declares is left drained.
 */
describe('issue 73 item 3: chains converge after a cut at any step boundary', () => {
  const pool = (name: string) =>
    doc(
      'ClusterPool',
      name,
      `{object_store_ref: {uri: "s3://acme-${name}/metadata"}, secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}}`,
    );
  const pooled = (name: string, p: string, clusters: string[]) =>
    doc(
      'Queue',
      name,
      `{pool: ${p}, clusters: ${JSON.stringify(clusters)}, run_concurrency: 4, action_concurrency: 10}`,
    );
  const WRITE = /^(Create|Update|Delete|Undelete)/;
  const chains: [string, string[][], string[]][] = [
    [
      'undelete → move → activate',
      [
        [
          pool('p1'),
          pool('p2'),
          cluster('c1', 'p1'),
          cluster('c2', 'p2'),
          pooled('q1', 'p1', ['c1']),
        ],
        [pool('p2'), cluster('c2', 'p2')],
        [
          pool('p1'),
          pool('p2'),
          cluster('c1', 'p1'),
          cluster('c2', 'p2'),
          pooled('q1', 'p2', ['c2']),
        ],
      ],
      ['undelete_queue Queue/q1', 'move_queue Queue/q1', 'activate_queue Queue/q1'],
    ],
    [
      'drain → delete',
      [
        [cluster('c1'), queue('q1', ['c1']), queue('q2', ['c1'])],
        [cluster('c1'), queue('q1', ['c1'])],
      ],
      ['drain_queue Queue/q2', 'delete_queue Queue/q2'],
    ],
    [
      'drain → move → activate',
      [
        [
          pool('p1'),
          pool('p2'),
          cluster('c1', 'p1'),
          cluster('c2', 'p2'),
          pooled('q1', 'p1', ['c1']),
        ],
        [
          pool('p1'),
          pool('p2'),
          cluster('c1', 'p1'),
          cluster('c2', 'p2'),
          pooled('q1', 'p2', ['c2']),
        ],
      ],
      ['drain_queue Queue/q1', 'move_queue Queue/q1', 'activate_queue Queue/q1'],
    ],
  ];

  it.each(chains)(
    '%s',
    async (_what, repos, chain) => {
      const stages = repos.slice(0, -1);
      const last = repos[repos.length - 1]!;
      /** A world at the last repository's plan, whose k-th write on (1-based) is refused. */
      const at = async (k: number) => {
        const cut = { writes: 0, from: Infinity };
        const stop: Interceptor = (next) => async (req) => {
          if (WRITE.test(req.method.name) && ++cut.writes >= cut.from)
            throw new ConnectError('the control plane stopped taking writes', Code.Unimplemented);
          return next(req);
        };
        const w = await world({ interceptors: [stop] });
        for (const docs of stages) {
          await w.write(docs);
          await applied(w);
        }
        await w.write(last);
        cut.writes = 0;
        cut.from = k;
        return { w, cut };
      };
      const { w: probe } = await at(Infinity);
      const plan = await probe.planJson();
      expect(ops(plan).filter((o) => chain.includes(o))).toEqual(chain);
      const writes = plan.steps.filter((s) => !s.op.startsWith('wait_')).length;
      const declared = last
        .filter((d) => d.includes('kind: Queue'))
        .map((d) => /name: (\w+)/.exec(d)![1]!);
      for (let k = 1; k <= writes; k++) {
        const { w, cut } = await at(k);
        const cutShort = await w.cli(['apply', w.repo, '--auto-approve']);
        expect(cutShort.code, `cut at write ${k}`).not.toBe(0);
        cut.from = Infinity;
        const next = await w.cli(['apply', w.repo, '--auto-approve']);
        expect(unexpectedStderr(next.stderr), `cut at write ${k}`).toBe('');
        expect(next.code, `cut at write ${k}: ${next.stdout}`).toBe(0);
        const settled = await w.cli(['plan', w.repo, '--detailed-exitcode']);
        expect(settled.code, `cut at write ${k}: ${settled.stdout}`).toBe(0);
        for (const q of declared)
          expect((await w.get(q)).status!.state, `Queue/${q}, cut at write ${k}`).toBe(
            PbQueueState.ACTIVE,
          );
        for (const f of closing.splice(0).reverse()) await f();
      }
    },
    600_000,
  );
});

describe('issue 73 item 7: settings at every scope are read before a queue is deleted', () => {
  it("a queue an archived project's run.default_queue names: blocked, naming that scope; never drained", async () => {
    const w = await world({ archivedProjects: ['legacy'] });
    await w.write([cluster('c1'), queue('q1', ['c1']), queue('q2', ['c1'])]);
    await applied(w);
    setDefaultQueue(w.s, 'legacy', 'production', 'q2');
    await w.write([cluster('c1'), queue('q1', ['c1'])]);

    const plan = await w.planJson();
    const change = plan.changes.find((c) => c.address === 'Queue/q2');
    // main: drain → delete (archived projects' settings unread), refused at the delete: left drained.
    expect(change?.action).toBe('blocked');
    expect((change as { reason?: string } | undefined)?.reason).toContain(
      'legacy/production (an archived project)',
    );
    expect(ops(plan)).toEqual([]);
    const r = await w.cli(['apply', w.repo, '--auto-approve']);
    expect(unexpectedStderr(r.stderr)).toBe('');
    expect((await w.get('q2')).status!.state).toBe(PbQueueState.ACTIVE);
  });

  it('a settings level Union will not show: every queue delete blocked, naming it; the rest planned', async () => {
    const refuse: Interceptor = (next) => async (req) => {
      if (
        req.method.name === 'GetSettingsForEdit' &&
        (req.message as GetSettingsForEditRequest).key?.project === 'ops'
      )
        throw new ConnectError(
          'not allowed to read settings of project ops',
          Code.PermissionDenied,
        );
      return next(req);
    };
    const w = await world({ interceptors: [refuse] });
    await w.write([cluster('c1'), queue('q1', ['c1']), queue('q2', ['c1'])]);
    await applied(w);
    await w.write([cluster('c1'), queue('q1', ['c1'], 7)]);

    // main: the plan fails as a whole on the refused read.
    const plan = await w.planJson();
    const q2 = plan.changes.find((c) => c.address === 'Queue/q2');
    expect(q2?.action).toBe('blocked');
    expect((q2 as { reason?: string } | undefined)?.reason).toMatch(
      /settings of ops\/development, ops\/production, ops\/staging could not be read/,
    );
    expect(ops(plan)).toEqual(['update_queue Queue/q1']);
  });
});

describe('issue 73 item 8: the stand-in holds settings only of the projects it lists', () => {
  it('lists archived projects ARCHIVED with their settings kept, and refuses settings of a project it does not have', async () => {
    const w = await world({ archivedProjects: ['legacy'] });
    const projects = await rawClient(w.s, ProjectService);
    closing.push(projects.close);
    const settings = await rawClient(w.s, SettingsService);
    closing.push(settings.close);
    const listed = (await projects.client.listProjects({ org: CLIENT.org })).projects?.projects;
    expect(listed?.map((p) => [p.id, p.state])).toEqual([
      ['legacy', ProjectState.ARCHIVED],
      ['ml', ProjectState.ACTIVE],
      ['ops', ProjectState.ACTIVE],
    ]);
    const named = (queue: string) =>
      create(SettingsSchema, {
        run: { defaultQueue: { state: SettingState.VALUE, stringValue: queue } },
      });
    const key = (project: string) => ({ org: CLIENT.org, domain: 'production', project });
    await settings.client.createSettings({ key: key('legacy'), settings: named('q1') });
    const kept = await settings.client.getSettings({ key: key('legacy') });
    expect(kept.settingsRecord?.settings?.run?.defaultQueue?.stringValue).toBe('q1');
    // main stored it, though no ListProjects answer names the project: no read could find it.
    await expect(
      settings.client.createSettings({ key: key('nowhere'), settings: named('q1') }),
    ).rejects.toMatchObject({ code: Code.Unimplemented });
  });
});
