/**
 * `--log-format json` on every command: what a command writes to stderr becomes JSON lines in
 * the daemon's shape (pino levels), stdout stays the command's output; every command's --help
 * lists the option.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/define.js';
import { runCli, startCli } from '../support/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsync-log-format-'));
  writeFileSync(join(dir, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
  writeFileSync(
    join(dir, 'q.yaml'),
    'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: Bad_Name}\nspec: {}\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function records(stderr: string): { level: number; msg: string; command: string }[] {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines.length).toBeGreaterThan(0);
  return lines.map((l) => JSON.parse(l) as { level: number; msg: string; command: string });
}

describe('--log-format json', () => {
  it('plan: validation errors on stderr as JSON records, the plan output untouched', async () => {
    const r = await runCli([
      'plan',
      dir,
      '-o',
      'json',
      '--log-format',
      'json',
      '--control-plane',
      `file:${join(dir, 'cp.json')}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const recs = records(r.stderr);
    expect(recs[0]).toMatchObject({ level: 50, command: 'plan' });
    expect(recs[0]!.msg).toMatch(/q\.yaml:3:\d+: SCHEMA/);
    expect(recs.at(-1)!.msg).toBe('The repository is invalid: nothing was planned.');
  }, 30_000);

  it('a user error and a flag error, from the environment too', async () => {
    const apply = await runCli(['apply', join(dir, 'nope'), '--log-format=json']);
    expect(apply.code).toBe(1);
    expect(records(apply.stderr)[0]).toMatchObject({ level: 50, command: 'apply' });
    expect(records(apply.stderr)[0]!.msg).toMatch(/nope does not exist/);
    const flag = await runCli(['export', '--dir', 'out', '--bogus'], {
      POOLSYNC_LOG_FORMAT: 'json',
    });
    expect(records(flag.stderr)[0]).toMatchObject({ level: 50, msg: 'Unknown option --bogus.' });
    const text = await runCli(['export', '--dir', 'out', '--bogus']);
    expect(text.stderr).toMatch(/^Error: Unknown option --bogus\./);
  }, 30_000);

  it('the daemon: a configuration error is a JSON record with the daemon’s time format', async () => {
    const r = await runCli([
      'daemon',
      '--log-format',
      'json',
      '--watch',
      dir,
      '--poll-interval',
      '5',
    ]);
    expect(r.code).toBe(1);
    const recs = records(r.stderr) as unknown as {
      level: number;
      msg: string;
      time: string;
      name: string;
    }[];
    expect(recs[0]).toMatchObject({ level: 50, command: 'daemon', name: 'poolsync-daemon' });
    expect(recs[0]!.msg).toMatch(/poll-interval/);
    // pino's isoTime, as every daemon log line has it.
    expect(recs[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const plan = await runCli(['apply', join(dir, 'nope'), '--log-format=json']);
    expect((records(plan.stderr)[0] as unknown as { time: string }).time).toMatch(/Z$/);
  }, 30_000);

  it("the daemon's --log-format pretty is pino-pretty's lines on the process's own stdout (it was JSON: run.ts's wrapper hid the stream)", async () => {
    const args = [
      'daemon',
      '--watch',
      dir,
      '--once',
      '--log-format',
      'pretty',
      '--listen',
      '127.0.0.1:0',
      // Its state in the test's folder: the child runs in the repository's root.
      '--state-dir',
      join(dir, 'state'),
      '--control-plane',
      `file:${join(dir, 'cp.json')}`,
    ];
    const r = await startCli(args).done;
    expect(r.stdout).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR): /m);
    expect(r.stdout).not.toMatch(/^\{/m);
  }, 60_000);

  it('POOLSYNC_LOG_FORMAT outside its choices is refused as the daemon refuses it; the flag wins', async () => {
    const said =
      'Error: environment variable POOLSYNC_LOG_FORMAT: "JSON" is not one of auto, json, pretty.\n';
    for (const args of [
      ['validate', dir],
      ['daemon', '--watch', dir, '--once'],
    ]) {
      const r = await runCli(args, { POOLSYNC_LOG_FORMAT: 'JSON' });
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr, args[0]).toBe(said);
    }
    const flagged = await runCli(['validate', dir, '--log-format', 'pretty'], {
      POOLSYNC_LOG_FORMAT: 'JSON',
    });
    expect(flagged.stderr).not.toContain('POOLSYNC_LOG_FORMAT');
    expect(flagged.stdout).toMatch(/Bad_Name/);
  }, 30_000);

  it('is in every command’s --help', async () => {
    const names = Object.keys(COMMANDS);
    const helps = await Promise.all(names.map((n) => runCli([n, '--help'])));
    for (const [i, h] of helps.entries()) expect(h.stdout, names[i]).toContain('--log-format');
  }, 90_000);
});
