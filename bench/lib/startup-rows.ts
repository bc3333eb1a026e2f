/**
 * Start-up (issue 35): `poolsync --version` and `poolsync --help` as whole processes beside
 * `node -e ''` measured in the same run, with the target `--version` ≤ 2× `node -e ''`. Once,
 * at the first size: neither depends on N.
 */
import { formatMs, runProcess } from './measure.js';
import { repeat, type SizeContext } from './rows.js';

export async function startupRows(ctx: SizeContext): Promise<void> {
  const { n, o, work, sink } = ctx;
  // One run of each first: Node's compile cache is filled as a user's first run fills it.
  await ctx.poolsync(['--version']);
  await ctx.poolsync(['--help']);
  const node = await repeat(o.runs, () => runProcess(process.execPath, ['-e', ''], { cwd: work }));
  const version = await repeat(o.runs, () => ctx.poolsync(['--version']));
  const help = await repeat(o.runs, () => ctx.poolsync(['--help']));
  const rows = [
    [
      "floor: `node -e ''` (start-up rows)",
      node,
      'Node start-up alone, beside the two rows below.',
    ],
    [
      '`poolsync --version`',
      version,
      'Answered from package.json before yargs or any command loads (src/cli/main.ts).',
    ],
    [
      '`poolsync --help`',
      help,
      'yargs and the command definitions (src/cli/define/), no command’s modules.',
    ],
  ] as const;
  for (const [name, r, notes] of rows)
    sink.add({
      n,
      name,
      ms: r.ms,
      cpuMs: r.cpuMs,
      runs: o.runs,
      peakRss: r.peakRss,
      target: '',
      met: null,
      notes,
    });
  sink.target({
    target: "`poolsync --version` ≤ 2× `node -e ''`",
    n,
    ms: version.ms,
    reference: node.ms,
    measured: formatMs(version.ms),
    met: version.ms <= 2 * node.ms,
    notes: `\`--help\` ${formatMs(help.ms)} (${(help.ms / node.ms).toFixed(2)}×). Node ${process.version}.`,
  });
}
