/**
 * A newcomer's first hour (issue 35): the CLI answers `--version`, `--help` and completion
 * without loading any command's code; usage mistakes get the closest right spelling; the wrong
 * folder and an empty one say what they are; `init` and `check` start a repository and check
 * the setup. Child processes of the real CLI, temporary folders removed at the end.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { importGraph, SRC } from '../layout/imports.js';
import { runCli, REPO_ROOT } from '../support/cli.js';
import { runInProcess } from '../support/memory-io.js';
import { shellQuote } from '../../src/util/shell-quote.js';
import { nextPlan } from '../../src/cli/options.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Capabilities } from '../../src/model/common.js';

const tmp = mkdtempSync(join(tmpdir(), 'poolsync-newcomer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every src/ module `from` loads through static imports (itself included). */
function reachable(graph: Map<string, string[]>, from: string): Set<string> {
  const seen = new Set<string>();
  const walk = (m: string): void => {
    if (seen.has(m)) return;
    seen.add(m);
    for (const d of graph.get(m) ?? []) walk(d);
  };
  walk(from);
  return seen;
}

/** importGraph without type-only imports: what Node loads when the module runs. */
function runtimeGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const module of importGraph().keys()) {
    const file = resolve(SRC, module);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    const deps: string[] = [];
    for (const st of source.statements) {
      const typeOnly =
        (ts.isImportDeclaration(st) && st.importClause?.isTypeOnly === true) ||
        (ts.isExportDeclaration(st) && st.isTypeOnly);
      const spec =
        ts.isImportDeclaration(st) || ts.isExportDeclaration(st) ? st.moduleSpecifier : undefined;
      if (typeOnly || !spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
      deps.push(relative(SRC, resolve(dirname(file), spec.text).replace(/\.js$/, '.ts')));
    }
    graph.set(module, deps);
  }
  return graph;
}

describe('start-up loads only what the command uses', () => {
  const graph = runtimeGraph();

  it('the program imports nothing but the cache folder, the version, the long-running commands and the one-shot V8 settings before --version', () => {
    expect([...reachable(graph, 'cli/main.ts')].sort()).toEqual([
      'cli/main.ts',
      // Which commands run for days, and the V8 settings of the others; imports nothing itself
      // (node:v8 is taken only when a command runs): peak memory and CPU.
      'cli/one-shot-v8.ts',
      'util/package-version.ts',
      'util/user-cache.ts',
    ]);
  });

  it('the command definitions (--help, completion, typos) load no command, backend or planner', () => {
    const loaded = [...reachable(graph, 'cli/run.ts')];
    const heavy = loaded.filter(
      (m) =>
        m.startsWith('cli/commands/') ||
        /^(plan|apply|render|daemon|vcs\/(?!comment-options)|standins|gen)\//.test(m) ||
        (m.startsWith('controlplane/') && !/^controlplane\/(default-url|errors)\.ts$/.test(m)) ||
        (m.startsWith('manifests/') && m !== 'manifests/suggest.ts'),
    );
    // Tables their --help reads and small option parsers, nothing else: the daemon's settings and
    // runs' results, apply's parallelism, --inventory, and the kinds' field table the model's lists
    // come from.
    const tables = [
      'daemon/config-options.ts',
      'daemon/run-result.ts',
      'apply/types.ts',
      'gen/manifests/kinds.ts',
    ];
    expect(heavy.filter((m) => !tables.includes(m))).toEqual([]);
  });
});

describe('usage mistakes', { timeout: 120_000 }, () => {
  it('bare poolsync is the help, exit 1 (an empty $CMD fails CI); --version the package version and the checkout’s commit', async () => {
    const [bare, version] = await Promise.all([runCli([]), runCli(['--version'])]);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toContain('Commands:');
    expect(bare.stdout).toContain('poolsync init [dir]');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const commit = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: REPO_ROOT });
    const stdout = `${pkg.version} (${commit.toString().trim()})\n`;
    expect(version).toMatchObject({ code: 0, stdout, stderr: '' });
  });

  it('an unknown command or option names the closest; bad numbers say what was typed', async () => {
    const [command, option, sub, parallelism] = await Promise.all([
      runCli(['plna']),
      runCli(['plan', '--tagret', 'Cluster/a']),
      runCli(['control-plane', 'serve', '--lisen', '1']),
      runCli(['apply', '--parallelism', 'abc']),
    ]);
    expect(command.code).toBe(1);
    expect(command.stderr).toBe(
      'Error: Unknown command "plna": did you mean `poolsync plan`?\nRun `poolsync --help` for the commands.\n',
    );
    expect(option.stderr).toContain('Unknown option --tagret: did you mean --target?');
    expect(sub.stderr).toContain('Unknown option --lisen: did you mean --listen?');
    expect(parallelism.code).toBe(1);
    expect(parallelism.stderr).toMatch(
      /^Error: --parallelism must be a whole number of at least 1 \(got "abc"\)\n/,
    );
    expect(parallelism.stderr).not.toMatch(/NaN|at .*\.js/);
  });

  it("other tools' commands get poolsync's word for them; a flag's camelCase twin is not listed", async () => {
    const [destroy, refresh, applyRefresh] = await Promise.all([
      runCli(['destroy']),
      runCli(['refresh']),
      runCli(['apply', '--refresh-only']),
    ]);
    expect(destroy.stderr).toMatch(
      /^Error: Unknown command "destroy": poolsync has no destroy: remove the manifests/,
    );
    expect(refresh.stderr).toContain('`poolsync plan --refresh-only`');
    expect(applyRefresh.stderr).toBe(
      'Error: Unknown option --refresh-only.\nRun `poolsync apply --help` for the options.\n',
    );
  });

  it('--control-plane’s help names every backend, for plan and the daemon alike', async () => {
    for (const command of ['plan', 'daemon']) {
      const help = await runCli([command, '--help']);
      for (const form of ['file:PATH', 'http(s)://', 'union+https://', 'flyteadmin+http(s)://'])
        expect(help.stdout.replace(/\s+/g, ' '), command).toContain(form);
    }
  });
});

describe('the wrong folder, an empty one, init and check', { timeout: 180_000 }, () => {
  const cp = `file:${join(tmp, 'cp.json')}`;

  it('one folder too high names the config repositories below it, not one error per clash (issue 61)', async () => {
    const [validate, plan] = await Promise.all([
      runInProcess(['validate', 'examples'], {}, REPO_ROOT),
      runInProcess(['plan', 'examples', '--control-plane', cp], {}, REPO_ROOT),
    ]);
    // The way out is the command that was run.
    for (const [r, command] of [
      [validate, 'validate'],
      [plan, 'plan'],
    ] as const) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `Error: examples is not a poolsync config repository, but folders below it are: examples/config-repo, examples/environments, examples/flyte-oss, examples/three-backends, examples/union-self-managed; point poolsync at one of them (e.g. \`poolsync ${command} examples/config-repo\`).\n`,
      );
    }
  });

  it('the folders below `.` and `./` are named whole, as a path from the working folder', async () => {
    const examples = join(REPO_ROOT, 'examples');
    for (const dir of [[], ['.'], ['./']]) {
      const r = await runInProcess(['validate', ...dir], {}, examples);
      expect(r.code, dir.join()).toBe(1);
      expect(r.stderr, dir.join()).toBe(
        `Error: ${dir[0] ?? '.'} is not a poolsync config repository, but folders below it are: config-repo, environments, flyte-oss, three-backends, union-self-managed; point poolsync at one of them (e.g. \`poolsync validate config-repo\`).\n`,
      );
    }
  });

  it('a code project without poolsync.yaml is one error with the way out, not one per YAML file', async () => {
    const code = join(tmp, 'code');
    mkdirSync(join(code, 'test'), { recursive: true });
    writeFileSync(join(code, 'package.json'), '{"name": "app"}\n');
    for (let i = 0; i < 20; i++) writeFileSync(join(code, 'test', `f${i}.yaml`), 'a: [\n');
    const [validate, plan, apply, missing] = await Promise.all([
      runCli(['validate', code]),
      runCli(['plan', code, '--control-plane', cp]),
      runCli(['apply', code, '--control-plane', cp]),
      runCli(['plan', join(code, 'nothere'), '--control-plane', cp]),
    ]);
    for (const [r, command] of [
      [validate, 'validate'],
      [plan, 'plan'],
      [apply, 'apply'],
    ] as const) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${code} is not a poolsync config repository`);
      expect(r.stderr).toContain('package.json');
      expect(r.stderr).toContain('`poolsync init DIR`');
      expect(r.stderr).toContain(`(e.g. \`poolsync ${command} examples/config-repo\`)`);
      expect(r.stderr.split('\n').filter((l) => l.includes('.yaml:'))).toEqual([]);
    }
    expect(missing.stderr).toContain(
      'does not exist: point poolsync at the config folder (e.g. `poolsync plan examples/config-repo`)',
    );
  });

  it('a folder of unrelated YAML (or none) is one line naming poolsync.yaml; a config folder with nothing in it says nothing is declared', async () => {
    const home = join(tmp, 'home');
    mkdirSync(join(home, '.config/app'), { recursive: true });
    mkdirSync(join(home, 'notes'));
    writeFileSync(join(home, '.config/app/settings.yaml'), 'a: 1\n');
    for (let i = 0; i < 30; i++) writeFileSync(join(home, 'notes', `n${i}.yaml`), 'kind: Note\n');
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    const [validate, plan, nothing] = await Promise.all([
      runCli(['validate', home]),
      runCli(['plan', home, '--control-plane', cp]),
      runCli(['validate', empty]),
    ]);
    for (const r of [validate, plan, nothing]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(
        /is not a poolsync config repository: it has no poolsync\.yaml and no poolsync manifest/,
      );
    }
    writeFileSync(join(empty, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
    const [declared, planned] = await Promise.all([
      runCli(['validate', empty]),
      runCli(['plan', empty, '--control-plane', cp]),
    ]);
    expect(declared.code).toBe(0);
    expect(declared.stdout).toContain(`Nothing declared: ${empty} holds no poolsync manifests`);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('Nothing declared');
    expect(planned.stdout).toContain('prune is off');
  });

  it('without poolsync.yaml the defaults are said in one line (drafts/ is read then); poolsync.yml is not poolsync.yaml', async () => {
    const repo = join(tmp, 'no-config');
    cpSync(join(REPO_ROOT, 'examples/config-repo'), repo, { recursive: true });
    rmSync(join(repo, 'poolsync.yaml'));
    const plan = await runCli(['plan', repo, '--control-plane', cp]);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toBe(
      `Note: ${repo} has no poolsync.yaml: the defaults are in use (prune off, no file ignored: every YAML file under it is read as a manifest); \`poolsync init ${repo}\` writes one.\n`,
    );
    expect(plan.stdout).toContain('+ ClusterPool/gpu-oci');
    writeFileSync(join(repo, 'poolsync.yml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
    const typo = await runCli(['validate', repo]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe(
      `Error: ${repo} has poolsync.yml but no poolsync.yaml: poolsync reads its settings only from poolsync.yaml; rename it\n`,
    );
  });

  it('init writes a commented poolsync.yaml; --from-live exports what the control plane holds', async () => {
    const live = join(tmp, 'live.json');
    const applied = await runCli([
      'apply',
      'examples/config-repo',
      '--control-plane',
      `file:${live}`,
      '--state-dir',
      join(tmp, 'state'),
      '--auto-approve',
    ]);
    expect(applied.code).toBe(0);
    const fresh = join(tmp, 'fresh');
    const adopted = join(tmp, 'adopted');
    const [first, fromLive] = await Promise.all([
      runCli(['init', fresh]),
      runCli(['init', adopted, '--from-live', '--control-plane', `file:${live}`]),
    ]);
    expect(first.code).toBe(0);
    expect(readFileSync(join(fresh, 'poolsync.yaml'), 'utf8')).toMatch(/^# .*\nprune: false$/ms);
    // What prune deletes without manage: what poolsync applied or imported, never a whole kind.
    expect(readFileSync(join(fresh, 'poolsync.yaml'), 'utf8')).toContain(
      '# true: those poolsync applied or imported (its inventory) are deleted once undeclared',
    );
    // `git add .` in the new repository never commits poolsync's state.
    expect(readFileSync(join(fresh, '.gitignore'), 'utf8')).toMatch(/^\.poolsync\/$/m);
    expect(fromLive.code).toBe(0);
    expect(fromLive.stdout).toMatch(/Exported 3 pools/);
    // The plan it suggests reads the control plane it exported (it named none: the default).
    expect(first.stdout).toContain(`then \`poolsync plan ${shellQuote(fresh)}\` (`);
    expect(fromLive.stdout).toContain(
      `then \`poolsync plan ${shellQuote(adopted)} --control-plane ${shellQuote(`file:${live}`)}\` (`,
    );
    const [again, validate, plan] = await Promise.all([
      runCli(['init', fresh]),
      runCli(['validate', fresh]),
      runCli([
        'plan',
        adopted,
        '--control-plane',
        `file:${live}`,
        '--state-dir',
        join(tmp, 'state'),
        '--detailed-exitcode',
      ]),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(again.stderr).not.toContain('poolsync export');
    // --from-live into a repository that exists: export writes into it.
    const live2 = await runCli(['init', fresh, '--from-live', '--control-plane', `file:${live}`]);
    expect(live2.stderr).toContain(
      `already exists: this is a config repository already (\`poolsync validate ${shellQuote(fresh)}\` checks it; \`poolsync export --dir ${shellQuote(fresh)}\` writes what the control plane holds into it)`,
    );
    expect(validate.code).toBe(0);
    expect(plan.stdout).toContain('No changes');
    expect(plan.code).toBe(0);
    // A folder holding an exported file but no poolsync.yaml: init has no --force to offer.
    const clash = join(tmp, 'clash');
    mkdirSync(join(clash, 'pools'), { recursive: true });
    writeFileSync(join(clash, 'pools', 'dev.yaml'), '# mine\n');
    const clashed = await runCli(['init', clash, '--from-live', '--control-plane', `file:${live}`]);
    expect(clashed.code).toBe(1);
    expect(clashed.stderr).toContain(
      `1 file already exists in ${clash} (first: pools/dev.yaml); write into an empty folder\n`,
    );
    expect(readFileSync(join(clash, 'pools', 'dev.yaml'), 'utf8')).toBe('# mine\n');
    const inCode = await runCli(['init', REPO_ROOT]);
    expect(inCode.code).toBe(1);
    expect(inCode.stderr).toContain("is a code project's root");
  });

  it('init inside a config repository that would read it is refused, saying the two ways on; once ignored there, it starts one', async () => {
    const outer = join(tmp, 'outer');
    const inner = join(outer, 'teams', 'ml');
    expect((await runInProcess(['init', outer], {})).code).toBe(0);
    const refused = await runInProcess(['init', 'teams/ml'], {}, outer);
    expect(refused.stderr).toBe(
      'Error: poolsync.yaml exists: teams/ml is inside the config repository ., which would read teams/ml/poolsync.yaml as a manifest (an error). ' +
        "Put teams/ml's manifests in that repository as they are (no init needed), or keep teams/ml a repository of its own: add `teams/ml/**` to ignore: in poolsync.yaml first (docs/manifests.md).\n",
    );
    expect(refused.code).toBe(1);
    expect(existsSync(inner)).toBe(false);
    writeFileSync(
      join(outer, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nignore: ["teams/ml/**"]\n',
    );
    expect((await runInProcess(['init', 'teams/ml'], {}, outer)).code).toBe(0);
    expect((await runInProcess(['validate', outer], {})).code).toBe(0);
  });

  it('init --from-live reads the control plane before writing: one it cannot read leaves nothing, and the retry works', async () => {
    const live = join(tmp, 'unreadable.json');
    writeFileSync(live, 'not a state\n');
    const repo = join(tmp, 'half');
    const failed = await runCli(['init', repo, '--from-live', '--control-plane', `file:${live}`]);
    expect(failed.code).toBe(1);
    expect(existsSync(join(repo, 'poolsync.yaml'))).toBe(false);
    expect(existsSync(join(repo, '.gitignore'))).toBe(false);
    rmSync(live);
    const retried = await runCli(['init', repo, '--from-live', '--control-plane', `file:${live}`]);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(existsSync(join(repo, 'poolsync.yaml'))).toBe(true);
  });

  it('init --from-live takes the transport flags its advice names (--read-timeout)', async () => {
    // Accepts and never answers: only the read timeout ends the call.
    const silent = createServer(() => {});
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await runInProcess(
        [
          'init',
          join(tmp, 'silent'),
          '--from-live',
          '--control-plane',
          `http://127.0.0.1:${port}`,
          '--read-timeout',
          '300ms',
          '--max-retries',
          '0',
        ],
        {},
      );
      expect(r.stderr).not.toContain('Unknown option');
      expect(r.stderr).toContain('within 300ms (--read-timeout, env POOLSYNC_READ_TIMEOUT)');
      expect(r.code).toBe(1);
    } finally {
      silent.close();
    }
  });

  it('check: ✓ per managed kind on a working control plane; one attempt and what failed on a dead one', async () => {
    const port = await new Promise<number>((done) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => done(p));
      });
    });
    const [ok, dead] = await Promise.all([
      runCli(['check', 'examples/config-repo', '--control-plane', cp]),
      runCli(['check', 'examples/config-repo', '--control-plane', `http://127.0.0.1:${port}`]),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('✓ config folder examples/config-repo: valid');
    // Q6: with the capabilities off, poolsync neither drains nor deletes a queue: not said.
    expect(ok.stdout).toMatch(/✓ Queue: list \(\d+ now\); by API: create, update\n/);
    expect(ok.stdout).toContain('✓ capabilities: none\n');
    const caps = join(tmp, 'caps.json');
    const turnOn = async (more: Partial<Capabilities>) => {
      const c = await EmbeddedControlPlane.open({ path: caps });
      await c.setCapabilities({ ...(await c.capabilities()), ...more });
      await c.close();
      return runCli(['check', 'examples/config-repo', '--control-plane', `file:${caps}`]);
    };
    const drains = await turnOn({ drain: true });
    expect(drains.stdout).toMatch(/✓ Queue: list \(\d+ now\); by API: create, update, drain\n/);
    const deletes = await turnOn({ queue_delete: true });
    expect(deletes.stdout).toMatch(
      /✓ Queue: list \(\d+ now\); by API: create, update, drain, delete \(queue_delete\)\n/,
    );
    // Every kind's line says the calls its capabilities add, as the capabilities line lists them.
    const moves = await turnOn({ pool_update: true, cluster_move: true });
    expect(moves.stdout).toMatch(
      /✓ ClusterPool: list \(\d+ now\); by API: create, delete, update \(pool_update\)\n/,
    );
    expect(moves.stdout).toMatch(
      /✓ Cluster: list \(\d+ now\); by API: register, enable\/disable, delete, move \(cluster_move\)\n/,
    );
    expect(moves.stdout).toContain(
      '✓ capabilities: drain, queue_delete, pool_update, cluster_move\n',
    );
    // The next command plans against the control plane checked, not the default, with the
    // credentials' files given by flag (a variable stays set; a URL's user part never shows).
    expect(
      nextPlan('pools', {
        'control-plane': 'https://u:p@cp.example.com',
        'token-file': '/run/secrets/my token',
      }),
    ).toBe(
      "poolsync plan pools --control-plane 'https://***@cp.example.com' --token-file '/run/secrets/my token'",
    );
    expect(ok.stdout).toContain(
      `Ready: \`poolsync plan examples/config-repo --control-plane ${shellQuote(cp)}\` next.`,
    );
    expect(dead.code).toBe(1);
    expect(dead.stdout).toContain(
      `✗ control plane http://127.0.0.1:${port}: poolsync REST API, not reachable`,
    );
    expect(dead.stdout).toContain(
      `✗ ClusterPool: cannot list: UNAVAILABLE: GET http://127.0.0.1:${port}/v1/pools`,
    );
    expect(dead.stdout).toContain(`nothing accepts connections at http://127.0.0.1:${port}`);
    expect(dead.stdout).toContain('1 attempt');
    expect(dead.stdout).not.toMatch(/✗ Cluster:|capabilities/);
  });

  it('check: every plan error that holds whatever the live state (MULTI_POOL_CLUSTER, QUEUE_CAPS) is ✗ in the plan’s words, not Ready', async () => {
    // Union self-managed's example (a cluster in two pools) with queues that set Union's
    // scheduling, checked against the embedded control plane, which has neither.
    const dir = join(tmp, 'static-blocks');
    cpSync(join(REPO_ROOT, 'examples/union-self-managed'), dir, { recursive: true });
    mkdirSync(join(dir, 'queues'));
    for (const n of [1, 2, 3, 4, 5])
      writeFileSync(
        join(dir, 'queues', `q${n}.yaml`),
        `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: q${n}\nspec:\n  pool: staging-cp\n` +
          '  run_concurrency: 1\n  action_concurrency: 1\n  scheduling: strict_fifo\n',
      );
    const cpUrl = `file:${join(tmp, 'static-blocks.json')}`;
    const checked = await runInProcess(['check', dir, '--control-plane', cpUrl], {});
    const planned = await runInProcess(['plan', dir, '--control-plane', cpUrl, '-o', 'json'], {});
    const errors = (
      JSON.parse(planned.stdout) as {
        errors: { code: string; message: string; location: string }[];
      }
    ).errors;
    expect(errors.map((e) => e.code)).toEqual([
      'MULTI_POOL_CLUSTER',
      ...Array<string>(5).fill('QUEUE_CAPS'),
    ]);
    // The plan's own reason, at the plan's location; a code's fourth and later counted.
    const failed = checked.stdout.split('\n').filter((l) => l.startsWith('✗ '));
    expect(failed).toEqual([
      ...errors.slice(0, 4).map((e) => `✗ ${e.location}: ${e.message} (${e.code})`),
      `✗ QUEUE_CAPS: 2 more like these (\`poolsync plan ${shellQuote(dir)}\` lists each)`,
    ]);
    expect(checked.stdout).toMatch(/^5 checks failed\.$/m);
    expect(checked.stdout).not.toContain('Ready');
    expect(checked.code).toBe(1);
  });
});
