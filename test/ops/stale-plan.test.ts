/**
 * One staleness check (src/ops/stale-plan.ts): the same plan, made before another writer
 * changed the control plane, is refused by `apply PLANFILE` (the CLI's applyRun) and by an
 * approval comment to the daemon, and the daemon's own plan, read apart from its apply, is
 * refused too: each for the same reason, by the one function (every call of it is recorded
 * here); and each reason is told apart.
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { inventoryStore, readLiveWithInventory } from '../../src/apply/inventory.js';
import { Approvals } from '../../src/daemon/approvals.js';
import { commentApprovalHandler, PostedPlans } from '../../src/daemon/pull-requests.js';
import { handleGitlabWebhook } from '../../src/daemon/webhooks.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import type { SettingsNeed } from '../../src/model/live.js';
import type { Plan } from '../../src/model/plan.js';
import { applyRun, recordApply } from '../../src/ops/apply-run.js';
import { planRun } from '../../src/ops/plan-run.js';
import type * as stalePlan from '../../src/ops/stale-plan.js';
import {
  changedWhileAsked,
  recheckPlan,
  stalePlanError,
  StalePlanError,
  type Staleness,
} from '../../src/ops/stale-plan.js';
import { createApprovalForge } from '../../src/vcs/forges.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import { startOwnTestDaemon } from '../daemon/harness.js';
import { TestRepo } from '../daemon/helpers.js';
import { tempFolder } from '../support/temp-folder.js';
import { deepFreeze } from '../../src/util/deep-freeze.js';
import { computePlan } from '../../src/plan/index.js';
import { liveChanges } from '../../src/plan/live-changes.js';
import { contract, desired, live } from '../plan/build.js';
import { FakeForge } from '../support/fake-forge.js';

/** What each call of the one staleness check answered, in order (whoever called it). */
const checked = vi.hoisted(() => [] as (Staleness | null)[]);
vi.mock('../../src/ops/stale-plan.js', async (original) => {
  const real = await original<typeof stalePlan>();
  return {
    ...real,
    recheckPlan: async (...args: Parameters<typeof real.recheckPlan>) => {
      const answer = await real.recheckPlan(...args);
      checked.push(answer.stale);
      return answer;
    },
  };
});

const dir = tempFolder('poolsync-stale-');
const repo = join(dir, 'repo');
const statePath = join(dir, 'cp.json');
const url = `file:${statePath}`;
cpSync('examples/config-repo', repo, { recursive: true });

/** The plan of the example against the state as it is now. */
async function planNow(): Promise<Plan> {
  const made = await planRun({
    source: {
      kind: 'acquire',
      target: { name: null, url, env: null },
      opening: { vars: {} },
      stateDir: dir,
      sharedInventory: null,
      maxRetries: 0,
    },
    desired: { kind: 'folder', dir: repo },
    commit: null,
    environment: null,
  });
  if (made.kind !== 'changes') throw new Error(`expected changes, got ${made.kind}`);
  return made.plan;
}

/** Another writer: a queue nobody declared. */
async function interfere(): Promise<void> {
  const cp = await EmbeddedControlPlane.open({ path: statePath });
  try {
    await cp.createQueue({
      name: `other-${Date.now()}`,
      run_concurrency: 1,
      action_concurrency: 1,
    });
  } finally {
    await cp.close();
  }
}

/** What `poolsync apply PLANFILE` refuses the plan for (its applyRun, locks taken). */
async function cliRefusal(plan: Plan): Promise<Staleness> {
  const refused = await applyRun(
    { kind: 'saved', path: 'saved.plan', plan },
    {
      locks: {
        kind: 'acquire',
        target: { name: null, url, env: null },
        opening: { vars: {} },
        stateDir: dir,
        sharedInventory: null,
        lease: null,
        lockTimeoutMs: 0,
        parallelism: 1,
        maxRetries: 0,
      },
      stderr: () => undefined,
      execute: () => Promise.reject(new Error('a stale plan never runs')),
    },
  ).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(StalePlanError);
  return (refused as StalePlanError).stale;
}

describe('a stale plan', () => {
  let forge: FakeForge;
  beforeEach(async () => {
    forge = await new FakeForge().start();
  });
  afterEach(async () => {
    await forge.stop();
  });

  it('is refused by the CLI, an approval comment and the daemon for the same reason', async () => {
    const plan = await planNow();
    await interfere();

    checked.length = 0;
    const cli = await cliRefusal(plan);
    expect(cli.reason).toBe('live_state');
    expect(checked).toEqual([cli]);

    // The daemon: an approval comment for the same plan, posted on a merge request.
    const note = JSON.parse(
      readFileSync('test/fixtures/gitlab-webhooks/note-merge-request.json', 'utf8'),
    ) as { headers: Record<string, string>; payload: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    note.payload.object_attributes.note = 'poolsync apply';
    const event = handleGitlabWebhook(
      {
        headers: { 'x-gitlab-token': 's', 'x-gitlab-event': note.headers['X-Gitlab-Event']! },
        body: Buffer.from(JSON.stringify(note.payload)),
      },
      { secret: 's', branch: 'master' },
    );
    if (event.result !== 'comment') throw new Error(event.message);
    // The merge request as the API reads it, at the head the note event names.
    const head = note.payload.merge_request.last_commit.id as string;
    forge.heads.set(`gitlab:gitlab-org/gitlab-test!${event.event.number}`, head);
    forge.gitlabAccess.set(event.event.user.id!, 30);
    const posted = new PostedPlans();
    posted.planned('gitlab', head, plan);
    // Posted a minute before the note was written.
    const at = event.event.createdAt! - 60_000;
    posted.settle('gitlab', event.event.number, head, { at, shown: new Map() });
    const approvals = new Approvals();
    const forgeApi = createApprovalForge({
      provider: 'gitlab',
      apiUrl: forge.url,
      repository: 'gitlab-org/gitlab-test',
      token: forge.token,
    });
    const read = readNow;
    try {
      await commentApprovalHandler({
        posted,
        forges: new Map([['gitlab', { repository: 'gitlab-org/gitlab-test', forge: forgeApi }]]),
        units: [{ name: null, approvals, readLive: read, request: async () => {} }],
        logger: pino({ level: 'silent' }),
      })(event.event);
    } finally {
      await forgeApi.close();
    }
    const replies = forge.list('gitlab:gitlab-org/gitlab-test!1').map((n) => n.body);
    expect(replies).toEqual([expect.stringMatching(/refused: stale: the control plane changed/)]);
    expect(approvals.status().granted).toEqual([]);
    // The one check both ran, on the same plan and state.
    expect(checked).toEqual([cli, cli]);
    const daemon = await recheckPlan(plan, read);
    expect(daemon.stale).toEqual(cli);

    // The daemon, planning the same repository against the same state: another writer comes
    // between its plan and its apply, and its re-check under the writer refuses the plan.
    const refused = await daemonRefusal();
    expect(refused.message).toContain('changed between the plan and the apply');
    expect(checked).toHaveLength(4);
    expect(checked[3]).toMatchObject({ reason: cli.reason });
  });

  it('names what changed: the control plane, its capabilities, or its live state', async () => {
    const plan = await planNow();
    const read = readNow;
    expect((await recheckPlan(plan, read)).stale).toBeNull();
    const elsewhere = { backend: 'embedded', endpoint: 'file:/elsewhere.json', organization: null };
    expect((await recheckPlan(plan, read, { here: elsewhere })).stale).toEqual({
      reason: 'control_plane',
      here: elsewhere,
    });
    const withCaps = { ...plan, capabilities: { ...plan.capabilities!, drain: true } };
    expect((await recheckPlan(withCaps, read)).stale).toMatchObject({ reason: 'capabilities' });
    await interfere();
    expect((await recheckPlan(plan, read)).stale).toMatchObject({ reason: 'live_state' });
  });

  it('a state read again as the very frozen objects the plan was made from is that state; any other is fingerprinted (issue 79)', async () => {
    const plan = await planNow();
    const planned = deepFreeze(await readNow());
    // The same objects: no write came between, whatever the fingerprint (not computed again).
    const elsewhere = { ...plan, live_fingerprint: 'sha256:other' };
    const same = async () => planned;
    expect((await recheckPlan(elsewhere, same, { planned })).stale).toBeNull();
    // One queue an equal copy (not the same frozen object): its fingerprint decides.
    const copy = { ...planned, queues: planned.queues.map((q, i) => (i === 0 ? { ...q } : q)) };
    const copied = async () => copy;
    expect((await recheckPlan(plan, copied, { planned })).stale).toBeNull();
    expect((await recheckPlan(elsewhere, copied, { planned })).stale).toMatchObject({
      reason: 'live_state',
    });
    await interfere();
    expect((await recheckPlan(plan, readNow, { planned })).stale).toMatchObject({
      reason: 'live_state',
    });
  });
});

describe('what a stale plan names', () => {
  it("poolsync's inventory, recorded by an apply killed before its first step: said, for a saved plan and for one made in this process", async () => {
    const planned = await readNow();
    const plan = await planNow();
    // What such an apply leaves: its write-ahead inventory (apply-run.ts recordApply), no step.
    const cp = await EmbeddedControlPlane.open({ path: statePath });
    try {
      const inventory = inventoryStore(cp, url, { stateDir: dir, env: {} });
      await recordApply({ inventory, lastApplied: null, warn: () => {} }, null, plan, null);
    } finally {
      await cp.close();
    }
    // A saved plan keeps no inventory: the one its fingerprint was made with is rebuilt from it.
    const saved = await cliRefusal(plan);
    const declared = plan.inventory!.declared;
    expect(saved).toMatchObject({
      reason: 'live_state',
      changed: { addresses: [], inventory: { added: declared, removed: [], began: true } },
    });
    expect(stalePlanError('saved.plan', plan, saved).message).toBe(
      `stale plan: the control plane changed since saved.plan was made: poolsync's inventory changed: it now records ${declared.slice(0, 20).join(', ')} and ${declared.length - 20} more (an apply that did not finish records what it declares before its first step: \`poolsync plan --refresh-only\` says whether one began) (live state ${(saved as { now: string }).now}, plan made against ${plan.live_fingerprint}). Nothing was applied; run \`poolsync plan\` again`,
    );
    const asked = (await recheckPlan(plan, readNow, { planned })).stale!;
    expect(asked).toMatchObject({
      changed: { addresses: [], inventory: { added: declared, removed: [], began: true } },
    });
    expect(changedWhileAsked(plan, asked).message).toMatch(
      /^the control plane changed while the plan waited for an answer: poolsync's inventory changed: it now records \S+/,
    );
  });

  it('a queue drained while a plan made in this process waited (an approval, the daemon): the queue, its state was → now', () => {
    const was = live({ queues: { a: {} } });
    const plan = computePlan(desired({ queues: { a: {} } }), was);
    const now = {
      ...was,
      queues: was.queues.map((q) => (q.name === 'a' ? { ...q, state: 'draining' as const } : q)),
    };
    const changed = liveChanges(plan, now, was);
    expect(changed).toEqual({
      addresses: ['Queue/a'],
      states: { 'Queue/a': { was: 'active', now: 'draining' } },
      inventory: null,
    });
    expect(
      changedWhileAsked(plan, { reason: 'live_state', now: 'sha256:now', changed }).message,
    ).toBe(
      `the control plane changed while the plan waited for an answer: this object differs from the plan: Queue/a (state active → draining) (live state sha256:now, the plan was made against ${plan.live_fingerprint}). Nothing was applied; run \`poolsync apply\` again to see the new plan`,
    );
  });

  it('a draining queue the plan activates, put into deleting by another client: said so, never as made by the plan (saved or asked)', () => {
    const base = live({ clusters: { c1: {} }, queues: { a: {} } });
    const was = {
      ...base,
      capabilities: { ...base.capabilities, drain: true, queue_delete: true },
      queues: base.queues.map((q) => (q.name === 'a' ? { ...q, state: 'draining' as const } : q)),
    };
    const plan = computePlan(desired({ clusters: { c1: {} }, queues: { a: {} } }), was);
    expect(plan.steps.map((s) => `${s.op} ${s.target}`)).toEqual(['activate_queue Queue/a']);
    const now = {
      ...was,
      queues: was.queues.map((q) => (q.name === 'a' ? { ...q, state: 'deleting' as const } : q)),
    };
    const stale = (changed: ReturnType<typeof liveChanges>) =>
      ({ reason: 'live_state', now: 'sha256:now', changed }) as const;
    const saved = liveChanges(plan, now);
    expect(saved).toEqual({
      addresses: ['Queue/a'],
      states: { 'Queue/a': { was: 'drained', now: 'deleting' } },
      inventory: null,
    });
    expect(stalePlanError('saved.plan', plan, stale(saved)).message).toBe(
      `stale plan: the control plane changed since saved.plan was made: this object differs from the plan: Queue/a (being deleted by another client since the plan) (live state sha256:now, plan made against ${plan.live_fingerprint}). Nothing was applied; run \`poolsync plan\` again`,
    );
    const asked = liveChanges(plan, now, was);
    expect(changedWhileAsked(plan, stale(asked)).message).toContain(
      'this object differs from the plan: Queue/a (being deleted by another client since the plan) (live state',
    );
  });

  it('a saved plan with a changed queue and another queue drained since: both named, each once', () => {
    const was = live({ queues: { a: {}, b: {} } });
    const plan = computePlan(desired({ queues: { a: {}, b: {} } }), was);
    const now = {
      ...was,
      queues: was.queues.map((q) =>
        q.name === 'a'
          ? { ...q, run_concurrency: q.run_concurrency + 1 }
          : q.name === 'b'
            ? { ...q, state: 'draining' as const }
            : q,
      ),
    };
    const n = was.queues.find((q) => q.name === 'a')!.run_concurrency;
    // Saved: no state at hand but the plan's.
    const changed = liveChanges(plan, now);
    expect(changed).toEqual({
      addresses: ['Queue/a', 'Queue/b'],
      states: { 'Queue/b': { was: 'active', now: 'draining' } },
      fields: { 'Queue/a': [{ path: 'run_concurrency', before: n, after: n + 1 }] },
      inventory: null,
    });
    expect(
      stalePlanError('saved.plan', plan, { reason: 'live_state', now: 'sha256:now', changed })
        .message,
    ).toContain(
      `2 objects differ from the plan: Queue/a (run_concurrency ${n} → ${n + 1}), Queue/b (state active → draining) (live state`,
    );
  });

  it('a saved plan with a queue made and another gone since: each said made or gone since the plan', () => {
    const was = live({ queues: { a: {}, b: {} } });
    const plan = computePlan(desired({ queues: { a: {}, b: {} } }), was);
    const made = { ...was.queues.find((q) => q.name === 'a')!, name: 'c' };
    const now = { ...was, queues: [...was.queues.filter((q) => q.name !== 'b'), made] };
    const changed = liveChanges(plan, now);
    expect(changed).toMatchObject({ appeared: ['Queue/c'], gone: ['Queue/b'] });
    expect(
      stalePlanError('saved.plan', plan, { reason: 'live_state', now: 'sha256:now', changed })
        .message,
    ).toContain(
      '2 objects differ from the plan: Queue/b (gone since the plan), Queue/c (made since the plan) (live state',
    );
  });

  it('a saved plan with objects gone, changed, drained and made since: every one named with its word', () => {
    const was = live({
      pools: { p2: contract('p2') },
      clusters: { c1: { pool: 'p2' } },
      queues: { a: {}, b: {}, gone: {} },
      assignments: [{ project: 'x', domain: 'development', pool: 'p2' }],
    });
    const plan = computePlan(
      desired({
        pools: { p2: contract('p2') },
        clusters: { c1: { pool: 'p2' } },
        queues: { a: {}, b: {}, gone: {} },
        assignments: [{ project: 'x', domain: 'development', pool: 'p2' }],
      }),
      was,
    );
    const a = was.queues.find((q) => q.name === 'a')!;
    // Another client: deleted a pool with its cluster, co-named queue and assignment, and a
    // queue; changed a; drained b; made c.
    const now = {
      ...was,
      pools: was.pools.filter((p) => p.name !== 'p2'),
      clusters: [],
      queues: [
        ...was.queues.flatMap((q) =>
          q.name === 'a'
            ? [{ ...q, run_concurrency: q.run_concurrency + 1 }]
            : q.name === 'b'
              ? [{ ...q, state: 'drained' as const }]
              : q.name === 'c1' || q.name === 'gone'
                ? []
                : [q],
        ),
        { ...a, name: 'c' },
      ],
      assignments: [],
    };
    const changed = liveChanges(plan, now);
    expect(changed.states).toEqual({ 'Queue/b': { was: 'active', now: 'drained' } });
    expect(
      stalePlanError('saved.plan', plan, { reason: 'live_state', now: 'sha256:now', changed })
        .message,
    ).toContain(
      `8 objects differ from the plan: Cluster/c1 (gone since the plan), ClusterPool/p2 (gone since the plan), PoolAssignment/x/development (gone since the plan), ` +
        `Queue/a (run_concurrency ${a.run_concurrency} → ${a.run_concurrency + 1}), Queue/b (state active → drained), Queue/c (made since the plan), ` +
        `Queue/c1 (gone since the plan), Queue/gone (gone since the plan) (live state`,
    );
  });

  it('a saved plan with a queue soft-deleted and another drained since: both named', () => {
    const base = live({ queues: { a: {}, b: {} } });
    const was = { ...base, capabilities: { ...base.capabilities, soft_delete: true } };
    const plan = computePlan(desired({ queues: { a: {}, b: {} } }), was);
    const a = was.queues.find((q) => q.name === 'a')!;
    const now = {
      ...was,
      queues: was.queues.flatMap((q) =>
        q.name === 'a' ? [] : q.name === 'b' ? [{ ...q, state: 'drained' as const }] : [q],
      ),
      deleted_queues: [a],
    };
    const changed = liveChanges(plan, now);
    expect(
      stalePlanError('saved.plan', plan, { reason: 'live_state', now: 'sha256:now', changed })
        .message,
    ).toContain(
      '2 objects differ from the plan: Queue/a (soft-deleted since the plan: its name stays reserved), Queue/b (state active → drained) (live state',
    );
  });

  it('a saved plan with more than 20 objects gone and one drained since: the first 20 named, then how many more, the drained one counted', () => {
    const names = Array.from({ length: 24 }, (_, i) => `q${String(i).padStart(2, '0')}`);
    const queues = Object.fromEntries([...names, 'z'].map((n) => [n, {}]));
    const was = live({ queues });
    const plan = computePlan(desired({ queues }), was);
    const now = {
      ...was,
      queues: was.queues.flatMap((q) =>
        names.includes(q.name) ? [] : q.name === 'z' ? [{ ...q, state: 'drained' as const }] : [q],
      ),
    };
    const changed = liveChanges(plan, now);
    expect(changed.addresses).toHaveLength(25);
    expect(changed.states).toEqual({ 'Queue/z': { was: 'active', now: 'drained' } });
    expect(
      stalePlanError('saved.plan', plan, { reason: 'live_state', now: 'sha256:now', changed })
        .message,
    ).toContain(
      `25 objects differ from the plan: ${names
        .slice(0, 20)
        .map((n) => `Queue/${n} (gone since the plan)`)
        .join(', ')} and 5 more (live state`,
    );
  });

  it('a saved plan whose fingerprint no state rebuilt from it matches: neither an object nor an unfinished apply is claimed', async () => {
    const plan = { ...(await planNow()), live_fingerprint: `sha256:${'0'.repeat(64)}` };
    const stale = (await recheckPlan(plan, readNow)).stale!;
    expect(stale).toMatchObject({ changed: { addresses: [], inventory: 'maybe' } });
    expect(stalePlanError('saved.plan', plan, stale).message).toMatch(
      /^stale plan: the control plane changed since saved\.plan was made: no object the plan shows differs, so poolsync's inventory \(what applies record\) or a setting the plan read changed \(a queue drained, a broader default-queue setting or a project\) \(live state sha256:\w+, plan made against sha256:0+\)\. Nothing was applied; run `poolsync plan` again$/,
    );
  });
});

/** The live state with the inventory, as the daemon reads it (its unit's pipeline). */
async function readNow(need?: SettingsNeed) {
  const cp = await EmbeddedControlPlane.open({ path: statePath, readOnly: true });
  try {
    return await readLiveWithInventory(
      cp,
      inventoryStore(cp, url, { stateDir: dir, env: {} }),
      need,
    );
  } finally {
    await cp.close();
  }
}

/** The daemon's first run on the example, with another writer between its plan and its apply. */
async function daemonRefusal(): Promise<NonNullable<DaemonStatus['lastRun']>> {
  const repo = new TestRepo();
  const files = readdirSync('examples/config-repo', {
    recursive: true,
    withFileTypes: true,
  }).filter((f) => f.isFile());
  repo.commit(
    Object.fromEntries(
      files.map((f) => {
        const path = join(f.parentPath, f.name);
        return [relative('examples/config-repo', path), readFileSync(path, 'utf8')];
      }),
    ),
  );
  let interfering = true;
  const d = await startOwnTestDaemon({
    repo,
    state: dir,
    logLevel: 'silent',
    deps: {
      retryBaseMs: 3_600_000,
      pipeline: {
        // After the daemon has read the live state for its plan, another writer changes it.
        readLiveState: async (cp: ControlPlane) => {
          const live = await readLiveState(cp);
          if (interfering) {
            interfering = false;
            await interfere();
          }
          return live;
        },
      },
    },
  });
  try {
    await d.daemon.firstRun;
    const status = (await (await fetch(`${d.daemon.url}/status`)).json()) as DaemonStatus;
    expect(status.lastRun?.result).toBe('failed');
    return status.lastRun!;
  } finally {
    await d.stop();
  }
}
