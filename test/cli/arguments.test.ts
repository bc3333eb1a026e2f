/**
 * Issue 78, item 5: a flag without its value is refused, for every option of every command
 * (read from define.ts, so a new option is covered when it is added); an option given twice is
 * refused; other tools' commands get poolsync's word unless poolsync defines them; an
 * environment named by its start gets "did you mean"; every duration is bounded to what a timer
 * can hold. In process (src/cli/run.ts's main).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type Command } from '../../src/cli/define.js';
import { otherToolHint } from '../../src/cli/usage-error.js';
import { durationRefusal, MAX_DURATION_MS, parseDuration } from '../../src/util/duration.js';
import { runInProcess } from '../support/memory-io.js';
import { REPO_ROOT } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';

const HEADER = 'apiVersion: poolsync/v1\nkind: RepoConfig\n';
const ENV = { PATH: process.env.PATH, NO_COLOR: '1' };
// Each in a folder of its own: a check that fails lets a command run, which must not write
// into the checkout (test/setup/checkout-state-untouched.ts).
const poolsync = (...args: string[]) => runIn(args, { ...ENV, HOME: tempFolder('poolsync-home-') });
const runIn = (args: string[], env: NodeJS.ProcessEnv) =>
  runInProcess(args, env, tempFolder('poolsync-cwd-'));
const CONFIG_REPO = join(REPO_ROOT, 'examples/config-repo');

/** Every command of define.ts, subcommands too, with the words that name it (`state list`). */
function everyCommand(): { c: Command; parent: string[]; words: string[] }[] {
  const out: { c: Command; parent: string[]; words: string[] }[] = [];
  const visit = (c: Command, parent: string[]) => {
    const words = [...parent, c.command.split(' ')[0]!];
    out.push({ c, parent, words });
    for (const sub of c.subcommands ?? []) visit(sub, words);
  };
  for (const c of Object.values(COMMANDS)) visit(c, []);
  return out;
}

/** Each command's words (`state list`) and the options of it that take a value. */
function valuedOptions(): { words: string[]; option: string; number: boolean }[] {
  const out: { words: string[]; option: string; number: boolean }[] = [];
  for (const { c, words } of everyCommand()) {
    if (c.subcommands) continue;
    // Required positionals given (`promote <from>`): else yargs asks for them first; a run's
    // number is a number (`rollback <run>`).
    const given = [...c.command.matchAll(/<[^>]+>/g)].map((m) => (m[0] === '<run>' ? '1' : 'bash'));
    const y = (c.builder?.(yargs([]), {}) ?? yargs([])) as Argv & {
      getOptions(): {
        key: Record<string, unknown>;
        boolean: string[];
        count: string[];
        array: string[];
        number: string[];
      };
      getGroups(): Record<string, string[]>;
    };
    const o = y.getOptions();
    const not = new Set([
      ...o.boolean,
      ...o.count,
      ...o.array,
      ...(y.getGroups()['Positionals:'] ?? []),
      'help',
      'version',
    ]);
    for (const option of Object.keys(o.key))
      if (option.length > 1 && !not.has(option))
        out.push({ words: [...words, ...given], option, number: o.number.includes(option) });
  }
  return out;
}

describe('an option that takes a value', () => {
  const options = valuedOptions();

  it('are read from define.ts (the check can fail: plan --out is one of them)', () => {
    expect(options).toContainEqual({ words: ['plan'], option: 'out', number: false });
    expect(options).toContainEqual({
      words: ['state', 'show', 'bash'],
      option: 'control-plane',
      number: false,
    });
    expect(options.length).toBeGreaterThan(50);
  });

  it('is refused without its value, at the end of the line or before another option', async () => {
    const failed: string[] = [];
    for (const { words, option } of options) {
      for (const args of [
        [...words, `--${option}`],
        [...words, `--${option}`, '--no-such-option'],
      ]) {
        const r = await poolsync(...args);
        const said = `Error: Option --${option} needs a value: \`--${option} VALUE\``;
        if (r.code !== 1 || !r.stderr.startsWith(said) || r.stdout !== '')
          failed.push(`${args.join(' ')} → ${r.code}: ${r.stderr}${r.stdout.slice(0, 200)}`);
      }
    }
    expect(failed).toEqual([]);
  });

  it('is refused given empty or blank, for every option (an unset variable: `plan --out ""` saved nothing and exited 0, `daemon --state-dir ""` kept its state in the working folder)', async () => {
    const failed: string[] = [];
    for (const { words, option } of options) {
      for (const value of ['', ' ']) {
        const args = [...words, `--${option}`, value];
        const r = await poolsync(...args);
        // A whole number's own words come first (wholeNumber: `must be a whole number`).
        const said = new RegExp(`^Error: --${option} (is empty: give its value|must be a whole)`);
        if (r.code !== 1 || !said.test(r.stderr) || r.stdout !== '')
          failed.push(`${args.join(' ')} → ${r.code}: ${r.stderr}${r.stdout.slice(0, 200)}`);
      }
    }
    expect(failed).toEqual([]);
  });

  it('an empty required option is not told to leave the flag out (export --dir)', async () => {
    const r = await poolsync('export', '--dir', '');
    expect(r.stderr).toBe(
      'Error: --dir is empty: give its value (an unset variable?); it is required\n',
    );
    const optional = await poolsync('plan', '.', '--out', '');
    expect(optional.stderr).toMatch(
      /^Error: --out is empty: give its value \(an unset variable\?\), or leave the flag out\n/,
    );
  });

  it("a number is read by poolsync, never as yargs's `number` (it read `abc` as NaN and said NaN)", async () => {
    expect(options.filter((o) => o.number).map((o) => `${o.words[0]} --${o.option}`)).toEqual([]);
    const pr = await poolsync('plan', '.', '--comment', 'github', '--pr', 'abc');
    expect(pr.stderr).toMatch(/^Error: --pr must be a whole number of at least 1 \(got "abc"\)\n/);
    const notify = await poolsync('daemon', '--notify-max-per-minute', '1e3');
    expect(notify.stderr).toMatch(
      /^Error: --notify-max-per-minute must be a whole number of at least 1 \(got "1e3"\)\n/,
    );
  });

  it('plan --out without a value writes nothing and exits 1 (it exited 0)', async () => {
    const dir = tempFolder('poolsync-out-');
    const r = await runInProcess(
      ['plan', CONFIG_REPO, '--control-plane', `file:${join(dir, 'cp.json')}`, '--out'],
      { ...ENV, HOME: dir },
      dir,
    );
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'Error: Option --out needs a value: `--out VALUE` (or `--out=VALUE`).\nRun `poolsync plan --help` for the options.\n',
    });
  });

  it("plan --out naming a file that is no plan refuses and writes nothing (it replaced the control plane's state)", async () => {
    const dir = tempFolder('poolsync-out-');
    const state = join(dir, 'cp.json');
    const cp = ['--control-plane', `file:${state}`];
    const run = (...args: string[]) => runInProcess(args, { ...ENV, HOME: dir }, dir);
    expect((await run('apply', CONFIG_REPO, ...cp, '--auto-approve')).code).toBe(0);
    const before = readFileSync(state, 'utf8');
    const r = await run('plan', CONFIG_REPO, ...cp, '--out', state);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: --out ${state}: the file exists and is not a poolsync plan file, so the plan was not saved over it; choose another --out, or remove the file first\n`,
    );
    expect(readFileSync(state, 'utf8')).toBe(before);
    // Planned again to the same path, a saved plan is written over as before.
    const plan = join(dir, 'plan.json');
    expect((await run('plan', CONFIG_REPO, ...cp, '--out', plan)).code).toBe(0);
    expect((await run('plan', CONFIG_REPO, ...cp, '--out', plan)).code).toBe(0);
  });

  it('given twice is refused, not read as a list (export --dir a --dir b was an internal error)', async () => {
    const r = await poolsync('export', '--dir', 'a', '--dir', 'b');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: Option --dir was given 2 times ("a", "b"): give it once.\n');
    // A number too (it took the last one silently).
    const n = await poolsync('plan', CONFIG_REPO, '--max-retries', '2', '--max-retries', '3');
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(
      /^Error: Option --max-retries was given 2 times \("2", "3"\): give it once\.\n/,
    );
  });
});

describe('a command without its required positional', () => {
  /** Each (sub)command's words and usage form with a `<required>` positional (define.ts). */
  const required = () =>
    everyCommand().flatMap(({ c, parent, words }) => {
      const first = /<[^>]+>/.exec(c.command)?.[0];
      return first ? [{ words, form: [...parent, c.command].join(' '), first }] : [];
    });

  it('names it and the usage form, for every such command (yargs said "Not enough non-option arguments: got 0, need at least 1")', async () => {
    const cases = required();
    expect(cases.map((c) => c.words.join(' '))).toContain('state show');
    for (const { words, form, first } of cases) {
      const r = await poolsync(...words);
      expect(r.code, words.join(' ')).toBe(1);
      expect(r.stderr).toBe(
        `Error: \`poolsync ${words.join(' ')}\` needs ${first}: \`poolsync ${form}\`.\n` +
          `Run \`poolsync ${words.join(' ')} --help\` for usage.\n`,
      );
    }
  });
});

describe('an unknown option', () => {
  // yargs checks required arguments first: `export --bogus` said `Missing required argument: dir`,
  // `show --bogus` that it needs <planfile>.
  it('is said first, before a required argument or positional that is missing, by every command', async () => {
    const failed: string[] = [];
    const leaves = everyCommand().filter(({ c }) => !c.subcommands);
    for (const { words } of leaves) {
      const r = await poolsync(...words, '--bogus');
      const said = `Error: Unknown option --bogus.\nRun \`poolsync ${words.join(' ')} --help\` for the options.\n`;
      if (r.code !== 1 || r.stderr !== said)
        failed.push(`${words.join(' ')} → ${r.code}: ${r.stderr}`);
    }
    expect(failed).toEqual([]);
    expect(leaves.map(({ words }) => words.join(' '))).toEqual(
      expect.arrayContaining(['export', 'show', 'state show']),
    );
  });

  it('with every option known, the missing argument is said', async () => {
    const r = await poolsync('export');
    expect(r.stderr).toMatch(/^Error: Missing required argument: dir\n/);
    expect((await poolsync('show')).stderr).toMatch(/^Error: `poolsync show` needs <planfile>/);
  });
});

describe("yargs's other refusals, in poolsync's words", () => {
  it.each([
    // A choice (yargs: "Invalid values: Argument: output, Given: …, Choices: …").
    [
      ['plan', '.', '-o', 'jsn', '--log-format', 'xml'],
      '--output "jsn" is not one of text, json, markdown: did you mean json?\n--log-format "xml" is not one of auto, json, pretty.\nRun `poolsync plan --help` for usage.',
    ],
    [
      ['render', 'fly'],
      '<what> "fly" is not one of flyte-core-values, union-cluster-pools: did you mean flyte-core-values?\nRun `poolsync render --help` for usage.',
    ],
    // A subcommand's own help, not its parent's.
    [
      ['state', 'list', '--bogus'],
      'Unknown option --bogus.\nRun `poolsync state list --help` for the options.',
    ],
    // Not a command at all (it said: Unexpected argument "bogus").
    [['bogus'], 'Unknown command "bogus".\nRun `poolsync --help` for the commands.'],
    // A global option's value before the command is no command.
    [
      ['--log-format', 'pretty', 'validate', '.', '--bogus'],
      'Unknown option --bogus.\nRun `poolsync --help` for the options.',
    ],
    // No command (it said "see `poolsync --help`" twice).
    [['--no-color'], 'Name a command.\nRun `poolsync --help` for usage.'],
    // A folder where the command takes --dir: how to give it; anything else is only unexpected.
    [
      ['import', 'Queue/default', CONFIG_REPO],
      `Unexpected argument "${CONFIG_REPO}": give the folder with --dir (\`--dir ${CONFIG_REPO}\`).\nRun \`poolsync import --help\` for the options.`,
    ],
    [
      ['export', CONFIG_REPO],
      `Unexpected argument "${CONFIG_REPO}": give the folder with --dir (\`--dir ${CONFIG_REPO}\`).\nRun \`poolsync export --help\` for the options.`,
    ],
    [
      ['export', 'bogus'],
      'Unexpected argument "bogus".\nRun `poolsync export --help` for the options.',
    ],
    // The singular of a plural option (edit distance 3: no hint before); --policy is the
    // daemon's, the mix-up docs/policies.md warns of.
    [
      ['plan', '.', '--policy', 'policies'],
      "Unknown option --policy: did you mean --policies? (--policy none|safe|all is the daemon's: what it applies by itself; --policies names a folder of Rego policies)\nRun `poolsync plan --help` for the options.",
    ],
    // A short option written out, past any edit distance.
    [
      ['plan', '.', '--environment', 'production'],
      'Unknown option --environment: did you mean --env?\nRun `poolsync plan --help` for the options.',
    ],
    // approve's --policies takes no folder: the hint says what it is there.
    [
      ['approve', '--policy', 'sha256:0123'],
      "Unknown option --policy: did you mean --policies? (--policy none|safe|all is the daemon's: what it applies by itself; in approve, --policies approves the policy failures a daemon holds, FINGERPRINT being their digest (`poolsync approve --policies DIGEST --reason WHY --as OWNER`))\nRun `poolsync approve --help` for the options.",
    ],
  ])('%j', async (args, said) => {
    const r = await poolsync(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: ${said}\n`);
  });
});

describe("other tools' commands", () => {
  it.each([
    [
      ['state', 'mv', 'Queue/a', 'Queue/b'],
      'Unknown command "state mv": an object is its name on the control plane',
    ],
    [['events'], 'Unknown command "events": the daemon\'s runs, newest first: `poolsync history'],
    [['logs'], 'Unknown command "logs": the daemon\'s logs are its standard output'],
    [['state', 'lst'], 'Unknown command "state lst": did you mean `poolsync state list`?'],
  ])('%j says what poolsync has instead', async (args, said) => {
    const r = await poolsync(...args);
    expect(r.code).toBe(1);
    expect(r.stderr.startsWith(`Error: ${said}`), r.stderr).toBe(true);
    expect(r.stderr).not.toMatch(/did you mean `?poolsync rm/);
  });

  it('are no hint once poolsync defines them (a defined command or alias wins)', () => {
    // `rollback` had a hint until poolsync defined it (issue 76): the command wins.
    expect(otherToolHint(['rollback'])).toBeNull();
    const events: Command = { command: 'events', describe: 'events' };
    expect(otherToolHint(['events'])).not.toBeNull();
    expect(otherToolHint(['events'], { ...COMMANDS, events })).toBeNull();
    const aliased: Command = { command: 'runs', aliases: ['events'], describe: 'runs' };
    expect(otherToolHint(['events'], { ...COMMANDS, runs: aliased })).toBeNull();
    const state = COMMANDS.state!;
    const withMv = {
      ...state,
      subcommands: [...state.subcommands!, { command: 'mv <a> <b>', describe: '' }],
    };
    expect(otherToolHint(['state', 'mv'])).not.toBeNull();
    expect(otherToolHint(['state', 'mv'], { ...COMMANDS, state: withMv })).toBeNull();
    // poolsync's own commands are never hinted at.
    for (const name of Object.keys(COMMANDS)) expect(otherToolHint([name])).toBeNull();
  });
});

describe('an environment named by its start', () => {
  it('--env prod: did you mean production', async () => {
    const r = await poolsync('plan', join(REPO_ROOT, 'examples/environments'), '--env', 'prod');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "no environment 'prod' in poolsync.yaml (did you mean 'production'?)",
    );
  });

  it('a start that two environments share, or one letter, is no hint', async () => {
    const dir = tempFolder('poolsync-envs-');
    writeFileSync(
      join(dir, 'poolsync.yaml'),
      `${HEADER}environments:\n  prod-eu:\n    controlPlane: file:eu.json\n    folders: [.]\n  prod-us:\n    controlPlane: file:us.json\n    folders: [.]\n`,
    );
    const r = await poolsync('plan', dir, '--env', 'prod');
    expect(r.stderr).toContain(
      "no environment 'prod' in poolsync.yaml; its environments: prod-eu, prod-us",
    );
  });
});

describe('durations', () => {
  it('are bounded to what a timer holds (2^31 - 1 ms): 596h is taken, 597h refused', () => {
    expect(parseDuration('596h')).toBe(596 * 3_600_000);
    expect(parseDuration('597h')).toBeNull();
    expect(parseDuration(`${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
    expect(parseDuration(`${MAX_DURATION_MS + 1}ms`)).toBeNull();
    expect(durationRefusal('597h', '5s')).toBe(
      '"597h" is longer than a timer can wait (2^31 - 1 ms, about 24.8 days); give at most 596h',
    );
    expect(durationRefusal('soon', '5s')).toBe('"soon" is not a duration; write it like 5s');
  });

  it('a timer past the bound fires at once (why the bound)', async () => {
    const started = performance.now();
    // Node warns (TimeoutOverflowWarning) and fires it after 1 ms: 597h, "no answer within 597h".
    const fired = await new Promise<number>((resolve) => {
      const warn = process.emitWarning;
      process.emitWarning = () => {};
      setTimeout(() => resolve(performance.now() - started), 597 * 3_600_000);
      process.emitWarning = warn;
    });
    expect(fired).toBeLessThan(60_000);
  });

  it.each([
    [
      ['plan', CONFIG_REPO, '--call-timeout', '597h'],
      '--call-timeout: "597h" is longer than a timer can wait',
    ],
    [
      ['apply', CONFIG_REPO, '--lock-timeout', '1000h'],
      '--lock-timeout "1000h" is longer than a timer can wait',
    ],
  ])('%j is refused in one line', async (args, said) => {
    const r = await poolsync(
      ...args,
      '--control-plane',
      `file:${join(tempFolder('poolsync-cp-'), 'cp.json')}`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: ${said} (2^31 - 1 ms, about 24.8 days); give at most 596h\n`);
  });

  it('from a variable and from poolsync.yaml too', async () => {
    const r = await runIn(
      [
        'plan',
        CONFIG_REPO,
        '--control-plane',
        `file:${join(tempFolder('poolsync-cp-'), 'cp.json')}`,
      ],
      { ...ENV, HOME: tempFolder('poolsync-home-'), POOLSYNC_READ_TIMEOUT: '30d' },
    );
    expect(r.stderr).toContain('"30d" is not a duration');
    const long = await runIn(
      [
        'plan',
        CONFIG_REPO,
        '--control-plane',
        `file:${join(tempFolder('poolsync-cp-'), 'cp.json')}`,
      ],
      { ...ENV, HOME: tempFolder('poolsync-home-'), POOLSYNC_READ_TIMEOUT: '700h' },
    );
    expect(long.code).toBe(1);
    expect(long.stderr).toBe(
      'Error: environment variable POOLSYNC_READ_TIMEOUT: "700h" is longer than a timer can wait (2^31 - 1 ms, about 24.8 days); give at most 596h\n',
    );
    const dir = tempFolder('poolsync-envs-');
    writeFileSync(
      join(dir, 'poolsync.yaml'),
      `${HEADER}environments:\n  prod:\n    controlPlane: file:prod.json\n    folders: [.]\n    driftInterval: 600h\n`,
    );
    const drift = await poolsync('validate', dir);
    expect(drift.code).toBe(1);
    expect(`${drift.stdout}${drift.stderr}`).toContain(
      "driftInterval '600h' must be a duration from 1s to 596h (what a timer can wait)",
    );
  });
});
