/**
 * The saved plan of N creates (Atlantis' flow, issue 79): `plan --out FILE` beside a plain `plan`,
 * and `apply FILE` beside `apply DIR`, each against an empty `file:` control plane. The four
 * run in turn within each run, so each pair is measured at the same load; the ratios are the
 * medians of the pairs' ratios (CPU: user + system of the whole process).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessRun } from './measure.js';
import { formatBytes, formatMs, median } from './measure.js';
import { MB, loadNow, type SizeContext } from './rows.js';

export async function planFileRows(ctx: SizeContext, runs: number): Promise<void> {
  const { n, sink, dir } = ctx;
  const all = { plain: [], out: [], file: [], folder: [] } as Record<
    'plain' | 'out' | 'file' | 'folder',
    ProcessRun[]
  >;
  for (let i = 0; i < runs; i++) {
    const at = join(dir, `plan-file-${i}`);
    // A new organisation in a folder made for it, the same for the plan and its apply.
    const cp = (name: string) => `file:${join(at, name, 'state.json')}`;
    for (const name of ['plain', 'saved', 'folder'])
      await mkdir(join(at, name), { recursive: true });
    const file = join(at, 'creates.plan');
    const plan = ['plan', ctx.repo, '--detailed-exitcode', '--no-color'];
    const apply = ['--auto-approve', '--no-color', '--state-dir', join(at, 'records')];
    try {
      const ok = { okExitCodes: [2] };
      all.plain.push(await ctx.poolsync([...plan, '--control-plane', cp('plain')], ok));
      all.out.push(
        await ctx.poolsync([...plan, '--control-plane', cp('saved'), '--out', file], ok),
      );
      all.file.push(await ctx.poolsync(['apply', file, '--control-plane', cp('saved'), ...apply]));
      await rm(join(at, 'records'), { recursive: true, force: true });
      all.folder.push(
        await ctx.poolsync(['apply', ctx.repo, '--control-plane', cp('folder'), ...apply]),
      );
    } finally {
      await rm(at, { recursive: true, force: true });
    }
  }
  const cpu = (rs: ProcessRun[]) => median(rs.map((r) => r.cpuMs ?? NaN));
  const rss = (rs: ProcessRun[]) => Math.max(...rs.map((r) => r.peakRss ?? NaN));
  const ratio = (a: ProcessRun[], b: ProcessRun[]) =>
    median(a.map((r, i) => (r.cpuMs ?? NaN) / (b[i]!.cpuMs ?? NaN)));
  const rows = [
    ['`plan --out FILE`', all.out, all.plain, 'a plain `plan`', 1.3],
    ['`apply FILE`', all.file, all.folder, '`apply DIR`', 1],
  ] as const;
  for (const [name, measured, reference, against, most] of rows) {
    const r = ratio(measured, reference);
    const peak = rss(measured);
    sink.add({
      n,
      name: `${name} of ${n.toLocaleString('en-US')} creates, empty \`file:\` control plane`,
      ms: median(measured.map((m) => m.ms)),
      cpuMs: cpu(measured),
      runs,
      peakRss: Number.isNaN(peak) ? null : peak,
      target: '',
      met: null,
      notes: `CPU ${formatMs(cpu(measured))}, ${r.toFixed(2)}× ${against}'s ${formatMs(cpu(reference))} (paired); ${against} peaked at ${formatBytes(rss(reference))}.`,
    });
    if (n !== 100_000) continue;
    sink.target({
      target: `${name} of 100k creates: CPU ≤ ${most}× ${against}, peak RSS ≤ 400 MB`,
      n,
      measured: `${r.toFixed(2)}×, ${Number.isNaN(peak) ? 'n/a' : formatBytes(peak)}`,
      met: Number.isNaN(r) || Number.isNaN(peak) ? null : r <= most && peak <= 400 * MB,
      notes: `median of ${runs} pairs, ${loadNow()}.`,
    });
  }
}
