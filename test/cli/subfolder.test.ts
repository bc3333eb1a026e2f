/**
 * Run from a subfolder of a config repository (`cd queues && poolsync plan`, a hand-tester's
 * find): it said `. has no poolsync.yaml: the defaults are in use`, showed V2/V3 errors for what
 * the other folders declare and never named the `../poolsync.yaml` there; `apply` left a stray
 * `queues/.poolsync/`. A folder without poolsync.yaml whose ancestor in the same Git work tree
 * has one now names it (read-only commands, `state list`), and apply refuses it
 * (docs/getting-started.md).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';

const SPEC: RepoSpec = {
  pools: ['prod'],
  clusters: { 'prod-1': 'prod' },
  queues: { batch: { pool: 'prod', clusters: ['prod-1'] } },
};

/** A config repository in a Git work tree, its queues in `queues/`. */
async function repository(git = true): Promise<{ repo: string; queues: string }> {
  const repo = await writeRepo(join(await tempDir('poolsync-subfolder-'), 'repo'), SPEC);
  if (git) execFileSync('git', ['init', '--quiet', repo]);
  const queues = join(repo, 'queues');
  mkdirSync(queues);
  execFileSync('mv', [join(repo, 'queues.yaml'), join(queues, 'batch.yaml')]);
  return { repo, queues };
}

describe('a subfolder of a config repository', () => {
  it('plan and validate there name ../poolsync.yaml and where to run them', async () => {
    const { queues } = await repository();
    const cp = ['--control-plane', `file:${join(queues, '..', '..', 'cp.json')}`];
    const [plan, validate] = await Promise.all([
      runInProcess(['plan', ...cp], {}, queues),
      runInProcess(['validate'], {}, queues),
    ]);
    for (const [r, command] of [
      [plan, 'plan'],
      [validate, 'validate'],
    ] as const) {
      expect(r.stderr).toContain(
        `Note: . has no poolsync.yaml, but ../poolsync.yaml exists: . is a part of the config repository .., read here alone with the defaults (prune off, nothing ignored); run poolsync there: \`cd .. && poolsync ${command}\`.\n`,
      );
      expect(r.stderr).not.toContain('`poolsync init .` writes one');
      // What the other folders declare is missing here: the errors still say so.
      expect(r.stdout + r.stderr).toContain("pool 'prod' is not declared");
      expect(r.code).toBe(1);
    }
    // Named from the repository's root, the hint needs no `cd`.
    const named = await runInProcess(['validate', 'queues'], {}, join(queues, '..'));
    expect(named.stderr).toContain(
      'Note: queues has no poolsync.yaml, but poolsync.yaml exists: queues is a part of the config repository ., read here alone with the defaults (prune off, nothing ignored); run poolsync there: `poolsync validate`.\n',
    );
  });

  it('apply there is refused before anything is made: no stray .poolsync/', async () => {
    const { queues } = await repository();
    const r = await runInProcess(['apply', '--auto-approve'], {}, queues);
    expect(r.stderr).toBe(
      'Error: . has no poolsync.yaml, but ../poolsync.yaml exists: . is a part of the config repository .., and apply takes a whole one (its poolsync.yaml, every manifest, the .poolsync/ state of the folder it runs in); run it there: `cd .. && poolsync apply`. To apply . on its own, give it a poolsync.yaml (`poolsync init .`).\n',
    );
    expect(r.code).toBe(1);
    expect(existsSync(join(queues, '.poolsync'))).toBe(false);
  });

  it('state list there, which reads the default state of the folder it runs in, names the repository', async () => {
    const { queues } = await repository();
    const r = await runInProcess(['state', 'list'], {}, queues);
    expect(r.stdout).toContain('No inventory yet');
    expect(r.stderr).toBe(
      'Note: . has no poolsync.yaml, but ../poolsync.yaml exists: . is a part of the config repository ..; its state is in the .poolsync/ of the folder poolsync runs in for it: `cd .. && poolsync state list`.\n',
    );
    expect(r.code).toBe(0);
    expect(existsSync(join(queues, '.poolsync'))).toBe(false);
  });

  it('a folder with nothing to read names the repository above it too', async () => {
    const { repo } = await repository();
    const docs = join(repo, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'notes.md'), '# notes\n');
    const r = await runInProcess(['validate'], {}, docs);
    expect(r.stderr).toBe(
      'Error: . is not a poolsync config repository: it has no poolsync.yaml and no poolsync manifest, but ../poolsync.yaml exists: . is a part of the config repository ..; run poolsync there: `cd .. && poolsync validate`.\n',
    );
    expect(r.code).toBe(1);
  });

  it("a config repository below a monorepo's top, applied from the top: the .poolsync/ made there ignores itself, so a commit of everything takes no state (every command refused it after)", async () => {
    const mono = await tempDir('poolsync-monorepo-');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: mono,
        encoding: 'utf8',
      });
    git('init', '--quiet');
    // As `poolsync init infra/pools` leaves it: `.poolsync/` ignored there, not at the top.
    const pools = await writeRepo(join(mono, 'infra', 'pools'), SPEC);
    writeFileSync(join(pools, '.gitignore'), '.poolsync/\n');
    const applied = await runInProcess(['apply', 'infra/pools', '--auto-approve'], {}, mono);
    expect(applied.code).toBe(0);
    git('check-ignore', '--quiet', '.poolsync/control-plane.json');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'pools');
    expect(git('ls-files').split('\n')).not.toContainEqual(expect.stringMatching(/^\.poolsync/));
    const plan = await runInProcess(['plan', 'infra/pools', '--detailed-exitcode'], {}, mono);
    expect([plan.code, plan.stderr]).toEqual([0, '']);
  });

  it('outside a Git work tree, or above its root, the folder is read as before', async () => {
    const { queues } = await repository(false);
    const r = await runInProcess(['validate'], {}, queues);
    expect(r.stderr).toContain('Note: . has no poolsync.yaml: the defaults are in use');
    expect(r.stderr).not.toContain('../poolsync.yaml');
    // A Git work tree of its own inside the repository's: its root is where the look ends.
    const nested = await repository();
    execFileSync('git', ['init', '--quiet', nested.queues]);
    const own = await runInProcess(['validate'], {}, nested.queues);
    expect(own.stderr).toContain('Note: . has no poolsync.yaml: the defaults are in use');
    expect(own.stderr).not.toContain('../poolsync.yaml');
  });
});

describe('a config repository planned from the folder above it', () => {
  it('names the state the repository keeps, when the default (the working folder’s) does not exist', async () => {
    const { repo } = await repository();
    const own = await runInProcess(['apply', '--auto-approve'], {}, repo);
    expect(own.code).toBe(0);
    const above = join(repo, '..');
    const note =
      "Note: repo/.poolsync/control-plane.json exists, but no control plane was named, and the default is the working folder's .poolsync/control-plane.json, which does not exist: run poolsync in repo (`cd repo && poolsync COMMAND`), or pass `--control-plane file:repo/.poolsync/control-plane.json`.\n";
    const plan = await runInProcess(['plan', 'repo'], {}, above);
    expect(plan.stderr).toBe(note.replace('COMMAND', 'plan'));
    const apply = await runInProcess(['apply', 'repo', '--auto-approve'], {}, above);
    expect(apply.stderr).toBe(note.replace('COMMAND', 'apply'));
    expect(apply.code).toBe(0);
    // Named, it is that state: nothing to do, and nothing said.
    const named = ['--control-plane', 'file:repo/.poolsync/control-plane.json'];
    const planned = await runInProcess(
      ['plan', 'repo', ...named, '--detailed-exitcode'],
      {},
      above,
    );
    expect([planned.code, planned.stderr]).toEqual([0, '']);
  });
});
