/**
 * Another client acting on what an apply is changing (a hand-tester's finds, served control plane
 * with --simulate, in process): a queue re-activated while its move waits for it to drain was
 * reported `WAIT_TIMEOUT` and "left draining" although it was active; a same-named queue another
 * client created and drained was taken over as `already exists`, counted created and recorded as
 * poolsync's; a saved plan that ran in part applies again once another client put the state back
 * as the plan found it (docs/apply.md#saved-plans-and-staleness). Each other client acts when the
 * apply reaches the point named (its output, or the request it sends), never after a sleep.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/io.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import type { Plan, Step } from '../../src/model/plan.js';
import { exitOf, memoryIo, runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane, type ServeOptions } from '../support/served-control-plane.js';

const CAPABILITIES = 'drain,queue_delete,cluster_move,pool_update,queue_move,soft_delete';
const env = { NO_COLOR: '1' };

async function served(mounts: ServeOptions['mounts'] = []) {
  const caps = parseCapabilities(CAPABILITIES);
  if (!caps.ok) throw new Error(caps.error);
  const plane = await servedControlPlane(
    { port: 0, simulate: true, mounts },
    { capabilities: caps.capabilities },
  );
  const root = await tempDir();
  const repo = join(root, 'repo');
  const on = ['--control-plane', plane.url, '--state-dir', join(root, 'state')];
  const queue = async (name: string) =>
    (await plane.embedded.listQueues()).find((q) => q.name === name);
  return { ...plane, root, repo, on, queue };
}

/** `poolsync ARGV` in process; `act` runs once its output holds `when` (the apply waits for it). */
async function runActingWhen(when: string, act: () => Promise<unknown>, argv: string[]) {
  const { main } = await import('../../src/cli/run.js');
  const mem = memoryIo(env);
  let acted: Promise<unknown> | null = null;
  const watch = (write: (t: string) => boolean) => (t: string) => {
    const ok = write(t);
    if (acted === null && (mem.out() + mem.err()).includes(when)) acted = act();
    return ok;
  };
  const io: Io = {
    ...mem,
    stdout: { write: watch(mem.stdout.write) },
    stderr: { write: watch(mem.stderr.write) },
  };
  const code = await exitOf(io, main(argv, io));
  await acted;
  return { code, out: mem.out(), err: mem.err(), acted: acted !== null };
}

const QM_IN = (pool: string): RepoSpec => ({
  pools: ['dev', 'dev2'],
  clusters: { 'dev-1': 'dev', 'dev2-1': 'dev2' },
  queues: { qm: { pool, clusters: ['*'] } },
});

/** qm applied in dev with work in flight, and a saved plan moving it to dev2. */
async function busyMove() {
  const cp = await served();
  await writeRepo(cp.repo, QM_IN('dev'));
  expect((await runInProcess(['apply', cp.repo, '--auto-approve', ...cp.on], env)).code).toBe(0);
  await cp.embedded.setQueueActivity('qm', { runs_in_flight: 2, actions_in_flight: 5 });
  await writeRepo(cp.repo, QM_IN('dev2'));
  const saved = join(cp.root, 'm1.json');
  expect((await runInProcess(['plan', cp.repo, ...cp.on, '--out', saved], env)).code).toBe(0);
  /** Another client's POST /v1/queues/qm/activate, through the served REST API. */
  const activate = () => fetch(`${cp.url}/v1/queues/qm/activate`, { method: 'POST' });
  return { ...cp, saved, activate };
}

describe('another client re-activates a queue while its move waits for it to drain', () => {
  it('the wait fails CONFLICT (C9), not WAIT_TIMEOUT, and the report says the queue is active again in its pool', async () => {
    const cp = await busyMove();
    const r = await runActingWhen('still waiting: queue qm is draining', cp.activate, [
      'apply',
      cp.saved,
      '--wait-timeout',
      '60s',
      ...cp.on,
    ]);
    expect([r.acted, r.code]).toEqual([true, 1]);
    expect(r.out).toMatch(
      /Queue\/qm: Wait failed after \S+ \[s2\]: CONFLICT \(C9\): queues qm are active again while waiting for them to be drained: another client re-activated them/,
    );
    expect(r.out).not.toContain('WAIT_TIMEOUT');
    expect(r.out).toContain(
      '\n  ⚠ Queue/qm is active again in pool dev (another client re-activated it while s2 waited for it to drain): its move was not made; run `poolsync plan` again\n',
    );
    expect(r.out).not.toContain('left draining');
    expect(await cp.queue('qm')).toMatchObject({ pool: 'dev', state: 'active' });
  });

  it('the saved plan, stale while qm was draining, applies again once qm is as the plan found it: a plan made now is the same file, byte for byte', async () => {
    const cp = await busyMove();
    const r = await runActingWhen('still waiting: queue qm is draining', cp.activate, [
      'apply',
      cp.saved,
      ...cp.on,
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('(this saved plan is now stale)');
    // The live state is the plan's again: nothing tells the file from one planned now.
    const again = join(cp.root, 'm2.json');
    expect((await runInProcess(['plan', cp.repo, ...cp.on, '--out', again], env)).code).toBe(0);
    expect(await readFile(again, 'utf8')).toBe(await readFile(cp.saved, 'utf8'));
    await cp.embedded.setQueueActivity('qm', { runs_in_flight: 0, actions_in_flight: 0 });
    const applied = await runInProcess(['apply', cp.saved, ...cp.on], env);
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    expect(await cp.queue('qm')).toMatchObject({ pool: 'dev2', state: 'active' });
  });
});

describe('a same-named queue another client creates during the apply', () => {
  /**
   * The plan creates qn; once the apply sends its create, another client creates qn first (with
   * the plan's exact spec, `drain` afterwards when `drain`), so the create meets ALREADY_EXISTS.
   */
  async function raced(drain: boolean) {
    let create: Extract<Step, { op: 'create_queue' }>['args'] | null = null;
    let raced = false;
    const mount = {
      handle: async (req: IncomingMessage, _res: unknown, url: URL) => {
        if (req.method !== 'POST' || url.pathname !== '/v1/queues' || raced || create === null)
          return false;
        raced = true;
        await cp.embedded.createQueue(create);
        if (drain) await cp.embedded.drainQueue('qn');
        return false;
      },
    };
    const cp = await served([mount]);
    const spec: RepoSpec = { pools: ['dev'], clusters: { 'dev-1': 'dev' } };
    await writeRepo(cp.repo, spec);
    expect((await runInProcess(['apply', cp.repo, '--auto-approve', ...cp.on], env)).code).toBe(0);
    await writeRepo(cp.repo, { ...spec, queues: { qn: { pool: 'dev', clusters: ['*'] } } });
    const saved = join(cp.root, 'plan.json');
    expect((await runInProcess(['plan', cp.repo, ...cp.on, '--out', saved], env)).code).toBe(0);
    const plan = JSON.parse(await readFile(saved, 'utf8')) as Plan;
    const step = plan.steps.find((s) => s.op === 'create_queue');
    create = (step as Extract<Step, { op: 'create_queue' }>).args;
    const r = await runInProcess(['apply', saved, ...cp.on], env);
    expect(raced).toBe(true);
    const next = await runInProcess(['plan', cp.repo, ...cp.on, '--output', 'json'], env);
    return { r, cp, next: JSON.parse(next.stdout) as Plan };
  }

  it('drained by that client: not what this create makes, refused CONFLICT naming the state, never counted nor recorded as poolsync’s', async () => {
    const { r, cp, next } = await raced(true);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /Queue\/qn: Creation failed after \S+ \[s1\]: CONFLICT: Queue\/qn already exists, made by another client, with a different state \(drained; a queue this create makes is active\): nothing was changed and poolsync does not record it as its own/,
    );
    expect(r.stdout).not.toContain('already exists)');
    expect(r.stdout).toContain('Applied so far: 0 created,');
    expect(await cp.queue('qn')).toMatchObject({ state: 'drained' });
    // Not poolsync's: the inventory does not hold it, and the next plan shows it adopted, for review.
    const list = await runInProcess(['state', 'list', ...cp.on], env);
    expect(list.stdout).toContain('\n2 managed objects.\n');
    expect(list.stdout).not.toContain('Queue/qn');
    expect(next.inventory?.adopts).toEqual(['Queue/qn']);
  });

  it('active with the plan’s exact spec: what a retry of this create whose answer was lost finds, so it is done (already exists)', async () => {
    const { r, cp } = await raced(false);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/Queue\/qn: Creation complete after \S+ \(already exists\) \[s1\]/);
    expect(await cp.queue('qn')).toMatchObject({ state: 'active' });
  });
});
