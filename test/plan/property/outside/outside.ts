/**
 * The plan is what happens, seen from outside (issue 58): a case (world.ts) seeds a control plane
 * by applying one repository with the CLI, edits it out of band through its own API, then runs
 * what a user runs, in process (src/cli/run.ts's main on a memory Io): `plan DIR --out FILE`,
 * `apply FILE`, `plan DIR` again. The control plane is read through its own API before and after
 * (targets.ts), never through poolsync's backends or planner, and held to the saved plan:
 *  - every step the plan promised is done;
 *  - every change the plan shows (create, update, replace, delete) is what the control plane
 *    now holds;
 *  - nothing else changed: an object the plan lists as noop, blocked or unmanaged, or does not
 *    list at all, is exactly as it was (its state generation too, where the API has one);
 *  - no field changed that the change's diff does not show;
 *  - no queue is left drained that was active (or new) before, unless the plan shows it;
 *  - the next plan has nothing but noop, blocked and unmanaged changes, and no step;
 *  - the drift view agrees: right after the apply, `plan --refresh-only --detailed-exitcode`
 *    exits 0 (poolsync's own apply is no drift).
 * Transitions (issue 73 item 10): another client may change objects between `plan --out` and
 * `apply FILE` (DRAINING, DELETING, soft-deleted, through the API), and the apply may be killed
 * at a step boundary (cut.ts). Then what it did is held to the plan as far as it went: nothing
 * the plan does not show changed (a blocked change included: blocked sends nothing), no field
 * outside the diff; a refused stale plan changed nothing. The next `plan --out` / `apply FILE`
 * is held to its own plan whole, and must converge: no queue left drained that was active
 * before unless a plan showed it, and the plan after it empty.
 * Shared by test/plan/property-outside.test.ts, its regressions and bench/property-outside.ts.
 */
import { cp as copy, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Change, Plan } from '../../../../src/model/plan.js';
import type { RefreshReport } from '../../../../src/plan/refresh.js';
import { runInProcess } from '../../../support/memory-io.js';
import { latestFirst } from '../plan-equals-apply.js';
import { sealOf } from '../../../../src/render/plan-file.js';
import { writeRepository } from './repository.js';
import { startCut } from './cut.js';
import { flatten, startTarget, type Fields, type Snapshot, type Target } from './targets.js';
import { caseArb, expandEdits, type BackendName, type Case, type Shape } from './world.js';

export const SHAPES: Record<BackendName, Shape> = {
  flyteadmin: {
    org: false,
    assignments: true,
    settings: false,
    labels: true,
    caps: false,
    capabilities: [],
    edits: ['assign', 'unassign', 'label', 'project_row'],
    cuts: true,
  },
  file: {
    org: true,
    assignments: true,
    settings: true,
    labels: false,
    caps: false,
    capabilities: null,
    edits: [
      'create_pool',
      'update_pool',
      'delete_pool',
      'register',
      'enable',
      'move',
      'delete_cluster',
      'create_queue',
      'update_queue',
      'drain',
      'work',
      'transition',
      'activate',
      'delete_queue',
      'undelete_queue',
      'assign',
      'unassign',
      'setting',
    ],
    cuts: false,
  },
  rest: {
    org: true,
    assignments: true,
    settings: false,
    labels: false,
    caps: false,
    capabilities: null,
    edits: [
      'create_pool',
      'update_pool',
      'delete_pool',
      'register',
      'enable',
      'move',
      'delete_cluster',
      'create_queue',
      'update_queue',
      'drain',
      'work',
      'transition',
      'activate',
      'delete_queue',
      'undelete_queue',
      'assign',
      'unassign',
    ],
    cuts: true,
  },
  union: {
    org: true,
    assignments: false,
    settings: true,
    labels: false,
    caps: true,
    capabilities: [],
    edits: [
      'create_pool',
      'update_pool',
      'delete_pool',
      'undelete_pool',
      'register',
      'enable',
      'move',
      'delete_cluster',
      'undelete_cluster',
      'create_queue',
      'update_queue',
      'drain',
      'work',
      'transition',
      'activate',
      'delete_queue',
      'undelete_queue',
      'setting',
    ],
    cuts: true,
  },
};

/** What a case did: what is wrong (empty: the property holds), and what it exercised. */
export interface Outcome {
  wrong: string[];
  /** `applied`: planned and applied; `refused`: the loader or the planner refused the repository. */
  result: 'applied' | 'refused';
  /** Whether another client edited between plan and apply, the apply was killed (and where). */
  between: boolean;
  killed: boolean;
  /** The transitional states objects were in when the apply ran (draining, deleting, deleted). */
  states: string[];
  /** Why the repository was refused (an error code), when it was. */
  refusal?: string;
  steps: number;
  changed: number;
}

const SHOWN = new Set(['create', 'update', 'replace', 'delete']);
const QUIET = new Set(['noop', 'blocked', 'unmanaged']);

/** Whether the plan shows `c` changing: a step of its own, or caused by another's. */
const shows = (c: Change | undefined) =>
  c !== undefined && (SHOWN.has(c.action) || (c.caused_by ?? null) !== null);

/** Fields an API reports that no diff shows: a state-change counter, and the drain states of a cluster. */
const COUNTERS = new Set(['generation']);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const live = (f: Fields | undefined) => f !== undefined && f['deleted'] !== true;

/** The fields of `before` and `after` that differ (a field only one has included). */
function changedFields(before: Fields | undefined, after: Fields | undefined): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...keys].filter((k) => !same(before?.[k], after?.[k])).sort();
}

/** Whether a diff path covers the observed field (the one is the other, or inside it). */
const covers = (path: string, field: string) =>
  path === field || path.startsWith(`${field}.`) || field.startsWith(`${path}.`);

/** What the control plane shows of `change` against what the plan promised (empty: as promised). */
function promised(change: Change, after: Fields | undefined): string[] {
  if (change.action === 'delete') return live(after) ? ['still there'] : [];
  const form =
    change.caused_after && !SHOWN.has(change.action) ? change.caused_after : change.after;
  if (!form) return [];
  if (!live(after)) return ['missing'];
  const want = flatten(form);
  const out: string[] = [];
  for (const [field, value] of Object.entries(want)) {
    const got = after![field];
    if (!same(got ?? null, value ?? null) && !(isEmpty(got) && isEmpty(value)))
      out.push(`${field} is ${JSON.stringify(got)}, the plan showed ${JSON.stringify(value)}`);
  }
  return out;
}
const isEmpty = (v: unknown) =>
  v === null || v === undefined || (typeof v === 'object' && Object.keys(v).length === 0);

/**
 * Holds the control plane's before and after to the saved plan (see the module comment).
 * `partial`: the apply was cut short (killed, or another client moved first), so a change the
 * plan shows need not be made, but nothing else may change and no field outside its diff.
 */
export function judge(
  plan: Plan,
  before: Snapshot,
  after: Snapshot,
  o: { partial?: boolean } = {},
): string[] {
  const wrong: string[] = [];
  const changes = new Map(plan.changes.map((c) => [c.address, c]));
  // Blocked sends nothing: no step of the plan's may be for a change it makes none of.
  for (const s of plan.steps ?? []) {
    const c = changes.get(s.target);
    if (c && QUIET.has(c.action) && !c.caused_by)
      wrong.push(`step ${s.op} ${s.target} is in the plan, which shows it ${c.action}`);
  }
  const addresses = new Set([...before.keys(), ...after.keys()]);
  for (const address of [...addresses].sort()) {
    const b = before.get(address);
    const a = after.get(address);
    const change = changes.get(address);
    const fields = changedFields(b, a);
    if (change && SHOWN.has(change.action) && !o.partial)
      for (const p of promised(change, a)) wrong.push(`${change.action} ${address}: ${p}`);
    if (fields.length === 0) continue;
    if (!shows(change)) {
      const shown = change ? `the plan shows it ${change.action}` : 'the plan does not list it';
      wrong.push(`${address} changed (${describe(b, a, fields)}), but ${shown}`);
      continue;
    }
    // Appearing and going away are the whole object: a create or delete shows every field.
    if (!live(b) || !live(a)) continue;
    const diff = change!.diff.map((d) => d.path);
    // Cut short, a chain may stop drained: its drain is a step of the plan's for the object.
    const drains =
      o.partial && plan.steps.some((s) => s.op === 'drain_queue' && s.target === address);
    const hidden = fields.filter(
      (f) => !COUNTERS.has(f) && !diff.some((p) => covers(p, f)) && !(drains && f === 'state'),
    );
    if (hidden.length > 0)
      wrong.push(
        `${address}: ${describe(b, a, hidden)} is not in the plan's diff (${change!.action})`,
      );
  }
  if (!o.partial) wrong.push(...leftDrained([plan], before, after));
  return wrong;
}

/**
 * No queue left drained (or draining) that was active or new in `before`, unless one of `plans`
 * shows its state change: after a cut, `before` is the state before the cut apply and `plans`
 * both plans, so a chain cut mid-way must have been finished by the second.
 */
export function leftDrained(plans: Plan[], before: Snapshot, after: Snapshot): string[] {
  const wrong: string[] = [];
  for (const [address, a] of after) {
    if (!address.startsWith('Queue/') || !live(a) || a['state'] === 'active') continue;
    if (a['state'] === undefined || a['state'] === null) continue;
    const b = before.get(address);
    if (live(b) && b!['state'] !== 'active') continue;
    const shown = plans.some((p) =>
      p.changes.some(
        (c) =>
          c.address === address && c.diff.some((d) => d.path === 'state' && d.after === a['state']),
      ),
    );
    if (shown) continue;
    // A co-named queue follows its cluster: drained with a disabled one (remote/_queue.py:965-966).
    const cluster = after.get(`Cluster/${address.slice('Queue/'.length)}`);
    if (live(cluster) && cluster!['enabled'] === false) continue;
    wrong.push(
      `${address} is left ${String(a['state'])} (it was ${live(b) ? 'active' : 'not there'})`,
    );
  }
  return wrong;
}

function describe(b: Fields | undefined, a: Fields | undefined, fields: string[]): string {
  return fields
    .map((f) => `${f}: ${JSON.stringify(b?.[f] ?? null)} → ${JSON.stringify(a?.[f] ?? null)}`)
    .join(', ');
}

/** `poolsync ARGS` in process, in `cwd`, with `env` (the whole environment). */
async function poolsync(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  return runInProcess(args, env, cwd);
}

/**
 * Runs one case on a new control plane of `backend`, or on the one `start` gives (flyteadmin:
 * one server a run, emptied by close()).
 */
export async function runCase(
  backend: BackendName,
  c: Case,
  start: () => Promise<Target> = () => startTarget(backend, c.caps),
): Promise<Outcome> {
  const target = await start();
  const root = await mkdtemp(join(tmpdir(), 'poolsync-outside-'));
  try {
    return await check(target, c, root);
  } finally {
    await target.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function check(t: Target, c: Case, root: string): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...t.env,
    POOLSYNC_CONTROL_PLANE: t.url,
    // What an apply records beside a control plane without an inventory of its own (Union).
    XDG_STATE_HOME: join(root, 'state'),
  };
  const wrong: string[] = [];
  const seed = join(root, 'seed');
  await writeRepository(seed, c.seed);
  const seeded = await poolsync(['apply', seed, '--auto-approve'], env, root);
  // A seed the control plane refuses (a step it could not take) is a live state all the same.
  void seeded;
  for (const e of expandEdits(c.edits)) await t.edit(e).catch(() => undefined);

  const before = await t.observe();
  // The seed's repository at a later commit: the same folder, so its inventory is this one's.
  const repo = seed;
  await rm(repo, { recursive: true, force: true });
  const only = await writeRepository(repo, c.repo, (a) =>
    SHAPES[t.backend].org ? true : !a.startsWith('ClusterPool/'),
  );
  const targeted = only ? ['--target', only] : [];
  const planFile = join(root, 'plan.json');
  const planned = await poolsync(['plan', repo, ...targeted, '--out', planFile], env, root);
  if (planned.code !== 0) {
    // Refused before anything is sent: the control plane is as it was.
    wrong.push(...changedSince(before, await t.observe(), 'the plan was refused'));
    // A refusal is a user's error: one line, no stack trace; never a plan poolsync itself refuses
    // (a step for a change it does not make: blocked sends nothing, issue 73 item 4).
    if (/\n\s+at /.test(planned.stderr)) wrong.push(`plan failed: ${planned.stderr}`);
    if (/planned a plan its own apply would refuse/.test(planned.stderr))
      wrong.push(`plan --out: ${planned.stderr.trim().split('\n')[0]}`);
    return {
      wrong,
      result: 'refused',
      refusal: refusalOf(planned),
      between: false,
      killed: false,
      states: [],
      steps: 0,
      changed: 0,
    };
  }
  const plan = JSON.parse(await readFile(planFile, 'utf8')) as Plan;
  // Another order the steps' dependencies allow, one at a time: the plan file sealed again, as
  // `poolsync plan` seals it (no key here), since apply refuses a file changed after it.
  const ordered = async (file: string, saved: Plan) => {
    if (c.order !== 'latest-first') return [];
    const { seal: _seal, ...doc } = latestFirst(saved);
    await writeFile(file, JSON.stringify({ ...doc, seal: sealOf(doc, null) }, null, 2));
    return ['--parallelism', '1'];
  };
  const flags = await ordered(planFile, plan);
  // Another client between plan and apply: its refused calls are skipped, as before the plan.
  const between = c.between ?? [];
  for (const e of expandEdits(between)) await t.edit(e).catch(() => undefined);
  const cut = c.cut && t.http ? c.cut : null;
  const beforeApply = between.length > 0 ? await t.observe() : before;
  const shape = {
    between: between.length > 0,
    killed: cut !== null,
    states: statesIn(beforeApply),
  };
  const applied = await applyCut(t, env, root, planFile, cut, flags);
  const mid = await t.observe();
  const changed = plan.changes.filter(shows).length;
  let last = applied;
  // Work in flight never ends by itself here: an apply that waited for it (a drain before a
  // delete) stops at --wait-timeout, and is cut short as much as a killed one.
  const worked = expandEdits([...c.edits, ...between]).flatMap((e) =>
    e.op === 'work' ? [e.queue] : [],
  );
  const waited = applied.steps.some((s) => s.op.startsWith('wait_') && s.status !== 'done');
  if (!cut && between.length === 0 && !(worked.length > 0 && waited)) {
    wrong.push(...stepsNotDone(applied));
    wrong.push(...judge(plan, before, mid));
  } else {
    // Cut short, or planned against what another client then changed: as far as it went.
    wrong.push(...judge(plan, beforeApply, mid, { partial: true }));
    if (/\bstale\b|changed since/i.test(applied.stdout + applied.stderr) && applied.code !== 0)
      wrong.push(...changedSince(beforeApply, mid, 'apply refused the plan as stale'));
    const why = cut ? 'kill' : between.length > 0 ? 'edits' : 'timed-out wait';
    // The work ends (its clusters report none), then the next plan and apply finish what was
    // cut, held to that plan whole.
    for (const queue of new Set(worked))
      await t.edit({ op: 'work', queue, done: true }).catch(() => undefined);
    const settled = worked.length > 0 ? await t.observe() : mid;
    const planFile2 = join(root, 'plan-2.json');
    const again = await poolsync(['plan', repo, ...targeted, '--out', planFile2], env, root);
    if (again.code !== 0) {
      // Another client can make the repository's wish one poolsync refuses (it made a protected
      // pool with another contract: replacing it is PREVENT_DESTROY): refused as a first plan
      // is, sending nothing. Any other refusal after the edits, or after a kill, is wrong.
      const refusal = between.length > 0 ? refusalOf(again) : null;
      if (refusal === null || !REFUSED_AFTER_EDITS.has(refusal))
        wrong.push(`plan after the ${why} exited ${again.code}: ${again.stderr.trim()}`);
      else
        wrong.push(...changedSince(settled, await t.observe(), 'the plan after the edits refused'));
      return {
        wrong,
        result: 'applied',
        ...shape,
        refusal: refusal ?? undefined,
        steps: plan.steps.length,
        changed,
      };
    }
    const plan2 = JSON.parse(await readFile(planFile2, 'utf8')) as Plan;
    const finished = await applyCut(t, env, root, planFile2, null, await ordered(planFile2, plan2));
    last = finished;
    wrong.push(...stepsNotDone(finished).map((w) => `after the ${why}: ${w}`));
    const after = await t.observe();
    wrong.push(...judge(plan2, settled, after).map((w) => `after the ${why}: ${w}`));
    // Nothing a plan did not show left drained since before the first apply.
    wrong.push(...leftDrained([plan, plan2], beforeApply, after).map((w) => `converged: ${w}`));
  }
  // The drift view agrees with the plan: the record an apply leaves is the plan's outcome
  // (appliedState), so right after a whole apply nothing has drifted from it. Only without
  // --target (which --refresh-only refuses), after an apply that ended well (none recorded else).
  if (!only && last.code === 0) {
    const drift = await poolsync(
      ['plan', repo, '--refresh-only', '--detailed-exitcode', '--output', 'json'],
      env,
      root,
    );
    if (drift.code === 2)
      for (const d of (JSON.parse(drift.stdout) as RefreshReport).drift)
        wrong.push(
          `drift right after apply: ${d.drift} ${d.address} ${JSON.stringify(d.diff.map((x) => [x.path, x.before, x.after]))}`,
        );
    else if (drift.code !== 0)
      wrong.push(`plan --refresh-only exited ${drift.code}: ${drift.stderr.trim()}`);
  }

  const next = await poolsync(['plan', repo, ...targeted, '--output', 'json'], env, root);
  try {
    const again = JSON.parse(next.stdout) as Plan;
    for (const ch of again.changes)
      if (!QUIET.has(ch.action))
        wrong.push(
          `next plan: ${ch.action} ${ch.address} ${JSON.stringify(ch.diff.map((d) => [d.path, d.before, d.after]))}`,
        );
    for (const s of again.steps) wrong.push(`next plan: step ${s.op} ${s.target}`);
  } catch {
    wrong.push(`next plan exited ${next.code}: ${next.stderr.trim()}`);
  }
  return { wrong, result: 'applied', ...shape, steps: plan.steps.length, changed };
}

/** What a plan refused for another client's edits may be refused with (its code). */
const REFUSED_AFTER_EDITS = new Set(['PREVENT_DESTROY']);

/** A refused plan's code: the loader's rule (V16 …) or the plan's error, printed on stdout. */
function refusalOf(run: { stdout: string; stderr: string }): string {
  const code =
    /\b(V\d+|SCHEMA|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/.exec(run.stderr) ??
    /\b(V\d+)\b|\berror ([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/.exec(run.stdout);
  return (
    code?.[1] ??
    code?.[2] ??
    run.stderr.trim().split('\n')[0]!.replace(/\/\S+/g, 'PATH').slice(0, 80)
  );
}

/** Every object that differs between two snapshots, said to have changed though `what`. */
function changedSince(before: Snapshot, after: Snapshot, what: string): string[] {
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((address) => !same(before.get(address), after.get(address)))
    .map((address) => `${address} changed though ${what}`);
}

/** Which transitional states a snapshot holds objects in. */
function statesIn(s: Snapshot): string[] {
  const found = new Set<string>();
  for (const f of s.values()) {
    if (f['deleted'] === true) found.add('deleted');
    if (f['deleting'] === true || f['state'] === 'deleting') found.add('deleting');
    if (f['state'] === 'draining') found.add('draining');
  }
  return [...found].sort();
}

/** JSON, and a bounded wait for work in flight (which never ends unless the property ends it). */
const APPLY_FLAGS = ['--output', 'json', '--wait-timeout', '2s'];

interface Applied {
  code: number;
  stdout: string;
  stderr: string;
  steps: {
    id: string;
    op: string;
    target: string;
    status: string;
    error: { message: string } | null;
    note: string | null;
  }[];
}

/**
 * `apply FILE --output json`; with `cut`, through a proxy that kills it at that step boundary
 * (cut.ts), and what it recorded beside the control plane undone, as a kill -9 records nothing.
 */
async function applyCut(
  t: Target,
  env: NodeJS.ProcessEnv,
  root: string,
  planFile: string,
  cut: Case['cut'],
  flags: string[],
): Promise<Applied> {
  if (!cut || !t.http) {
    const r = await poolsync(['apply', planFile, ...APPLY_FLAGS, ...flags], env, root);
    return { ...r, steps: stepsOf(r.stdout) };
  }
  const proxy = await startCut(t.http.base, t.http.refusal, cut);
  const state = join(root, 'state');
  const kept = join(root, 'state-before-kill');
  await rm(kept, { recursive: true, force: true });
  await copy(state, kept, { recursive: true }).catch(() => undefined);
  try {
    const via = t.http.via(proxy.url);
    const r = await poolsync(
      ['apply', planFile, ...APPLY_FLAGS, ...flags],
      { ...env, ...via.env, POOLSYNC_CONTROL_PLANE: via.url },
      root,
    );
    return { ...r, steps: [] };
  } finally {
    await proxy.close();
    await rm(state, { recursive: true, force: true });
    await copy(kept, state, { recursive: true }).catch(() => undefined);
  }
}

function stepsOf(stdout: string): Applied['steps'] {
  try {
    return (JSON.parse(stdout) as { steps: Applied['steps'] }).steps;
  } catch {
    return [];
  }
}

/** Every step of a whole apply done, and its exit 0. */
function stepsNotDone(a: Applied): string[] {
  const wrong: string[] = [];
  if (a.steps.length === 0 && a.code !== 0)
    return [`apply exited ${a.code}: ${a.stderr.trim() || a.stdout.trim().slice(0, 300)}`];
  for (const s of a.steps)
    if (s.status !== 'done')
      wrong.push(
        `step ${s.id} ${s.op} ${s.target} ${s.status}: ${s.error?.message ?? s.note ?? ''}`,
      );
  if (a.code !== 0 && a.steps.every((s) => s.status === 'done'))
    wrong.push(`apply exited ${a.code}: ${a.stderr.trim()}`);
  return wrong;
}

/**
 * The fast-check property of a backend (flyteadmin: of the target `start` gives); `transitions`:
 * only cases with another client between plan and apply, or a kill (issue 73 item 10).
 */
export function property(
  backend: BackendName,
  start?: () => Promise<Target>,
  o: { transitions?: boolean } = {},
) {
  const cases = caseArb(SHAPES[backend]);
  const arb = o.transitions ? cases.filter((c) => (c.between ?? []).length > 0 || !!c.cut) : cases;
  return fc.asyncProperty(arb, async (c) => {
    const { wrong } = await runCase(backend, c, start);
    if (wrong.length > 0) throw new Error(wrong.join('\n'));
  });
}
