/**
 * Guardrails as users run them (issue 74 items 1, 2 and 7; docs/plan.md, Guardrails), the CLI
 * in process on every backend that runs here: `poolsync apply` keeps `poolsync/prevent-destroy`
 * in the inventory, so removing (or renaming) the manifest of the protected object is a plan
 * error naming it, on the embedded control plane, over REST, on the Union stand-in and on
 * flyteadmin (its stand-in, and the real one where built); `state show` says so; applying a
 * commit that declares it without the annotation lifts it, and then the delete plans. And the
 * destroy budget in CI: `plan --detailed-exitcode` in pull-request mode fails over the base
 * branch's `guardrails.max_destroy` with the count and list, however the pull request raises it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import { sealOf } from '../../src/render/plan-file.js';
import { apiKey, startUnionServer } from '../controlplane/union/helpers.js';
import { flyteadminTargets } from '../flyteadmin/targets.js';
import { cleanup } from '../support/cleanup.js';
import { exitOf, memoryIo, runInProcess, terminalIo } from '../support/memory-io.js';
import { openServedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';
import { until } from '../support/until.js';

const PREVENT = '  annotations:\n    poolsync/prevent-destroy: "true"\n';
const CONFIRM = '  annotations:\n    poolsync/confirm-destroy: "true"\n';

function writeFolder(dir: string, files: Record<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

const cluster = (name: string, annotations = '') =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: ${name}\n${annotations}spec:\n  pool: default\n`;

/** Clusters of the default pool (every backend has it, P1), prune on; `config` added to poolsync.yaml. */
function clusters(list: Record<string, string>, config = ''): Record<string, string> {
  const files: Record<string, string> = {
    'poolsync.yaml': `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n${config}`,
  };
  for (const [name, annotations] of Object.entries(list))
    files[`clusters/${name}.yaml`] = cluster(name, annotations);
  return files;
}

interface Backend {
  name: string;
  start(): Promise<{ url: string; env: NodeJS.ProcessEnv; close(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'embedded (file:)',
    start: async () => {
      const root = tempFolder('poolsync-guard-file-');
      return { url: `file:${join(root, 'cp.json')}`, env: {}, close: async () => {} };
    },
  },
  {
    name: 'REST (control-plane serve)',
    start: async () => {
      const s = await openServedControlPlane();
      return { url: s.url.replace(/\/$/, ''), env: {}, close: s.close };
    },
  },
  {
    name: 'Union (stand-in)',
    start: async () => {
      const s = await startUnionServer();
      return {
        url: s.url('connect'),
        env: { POOLSYNC_UNION_API_KEY: apiKey(s.host) },
        close: () => s.close(),
      };
    },
  },
];

/** `poolsync ARGS` in process, against `url`, with its own state folder (the inventory of Union). */
function cli(url: string, env: NodeJS.ProcessEnv, state: string) {
  return (...args: string[]) =>
    runInProcess([...args, '--control-plane', url, '--state-dir', state], env);
}

/** A repository folder and `poolsync` against a new `file:` control plane of its own. */
function onFile(prefix: string) {
  const root = tempFolder(prefix);
  const url = `file:${join(root, 'cp.json')}`;
  return {
    root,
    repo: join(root, 'repo'),
    url,
    run: cli(url, {}, join(root, 'state')),
    /** The control plane's clusters, read through its own API. */
    clusterNames: async () => {
      const cp = await EmbeddedControlPlane.open({ path: join(root, 'cp.json') });
      const names = (await cp.listClusters()).map((c) => c.name).sort();
      await cp.close();
      return names;
    },
  };
}

describe.each(BACKENDS)('prevent-destroy kept in the inventory on $name', (backend) => {
  it('removing or renaming the protected manifest is a plan error naming it; state show says so; lifted by an applied commit, the delete plans', async () => {
    const b = await backend.start();
    cleanup.add(b.close);
    const root = tempFolder('poolsync-guard-');
    const repo = join(root, 'repo');
    const run = cli(b.url, b.env, join(root, 'state'));

    writeFolder(repo, clusters({ a: PREVENT, b: '' }));
    const applied = await run('apply', repo, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    const shown = await run('state', 'show', 'Cluster/a', '--dir', repo);
    expect(shown.stdout).toMatch(
      /^Cluster\/a: .*; kept by the inventory: poolsync\/prevent-destroy$/m,
    );

    // The manifest removed (annotation and object in one commit), then renamed: plan errors.
    for (const files of [clusters({ b: '' }), clusters({ 'a-renamed': '', b: '' })]) {
      writeFolder(repo, files);
      const plan = await run('plan', repo, '--detailed-exitcode');
      expect(plan.code).toBe(1);
      expect(plan.stdout + plan.stderr).toContain(
        'Cluster/a was applied with poolsync/prevent-destroy: "true" (the inventory keeps it), but this plan would delete it',
      );
      const apply = await run('apply', repo, '--auto-approve');
      expect(apply.code).toBe(1);
    }

    // Lifted: a commit declaring it without the annotation, applied on its own (no change sent).
    writeFolder(repo, clusters({ a: '', b: '' }));
    expect((await run('apply', repo, '--auto-approve')).code).toBe(0);
    expect((await run('state', 'show', 'Cluster/a', '--dir', repo)).stdout).not.toContain(
      'kept by the inventory',
    );
    writeFolder(repo, clusters({ b: '' }));
    const plan = await run('plan', repo, '--detailed-exitcode');
    expect([plan.code, plan.stderr]).toEqual([2, '']);
    expect(plan.stdout).toMatch(/- Cluster\/a/);
  });
});

describe('confirm-destroy kept in the inventory (issue 74 item 1)', () => {
  it('a removed confirm-destroy cluster plans, the plan says a person approves it, and apply --auto-approve is refused', async () => {
    const { root, repo, url, run, clusterNames } = onFile('poolsync-confirm-');
    writeFolder(repo, clusters({ a: CONFIRM, b: '' }));
    expect((await run('apply', repo, '--auto-approve')).code).toBe(0);
    // A saved plan's line names the control plane given by flag: the file chooses none.
    const plain = join(root, 'plain.json');
    expect((await run('plan', repo, '--out', plain)).stdout).toContain(
      `\nSaved the plan to ${plain}: apply it with \`poolsync apply ${plain} --control-plane ${url}\`.\n`,
    );
    writeFolder(repo, clusters({ b: '' }));
    const plan = await run('plan', repo, '--detailed-exitcode');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(
      "Needs a person's approval (poolsync/confirm-destroy): Cluster/a. `poolsync apply` asks for it at the terminal",
    );
    // Saved, it is not told to be applied as saved: that is refused (it said `apply it with`).
    const saved = join(root, 'cd.json');
    const planned = await run('plan', repo, '--out', saved);
    // The apply it names is given the control plane planned against (the file names none).
    expect(planned.stdout).toContain(
      `\nSaved the plan to ${saved} for review (\`poolsync show ${saved}\`), but a saved plan is no approval for Cluster/a (poolsync/confirm-destroy): \`poolsync apply ${saved} --control-plane ${url}\` is refused. Run \`poolsync apply DIR\` at a terminal, with this plan's options, and answer yes.\n`,
    );
    expect(planned.stdout).not.toContain('apply it with');
    expect((await run('apply', saved)).stderr).toMatch(/and a saved plan is no approval\./);
    const apply = await run('apply', repo, '--auto-approve');
    expect(apply.code).toBe(1);
    expect(apply.stderr).toMatch(
      /^Error: Cluster\/a is marked poolsync\/confirm-destroy: a person approves its delete or replace, and --auto-approve is no approval\. Nothing was applied\./m,
    );
    expect(await clusterNames()).toEqual(['a', 'b']);

    // A line piped into stdin is any script's answer (`echo yes | poolsync apply`): refused
    // before it is read, naming the mark, and offering no other refused way (`no` too).
    const argv = ['apply', repo, '--control-plane', url, '--state-dir', join(root, 'state')];
    for (const line of ['yes\n', 'no\n']) {
      const piped = { ...memoryIo({ NO_COLOR: '1' }), stdin: Readable.from([line]) };
      expect(await exitOf(piped, main(argv, piped))).toBe(1);
      expect(piped.err()).toMatch(
        /^Error: Cluster\/a is marked poolsync\/confirm-destroy: a person approves its delete or replace, and a line piped into apply \(stdin is not a terminal\) is no approval\. Nothing was applied\. Run `poolsync apply DIR` at a terminal and answer yes/,
      );
      expect(piped.out()).not.toContain('Enter a value:');
    }
    expect(await clusterNames()).toEqual(['a', 'b']);
    // At a terminal, a person's `yes` deletes it.
    const { io, stdin } = terminalIo({ NO_COLOR: '1' });
    const running = exitOf(io, main(argv, io));
    await until('the question', () => io.out().includes('Enter a value: '));
    stdin.write('yes\r');
    expect(await running, io.err()).toBe(0);
    expect(await clusterNames()).toEqual(['b']);
  });
});

describe('a saved plan is held to the inventory’s marks when applied', () => {
  it('a plan file edited to drop its confirm_destroy, its unkeyed seal made again, is refused: the inventory marks the cluster', async () => {
    const { root, repo, run, clusterNames } = onFile('poolsync-confirm-saved-');
    writeFolder(repo, clusters({ a: CONFIRM, b: '' }));
    expect((await run('apply', repo, '--auto-approve')).code).toBe(0);
    writeFolder(repo, clusters({ b: '' }));
    const saved = join(root, 'p3c.json');
    expect((await run('plan', repo, '--out', saved)).code).toBe(0);
    const doc = JSON.parse(readFileSync(saved, 'utf8')) as Plan & { seal?: string };
    expect(doc.confirm_destroy).toEqual(['Cluster/a']);
    delete doc.confirm_destroy;
    delete doc.seal;
    writeFileSync(saved, JSON.stringify({ ...doc, seal: sealOf(doc as never, null) }, null, 2));
    const applied = await run('apply', saved);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toMatch(
      /^Error: Cluster\/a is marked poolsync\/confirm-destroy: a person approves its delete or replace, and a saved plan is no approval\. Nothing was applied\./m,
    );
    expect(await clusterNames()).toEqual(['a', 'b']);
  });

  it('a plan file whose delete the inventory now protects, its fingerprint and unkeyed seal made again, is refused as planning refuses it', async () => {
    const { root, repo, run, clusterNames } = onFile('poolsync-prevent-saved-');
    writeFolder(repo, clusters({ a: '', b: '' }));
    expect((await run('apply', repo, '--auto-approve')).code).toBe(0);
    writeFolder(repo, clusters({ b: '' }));
    const saved = join(root, 'delete-a.json');
    expect((await run('plan', repo, '--out', saved)).code).toBe(0);
    // Protected since: the saved plan is stale, and says the live state it would need.
    writeFolder(repo, clusters({ a: PREVENT, b: '' }));
    expect((await run('apply', repo, '--auto-approve')).code).toBe(0);
    const stale = await run('apply', saved);
    const now = /\(live state (\S+), plan made against/.exec(stale.stderr)?.[1];
    expect(now).toBeDefined();
    const doc = JSON.parse(readFileSync(saved, 'utf8')) as Plan & { seal?: string };
    delete doc.seal;
    const edited = { ...doc, live_fingerprint: now! };
    writeFileSync(saved, JSON.stringify({ ...edited, seal: sealOf(edited as never, null) }));
    const applied = await run('apply', saved);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain(
      `Error: ${saved}: Cluster/a was applied with poolsync/prevent-destroy: "true" (the inventory keeps it), but this plan would delete it`,
    );
    expect(applied.stderr).toContain('Nothing was applied.');
    expect(await clusterNames()).toEqual(['a', 'b']);
  });
});

describe('import and export write the marks the inventory keeps', () => {
  it('forget, import, apply: the imported manifest carries prevent-destroy, so the apply keeps the mark; export writes both marks', async () => {
    const { root, repo, run } = onFile('poolsync-guard-import-');
    writeFolder(repo, clusters({ h1: PREVENT, h2: CONFIRM }));
    expect((await run('apply', repo, '--auto-approve')).code).toBe(0);
    writeFolder(repo, clusters({ h2: CONFIRM }));
    expect((await run('state', 'forget', 'Cluster/h1', repo)).code).toBe(0);

    const imported = await run('import', 'Cluster/h1', '--dir', repo);
    expect(imported.code, imported.stderr).toBe(0);
    expect(readFileSync(join(repo, 'clusters', 'h1.yaml'), 'utf8')).toContain(
      'metadata:\n  name: h1\n  annotations:\n    poolsync/prevent-destroy: "true"\n',
    );
    expect((await run('apply', repo, '--auto-approve')).code).toBe(0);
    const inventory = JSON.parse(readFileSync(join(root, 'cp.json.inventory.json'), 'utf8')) as {
      prevent_destroy?: string[];
    };
    expect(inventory.prevent_destroy).toEqual(['Cluster/h1']);

    const out = join(root, 'exported');
    expect((await run('export', '--dir', out)).code).toBe(0);
    expect(readFileSync(join(out, 'clusters', 'h1.yaml'), 'utf8')).toContain(
      '  annotations:\n    poolsync/prevent-destroy: "true"\n',
    );
    expect(readFileSync(join(out, 'clusters', 'h2.yaml'), 'utf8')).toContain(CONFIRM);
  });
});

const flyteadmins = flyteadminTargets();
afterAll(() => flyteadmins.close());

describe.each(flyteadmins.list)('prevent-destroy kept in the inventory on $name', (target) => {
  it.skipIf(target.missing !== null)(
    `an ExecutionClusterLabel applied protected, its manifest removed: a plan error${target.missing ? ` (skipped: ${target.missing})` : ''}`,
    async () => {
      const fa = await target.start();
      cleanup.add(() => fa.close());
      const root = tempFolder('poolsync-guard-fa-');
      const repo = join(root, 'repo');
      cpSync('examples/flyte-oss', repo, { recursive: true });
      const labels = join(repo, 'execution-cluster-labels', 'project1.yaml');
      const text = readFileSync(labels, 'utf8');
      writeFileSync(
        labels,
        text.replace('  name: project1-development\n', `  name: project1-development\n${PREVENT}`),
      );
      const config = join(repo, 'poolsync.yaml');
      writeFileSync(config, readFileSync(config, 'utf8').replace('prune: false', 'prune: true'));
      // The real one runs with auth off, the stand-in with OAuth2 (set in this process's env).
      const run = cli(fa.url, { ...process.env }, join(root, 'state'));
      const applied = await run('apply', repo, '--auto-approve');
      expect(applied.code, applied.stderr).toBe(0);
      rmSync(labels);
      const plan = await run('plan', repo, '--detailed-exitcode');
      expect(plan.code).toBe(1);
      expect(plan.stdout + plan.stderr).toContain(
        'ExecutionClusterLabel/project1/development was applied with poolsync/prevent-destroy',
      );
    },
  );
});

describe('the destroy budget in CI (issue 74 item 2)', () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd,
      encoding: 'utf8',
    }).trim();
  const eight = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
  const keep = (n: number) => Object.fromEntries(eight.slice(n).map((c) => [c, '']));

  it('a pull request deleting 6 clusters fails plan --detailed-exitcode over the base branch max_destroy: 5 with the list, though it raises the budget; 5 pass', async () => {
    const root = tempFolder('poolsync-budget-');
    const repo = join(root, 'repo');
    const url = `file:${join(root, 'cp.json')}`;
    const state = join(root, 'state');
    // Applied before any budget: the inventory records none, so only the base branch bounds.
    writeFolder(repo, clusters(keep(0)));
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'eight clusters');
    expect(
      (
        await runInProcess(
          ['apply', repo, '--control-plane', url, '--state-dir', state, '--auto-approve'],
          {},
        )
      ).code,
    ).toBe(0);
    // The base branch sets the budget; the pull request deletes 6 and raises it to 50.
    writeFolder(join(root, 'next'), clusters(keep(0), 'guardrails:\n  max_destroy: 5\n'));
    cpSync(join(root, 'next', 'poolsync.yaml'), join(repo, 'poolsync.yaml'));
    git(repo, 'commit', '-qam', 'a destroy budget');
    const base = git(repo, 'rev-parse', 'HEAD');
    const pr = { POOLSYNC_BASE_REF: base };
    const plan = (files: Record<string, string>) => {
      for (const c of eight) rmSync(join(repo, 'clusters', `${c}.yaml`), { force: true });
      for (const [path, content] of Object.entries(files)) writeFileSync(join(repo, path), content);
      return runInProcess(
        ['plan', repo, '--control-plane', url, '--state-dir', state, '--detailed-exitcode'],
        pr,
      );
    };

    const six = await plan(clusters(keep(6), 'guardrails:\n  max_destroy: 50\n'));
    expect(six.code).toBe(1);
    expect(six.stdout + six.stderr).toContain(
      "this plan would delete 6 objects, over guardrails.max_destroy: 5 (the base branch's poolsync.yaml): Cluster/c1, Cluster/c2, Cluster/c3, Cluster/c4, Cluster/c5, Cluster/c6.",
    );
    const five = await plan(clusters(keep(5), 'guardrails:\n  max_destroy: 50\n'));
    expect([five.code, five.stderr]).toEqual([2, '']);
    // Outside pull-request mode the same working tree is bound by its own poolsync.yaml only.
    const merged = await runInProcess(
      ['plan', repo, '--control-plane', url, '--state-dir', state, '--detailed-exitcode'],
      {},
    );
    expect(merged.code).toBe(2);
  });
});

describe('guardrails of a --target plan count what it does (docs/plan.md, The destroy budget)', () => {
  const queue = (concurrency: number) =>
    `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: batch\nspec:\n  pool: default\n  clusters: ["*"]\n  run_concurrency: ${concurrency}\n  action_concurrency: 1000\n`;

  it('max_destroy: 1, two clusters removed and a queue updated: --target Queue/batch plans and applies; one cluster passes, both fail with 2', async () => {
    const root = tempFolder('poolsync-target-budget-');
    const repo = join(root, 'repo');
    const run = cli(`file:${join(root, 'cp.json')}`, {}, join(root, 'state'));
    const budget = 'guardrails:\n  max_destroy: 1\n';
    writeFolder(repo, {
      ...clusters({ c1: '', c2: CONFIRM, c3: '' }, budget),
      'queues/batch.yaml': queue(10),
    });
    const applied = await run('apply', repo, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    writeFolder(repo, { ...clusters({ c3: '' }, budget), 'queues/batch.yaml': queue(20) });

    const whole = await run('plan', repo, '--detailed-exitcode');
    expect(whole.code).toBe(1);
    expect(whole.stdout + whole.stderr).toContain('this plan would delete 2 objects');
    const queueOnly = await run('plan', repo, '--target', 'Queue/batch', '--detailed-exitcode');
    expect([queueOnly.code, queueOnly.stderr]).toEqual([2, '']);
    expect(queueOnly.stdout).not.toContain('would delete');
    expect(queueOnly.stdout).not.toContain('poolsync/confirm-destroy');
    const one = await run('plan', repo, '--target', 'Cluster/c1', '--detailed-exitcode');
    expect([one.code, one.stderr]).toEqual([2, '']);
    const both = await run('plan', repo, '--target', 'Cluster/c1', '--target', 'Cluster/c2');
    expect(both.code).toBe(1);
    expect(both.stdout + both.stderr).toContain(
      'this plan would delete 2 objects, over guardrails.max_destroy: 1',
    );
    expect(both.stdout).toContain(
      "Needs a person's approval (poolsync/confirm-destroy): Cluster/c2.",
    );

    // Nothing destroyed, nothing to confirm: --auto-approve applies the targeted update.
    const target = await run('apply', repo, '--target', 'Queue/batch', '--auto-approve');
    expect(target.code, target.stderr).toBe(0);
    const cp = await EmbeddedControlPlane.open({ path: join(root, 'cp.json') });
    const names = (await cp.listClusters()).map((c) => c.name).sort();
    const batch = await cp.getQueue('batch');
    await cp.close();
    expect(names).toEqual(['c1', 'c2', 'c3']);
    expect(batch?.run_concurrency).toBe(20);
  });
});
