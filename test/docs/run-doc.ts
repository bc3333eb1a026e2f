/**
 * Runs the command blocks of a Markdown page as a reader would, in order, in one shell: in a
 * fresh copy of this repository (its tracked files, committed in a new Git repository), with
 * `poolsync` on PATH (the CLI from that copy's source, through tsx).
 *
 * Every ```sh block runs, unless a directive in an HTML comment just before it (invisible on
 * the rendered page) says otherwise, and why:
 *
 *   <!-- docs-test: skip WHY -->         not run (it installs globally, needs a real forge…)
 *   <!-- docs-test: background TEXT -->  left running, as in a second terminal, once its
 *                                        output holds TEXT; stopped with SIGINT (Ctrl-C) at the
 *                                        next heading of its level or above
 *   <!-- docs-test: stdin TEXT -->       TEXT is what the reader types (`yes`), in a terminal
 *                                        (`script`), in a shell of its own
 *   <!-- docs-test: files -->            a ```yaml block the reader saves: each document that
 *                                        starts with `# path` is written to that path
 *
 * Each block runs with `set -e` and pipefail, and an `&&` list of it as one command per line
 * (andListSplit): bash skips past a failing command inside an `&&` list, the reader's "and
 * then" does not, so any failing command of a block fails the page.
 *
 * What is emulated, and only this: `npm ci` (the copy links this repository's node_modules),
 * `npm start` (its `node dist/cli/main.js daemon --quickstart`, from source: the build is
 * test/cli/package.test.ts's), and a line running `npm test` (the suite does not run inside
 * itself) is left out. POOLSYNC_LISTEN and POOLSYNC_DAEMON_URL name a free port of the test's
 * instead of 8080, and a fixed `127.0.0.1:PORT` a block names (three-backends' 8091) becomes a
 * free port in the script and in the page's folder (a Union API key's endpoint included): two
 * suites on one machine never collide.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { freePort } from '../support/free-port.js';
import { dirname, join, resolve } from 'node:path';
import { tempFolder } from '../support/temp-folder.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Block {
  line: number;
  lang: string;
  text: string;
  directive: { kind: 'skip' | 'background' | 'stdin' | 'files' | 'run'; value: string };
  /** The level of the heading the block is under (a background block ends at the next at or above it). */
  level: number;
}

/** The fenced blocks of a page with their directives. */
export function blocksOf(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  let level = 0;
  let directive: Block['directive'] = { kind: 'run', value: '' };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^(#{1,6}) /.exec(line);
    if (heading) {
      level = heading[1]!.length;
      out.push({ line: i + 1, lang: 'heading', text: '', directive, level });
      continue;
    }
    const d = /^<!-- docs-test: (skip|background|stdin|files)\s*(.*?)\s*-->$/.exec(line);
    if (d) {
      directive = { kind: d[1] as Block['directive']['kind'], value: d[2]! };
      continue;
    }
    const fence = /^```(\w*)/.exec(line);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    out.push({ line: start + 1, lang: fence[1]!, text: body.join('\n'), directive, level });
    directive = { kind: 'run', value: '' };
  }
  return out;
}

/** A block's commands as the test runs them (the emulations above applied, `&&` lists split). */
function emulated(text: string): string {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => !/\bnpm (ci && npm )?test\b/.test(l))
    .map((l) =>
      l.replace(/\bnpm ci && /g, '').replace(/\bnpm start\b/g, 'poolsync daemon --quickstart'),
    )
    .flatMap(andListSplit)
    .join('\n');
}

/**
 * `a && b && c` as three lines: under `set -e` bash stops at a failing command, except one
 * inside an `&&` list (but the last), which it skips past; a reader's `&&` means "and then",
 * so each command of it must succeed. Left as written: a line with `||`, or that starts a
 * compound command (`if`, `while`, …), whose `&&` is a condition. Quotes, `$(…)`, `(…)`,
 * `{…}` and a `#` comment are not split.
 */
export function andListSplit(line: string): string[] {
  if (/^\s*(if|while|until|for|case|select|!)\b/.test(line)) return [line];
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '\\') i++;
    else if (c === "'" || c === '"') quote = c;
    else if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) break;
    else if (depth === 0 && c === '|' && line[i + 1] === '|') return [line];
    else if (depth === 0 && c === '&' && line[i + 1] === '&') {
      parts.push(line.slice(start, i).trim());
      start = i + 2;
      i++;
    }
  }
  return parts.length === 0 ? [line] : [...parts, line.slice(start).trim()];
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The page as one bash script. */
export function scriptOf(blocks: readonly Block[]): string {
  const out = [
    'set -eo pipefail',
    'BG=()',
    'BGLOG=()',
    // Ctrl-C to what still runs, then wait for it: nothing outlives the script.
    // (and what it printed, into the page's output).
    'stop_bg() { for p in "${BG[@]}"; do kill -INT -- "-$p" 2>/dev/null || true; done; for p in "${BG[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done; BG=(); for f in "${BGLOG[@]}"; do echo "--- $f"; cat "$f"; done; BGLOG=(); }',
    'trap stop_bg EXIT',
    'ready() { until grep -qsF -- "$2" "$1"; do if ! kill -0 "$3" 2>/dev/null; then echo "--- background block ended early:"; cat "$1"; exit 1; fi; sleep 0.1; done; }',
    'set -m',
  ];
  let bgLevel = Infinity;
  for (const [n, b] of blocks.entries()) {
    if (b.lang === 'heading') {
      if (b.level <= bgLevel) {
        out.push('stop_bg');
        bgLevel = Infinity;
      }
      continue;
    }
    const { kind, value } = b.directive;
    if (kind === 'skip') continue;
    if (kind === 'files') {
      for (const doc of b.text.split(/^---$/m)) {
        const path = /^\s*# (\S+\.ya?ml)\s*$/m.exec(doc)?.[1];
        if (!path) throw new Error(`line ${b.line}: a files block's documents start with # path`);
        out.push(
          `mkdir -p "$(dirname ${q(path)})"`,
          `printf '%s\\n' ${q(doc.trim())} > ${q(path)}`,
        );
      }
      continue;
    }
    if (!['sh', 'bash', 'shell'].includes(b.lang)) continue;
    const text = emulated(b.text);
    out.push(`echo ${q(`### line ${b.line}`)}`);
    if (kind === 'background') {
      const log = `"$DOCS_TMP/bg-${n}.log"`;
      out.push(
        `( ${text}\n) > ${log} 2>&1 &`,
        'BG+=($!)',
        `BGLOG+=(${log})`,
        `ready ${log} ${q(value)} $!`,
      );
      bgLevel = Math.min(bgLevel, b.level);
    } else if (kind === 'stdin') {
      // A terminal the reader types into (util-linux `script`): a command that asks needs one.
      out.push(
        `printf '%s\\n' ${q(value)} | script -qefc ${q(`bash -eo pipefail -c ${q(text)}`)} /dev/null`,
      );
    } else out.push(`${text}\n`);
  }
  return `${out.join('\n')}\n`;
}

export interface DocRun {
  code: number | null;
  output: string;
  /** The copy the page ran in. */
  work: string;
}

/** A fresh copy of this repository (tracked files, one commit) with `poolsync` on PATH; runs the page. */
export async function runDoc(page: string): Promise<DocRun> {
  const base = tempFolder('poolsync-docs-');
  const work = join(base, 'poolsync');
  const bin = join(base, 'bin');
  const tmp = join(base, 'tmp');
  mkdirSync(bin);
  mkdirSync(tmp);
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(work, f)), { recursive: true });
    cpSync(join(ROOT, f), join(work, f), { verbatimSymlinks: true });
  }
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POOLSYNC_'))),
    GIT_AUTHOR_NAME: 'reader',
    GIT_AUTHOR_EMAIL: 'reader@example.com',
    GIT_COMMITTER_NAME: 'reader',
    GIT_COMMITTER_EMAIL: 'reader@example.com',
    NO_COLOR: '1',
    DOCS_TMP: tmp,
    PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  };
  const port = await freePort();
  let script = scriptOf(blocksOf(readFileSync(join(ROOT, page), 'utf8')));
  for (const fixed of new Set(script.match(/127\.0\.0\.1:\d{2,5}/g))) {
    const free = `127.0.0.1:${await freePort()}`;
    script = script.replaceAll(fixed, free);
    const folder = join(work, dirname(page));
    for (const f of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
      const file = join(folder, f);
      if (!statSync(file).isFile()) continue;
      const text = readFileSync(file, 'utf8');
      // A Union API key is base64 of `endpoint:client:secret:org`: its endpoint moves too.
      const decoded = Buffer.from(text.trim(), 'base64').toString('utf8');
      if (text.includes(fixed)) writeFileSync(file, text.replaceAll(fixed, free));
      else if (decoded.startsWith(fixed))
        writeFileSync(file, Buffer.from(decoded.replace(fixed, free)).toString('base64') + '\n');
    }
  }
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['commit', '-qm', 'clone'],
  ])
    execFileSync('git', args, { cwd: work, env });
  execFileSync('ln', ['-s', join(ROOT, 'node_modules'), join(work, 'node_modules')]);
  writeFileSync(
    join(bin, 'poolsync'),
    `#!/bin/sh\nexec ${q(process.execPath)} --import ${q(join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'))} ${q(join(work, 'src/cli/main.ts'))} "$@"\n`,
  );
  chmodSync(join(bin, 'poolsync'), 0o755);
  const child = spawn('bash', ['--noprofile', '--norc', '-c', script], {
    cwd: work,
    env: {
      ...env,
      POOLSYNC_LISTEN: `127.0.0.1:${port}`,
      POOLSYNC_DAEMON_URL: `http://127.0.0.1:${port}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, output, work };
}
