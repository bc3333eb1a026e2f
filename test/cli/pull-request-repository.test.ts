/**
 * A pull request cannot take over another repository's prune scope (docs/plan.md, Prune scope):
 * the CLI in process, real Git, the embedded control plane. Repositories A and B apply one queue
 * each; a pull request on B naming A in poolsync.yaml `repository:` plans as B, fails with
 * REPOSITORY_CHANGED naming A's queue, and its apply in pull-request mode records and sends nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

const CONFIG = 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n';

const queue = (name: string) =>
  `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: ${name}\nspec:\n  pool: default\n  clusters: ["*"]\n  run_concurrency: 10\n  action_concurrency: 100\n`;

/** A Git repository with one queue, `origin` at github.com/acme/NAME, committed on main. */
function repository(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'queues'), { recursive: true });
  writeFileSync(join(dir, 'poolsync.yaml'), CONFIG);
  writeFileSync(join(dir, 'queues', `${name}.yaml`), queue(`${name}-queue`));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'remote', 'add', 'origin', `https://github.com/acme/${name}.git`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', `${name}'s queue`);
  return dir;
}

describe('a pull request keeps the base branch repository identity (docs/plan.md, Prune scope)', () => {
  it("a pull request on B setting repository: A plans as B, fails naming A's queue, and its apply is refused", async () => {
    const root = tempFolder('poolsync-prrepo-');
    const flags = [
      '--control-plane',
      `file:${join(root, 'cp.json')}`,
      '--state-dir',
      join(root, 'state'),
    ];
    const a = repository(root, 'team-a');
    const b = repository(root, 'team-b');
    for (const dir of [a, b]) {
      const applied = await runInProcess(['apply', dir, ...flags, '--auto-approve'], {});
      expect(applied.code, applied.stderr).toBe(0);
    }
    writeFileSync(join(b, 'poolsync.yaml'), `${CONFIG}repository: github.com/acme/team-a\n`);
    git(b, 'commit', '-qam', 'tidy config');
    const pr = { POOLSYNC_BASE_REF: 'main~1' };

    const plan = await runInProcess(['plan', b, ...flags, '--detailed-exitcode'], pr);
    expect(plan.code).toBe(1);
    const shown = plan.stdout + plan.stderr;
    expect(shown).toContain(
      'this pull request changes the repository identity from github.com/acme/team-b to github.com/acme/team-a (poolsync.yaml repository:)',
    );
    expect(shown).toContain(
      "github.com/acme/team-a's prune scope holds 1 object github.com/acme/team-b's does not: Queue/team-a-queue",
    );
    // Made as B: A's queue is A's, B's own is B's (no takeover, no conflict).
    expect(shown).not.toMatch(/- Queue\/team-a-queue/);
    expect(shown).not.toContain('REPOSITORY_CONFLICT');

    const json = await runInProcess(['plan', b, ...flags, '--output', 'json'], pr);
    const made = JSON.parse(json.stdout) as {
      errors: { code: string; message: string }[];
      inventory: { repository: string };
    };
    expect(made.inventory.repository).toBe('github.com/acme/team-b');
    expect(made.errors.map((e) => e.code)).toEqual(['REPOSITORY_CHANGED']);

    const apply = await runInProcess(['apply', b, ...flags, '--auto-approve'], pr);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain(
      'REPOSITORY_CHANGED: this pull request changes the repository identity',
    );
    // Nothing was recorded under the claimed name: each queue stays its own repository's.
    const list = await runInProcess(['state', 'list', a, ...flags, '--output', 'json'], {});
    const owners = (
      JSON.parse(list.stdout) as { objects: { address: string; repository: string }[] }
    ).objects.map((o) => [o.address, o.repository]);
    expect(owners).toEqual([
      ['Queue/team-a-queue', 'github.com/acme/team-a'],
      ['Queue/team-b-queue', 'github.com/acme/team-b'],
    ]);
  });
});
