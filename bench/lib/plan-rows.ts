/**
 * The whole-process rows of loading and planning: `validate`, `plan` with no changes and with
 * 10% changed, and `apply` of N creates
 * against an empty `file:` control plane, with the issue-25 targets judged on them.
 */
import { cp, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatBytes, formatMs, median, type ProcessRun } from './measure.js';
import { floorRun } from './floor-rows.js';
import { MB, cpuRatio, repeat, rssTarget, type SizeContext } from './rows.js';
import type { DriftSummary } from './scale.js';

export async function validateRow(ctx: SizeContext, yamlNote: string): Promise<void> {
  const { n, o } = ctx;
  const r = await repeat(o.runs, () => ctx.poolsync(['validate', ctx.repo]));
  ctx.sink.add({
    n,
    name: '`validate`',
    ms: r.ms,
    cpuMs: r.cpuMs,
    runs: o.runs,
    peakRss: r.peakRss,
    ...rssTarget(n, r.peakRss),
    notes: yamlNote,
  });
}

/** quality.md's earlier target for a whole-process `plan` at 10,000: < 1 s and < 300 MB. */
function underOneSecond(n: number, r: { ms: number; peakRss: number | null }) {
  if (n < 10_000) return { target: '', met: null };
  return {
    target: '< 1 s; RSS < 300 MB',
    met: r.ms < 1000 && (r.peakRss === null || r.peakRss < 300 * MB),
  };
}

/** `plan` against the converged control plane; --detailed-exitcode 0 = no changes, else broken. */
export async function planRow(ctx: SizeContext): Promise<void> {
  const { n, o, sink, medians } = ctx;
  const r = await repeat(o.runs, () =>
    ctx.poolsync([
      'plan',
      ctx.repo,
      '--control-plane',
      `file:${ctx.noopState}`,
      '--detailed-exitcode',
      '--no-color',
    ]),
  );
  medians.set(`plan/${n}`, r.ms);
  const small = medians.get('plan/1000');
  const growth =
    small !== undefined && n > 1000
      ? ` Growth from N=1,000: ${(r.ms / small).toFixed(1)}× (target ≤ ${(12 * n) / 10_000}×).`
      : '';
  sink.add({
    n,
    name: '`plan`, no changes (embedded control plane)',
    ms: r.ms,
    cpuMs: r.cpuMs,
    runs: o.runs,
    peakRss: r.peakRss,
    ...underOneSecond(n, r),
    notes: `Whole process, file: control plane.${growth}`,
  });
  const rss = r.peakRss === null ? 'n/a' : formatBytes(r.peakRss);
  const rssMet = (limit: number) => (r.peakRss === null ? null : r.peakRss <= limit * MB);
  if (n === 10_000) {
    sink.target({
      target: '`plan` 10k ≤ 1.3× the floor',
      n,
      ms: r.ms,
      measured: formatMs(r.ms),
      met: ctx.floorMs === undefined ? null : r.ms <= 1.3 * ctx.floorMs,
      notes: `CPU ${cpuRatio(r.cpuMs, ctx.floorCpuMs)}; no changes, file: control plane.`,
    });
    sink.target({
      target: 'cold `plan` 10k ≤ 1.5× the floor (issue 35, on Node 24)',
      n,
      ms: r.ms,
      measured: formatMs(r.ms),
      met: ctx.floorMs === undefined ? null : r.ms <= 1.5 * ctx.floorMs,
      notes: `Node ${process.version}; Node's compile cache on.`,
    });
    sink.target({
      target: 'peak RSS of `plan` at 10k ≤ 150 MB',
      n,
      measured: rss,
      met: rssMet(150),
      notes: '',
    });
  }
  if (n === 100_000) {
    sink.target({
      target: 'peak RSS of `plan` at 100k ≤ 400 MB',
      n,
      measured: rss,
      met: rssMet(400),
      notes: '',
    });
    const ten = medians.get('plan/10000');
    if (ten !== undefined) {
      sink.target({
        target: '`plan` growth 10k → 100k ≤ 10.5×',
        n,
        measured: `${(r.ms / ten).toFixed(1)}×`,
        met: r.ms / ten <= 10.5,
        notes: `${formatMs(ten)} → ${formatMs(r.ms)}.`,
      });
    }
  }
}

/**
 * `plan` of every object as a create (an empty `file:` control plane), the plan `apply` of N
 * creates makes: its CPU beside the parse floor's (quality.md: at most 3× at 100,000, the
 * ratio flat from 10,000) and its peak RSS (at most 400 MB at 100,000).
 */
export async function planCreatesRow(ctx: SizeContext): Promise<void> {
  const { n, o, sink, dir, medians } = ctx;
  const r = await repeat(o.runs, async (i) => {
    const state = join(dir, `cp-plan-creates-${i}`, 'state.json');
    await mkdir(dirname(state), { recursive: true });
    try {
      return await ctx.poolsync(
        ['plan', ctx.repo, '--control-plane', `file:${state}`, '--detailed-exitcode', '--no-color'],
        { okExitCodes: [2] },
      );
    } finally {
      await rm(dirname(state), { recursive: true, force: true });
    }
  });
  const ratio =
    r.cpuMs !== null && ctx.floorCpuMs !== undefined ? r.cpuMs / ctx.floorCpuMs : undefined;
  if (ratio !== undefined) medians.set(`plan-creates-cpu-ratio/${n}`, ratio);
  sink.add({
    n,
    name: '`plan`, every object created (empty `file:` control plane)',
    ms: r.ms,
    cpuMs: r.cpuMs,
    runs: o.runs,
    peakRss: r.peakRss,
    target: '',
    met: null,
    notes: `Whole process; the plan \`apply\` of N creates makes. CPU ${cpuRatio(r.cpuMs, ctx.floorCpuMs)}.`,
  });
  if (n !== 100_000) return;
  const ten = medians.get('plan-creates-cpu-ratio/10000');
  sink.target({
    target: '`plan` of 100k creates: CPU ≤ 3× the floor, the ratio flat from 10k',
    n,
    measured: ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}× the floor's CPU`,
    met: ratio === undefined ? null : ratio <= 3 && (ten === undefined || ratio <= 1.1 * ten),
    notes: `CPU ${cpuRatio(r.cpuMs, ctx.floorCpuMs)}${ten === undefined ? '' : `; at 10k ${ten.toFixed(2)}×`}.`,
  });
  sink.target({
    target: 'peak RSS of `plan` of 100k creates ≤ 400 MB',
    n,
    measured: r.peakRss === null ? 'n/a' : formatBytes(r.peakRss),
    met: r.peakRss === null ? null : r.peakRss <= 400 * MB,
    notes: '',
  });
}

/** `plan` against a control plane where 10% of the objects drifted (exit code 2: changes). */
export async function driftRow(
  ctx: SizeContext,
  driftState: string,
  s: DriftSummary,
): Promise<void> {
  const { n, o } = ctx;
  const r = await repeat(o.runs, () =>
    ctx.poolsync(
      [
        'plan',
        ctx.repo,
        '--control-plane',
        `file:${driftState}`,
        '--detailed-exitcode',
        '--no-color',
      ],
      { okExitCodes: [2] },
    ),
  );
  ctx.sink.add({
    n,
    name: '`plan`, 10% changed (embedded control plane)',
    ms: r.ms,
    cpuMs: r.cpuMs,
    runs: o.runs,
    peakRss: r.peakRss,
    ...underOneSecond(n, r),
    notes: `${s.queuesChanged} queues retuned, ${s.clustersMoved} clusters moved live; text plan written to a pipe.`,
  });
}

/** One `apply` of the repository's creates, to a new `file:` control plane, whole process. */
async function applyOnce({ dir, repo, poolsync }: SizeContext, i: number): Promise<ProcessRun> {
  const state = join(dir, `cp-apply-file-${i}`, 'state.json');
  // A new organisation in a folder made for it (a missing folder is refused as a typo).
  await mkdir(dirname(state), { recursive: true });
  try {
    const stateDir = join(dir, `apply-file-state-${i}`);
    return await poolsync([
      'apply',
      repo,
      '--control-plane',
      `file:${state}`,
      '--auto-approve',
      '--no-color',
      '--state-dir',
      stateDir,
    ]);
  } finally {
    await rm(dirname(state), { recursive: true, force: true });
  }
}

/** `apply` of N creates from an empty `file:` control plane, whole process. */
export async function applyFileRow(ctx: SizeContext, runs: number): Promise<void> {
  const { n, sink } = ctx;
  // Issue 79 item 5 is judged in pairs: each run beside a run of the floor, in alternating order,
  // so that a slower or faster minute of a shared machine weighs on both sides of a ratio.
  const pairRatios: number[] = [];
  const r = await repeat(runs, async (i) => {
    if (n !== 100_000) return applyOnce(ctx, i);
    const floor = i % 2 === 0 ? await floorRun(ctx) : null;
    const run = await applyOnce(ctx, i);
    const { cpuMs } = floor ?? (await floorRun(ctx));
    if (cpuMs !== null && run.cpuMs !== null) pairRatios.push(run.cpuMs / cpuMs);
    return run;
  });
  ctx.medians.set(`apply-file/${n}`, r.ms);
  sink.add({
    n,
    name: `\`apply\` of ${n.toLocaleString('en-US')} creates, empty \`file:\` control plane`,
    ms: r.ms,
    cpuMs: r.cpuMs,
    runs,
    peakRss: r.peakRss,
    target: '',
    met: null,
    notes: `Whole process: load, plan, every call journaled (fsync, group commit), final snapshot. CPU ${cpuRatio(r.cpuMs, ctx.floorCpuMs)}.`,
  });
  if (n === 100_000) {
    // Issue 79 item 5: the whole apply's CPU beside the parse floor's, the median of the pairs'.
    const ratio = pairRatios.length === runs ? median(pairRatios) : undefined;
    const each = pairRatios.map((x) => `${x.toFixed(2)}×`).join(', ');
    sink.target({
      target: '`apply` of 100k creates: CPU ≤ 3× the floor',
      n,
      measured: ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}× the floor's CPU`,
      met: ratio === undefined ? null : ratio <= 3,
      notes: `Median of ${runs} pairs (a floor run, then an apply, alternated): ${each}. Medians of the rows: CPU ${cpuRatio(r.cpuMs, ctx.floorCpuMs)}.`,
    });
    sink.target({
      target: 'peak RSS of `apply` at 100k ≤ 400 MB',
      n,
      measured: r.peakRss === null ? 'n/a' : formatBytes(r.peakRss),
      met: r.peakRss === null ? null : r.peakRss <= 400 * MB,
      notes: '`apply` of 100,000 creates against an empty `file:` control plane.',
    });
  }
  const tenth = ctx.medians.get(`apply-file/${n / 10}`);
  if (tenth !== undefined) {
    sink.target({
      target: `\`apply\` against \`file:\` growth ${n / 10_000}k → ${n / 1000}k ≤ 10.5×`,
      n,
      measured: `${(r.ms / tenth).toFixed(1)}×`,
      met: r.ms / tenth <= 10.5,
      notes: `${formatMs(tenth)} → ${formatMs(r.ms)}.`,
    });
  }
}

/**
 * `apply` of a saved plan retiring every cluster of the organisation `apply` just created (a
 * prune: their queues repointed, their co-named queues deleted with them, the assignments
 * deleted), beside that creates' apply measured in the same run: each cluster delete re-reads
 * the queues at the moment it acts (C9), and a wave of deletes shares one read.
 */
export async function applyDeleteRow(ctx: SizeContext): Promise<void> {
  const { n, dir, repo, sink, poolsync } = ctx;
  const state = join(dir, 'cp-apply-delete', 'state.json');
  const on = [
    '--control-plane',
    `file:${state}`,
    '--no-color',
    '--state-dir',
    join(dir, 'apply-delete-state'),
  ];
  await mkdir(dirname(state), { recursive: true });
  try {
    const created = await poolsync(['apply', repo, '--auto-approve', ...on]);
    const retired = join(dir, 'retired-repo');
    await cp(join(repo, 'pools'), join(retired, 'pools'), { recursive: true });
    const config = `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nrepository: ${await realpath(repo)}\n`;
    await writeFile(join(retired, 'poolsync.yaml'), config);
    const planFile = join(dir, 'apply-delete-plan.json');
    await poolsync(['plan', retired, ...on, '--out', planFile]);
    const deleted = await poolsync(['apply', planFile, '--auto-approve', ...on], {
      captureStdout: true,
    });
    const clusters = (/(\d+) deleted/.exec(deleted.stdout) ?? [])[1] ?? '?';
    sink.add({
      n,
      name: `\`apply\` of a saved plan retiring every cluster (${clusters} deletes), \`file:\` control plane`,
      ms: deleted.ms,
      cpuMs: deleted.cpuMs,
      runs: 1,
      peakRss: deleted.peakRss,
      target: '',
      met: null,
      notes: `Whole process, after \`apply\` created the organisation (${formatMs(created.ms)}).`,
    });
    if (deleted.cpuMs !== null && created.cpuMs !== null) {
      const ratio = deleted.cpuMs / created.cpuMs;
      sink.target({
        target: '`apply` retiring every cluster: CPU ≤ 2× the creates\u2019 `apply`',
        n,
        measured: `${ratio.toFixed(2)}× (${formatMs(deleted.cpuMs)} vs ${formatMs(created.cpuMs)} of CPU)`,
        met: ratio <= 2,
        notes:
          'A cluster delete re-reads the queues (C9); deletes at the same moment share one read.',
      });
    }
  } finally {
    await rm(dirname(state), { recursive: true, force: true });
  }
}
