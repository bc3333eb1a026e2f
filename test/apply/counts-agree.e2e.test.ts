/**
 * One count (issue 24): every output of one apply says the same numbers — the text, JSON and
 * markdown plan, the pull-request comment and its commit status, apply's report, and the
 * daemon's run log, /status, run message and notification — for the whole plan and for a
 * --target plan. The bundled example against a new organisation has side effects (co-named
 * queues created by registrations, C2): they are counted apart, the same way everywhere.
 */
import { execFileSync } from 'node:child_process';
import { cpSync as copy, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnTestDaemon } from '../daemon/harness.js';
import type { Plan } from '../../src/model/plan.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { NotifyEvent } from '../../src/notify/config.js';
import type { PlanCounts } from '../../src/plan/counts.js';
import { Receiver } from '../notify/receiver.js';
import { FakeForge } from '../support/fake-forge.js';
import { runCli } from '../support/cli.js';

let dir: string;
let repo: string;
let forge: FakeForge;
const GIT_ENV = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@e.x',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@e.x',
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsync-counts-'));
  repo = join(dir, 'repo');
  copy('examples/config-repo', repo, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, env: { ...process.env, ...GIT_ENV } });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'pools');
  forge = await new FakeForge().start();
});
afterAll(async () => {
  await forge.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Counts = Omit<PlanCounts, never>;

/** The six numbers a pattern captures (create, update, replace, delete, blocked, side effects). */
function countsBy(pattern: RegExp, text: string): Counts {
  const m = pattern.exec(text);
  expect(m, text).not.toBeNull();
  const [create, update, replace, del, blocked, side] = m!.slice(1).map((x) => Number(x ?? 0));
  return {
    create: create!,
    update: update!,
    replace: replace!,
    delete: del!,
    blocked: blocked!,
    side_effects: side!,
  };
}

/** `Plan: N to create, …, N blocked.` and the `N more changes follow` line. */
function fromPlanText(text: string): Counts {
  const counts = countsBy(
    /Plan: (\d+) to create, (\d+) to update, (\d+) to replace, (\d+) to delete, (\d+) blocked\./,
    text,
  );
  const side = /(\d+) more changes? follows? from these steps/.exec(text);
  return { ...counts, side_effects: side ? Number(side[1]) : 0 };
}

/** `Apply complete: N created, …; N blocked; N more changes made by the control plane itself`. */
const fromApplyReport = (text: string) =>
  countsBy(
    /Apply complete: (\d+) created, (\d+) updated, (\d+) replaced, (\d+) deleted; (\d+) blocked(?:; (\d+) more changes? made by the control plane itself)?/,
    text,
  );

/** The daemon's message: `applied: N created, …; N blocked; N side effects (made by the control plane)`. */
const fromDaemonMessage = (text: string) =>
  countsBy(
    /applied: (\d+) created, (\d+) updated, (\d+) replaced, (\d+) deleted; (\d+) blocked(?:; (\d+) side effects? \(made by the control plane\))?/,
    text,
  );

const appliedAsCounts = (
  a: { create: number; update: number; replace: number; delete: number; side_effects: number },
  blocked: number,
): Counts => ({
  create: a.create,
  update: a.update,
  replace: a.replace,
  delete: a.delete,
  blocked,
  side_effects: a.side_effects,
});

async function cliOutputs(cp: string, extra: string[]): Promise<Record<string, Counts>> {
  const text = await runCli(['plan', repo, '--control-plane', cp, ...extra]);
  const json = await runCli(['plan', repo, '--control-plane', cp, '-o', 'json', ...extra]);
  const md = await runCli(['plan', repo, '--control-plane', cp, '-o', 'markdown', ...extra]);
  for (const r of [text, json, md]) expect(r.code, r.stderr).toBe(0);
  const plan = JSON.parse(json.stdout) as Plan & { counts: Counts };
  const apply = await runCli(['apply', repo, '--control-plane', cp, '--auto-approve', ...extra]);
  expect(apply.code, apply.stderr).toBe(0);
  return {
    'plan text': fromPlanText(text.stdout),
    'plan json': plan.counts,
    'plan markdown': fromPlanText(md.stdout),
    'apply: its plan': fromPlanText(apply.stdout),
    'apply: report': fromApplyReport(apply.stdout),
  };
}

function expectAllEqual(outputs: Record<string, Counts>): void {
  const [first, ...rest] = Object.entries(outputs);
  for (const [name, counts] of rest) expect({ [name]: counts }).toEqual({ [name]: first![1] });
}

describe('the counts in every output of one apply agree', () => {
  it('the whole plan: plan text/json/markdown, the PR comment and status, apply, the daemon (log, /status, message, notification)', async () => {
    mkdirSync(join(dir, 'a'));
    const cp = `file:${join(dir, 'a', 'cp.json')}`;
    // The pull-request comment, planned against the same (still empty) control plane.
    const comment = await runCli(
      [
        'plan',
        repo,
        '--control-plane',
        cp,
        '--comment',
        'github',
        '--repo',
        'acme/cfg',
        '--pr',
        '7',
        '--api-url',
        forge.url,
      ],
      { GITHUB_TOKEN: forge.token },
    );
    expect(comment.code, comment.stderr).toBe(0);
    const outputs = await cliOutputs(cp, []);
    outputs['PR comment'] = fromPlanText(forge.list('github:acme/cfg#7')[0]!.body);
    outputs['PR status'] = fromPlanText(
      `${String((forge.statuses.at(-1)!.body as { description: string }).description)}`,
    );
    // The status description has room for the closing line only.
    outputs['PR status']!.side_effects = outputs['PR comment']!.side_effects;

    // The daemon applying the same repository to another new organisation.
    mkdirSync(join(dir, 'd'));
    const hook = await new Receiver().start('/hook');
    const notifier = new Notifier({
      destinations: [{ kind: 'webhook', url: hook.url, origin: 'test' }],
    });
    const d = await startOwnTestDaemon({
      state: join(dir, 'd'),
      flags: { watch: repo },
      logLevel: 'info',
      deps: { notifier },
    });
    const { daemon } = d;
    try {
      await daemon.firstRun;
      await notifier.flush();
      const status = daemon.status();
      expect(status.lastRun?.result).toBe('applied');
      const logs = d.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
      const line = logs.find((l) => l.result === 'applied')!;
      outputs['daemon log counts'] = line.counts as Counts;
      outputs['daemon log applied'] = appliedAsCounts(
        line.applied as never,
        (line.counts as Counts).blocked,
      );
      outputs['daemon message'] = fromDaemonMessage(status.lastRun!.message);
      outputs['/status counts'] = status.counts!;
      outputs['/status lastRun.applied'] = appliedAsCounts(
        status.lastRun!.applied,
        status.counts!.blocked,
      );
      const event = hook.received[0]!.body as unknown as NotifyEvent;
      expect(event.event).toBe('applied');
      outputs['notification'] = appliedAsCounts(event.applied, status.counts!.blocked);
      outputs['notification message'] = fromDaemonMessage(event.message);
      expect(event.changed_total).toBe(
        event.applied.create + event.applied.update + event.applied.side_effects,
      );
    } finally {
      await d.stop();
      await hook.stop();
    }
    expectAllEqual(outputs);
    // The example against a new organisation: registrations create co-named queues (C2).
    expect(outputs['plan json']!.side_effects).toBeGreaterThan(0);
    expect(outputs['plan json']!.create).toBeGreaterThan(0);
  }, 180_000);

  it('a --target plan: what the plan says is what apply reports', async () => {
    mkdirSync(join(dir, 't'));
    const cp = `file:${join(dir, 't', 'cp.json')}`;
    const outputs = await cliOutputs(cp, ['--target', 'Cluster/prod-us-west-2']);
    expectAllEqual(outputs);
    expect(outputs['plan json']).toEqual({
      create: 2,
      update: 0,
      replace: 0,
      delete: 0,
      blocked: 0,
      side_effects: 1,
    });
  }, 120_000);
});
