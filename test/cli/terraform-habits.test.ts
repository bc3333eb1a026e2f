/**
 * What a Terraform user types works, or says what was meant (issue 24): single-dash spellings,
 * the closest names for an unknown --target, a targeted plan that shows the values apply
 * leaves, `plan --refresh-only` reading without the write lock and with plan's credentials,
 * and `--lock-timeout`. The CLI in child processes, the embedded control plane on disk.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireApplyLock, lockPathFor } from '../../src/apply/lock.js';
import { lastAppliedPathFor, writeLastApplied } from '../../src/apply/last-applied.js';
import { COMMANDS } from '../../src/cli/define.js';
import { singleDashError } from '../../src/cli/usage-error.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import { runCli, startCli } from '../support/cli.js';
import { runInProcess } from '../support/memory-io.js';

let dir: string;
let repo: string;
let cpPath: string;
let cp: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsync-habits-'));
  repo = join(dir, 'repo');
  cpSync('examples/config-repo', repo, { recursive: true });
  // Settings for the co-named queue registering prod-us-west-2 creates (C2).
  writeFileSync(
    join(repo, 'queues/prod/prod-us-west-2.yaml'),
    'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: prod-us-west-2\nspec:\n  run_concurrency: 42\n  action_concurrency: 400\n  depth: 2000\n  priority: max\n',
  );
  cpPath = join(dir, 'cp.json');
  cp = `file:${cpPath}`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('single-dash Terraform spellings', () => {
  it('say the two-dash option instead of "Unknown arguments: t, a, r, g, e"', async () => {
    const target = await runCli(['plan', repo, '-target=Cluster/prod-us-west-2']);
    expect(target.code).toBe(1);
    expect(target.stderr).toBe(
      "Error: -target=Cluster/prod-us-west-2: poolsync's options take two dashes: did you mean `--target=Cluster/prod-us-west-2`?\n",
    );
    expect(singleDashError(['apply', '-auto-approve'])?.message).toMatch(
      /did you mean `--auto-approve`\?/,
    );
    expect(singleDashError(['plan', '-out=plan.json'])?.message).toMatch(
      /did you mean `--out=plan.json`\?/,
    );
    expect(singleDashError(['apply', '-lock-timeout=5m'])?.message).toMatch(
      /did you mean `--lock-timeout=5m`\?/,
    );
    expect(singleDashError(['plan', '-json'])?.message).toMatch(/did you mean `--output json`\?/);
    expect(singleDashError(['plan', '.', '-ojson'])?.message).toBe(
      '-ojson: did you mean `-o json`? (-o takes its value after a space)',
    );
    expect(singleDashError(['validate', '-chdir=repo'])?.message).toMatch(
      /^-chdir=repo: poolsync has no -chdir: name the config folder as the command's DIR/,
    );
    expect(singleDashError(['plan', '-var', 'x=1'])?.message).toMatch(
      /^-var: poolsync has no variables: .*`--env NAME`/,
    );
    // Short options, two-dash options, negative numbers and words after `--` are left alone.
    for (const ok of [
      ['plan', '-o', 'json'],
      ['plan', '--target', 'Cluster/x'],
      ['apply', '--parallelism', '-1'],
      ['plan', '--', '-target'],
    ])
      expect(singleDashError(ok)).toBeNull();
  });
});

describe('--json', () => {
  it('says `--output json` on every command with that output, as -json does', async () => {
    for (const args of [['show', 'plan.json'], ['plan', repo], ['validate', repo], ['status']]) {
      const r = await runInProcess([...args, '--json'], {});
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr, args[0]).toBe(
        `Error: Unknown option --json: did you mean \`--output json\`?\nRun \`poolsync ${args[0]} --help\` for the options.\n`,
      );
    }
    // A command without `--output json` gets no such hint.
    const promote = await runInProcess(['promote', 'staging', repo, '--json'], {});
    expect(promote.stderr).toBe(
      'Error: Unknown option --json.\nRun `poolsync promote --help` for the options.\n',
    );
  });
});

describe('--target', () => {
  it('an unknown address gets the closest names', async () => {
    const r = await runCli([
      'plan',
      repo,
      '--control-plane',
      cp,
      '--target',
      'Cluster/prod-us-west2',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /--target Cluster\/prod-us-west2: no such object in the repository or on the control plane \(did you mean Cluster\/prod-us-west-2\?\)/,
    );
    const kind = await runCli([
      'plan',
      repo,
      '--control-plane',
      cp,
      '--target',
      'Cluster/critical',
    ]);
    expect(kind.stderr).toMatch(/\(did you mean Queue\/critical/);
  });

  it('a targeted plan shows what apply leaves: a co-named queue with the defaults its registration creates', async () => {
    const json = await runCli([
      'plan',
      repo,
      '--control-plane',
      cp,
      '--target',
      'Cluster/prod-us-west-2',
      '-o',
      'json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    const plan = JSON.parse(json.stdout) as Plan;
    const queue = plan.changes.find((c) => c.address === 'Queue/prod-us-west-2')!;
    expect(queue.after).toMatchObject({ run_concurrency: 0 }); // the C2 default, not 42
    expect(queue.note).toMatch(
      /not applied by this partial plan \(add --target Queue\/prod-us-west-2\)/,
    );
    expect(plan.steps.some((s) => s.target === 'Queue/prod-us-west-2')).toBe(false);
    // The full plan sets the repository's value after the registration.
    const full = JSON.parse(
      (await runCli(['plan', repo, '--control-plane', cp, '-o', 'json'])).stdout,
    ) as Plan;
    const fullQueue = full.changes.find((c) => c.address === 'Queue/prod-us-west-2')!;
    expect(fullQueue.after).toMatchObject({ run_concurrency: 42 });

    const applied = await runCli([
      'apply',
      repo,
      '--control-plane',
      cp,
      '--auto-approve',
      '--target',
      'Cluster/prod-us-west-2',
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    const c = await EmbeddedControlPlane.open({ path: cpPath, readOnly: true });
    try {
      const {
        name: _n,
        cluster_managed: _m,
        available_clusters: _a,
        ...live
      } = await c.getQueue('prod-us-west-2');
      expect(live).toEqual(queue.after);
    } finally {
      await c.close();
    }
  });
});

describe('plan --refresh-only', () => {
  it('reads without the write lock (while another process has the state open) and takes --api-key-file', async () => {
    const applied = await runCli(['apply', repo, '--control-plane', cp, '--auto-approve']);
    expect(applied.code, applied.stderr).toBe(0);
    const writer = await EmbeddedControlPlane.open({ path: cpPath });
    try {
      const r = await runCli(['plan', '--refresh-only', '--control-plane', cp]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^No drift\./);
    } finally {
      await writer.close();
    }
    // The Union API key of --api-key-file is read, as `plan` reads it.
    const unionUrl = 'union+http://127.0.0.1:1';
    await writeLastApplied(
      lastAppliedPathFor(unionUrl, dir),
      {
        capabilities: {} as never,
        pools: [],
        clusters: [],
        queues: [],
        assignments: [],
      },
      null,
    );
    const union = await runCli([
      'plan',
      '--refresh-only',
      '--control-plane',
      unionUrl,
      '--state-dir',
      dir,
      '--api-key-file',
      join(dir, 'no-such-key'),
    ]);
    expect(union.code).toBe(1);
    expect(union.stderr).toMatch(/no-such-key/);
  });
});

describe('--lock-timeout', () => {
  it('apply waits for a lock another apply holds, and without it says the flag exists', async () => {
    const lock = await acquireApplyLock(lockPathFor(cp, '.poolsync'));
    let released = false;
    try {
      const fail = await runCli(['apply', repo, '--control-plane', cp, '--auto-approve']);
      expect(fail.code).toBe(1);
      expect(fail.stderr).toMatch(
        /another apply is running against this control plane: pid \d+ .*\(or pass --lock-timeout 5m to wait for it\)/,
      );
      const run = startCli([
        'apply',
        repo,
        '--control-plane',
        cp,
        '--auto-approve',
        '--lock-timeout',
        '2m',
      ]);
      for (let i = 0; !/Waiting up to 1\d\ds \(--lock-timeout\)/.test(run.stderr()); i++) {
        if (run.child.exitCode !== null) throw new Error(`apply ended: ${run.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await lock.release();
      released = true;
      const done = await run.done;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/No changes|Apply complete/);
    } finally {
      if (!released) await lock.release();
    }
    const bad = await runCli(['plan', repo, '--control-plane', cp, '--lock-timeout', 'soon']);
    expect(bad.stderr).toMatch(/--lock-timeout "soon" is not a duration/);
  });
});

describe('Terraform words poolsync has not, or has with another meaning', () => {
  const DESTROY =
    'poolsync has no destroy: remove the manifests (with `prune: true` in poolsync.yaml), then `poolsync apply`.';

  it('-destroy and --destroy get the answer `poolsync destroy` gets', async () => {
    for (const command of ['apply', 'plan']) {
      const one = await runInProcess([command, repo, '-destroy'], {});
      expect(one.stderr).toBe(`Error: -destroy: ${DESTROY}\n`);
      const two = await runInProcess([command, repo, '--destroy'], {});
      expect(two.stderr.split('\n')[0]).toBe(`Error: Unknown option --destroy: ${DESTROY}`);
      expect([one.code, two.code]).toEqual([1, 1]);
    }
  });

  it('-lock=false and --lock=false: locking cannot be turned off; a Lease is still read as one', async () => {
    const words =
      /--lock names a Kubernetes Lease .* locking cannot be turned off .* --lock-timeout/;
    for (const argv of [
      ['plan', repo, '-lock=false'],
      ['plan', repo, '--lock=false'],
      ['apply', repo, '--lock', 'false', '--control-plane', cp],
      ['validate', repo, '--lock=false'],
    ]) {
      const r = await runInProcess(argv, {}, dir);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr, argv.join(' ')).toMatch(words);
      expect(r.stderr).not.toMatch(/is not a Kubernetes Lease/);
    }
    expect(singleDashError(['plan', '-lock=k8s:ops/apply'])?.message).toMatch(
      /did you mean `--lock=k8s:ops\/apply`\?/,
    );
  });

  it('a one-dash option is spelt with two only where the command has it', async () => {
    expect(singleDashError(['plan', '-auto-approve'])?.message).toBe(
      '-auto-approve: `poolsync plan` has no --auto-approve option; `poolsync plan --help` lists them',
    );
    expect(singleDashError(['promote', 'staging', '-json'])?.message).toMatch(
      /`poolsync promote` has no --json option/,
    );
    expect(singleDashError(['validate', '-json'])?.message).toMatch(/did you mean `--output json`/);
    expect(singleDashError(['state', 'list', '-out=x'])?.message).toMatch(
      /`poolsync state list` has no --out option/,
    );
    // What is suggested runs: `-no-color` on a command that colours nothing.
    expect(singleDashError(['validate', repo, '-no-color'])?.message).toMatch(
      /did you mean `--no-color`\?/,
    );
    const suggested = await runInProcess(['validate', repo, '--no-color'], {});
    expect(suggested.code, suggested.stderr).toBe(0);
  });

  it('--color and --no-color are taken by every command but the daemon, which says why not', async () => {
    const commands = Object.values(COMMANDS).flatMap((c) =>
      c.subcommands
        ? c.subcommands.map((s) => [c.command, s.command.split(' ')[0]!])
        : [[c.command.split(' ')[0]!]],
    );
    for (const words of commands.filter(([w]) => w !== 'daemon'))
      for (const flag of ['--no-color', '--color']) {
        // An unknown option after it stops yargs before any work, and lists every refused one.
        const r = await runInProcess([...words, flag, '--zz-unknown'], {}, dir);
        expect(r.stderr, `${words.join(' ')} ${flag}`).toMatch(
          /^Error: Unknown option --zz-unknown\.\n/,
        );
        expect(r.stderr, `${words.join(' ')} ${flag}`).not.toMatch(/color/);
      }
    const daemon = await runInProcess(['daemon', '--no-color'], {}, dir);
    expect(daemon.stderr.split('\n')[0]).toBe(
      'Error: Unknown option --color: the daemon has no --color: its logs are JSON unless stdout is a terminal (`--log-format json`: always JSON).',
    );
  });

  it("Terraform commands get their poolsync words; `help CMD` is the command's help", async () => {
    const said = {
      taint: '`poolsync apply --replace Kind/name`',
      version: '`poolsync --version`',
      'force-unlock': 'delete the lock file it names',
      workspace: '`--env NAME`',
      fmt: 'poolsync has no formatter: `poolsync validate` checks the manifests',
      output: '`poolsync state list`, one object as last applied: `poolsync state show ADDRESS`',
    };
    for (const [command, words] of Object.entries(said)) {
      const r = await runInProcess([command], {});
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^Error: Unknown command "${command}": `));
      expect(r.stderr, command).toContain(words);
    }
    const help = await runInProcess(['help', 'plan'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toBe((await runInProcess(['plan', '--help'], {})).stdout);
    expect((await runInProcess(['help', 'state', 'list'], {})).stdout).toMatch(
      /^poolsync state list \[dir\]/,
    );
    expect((await runInProcess(['help', 'destroy'], {})).stderr).toContain(DESTROY);
  });
});
