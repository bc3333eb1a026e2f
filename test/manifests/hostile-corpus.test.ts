/**
 * The hostile corpus of scripts/hostile-corpus.ts (issue 14, docs/security.md): at least 200
 * repositories, each refused by validation with positioned errors, no exception, no stack
 * trace, text output free of control characters, and memory bounded. In process for speed;
 * a sample of each family also goes through the CLI in a child process with a 160 MB heap,
 * where a blow-up would be a crash (exit 134), not exit 1.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostileCorpus, writeHostileRepo, type HostileRepo } from '../../scripts/hostile-corpus.js';
import { loadRepository } from '../../src/manifests/index.js';
import { formatValidationText } from '../../src/manifests/report.js';

const corpus = hostileCorpus();
const root = await mkdtemp(join(tmpdir(), 'poolsync-hostile-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/* eslint-disable no-control-regex -- the characters a terminal would obey */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
/* eslint-enable no-control-regex */
const STACK = /\bat .*\.(ts|js):\d+|Internal error|RangeError|TypeError/;
const MiB = 1024 * 1024;
/**
 * Heap the corpus adds, at most, after any repository: the largest legitimate input is a few
 * MiB. Counted from the test's start: the worker's process is shared with the files before
 * it (vitest.config.ts), whose heap is theirs.
 */
const HEAP_BOUND = 400 * MiB;

async function materialise(repo: HostileRepo): Promise<string> {
  const dir = join(root, repo.name);
  await writeHostileRepo(dir, repo);
  return dir;
}

describe('hostile corpus', () => {
  it('holds at least 200 repositories across every family, with unique names', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    expect(new Set(corpus.map((r) => r.name)).size).toBe(corpus.length);
    expect([...new Set(corpus.map((r) => r.family))].sort()).toEqual(
      ['bytes', 'control', 'depth', 'files', 'keys', 'links', 'syntax', 'tags', 'url'].sort(),
    );
  });

  it('validate refuses every one with file:line:column errors, no crash, bounded memory', async () => {
    const heapAtStart = process.memoryUsage().heapUsed;
    let peakHeap = heapAtStart;
    const failures: string[] = [];
    for (const repo of corpus) {
      const dir = await materialise(repo);
      let result;
      try {
        result = await loadRepository(dir);
      } catch (err) {
        failures.push(`${repo.name}: threw ${String(err)}`);
        continue;
      }
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      if (result.valid) {
        failures.push(`${repo.name}: validated`);
        continue;
      }
      const files = new Set([
        ...Object.keys(repo.files),
        ...Object.keys(repo.links ?? {}),
        ...(repo.fifos ?? []),
      ]);
      for (const e of result.errors) {
        const where = `${repo.name}: ${e.file}:${e.line}:${e.column} ${e.code}`;
        if (!(e.line >= 1 && e.column >= 1)) failures.push(`${where}: no position`);
        const known =
          e.file === '.' || files.has(e.file) || [...files].some((f) => f.startsWith(`${e.file}/`));
        if (!known) failures.push(`${where}: unknown file`);
        if (e.message.includes('\n')) failures.push(`${where}: multi-line message`);
        if (STACK.test(e.message)) failures.push(`${where}: stack trace: ${e.message}`);
      }
      const text = formatValidationText(result.errors, { baseDir: dir });
      // Links point at /etc/passwd and /proc/self/environ: nothing of them may show.
      if (/root:|PATH=|HOME=/.test(text)) failures.push(`${repo.name}: quotes a link's target`);
      if (CONTROL.test(text)) failures.push(`${repo.name}: control character in the text output`);
      const lines = text.trimEnd().split('\n');
      if (!/^\S.*:\d+:\d+: [A-Z0-9]+ /.test(lines[0]!))
        failures.push(`${repo.name}: first line not file:line:column: ${lines[0]}`);
      await rm(dir, { recursive: true, force: true });
    }
    expect(failures).toEqual([]);
    expect(peakHeap - heapAtStart).toBeLessThan(HEAP_BOUND);
  }, 240_000);

  it('the CLI exits 1 with positioned errors for a sample of each family, under a 160 MB heap', async () => {
    const families = [...new Set(corpus.map((r) => r.family))];
    // The heaviest of each family (largest input), so the heap cap means something.
    const size = (r: HostileRepo) => Object.values(r.files).reduce((n, c) => n + c.length, 0);
    const sample = families.map(
      (f) => corpus.filter((r) => r.family === f).sort((a, b) => size(b) - size(a))[0]!,
    );
    // In a config repository, as a pull request to one is: without poolsync.yaml or a manifest
    // near the top, a folder of YAML is not one, and the CLI says so in one line instead.
    const dirs = await Promise.all(
      sample.map((r) =>
        materialise({
          ...r,
          files: { 'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\n', ...r.files },
        }),
      ),
    );
    for (const [i, dir] of dirs.entries()) {
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (resolve) =>
          execFile(
            process.execPath,
            ['--max-old-space-size=160', '--import', 'tsx', 'src/cli/main.ts', 'validate', dir],
            { maxBuffer: 64 * MiB },
            (err, stdout, stderr) =>
              resolve({ code: err ? (err.code as number | null) : 0, stdout, stderr }),
          ),
      );
      const name = sample[i]!.name;
      expect(run.code, name).toBe(1);
      expect(run.stderr, name).not.toMatch(STACK);
      expect(run.stdout.split('\n')[0], name).toMatch(/:\d+:\d+: [A-Z0-9]+ /);
      expect(run.stdout, name).not.toMatch(CONTROL);
    }
  }, 120_000);
});
