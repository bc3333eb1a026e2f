/**
 * A policy folder is read as every file of a repository is (docs/security.md, "What is read";
 * docs/policies.md): a folder that is a symbolic link, sits under one or holds one at any depth
 * (or holds a FIFO) is refused, naming the entry, never followed out of the repository. OPA is
 * handed copies of the regular files checked, never the folder: a hand-tester's `policies ->
 * /tmp/out` printed `/tmp/out/data.json`'s token through a `warn`. `validate` reports the same
 * at poolsync.yaml's `policies.path`, and a folder that is not there with the closest one. In a
 * pull request the base commit's links are refused too, and a folder the base commit lacks is
 * said to be missing there, not empty.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { evaluatePolicies, type PolicySet } from '../../src/policy/evaluate.js';
import { policySetsOf } from '../../src/policy/source.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { CLEAN_ENV, git, opaMissing, opaPath } from './opa.js';

const ENV = CLEAN_ENV;

const POOL =
  'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: {name: gpu}\nspec:\n  object_store_ref: {uri: s3://b/m}\n  secret_store: {type: KUBERNETES, locator: x}\n';
const LEAK =
  'package main\n\nwarn contains msg if {\n\tmsg := sprintf("leak %v", [data.token])\n}\n';
const SECRET = 'TOPSECRET';

/** Files outside any repository: a secret data file and a policy printing it. */
function outside(): string {
  const dir = tempFolder('poolsync-outside-');
  writeFileSync(join(dir, 'data.json'), JSON.stringify({ token: SECRET }));
  writeFileSync(join(dir, 'a.rego'), LEAK);
  return dir;
}

/** A Git repository declaring one pool, poolsync.yaml `policies:` as given (none: ''). */
function repository(policies = 'policies: {path: policies, owners: [alice]}\n'): string {
  const dir = tempFolder('poolsync-policy-links-');
  git(dir, 'init', '-q', '-b', 'main');
  mkdirSync(join(dir, 'pools'));
  writeFileSync(join(dir, 'pools/p.yaml'), POOL);
  writeFileSync(
    join(dir, 'poolsync.yaml'),
    `apiVersion: poolsync/v1\nkind: RepoConfig\n${policies}`,
  );
  return dir;
}

const cp = () => `file:${join(tempFolder('poolsync-policy-cp-'), 'state.json')}`;
const PLAN = {
  format_version: '1',
  changes: [],
  steps: [],
  warnings: [],
  errors: [],
} as unknown as Plan;
const LINK_WHY =
  'poolsync never follows a link to read policies (it could lead outside the repository, and a policy can print what it reads)';

describe('a policy folder through a symbolic link is refused, never followed (no OPA is started)', () => {
  it("validate and plan refuse poolsync.yaml's linked policies.path at its line and column", async () => {
    const out = outside();
    const repo = repository();
    symlinkSync(out, join(repo, 'policies'));
    const env = { ...ENV, POOLSYNC_OPA: opaPath ?? '/bin/true' };
    const validated = await runInProcess(['validate', repo], env);
    expect(validated.code).toBe(1);
    expect(validated.stdout).toContain(
      `poolsync.yaml:3:18: IO policies.path 'policies' is a symbolic link: ${LINK_WHY}; name the real folder, or put the folder itself there\n`,
    );
    const planned = await runInProcess(['plan', repo, '--control-plane', cp()], env);
    expect(planned.code).toBe(1);
    expect(planned.stdout + planned.stderr).not.toContain(SECRET);
    // A folder under a link: `conf -> outside`, `policies.path: conf`'s subfolder.
    const under = repository('policies: {path: conf/policies}\n');
    const parent = tempFolder('poolsync-outside-parent-');
    symlinkSync(out, join(parent, 'policies'));
    symlinkSync(parent, join(under, 'conf'));
    const nested = await runInProcess(['validate', under], env);
    expect(nested.stdout).toContain(
      `poolsync.yaml:3:18: IO policies.path 'conf/policies' is under conf, a symbolic link: ${LINK_WHY}; name the real folder\n`,
    );
  });

  it('a link, a linked folder or a FIFO inside a real policy folder, at any depth, refuses the folder, naming the entry', async () => {
    const out = outside();
    const cases: [string, (dir: string) => void, string][] = [
      [
        'data.json',
        (d) => symlinkSync(join(out, 'data.json'), join(d, 'data.json')),
        `holds data.json, a symbolic link: ${LINK_WHY}; replace it with the file or folder itself, or remove it`,
      ],
      [
        'deep/er/b.rego',
        (d) => {
          mkdirSync(join(d, 'deep/er'), { recursive: true });
          symlinkSync(join(out, 'a.rego'), join(d, 'deep/er/b.rego'));
        },
        `holds deep/er/b.rego, a symbolic link: ${LINK_WHY}; replace it with the file or folder itself, or remove it`,
      ],
      [
        'lib',
        (d) => symlinkSync(out, join(d, 'lib')),
        `holds lib, a symbolic link: ${LINK_WHY}; replace it with the file or folder itself, or remove it`,
      ],
      [
        'pipe.json',
        (d) => execFileSync('mkfifo', [join(d, 'pipe.json')]),
        'holds pipe.json, a FIFO: a policy folder holds regular files and folders only; remove it',
      ],
    ];
    for (const [, make, words] of cases) {
      const repo = repository();
      mkdirSync(join(repo, 'policies'));
      writeFileSync(join(repo, 'policies/main.rego'), 'package main\n');
      make(join(repo, 'policies'));
      const validated = await runInProcess(['validate', repo], ENV);
      expect(validated.code).toBe(1);
      expect(validated.stdout).toContain(
        `poolsync.yaml:3:18: IO policies.path 'policies' ${words}\n`,
      );
      // The same folder given with --policies (poolsync.yaml names none): refused before OPA.
      const set: PolicySet = {
        source: 'given',
        at: { kind: 'folder', dir: join(repo, 'policies') },
        owners: [],
      };
      const report = await evaluatePolicies(set, PLAN, {}, '/bin/false');
      expect(report.error).toBe(`the policy folder given ${words}`);
    }
    // --policies naming a link (to a folder outside): refused, whatever it points to.
    const repo = repository('');
    symlinkSync(out, join(repo, 'linked'));
    const r = await runInProcess(
      ['plan', repo, '--control-plane', cp(), '--policies', join(repo, 'linked')],
      { ...ENV, POOLSYNC_OPA: opaPath ?? '/bin/true' },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `Policies failed to evaluate: the policy folder ${join(repo, 'linked')} is a symbolic link: ${LINK_WHY}; name the real folder, or put the folder itself there\n`,
    );
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('validate and check name a policies.path that does not exist at its line, with the closest folder', async () => {
    const repo = repository('policies:\n  owners: [alice]\n  path: polices\n');
    mkdirSync(join(repo, 'policies'));
    const r = await runInProcess(['validate', repo], ENV);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "poolsync.yaml:5:9: IO policies.path 'polices' does not exist (did you mean 'policies'?): name the folder of .rego files, relative to the folder of poolsync.yaml\n",
    );
    // check names it too, where it said "1 errors (`poolsync validate` lists them)".
    const checked = await runInProcess(['check', repo, '--control-plane', cp()], ENV);
    expect(checked.stdout).toContain(
      `✗ config folder ${repo}: poolsync.yaml:5:9: IO policies.path 'polices' does not exist (did you mean 'policies'?)`,
    );
    writeFileSync(join(repo, 'policies/a.rego'), 'package main\n');
    const file = repository('policies: {path: policies/a.rego}\n');
    mkdirSync(join(file, 'policies'));
    writeFileSync(join(file, 'policies/a.rego'), 'package main\n');
    expect((await runInProcess(['validate', file], ENV)).stdout).toContain(
      "poolsync.yaml:3:18: IO policies.path 'policies/a.rego' is a file, not a folder: name the folder that holds it (every .rego file of the folder is read)\n",
    );
    const fixed = repository('policies:\n  owners: [alice]\n  path: ./policies/\n');
    mkdirSync(join(fixed, 'policies'));
    writeFileSync(join(fixed, 'policies/a.rego'), 'package main\n');
    expect((await runInProcess(['validate', fixed], ENV)).code).toBe(0);
  });

  it("the policy folder's YAML data files are OPA's, never read as manifests", async () => {
    const repo = repository('policies:\n  owners: [alice]\n  path: ./ci/policies/\n');
    mkdirSync(join(repo, 'ci/policies/data'), { recursive: true });
    writeFileSync(join(repo, 'ci/policies/a.rego'), 'package main\n');
    writeFileSync(join(repo, 'ci/policies/data/limits.yaml'), 'max_queues: 3\n');
    const r = await runInProcess(['validate', repo], ENV);
    expect(r.stdout + r.stderr).not.toContain('limits.yaml');
    expect(r.code).toBe(0);
  });
});

describe('in a pull request, the base commit’s policy folder', () => {
  /** A repository whose base commit has what `base` makes; the pull request's head one commit on. */
  function pullRequest(
    base: (dir: string) => void,
    policies?: string,
  ): { dir: string; commit: string } {
    const dir = repository(policies);
    base(dir);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'base');
    const commit = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'checkout', '-qb', 'change');
    return { dir, commit };
  }
  const setOf = (dir: string, commit: string, flag?: string) =>
    policySetsOf({
      flag,
      dir,
      config: undefined,
      opening: { vars: { POOLSYNC_BASE_REF: commit } },
    }).then((s) => s.set);

  it('is refused when it is a symbolic link, or holds one, on the base commit (Git blobs of mode 120000)', async () => {
    const out = outside();
    const linked = pullRequest((d) => symlinkSync(out, join(d, 'policies')));
    const set = (await setOf(linked.dir, linked.commit))!;
    expect(set.at.kind).toBe('commit');
    const short = linked.commit.slice(0, 12);
    expect((await evaluatePolicies(set, PLAN, {}, '/bin/false')).error).toBe(
      `the policy folder policies is a symbolic link on the base commit ${short}: ${LINK_WHY}; put the folder itself there`,
    );
    const holding = pullRequest((d) => {
      mkdirSync(join(d, 'policies/sub'), { recursive: true });
      writeFileSync(join(d, 'policies/main.rego'), LEAK);
      symlinkSync(join(out, 'data.json'), join(d, 'policies/sub/data.json'));
    });
    const held = (await setOf(holding.dir, holding.commit))!;
    expect((await evaluatePolicies(held, PLAN, {}, '/bin/false')).error).toBe(
      `the policy folder policies holds sub/data.json, a symbolic link, on the base commit ${holding.commit.slice(0, 12)}: ${LINK_WHY}; replace it with the file itself, or remove it`,
    );
  });

  it('--policies naming a folder the base commit lacks says so, not "holds no .rego file"', async () => {
    const pr = pullRequest((d) => {
      mkdirSync(join(d, 'policies'));
      writeFileSync(join(d, 'policies/strict.rego'), 'package main\n\ndeny contains "x" if true\n');
    });
    mkdirSync(join(pr.dir, 'lax'));
    writeFileSync(join(pr.dir, 'lax/lax.rego'), 'package main\n\nwarn contains "x" if false\n');
    git(pr.dir, 'add', '-A');
    git(pr.dir, 'commit', '-qm', 'lax');
    const r = await runInProcess(
      ['plan', pr.dir, '--control-plane', cp(), '--policies', 'lax'],
      { ...ENV, POOLSYNC_OPA: opaPath ?? '/bin/true', POOLSYNC_BASE_REF: pr.commit },
      pr.dir,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `Policies failed to evaluate: the policy folder lax does not exist on the base commit ${pr.commit.slice(0, 12)} (policies are read from the base branch in a pull request, so that it cannot change what checks it): add it on the base branch first, or name a folder outside the checkout\n`,
    );
  });

  it("poolsync.yaml's path is taken below the config folder as written: a link the pull request puts on the way leads nowhere else", async () => {
    const pr = pullRequest((d) => {
      mkdirSync(join(d, 'conf/policies'), { recursive: true });
      writeFileSync(join(d, 'conf/policies/strict.rego'), 'package main\n');
    }, 'policies: {path: conf/policies}\n');
    // The pull request replaces conf/ with a link to a folder outside the repository.
    const elsewhere = tempFolder('poolsync-elsewhere-');
    mkdirSync(join(elsewhere, 'policies'));
    writeFileSync(join(elsewhere, 'policies/lax.rego'), 'package main\n');
    git(pr.dir, 'rm', '-rq', 'conf');
    symlinkSync(elsewhere, join(pr.dir, 'conf'));
    git(pr.dir, 'add', '-A');
    git(pr.dir, 'commit', '-qm', 'redirect');
    const set = await setOf(pr.dir, pr.commit);
    expect(set?.at).toMatchObject({ kind: 'commit', path: 'conf/policies' });
  });
});

describe.skipIf(opaMissing)(
  `policies against the real OPA${opaMissing ? ` (skipped: ${opaMissing})` : ''}`,
  { timeout: 60_000 },
  () => {
    it("a linked data file never reaches OPA; copies of the checked files keep OPA's reading", async () => {
      // The hand-tester's repro with --policies: a real folder, its data.json a link out.
      const out = outside();
      const repo = repository('');
      mkdirSync(join(repo, 'policies'));
      writeFileSync(join(repo, 'policies/a.rego'), LEAK);
      symlinkSync(join(out, 'data.json'), join(repo, 'policies/data.json'));
      const r = await runInProcess(
        ['plan', repo, '--control-plane', cp(), '--policies', join(repo, 'policies')],
        { ...ENV, POOLSYNC_OPA: opaPath! },
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('holds data.json, a symbolic link');
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      // Data files keep their folder's path under data; Rego errors name their file and line.
      const dir = tempFolder('poolsync-policies-');
      mkdirSync(join(dir, 'sub'));
      writeFileSync(join(dir, 'sub/data.json'), JSON.stringify({ limit: 3 }));
      writeFileSync(join(dir, 'README.md'), 'not a policy\n');
      writeFileSync(
        join(dir, 'a.rego'),
        'package main\n\nwarn contains sprintf("limit %v", [data.sub.limit]) if true\n',
      );
      const set: PolicySet = { source: 'p', at: { kind: 'folder', dir }, owners: [] };
      const read = await evaluatePolicies(set, PLAN, {}, opaPath!);
      expect(read).toMatchObject({ files: 1, rules: 1, warn: [{ rule: 'warn', msg: 'limit 3' }] });
      mkdirSync(join(dir, 'more'));
      writeFileSync(join(dir, 'more/b.rego'), 'package main\n\ndeny contains if {\n');
      expect((await evaluatePolicies(set, PLAN, {}, opaPath!)).error).toMatch(
        /^p\/more\/b\.rego:3: .*rego_parse_error.*fail closed$/,
      );
    });
  },
);
