/**
 * The differential planner check (issue 51): every recorded plan input planned and rendered
 * by a base tree and by this one, the differences printed (0 expected for a change that keeps
 * behaviour).
 *
 *   git worktree add --detach ../base COMMIT && (cd ../base && npm ci)
 *   npm run differential -- --base ../base [--cases 1500] [--objects 1500] [--show 10]
 *
 * The base tree (a read-only worktree with its own node_modules) records the inputs once
 * (scripts/differential/record.ts: the golden scenarios, the examples against each backend,
 * the manifest fixtures, a bench/ repository, generated cases of test/plan/property) and plans
 * them once; both are kept under ~/.cache/poolsync/differential, keyed by the base commit and
 * these scripts. This tree plans them on every run (scripts/differential/plan.ts). Exit
 * status 1 when anything differs.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolArgs } from '../bench/lib/args.js';
import { promisify } from 'node:util';

const { values } = toolArgs(
  {
    options: {
      base: { type: 'string' },
      cases: { type: 'string', default: '1500' },
      objects: { type: 'string', default: '1500' },
      show: { type: 'string', default: '10' },
    },
  },
  import.meta.url,
);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
if (!values.base) {
  process.stderr.write(
    'differential-plan: --base DIR is required: a worktree of the commit to compare with, with its own node_modules\n',
  );
  process.exit(2);
}
const base = resolve(values.base);
const RECORD = join(here, 'differential/record.ts');
const PLAN = join(here, 'differential/plan.ts');

const hash = (...parts: string[]): string =>
  createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
const commit = (
  await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: base })
).stdout.trim();
const cache = join(
  homedir(),
  '.cache/poolsync/differential',
  `${commit.slice(0, 12)}-${hash(readFileSync(RECORD, 'utf8'), values.cases, values.objects)}`,
);
await mkdir(cache, { recursive: true });

/** Runs a script of this folder under TREE's own tsx and modules. */
function inTree(tree: string, script: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--tree', tree, ...args], {
      cwd: tree,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`${script} in ${tree} exited with ${code}`)),
    );
  });
}

/** A file made once: written under a temporary name, renamed into place when complete. */
async function once(path: string, make: (tmp: string) => Promise<void>): Promise<string> {
  if (!existsSync(path)) {
    await make(`${path}.partial`);
    await rename(`${path}.partial`, path);
  }
  return path;
}

const t0 = performance.now();
const cases = await once(join(cache, 'cases.jsonl'), (tmp) =>
  inTree(base, RECORD, ['--out', tmp, '--cases', values.cases, '--objects', values.objects]),
);
const baseOut = await once(join(cache, `base-${hash(readFileSync(PLAN, 'utf8'))}.jsonl`), (tmp) =>
  inTree(base, PLAN, ['--cases', cases, '--out', tmp]),
);
const work = await mkdtemp(join(tmpdir(), 'poolsync-differential-'));
try {
  const ours = join(work, 'ours.jsonl');
  await inTree(root, PLAN, ['--cases', cases, '--out', ours]);
  const [a, b] = await Promise.all([readFile(baseOut, 'utf8'), readFile(ours, 'utf8')]);
  const report = compare(a, b, Number(values.show));
  process.stdout.write(
    `${report.text}${report.cases} cases, ${report.outputs} outputs compared: ${report.differences} differences (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
  );
  process.exitCode = report.differences === 0 ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}

interface Line {
  id: string;
  out: Record<string, string>;
}

function compare(
  baseText: string,
  oursText: string,
  show: number,
): { text: string; cases: number; outputs: number; differences: number } {
  const parse = (t: string) =>
    t
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  const before = parse(baseText);
  const after = new Map(parse(oursText).map((l) => [l.id, l.out]));
  let text = '';
  let outputs = 0;
  let differences = 0;
  for (const { id, out } of before) {
    const ours = after.get(id) ?? {};
    for (const key of new Set([...Object.keys(out), ...Object.keys(ours)])) {
      outputs++;
      if (out[key] === ours[key]) continue;
      if (differences++ < show) text += `--- ${id}: ${key}\n${lineDiff(out[key], ours[key])}\n`;
    }
  }
  return { text, cases: before.length, outputs, differences };
}

/** The first differing line of two outputs, with two lines around it. */
function lineDiff(a: string | undefined, b: string | undefined): string {
  if (a === undefined || b === undefined)
    return a === undefined ? '  (only in this tree)' : '  (only in the base)';
  const x = a.split('\n');
  const y = b.split('\n');
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  const from = Math.max(0, i - 2);
  const show = (lines: string[], sign: string) =>
    lines
      .slice(i, i + 3)
      .map((l) => `${sign} ${JSON.stringify(l).slice(1, -1)}`)
      .join('\n');
  const context = x
    .slice(from, i)
    .map((l) => `  ${JSON.stringify(l).slice(1, -1)}`)
    .join('\n');
  return [`  @ line ${i + 1}`, context, show(x, '-'), show(y, '+')].filter(Boolean).join('\n');
}
