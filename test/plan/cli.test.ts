/** `poolsync plan` and `poolsync show` in process: exit codes, --out + show, bad inputs. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePlanFile } from '../../src/render/plan-file.js';
import { runInProcess } from '../support/memory-io.js';

const tmp = mkdtempSync(join(tmpdir(), 'poolsync-plan-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function poolsync(...args: string[]) {
  return runInProcess(args, {
    ...process.env,
    NO_COLOR: '',
    POOLSYNC_CONTROL_PLANE: '',
    POOLSYNC_TOKEN: '',
  });
}

describe('poolsync plan / show', { timeout: 90_000 }, () => {
  const cp = `file:${join(tmp, 'cp.json')}`;
  const planFile = join(tmp, 'plan.json');

  it('plans the example against an empty control plane; --detailed-exitcode gives 2; --out saves JSON', async () => {
    const r = await poolsync(
      'plan',
      'examples/config-repo',
      '--control-plane',
      cp,
      '--detailed-exitcode',
      '--out',
      planFile,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(
      /Plan: \d+ to create, 1 to update, 0 to replace, 0 to delete, 0 blocked\./,
    );
    expect(r.stdout).not.toContain('\x1b['); // not a TTY: no colour
    const plan = parsePlanFile(readFileSync(planFile, 'utf8'), planFile, { key: null });
    expect(plan.steps.length).toBeGreaterThan(0);
  });

  it('without --detailed-exitcode a plan with changes exits 0', async () => {
    expect((await poolsync('plan', 'examples/config-repo', '--control-plane', cp)).code).toBe(0);
  });

  it('show renders a saved plan in every format', async () => {
    const text = await poolsync('show', planFile);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('+ ClusterPool/prod');
    const json = await poolsync('show', planFile, '--output', 'json');
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(readFileSync(planFile, 'utf8')));
    expect((await poolsync('show', planFile, '--output', 'markdown')).stdout).toMatch(
      /^\*\*Plan: /,
    );
  });

  it('--detailed-exitcode exits 0 once applied (no changes)', async () => {
    const applied = await poolsync('apply', planFile, '--control-plane', cp, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    const r = await poolsync(
      'plan',
      'examples/config-repo',
      '--control-plane',
      cp,
      '--detailed-exitcode',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Control plane: embedded file:\/.*cp\.json\n\nNo changes\./);
  });

  it('an invalid repository prints validation errors and exits 1 without planning', async () => {
    const repo = join(tmp, 'bad-repo');
    cpSync('examples/config-repo', repo, { recursive: true });
    writeFileSync(
      join(repo, 'queues', 'broken.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: broken\nspec:\n  pool: nowhere\n  run_concurrency: 1\n  action_concurrency: 1\n',
    );
    const r = await poolsync('plan', repo, '--control-plane', cp, '--output', 'json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: V2/);
    // Markdown is the pull-request comment's body (docs/pull-request-comments.md), on stdout.
    const md = await poolsync('plan', repo, '--control-plane', cp, '--output', 'markdown');
    expect(md.code).toBe(1);
    expect(md.stdout).toMatch(
      /^\*\*The repository is invalid \(1 error\): nothing can be applied from this commit\.\*\* Fix these and push again:\n\n```text\nqueues\/broken\.yaml:\d+:\d+: V2 [^\n]+\n1 error in 1 file\.\n```\n$/,
    );
    expect(md.stderr).toContain('The repository is invalid: nothing was planned.');
  });

  it('prevent-destroy makes the plan fail with exit 1 and the manifest location', async () => {
    const repo = join(tmp, 'guarded');
    cpSync('examples/config-repo', repo, { recursive: true });
    const own = `file:${join(tmp, 'guarded-cp.json')}`;
    // Applied from the folder then changed: one repository (docs/plan.md, Prune scope).
    expect((await poolsync('apply', repo, '--control-plane', own, '--auto-approve')).code).toBe(0);
    const file = join(repo, 'clusters', 'dev', 'dev-us-central1.yaml');
    writeFileSync(
      file,
      'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: dev-us-central1\n  annotations:\n    poolsync/prevent-destroy: "true"\nspec:\n  pool: prod\n',
    );
    const r = await poolsync(
      'plan',
      repo,
      '--control-plane',
      own,
      '--out',
      join(tmp, 'never.json'),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /PREVENT_DESTROY Cluster\/dev-us-central1 at clusters\/dev\/dev-us-central1\.yaml:\d+:\d+/,
    );
    expect(r.stdout).toContain('nothing will be applied');
    expect(r.stderr).toContain('not saved');
  });

  it.each([
    ['a missing file', join(tmp, 'nope.json'), /does not exist/],
    ['a file that is not JSON', 'README.md', /not a plan: not JSON/],
    ['JSON that is not a plan', 'package.json', /not a plan: it has no format_version/],
  ])('show refuses %s with exit 1 and no stack trace', async (_what, path, message) => {
    const r = await poolsync('show', path);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an empty plan file and a cut one say so, and to make the plan again', async () => {
    const empty = join(tmp, 'empty.json');
    const cut = join(tmp, 'cut.json');
    writeFileSync(empty, '');
    const whole = readFileSync(planFile, 'utf8');
    writeFileSync(cut, whole.slice(0, whole.length / 2));
    const again = 'make the plan again with `poolsync plan --out FILE`';
    for (const command of ['show', 'apply']) {
      const e = await poolsync(command, empty);
      expect(e.code).toBe(1);
      expect(e.stderr).toBe(`Error: ${empty} is empty (0 bytes), not a plan; ${again}\n`);
      const c = await poolsync(command, cut);
      expect(c.code).toBe(1);
      expect(c.stderr).toBe(
        `Error: ${cut} is not a plan: it ends before the JSON does (truncated?); ${again}\n`,
      );
    }
  });

  it('show refuses a plan of another format_version', async () => {
    const other = join(tmp, 'v2.json');
    writeFileSync(
      other,
      JSON.stringify({ ...JSON.parse(readFileSync(planFile, 'utf8')), format_version: '2' }),
    );
    const r = await poolsync('show', other);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /is format 2, written by a newer poolsync; .* reads format 1: upgrade poolsync/,
    );
  });

  it('a missing folder and an unreadable token file are user errors', async () => {
    expect((await poolsync('plan', join(tmp, 'missing'))).stderr).toMatch(
      /folder .* does not exist: point poolsync at the config folder .* or start one with `poolsync init DIR`/,
    );
    const r = await poolsync(
      'plan',
      'examples/config-repo',
      '--control-plane',
      'http://127.0.0.1:9',
      '--token-file',
      join(tmp, 'no-token'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: --token-file .*no-token does not exist: correct the path/);
  });
});
