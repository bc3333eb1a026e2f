/**
 * `poolsync plan . --out plan.yaml` in the config folder (a hand-tester's find) saved the plan,
 * and every later plan failed on it (`SCHEMA a plan poolsync saved… not a manifest`). Such an
 * --out is refused before anything is planned, as render's is (docs/plan.md); a .json name, a
 * path outside the folder or one under `ignore:` is saved as before.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir, writeRepo } from '../support/repo.js';

async function setup() {
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), { pools: ['prod'] });
  const cp = ['--control-plane', `file:${join(root, 'cp.json')}`];
  return {
    root,
    repo,
    plan: (out: string) => runCli(['plan', '.', ...cp, '--out', out], {}, repo),
  };
}

describe('plan --out', () => {
  it('a YAML file the next plan would read as a manifest is refused, nothing planned or written', async () => {
    const { repo, plan } = await setup();
    const r = await plan('plans/plan.yaml');
    expect(r.stderr).toBe(
      'Error: --out plans/plan.yaml is in the config folder ., where every YAML file is read as a manifest: the next plan would fail on it. ' +
        'Save the plan outside the folder, or under a .json name (plan.json is never read as a manifest), or add it to ignore: in poolsync.yaml\n',
    );
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(existsSync(join(repo, 'plans'))).toBe(false);
  });

  it.each(['plan.json', '../plan.yaml', 'drafts/plan.yaml'])(
    '%s is saved, and the next plan reads the folder as before',
    async (out) => {
      const { repo, plan } = await setup();
      const config = join(repo, 'poolsync.yaml');
      await writeFile(
        config,
        (await readFile(config, 'utf8')).replace('ignore: []', 'ignore: [drafts/**]'),
      );
      await mkdir(join(repo, 'drafts'));
      const saved = await plan(out);
      expect(saved.stderr).toBe('');
      expect(saved.code).toBe(0);
      expect(existsSync(join(repo, out))).toBe(true);
      expect((await plan(join('..', 'again.json'))).code).toBe(0);
    },
  );

  it('anything but a regular file (or none) is refused before planning, naming it; so is a file that is no plan', async () => {
    const { root, plan } = await setup();
    execFileSync('mkfifo', [join(root, 'fifo')]);
    symlinkSync(join(root, 'elsewhere.json'), join(root, 'link.json'));
    await writeFile(join(root, 'notes.txt'), 'mine\n');
    const onStdout =
      'name a file (the plan on stdout is `--output json`, sealed as a plan file is)';
    const notRegular = (path: string, kind: string) =>
      `Error: --out ${path} is a ${kind}, not a regular file: a plan is saved only to a regular file, which \`poolsync apply\` reads back, never through a link; ${onStdout}\n`;
    const cases: [string, string][] = [
      ['/dev/null', notRegular('/dev/null', 'device')],
      ['/dev/stdout', notRegular('/dev/stdout', 'symbolic link')],
      [join(root, 'fifo'), notRegular(join(root, 'fifo'), 'FIFO')],
      [join(root, 'link.json'), notRegular(join(root, 'link.json'), 'symbolic link')],
      [root, notRegular(root, 'folder')],
      ['-', `Error: --out - names no file: a plan is saved only to a file; ${onStdout}\n`],
      [
        join(root, 'notes.txt'),
        `Error: --out ${join(root, 'notes.txt')}: the file exists and is not a poolsync plan file, so the plan was not saved over it; choose another --out, or remove the file first\n`,
      ],
    ];
    for (const [out, said] of cases) {
      const r = await plan(out);
      expect([out, r.stderr]).toEqual([out, said]);
      expect([out, r.stdout, r.code]).toEqual([out, '', 1]);
    }
    expect(existsSync(join(root, 'elsewhere.json'))).toBe(false);
    expect(await readFile(join(root, 'notes.txt'), 'utf8')).toBe('mine\n');
  });
});
