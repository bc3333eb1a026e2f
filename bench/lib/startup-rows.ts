/**
 * Start-up (issue 35): `poolsync --version` and `poolsync --help` as whole processes beside
 * `node -e ''` measured in the same run, with the target `--version` ≤ 2× `node -e ''`. Once,
 * at the first size: neither depends on N.
 */
import { formatMs, median, runProcess } from './measure.js';
import type { SizeContext } from './rows.js';

type ProcessRun = Awaited<ReturnType<typeof runProcess>>;

function summary(all: ProcessRun[]) {
  const cpus = all.map((r) => r.cpuMs).filter((c): c is number => c !== null);
  const rss = all.map((r) => r.peakRss).filter((r): r is number => r !== null);
  return {
    ms: median(all.map((r) => r.ms)),
    cpuMs: cpus.length === all.length ? median(cpus) : null,
    peakRss: rss.length ? Math.max(...rss) : null,
  };
}

const cpu = (ms: number | null, floor: number | null): string =>
  ms === null || floor === null
    ? 'n/a'
    : `${formatMs(ms)}, ${(ms / floor).toFixed(2)}× \`node -e ''\`'s ${formatMs(floor)}`;

export async function startupRows(ctx: SizeContext): Promise<void> {
  const { n, o, work, sink } = ctx;
  // One run of each first: Node's compile cache is filled as a user's first run fills it.
  await ctx.poolsync(['--version']);
  await ctx.poolsync(['--help']);
  // Interleaved, and more runs than other rows (each is short): on a busy machine the load
  // drifts, and the three must see the same load to be compared.
  const runs = Math.max(o.runs, 15);
  const node: ProcessRun[] = [];
  const version: ProcessRun[] = [];
  const help: ProcessRun[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(await runProcess(process.execPath, ['-e', ''], { cwd: work }));
    version.push(await ctx.poolsync(['--version']));
    help.push(await ctx.poolsync(['--help']));
  }
  const [n0, v, h] = [summary(node), summary(version), summary(help)];
  const rows = [
    ["floor: `node -e ''` (start-up rows)", n0, 'Node start-up alone, beside the two rows below.'],
    [
      '`poolsync --version`',
      v,
      'Answered from package.json before yargs or any command loads (src/cli/main.ts).',
    ],
    [
      '`poolsync --help`',
      h,
      'yargs and the command definitions (src/cli/define.ts), no command’s modules.',
    ],
  ] as const;
  for (const [name, r, notes] of rows)
    sink.add({
      n,
      name,
      ms: r.ms,
      cpuMs: r.cpuMs,
      runs,
      peakRss: r.peakRss,
      target: '',
      met: null,
      notes,
    });
  sink.target({
    target: "`poolsync --version` ≤ 2× `node -e ''`",
    n,
    ms: v.ms,
    reference: n0.ms,
    measured: formatMs(v.ms),
    met: v.ms <= 2 * n0.ms,
    notes: `CPU ${cpu(v.cpuMs, n0.cpuMs)}; \`--help\` ${formatMs(h.ms)} (${(h.ms / n0.ms).toFixed(2)}×, CPU ${cpu(h.cpuMs, n0.cpuMs)}). Node ${process.version}, ${runs} interleaved runs.`,
  });
}
