/**
 * A newer format is refused in one line naming both versions (docs/versioning.md, issue 77):
 * each file poolsync keeps, as the corpus' build wrote it (test/fixtures/compat/) with its
 * format raised by one, is refused by the command a user runs, and left exactly as it was:
 * never set aside, never overwritten (what a newer build wrote stays for it).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';

const BUILD = join(REPO_ROOT, 'test', 'fixtures', 'compat', 'b8137a5c');
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

/** The one line each refusal is: `what` is format `found` …, this poolsync reads `reads`. */
const newer = (what: string, found: number | string, reads: number | string, more = '') =>
  new RegExp(
    `^Error: ${what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is format ${found}, written by a newer poolsync; ` +
      `this poolsync \\(${version.replace(/\./g, '\\.')}\\) reads format ${reads}: upgrade poolsync${more}\\n$`,
  );

/** The corpus' manifests with `files` as `.poolsync/`; `file` there (JSON) `edit`ed. */
function repoWith(files: string, file: string, edit: (data: Record<string, unknown>) => void) {
  const repo = join(tempFolder('poolsync-newer-'), 'repo');
  cpSync(join(BUILD, 'repo'), repo, { recursive: true });
  cpSync(join(BUILD, files), join(repo, '.poolsync'), { recursive: true });
  const path = join(repo, '.poolsync', file);
  const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(data);
  writeFileSync(path, JSON.stringify(data));
  return { repo, path, text: readFileSync(path, 'utf8') };
}

function inFolder(dir: string, args: string[]) {
  const cwd = process.cwd();
  process.chdir(dir);
  return runCli(args).finally(() => process.chdir(cwd));
}

const QUEUE_NEW = `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: new-queue
spec:
  run_concurrency: 1
  action_concurrency: 1
`;

const DAEMON = [
  'daemon',
  '--watch',
  '.',
  '--control-plane',
  'file:.poolsync/control-plane.json',
  '--state-dir',
  '.poolsync/daemon',
  '--admin-token-file',
  '.poolsync/admin-token',
  '--once',
  '--listen',
  '127.0.0.1:0',
  '--log-level',
  'error',
];

describe('a file of a newer format is refused naming both versions, and kept as it is', () => {
  it('the embedded state: plan and apply refuse it', async () => {
    const { repo, path, text } = repoWith('embedded', 'control-plane.json', (s) => (s.version = 2));
    for (const args of [
      ['plan', '.'],
      ['apply', '.', '--auto-approve'],
    ]) {
      const run = await inFolder(repo, args);
      expect([run.code, run.stderr]).toMatchObject([1, expect.stringMatching(newer(path, 2, 1))]);
    }
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('the embedded journal: an op this build does not know', async () => {
    const { repo, path } = repoWith('embedded', 'control-plane.json', () => {});
    const journal = `${path}.journal`;
    const lines = readFileSync(journal, 'utf8');
    const seq = lines.trimEnd().split('\n').length + 1;
    const added = `${lines}${JSON.stringify({ seq, op: { op: 'set_queue_budget', name: 'critical' } })}\n`;
    writeFileSync(journal, added);
    const run = await inFolder(repo, ['apply', '.', '--auto-approve']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `Error: ${journal}:${seq}: op "set_queue_budget" is of a format after 1, written by a newer poolsync; this poolsync (${version}) reads format 1: upgrade poolsync\n`,
    );
    expect(readFileSync(journal, 'utf8')).toBe(added);
  });

  it('the inventory: state list and apply refuse it', async () => {
    const file = 'control-plane.json.inventory.json';
    const { repo, path, text } = repoWith('embedded', file, (r) => (r.format = 4));
    for (const args of [
      ['state', 'list', '.'],
      ['apply', '.', '--auto-approve'],
    ]) {
      const run = await inFolder(repo, args);
      expect([run.code, run.stderr]).toMatchObject([1, expect.stringMatching(newer(path, 4, 3))]);
    }
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it("the inventory over REST: a newer client's is refused (400), one beside the state is not served (412)", async () => {
    const { path, text } = repoWith('embedded', 'control-plane.json.inventory.json', (r) => {
      r.format = 4;
    });
    const controlPlane = await EmbeddedControlPlane.open({
      path: path.replace(/\.inventory\.json$/, ''),
    });
    const server = await startControlPlaneServer({ controlPlane });
    try {
      const put = await fetch(`${server.url}/v1/inventory`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ format: 4, addresses: [], updated_at: 'now', commit: null }),
      });
      expect(put.status).toBe(400);
      expect(((await put.json()) as { message: string }).message).toMatch(
        /^the inventory sent is format 4, written by a newer poolsync; this poolsync \(.*\) reads format 3: upgrade poolsync$/,
      );
      const get = await fetch(`${server.url}/v1/inventory`);
      expect(get.status).toBe(412);
      expect(((await get.json()) as { message: string }).message).toMatch(/written by a newer/);
    } finally {
      await server.close();
      await controlPlane.close();
    }
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('the last-applied record: plan --refresh-only refuses it', async () => {
    const file = 'control-plane.json.last-applied.json';
    const { repo, path, text } = repoWith('embedded', file, (r) => (r.format_version = '2'));
    const run = await inFolder(repo, ['plan', '.', '--refresh-only']);
    expect([run.code, run.stderr]).toMatchObject([1, expect.stringMatching(newer(path, 2, 1))]);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it("the last-applied record's apply-started mark: plan --refresh-only refuses it", async () => {
    const record = repoWith('embedded', 'control-plane.json.last-applied.json', () => {});
    const mark = record.path.replace(/\.json$/, '.started.json');
    const text = '{"format_version":"2","started_at":"2030-01-01T00:00:00.000Z","commit":null}\n';
    writeFileSync(mark, text);
    const run = await inFolder(record.repo, ['plan', '.', '--refresh-only']);
    expect([run.code, run.stderr]).toMatchObject([1, expect.stringMatching(newer(mark, 2, 1))]);
    expect(readFileSync(mark, 'utf8')).toBe(text);
  });

  it('the last-applied record and its mark: apply leaves them as they are, warning', async () => {
    for (const [name, mark] of [
      ['record', false],
      ['mark', true],
    ] as const) {
      const record = repoWith('embedded', 'control-plane.json.last-applied.json', (r) => {
        if (!mark) r.format_version = '2';
      });
      const path = mark ? record.path.replace(/\.json$/, '.started.json') : record.path;
      const text = mark
        ? '{"format_version":"2","started_at":"2030-01-01T00:00:00.000Z","commit":null}\n'
        : record.text;
      writeFileSync(path, text);
      // A change to apply: the record is written after steps, the mark before them.
      writeFileSync(join(record.repo, 'queues', 'new-queue.yaml'), QUEUE_NEW);
      const run = await inFolder(record.repo, ['apply', '.', '--auto-approve']);
      expect([name, run.code]).toEqual([name, 0]);
      const line = `is format 2, written by a newer poolsync; this poolsync (${version}) reads format 1: upgrade poolsync`;
      expect(run.stderr, name).toContain(`${path} ${line}`);
      expect(readFileSync(path, 'utf8')).toBe(text);
    }
  });

  it('a saved plan: show and apply refuse it', async () => {
    const dir = tempFolder('poolsync-newer-plan-');
    const path = join(dir, 'plan.json');
    const plan = JSON.parse(readFileSync(join(BUILD, 'plan.json'), 'utf8')) as object;
    writeFileSync(path, JSON.stringify({ ...plan, format_version: '2' }));
    const repo = repoWith('embedded', 'control-plane.json', () => {}).repo;
    for (const args of [
      ['show', path],
      ['apply', path],
    ]) {
      const run = await inFolder(repo, args);
      const again = newer(path, 2, 1, ', or plan again with this version');
      expect([run.code, run.stderr]).toMatchObject([1, expect.stringMatching(again)]);
    }
  });

  it.each([['history.json'], ['suspended.json']])(
    "the daemon's %s: the daemon does not start, and the file is not set aside",
    async (file) => {
      const { repo, path, text } = repoWith('quickstart', join('daemon', file), (d) => {
        d.format = 2;
      });
      const run = await inFolder(repo, DAEMON);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(newer(path, 2, 1));
      expect(readFileSync(path, 'utf8')).toBe(text);
    },
  );

  it("the daemon's rollback.json: the daemon does not start, and the file is not set aside", async () => {
    const { repo } = repoWith('quickstart', join('daemon', 'history.json'), () => {});
    // A rollback in force as 62beced8 (27 Nov 2026) wrote it, its format raised past the first.
    const earlier = join(
      REPO_ROOT,
      'test',
      'fixtures',
      'daemon',
      'rollback-62beced8',
      'pinned.json',
    );
    const path = join(repo, '.poolsync', 'daemon', 'rollback.json');
    const text = JSON.stringify({
      format: 2,
      ...(JSON.parse(readFileSync(earlier, 'utf8')) as object),
    });
    writeFileSync(path, text);
    const run = await inFolder(repo, DAEMON);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(newer(path, 2, 1));
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});
