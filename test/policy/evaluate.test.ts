/**
 * Policies are bounded and fail closed (issue 75, docs/policies.md): a policy calling a network
 * or runtime builtin, looping past its limit, writing too much, breaking conftest's conventions
 * or defining no rule gives an error, never a pass; apply then sends nothing. In a pull request
 * the base branch's policies and owners are the ones evaluated. Against the real OPA; the
 * finding of OPA itself runs without it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, evaluatePolicies, type PolicySet } from '../../src/policy/evaluate.js';
import { findOpa, opaMemoryMiB } from '../../src/policy/opa.js';
import { policyMarkdown } from '../../src/render/policy.js';
import type { Plan } from '../../src/model/plan.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { CLEAN_ENV, git, opaMissing, opaPath } from './opa.js';

const ENV = CLEAN_ENV;

const POOL = `apiVersion: poolsync/v1
kind: ClusterPool
metadata:
  name: gpu
spec:
  object_store_ref:
    uri: s3://gpu/data
  secret_store:
    type: AWS_SECRETS_MANAGER
    locator: us-east-1
`;

/** A repository declaring one pool, `poolsync.yaml` extra lines, and `files` (path → text). */
function repository(config = '', files: Record<string, string> = {}) {
  const dir = tempFolder('poolsync-policy-repo-');
  writeFileSync(join(dir, 'poolsync.yaml'), `apiVersion: poolsync/v1\nkind: RepoConfig\n${config}`);
  writeFileSync(join(dir, 'pools.yaml'), POOL);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { dir, cp: `file:${join(tempFolder('poolsync-policy-cp-'), 'state.json')}` };
}

function folder(files: Record<string, string>): string {
  const dir = tempFolder('poolsync-policies-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const MINIMAL_PLAN = { format_version: '1', changes: [], steps: [], warnings: [], errors: [] };
const set = (dir: string): PolicySet => ({ source: 'p/', at: { kind: 'folder', dir }, owners: [] });
const evaluate = (dir: string, limits = { ...DEFAULT_LIMITS, maxOutputBytes: 1 << 20 }) =>
  evaluatePolicies(set(dir), MINIMAL_PLAN as unknown as Plan, {}, opaPath!, limits);

describe('finding OPA (no OPA needed)', () => {
  it('--policies without OPA says in one line how to install it; without --policies nothing is needed', async () => {
    const r = repository();
    const none = join(tempFolder('poolsync-no-opa-'), 'opa');
    const env = {
      ...ENV,
      PATH: '/nonexistent',
      POOLSYNC_OPA: none,
      XDG_CACHE_HOME: tempFolder('c-'),
    };
    const failed = await runInProcess(
      [
        'plan',
        r.dir,
        '--control-plane',
        r.cp,
        '--policies',
        folder({ 'a.rego': 'package main\n' }),
      ],
      env,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toEqual([
      `Error: POOLSYNC_OPA ${none}: not an executable file; install OPA v1.22.3 (scripts/install-opa.sh in poolsync's repository, \`go install github.com/open-policy-agent/opa@v1.22.3\`, or a release from https://github.com/open-policy-agent/opa/releases) and pass --opa PATH or set POOLSYNC_OPA`,
    ]);
    const { POOLSYNC_OPA: _, ...unset } = env;
    expect(() => findOpa(undefined, unset)).toThrow(
      /^--policies needs the Open Policy Agent and none was found: install OPA/,
    );
    // Policies configured by poolsync.yaml alone: its line is named, not a flag never given.
    const configured = repository('policies:\n  path: pol\n', { 'pol/a.rego': 'package main\n' });
    const fromConfig = await runInProcess(['plan', configured.dir, '--control-plane', r.cp], unset);
    expect(fromConfig.code).toBe(1);
    expect(fromConfig.stdout).toBe('');
    expect(fromConfig.stderr).toMatch(
      `Error: ${configured.dir}/poolsync.yaml:4: policies.path 'pol' needs the Open Policy Agent and none was found: install OPA`,
    );
    // A folder may be entered (X_OK) but is no executable file.
    expect(() => findOpa('/tmp', unset)).toThrow(
      /^--opa \/tmp: not an executable file; install OPA/,
    );
    // An executable that is not OPA fails closed, saying so.
    const notOpa = await runInProcess(
      [
        'plan',
        r.dir,
        '--control-plane',
        r.cp,
        '--policies',
        folder({ 'a.rego': 'package main\n' }),
        '--opa',
        '/bin/false',
      ],
      env,
    );
    expect(notOpa.code).toBe(1);
    expect(notOpa.stdout).toContain(
      'Policies failed to evaluate: /bin/false did not answer `opa capabilities --current` as OPA does: exit 1',
    );
    const plain = await runInProcess(['plan', r.dir, '--control-plane', r.cp], env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('Policies');
  });

  it('POOLSYNC_OPA_MEMORY is a whole number of MiB, at least 128 (OPA itself needs more than 64 to start); unset, 512', () => {
    expect(opaMemoryMiB({})).toBe(512);
    expect(opaMemoryMiB({ POOLSYNC_OPA_MEMORY: ' 512 ' })).toBe(512);
    for (const bad of ['lots', '64', '1.5', '-1'])
      expect(() => opaMemoryMiB({ POOLSYNC_OPA_MEMORY: bad })).toThrow(
        `POOLSYNC_OPA_MEMORY ${bad}: not a whole number of MiB of at least 128; give the memory OPA may use for the policies (default 512)`,
      );
  });

  it("only Go's own out-of-memory deaths are said as memory; any other crash as OPA crashing, with its first line", async () => {
    // A stand-in OPA dying as Go's runtime does (stderr as Go writes it; no PATH reaches it).
    const dying = (stderr: string) => {
      const dir = tempFolder('poolsync-dying-opa-');
      writeFileSync(join(dir, 'stderr.txt'), stderr);
      const script = join(dir, 'opa');
      writeFileSync(
        script,
        `#!/bin/sh\nif [ "$1" = capabilities ]; then echo '{"builtins":[]}'; exit 0; fi\nwhile IFS= read -r l; do printf '%s\\n' "$l" >&2; done < ${dir}/stderr.txt\nexit 2\n`,
        { mode: 0o755 },
      );
      return script;
    };
    const run = (opa: string) =>
      evaluatePolicies(
        set(folder({ 'a.rego': 'package main\n' })),
        MINIMAL_PLAN as unknown as Plan,
        {},
        opa,
        { ...DEFAULT_LIMITS, memoryMiB: 256 },
      );
    const frames = '\tgithub.com/open-policy-agent/opa/v1/topdown/eval.go:123 +0x5d\n';
    for (const first of [
      'fatal error: runtime: cannot allocate memory',
      // Two threads dying at once, as OPA under a 128 MiB limit once did.
      'fatal error: fatal error: runtime: cannot allocate memory',
      'fatal error: runtime: out of memory',
      'runtime: out of memory: cannot allocate 4194304-byte block (268435456 in use)',
      'SIGSEGV: segmentation violation',
    ]) {
      const stderr = first.startsWith('SIGSEGV')
        ? `${first}\nPC=0x437c7d m=2 sigcode=1 addr=0x0\n\ngoroutine 0 gp=0x1a5a08204b40 m=2 [idle]:\nruntime.(*spanQueue).tryDrain(0x2000?)\n\truntime/mgcmark_greenteagc.go:520 +0x5d\n`
        : `${first}\n${first.startsWith('runtime:') ? 'fatal error: out of memory\n' : ''}\ngoroutine 1 [running]:\n${frames}`;
      expect((await run(dying(stderr))).error).toBe(
        `the policies of p/ ran over their memory limit of 256 MiB (OPA: ${first}): stopped, they fail closed; make them build less, or raise POOLSYNC_OPA_MEMORY`,
      );
    }
    for (const first of [
      'fatal error: concurrent map writes',
      'fatal error: stack overflow',
      'SIGSEGV: segmentation violation',
      'SIGABRT: abort',
    ]) {
      const opa = dying(
        `${first}\nPC=0x4a1b2c m=0 sigcode=1\n\ngoroutine 7 [running]:\ngithub.com/open-policy-agent/opa/v1/topdown.evalTerm()\n${frames}`,
      );
      expect((await run(opa)).error).toBe(
        `OPA (${opa}) crashed evaluating the policies of p/ (${first}): they fail closed`,
      );
    }
  });

  it('without OPA, a --policies that is no folder of policies is said first, as with OPA', async () => {
    const r = repository();
    const env = { ...ENV, PATH: '/nonexistent', XDG_CACHE_HOME: tempFolder('c-') };
    const plan = (policies: string) =>
      runInProcess(['plan', r.dir, '--control-plane', r.cp, '--policies', policies], env);
    const missing = await plan('/nonexistent');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      'Policies failed to evaluate: the policy folder /nonexistent does not exist; name a folder of .rego files',
    );
    const dir = folder({ 'deny.rego': 'package main\n' });
    const file = await plan(join(dir, 'deny.rego'));
    expect(file.code).toBe(1);
    expect(file.stdout).toContain(
      `--policies ${dir}/deny.rego is a file, not a folder: name its folder (--policies ${dir})`,
    );
    expect(`${missing.stderr}${file.stderr}`).not.toContain('Open Policy Agent');
  });
});

describe.skipIf(opaMissing)(
  `policies fail closed${opaMissing ? ` (skipped: ${opaMissing})` : ''}`,
  { timeout: 120_000 },
  () => {
    it('refuses http.send, opa.runtime and net.lookup_ip_addr through OPA capabilities: an error naming the file and line', async () => {
      for (const [call, line] of [
        [
          'http.send({"method": "GET", "url": "http://127.0.0.1:1/"}).status_code == 200',
          'http.send',
        ],
        ['opa.runtime().env.HOME != ""', 'opa.runtime'],
        ['count(net.lookup_ip_addr("example.com")) > 0', 'net.lookup_ip_addr'],
      ]) {
        const r = await evaluate(
          folder({ 'a.rego': `package main\n\ndeny contains "x" if {\n\t${call}\n}\n` }),
        );
        expect(r.error).toBe(
          `p/a.rego:4: calls ${line}, which poolsync refuses to policies (no network, no OPA runtime): the policies fail closed`,
        );
        expect(r.deny).toEqual([]);
      }
    });

    it('a policy that runs past its limit is stopped by it and fails closed', async () => {
      const loop = `package main\n\ndeny contains "never" if {\n\tsome a in numbers.range(1, 100000)\n\tsome b in numbers.range(1, 100000)\n\ta * b < 0\n}\n`;
      const r = await evaluate(folder({ 'loop.rego': loop }), {
        ...DEFAULT_LIMITS,
        timeoutMs: 1000,
      });
      expect(r.error).toMatch(
        /^p\/loop\.rego:\d+: the policies ran over their limit of 1 s \(.*\): stopped, they fail closed$/,
      );
    });

    it('results past the output bound are stopped', async () => {
      const big = `package main\n\nwarn contains sprintf("%d", [i]) if some i in numbers.range(1, 100000)\n`;
      const r = await evaluate(folder({ 'big.rego': big }), {
        ...DEFAULT_LIMITS,
        maxOutputBytes: 100_000,
      });
      expect(r.error).toBe('the policies of p/ wrote more than 100000 bytes of results: stopped');
    });

    it('a policy past its memory bound fails closed, saying so; a normal one passes under the bound', async () => {
      // A 3,000,000-element array and its string: ~780 MB resident without the bound.
      const hungry = `package main\n\ndeny contains "never" if {\n\ts := concat(",", [sprintf("%d", [i]) | some i in numbers.range(1, 3000000)])\n\tcount(s) < 0\n}\n`;
      const r = await evaluate(folder({ 'hungry.rego': hungry }), {
        ...DEFAULT_LIMITS,
        memoryMiB: 256,
      });
      expect(r.error).toMatch(
        /^the policies of p\/ ran over their memory limit of 256 MiB \(OPA: (fatal error|SIG[A-Z]+): [^\n]*\): stopped, they fail closed; make them build less, or raise POOLSYNC_OPA_MEMORY$/,
      );
      const normal = `package main\n\ndeny contains "wide" if count([i | some i in numbers.range(1, 10000)]) > 20000\n`;
      const passed = await evaluate(folder({ 'normal.rego': normal }), DEFAULT_LIMITS);
      expect(passed).toMatchObject({ files: 1, rules: 1, deny: [] });
      expect(passed.error).toBeUndefined();
    });

    it('0 policies evaluated is a failure: no .rego file, no package main, or no deny/violation/warn rule', async () => {
      expect((await evaluate(folder({}))).error).toBe(
        'p/ holds no .rego file: 0 policies evaluated',
      );
      // A folder that is not one, in words (they were errno codes: "cannot be read (ENOENT)").
      expect((await evaluate(join(tempFolder('poolsync-policies-'), 'none'))).error).toBe(
        'the policy folder p/ does not exist; name a folder of .rego files',
      );
      // A .rego file named as the folder: its folder is meant (docs/policies.md).
      const file = join(folder({ 'a.rego': 'package main\n' }), 'a.rego');
      const single = await evaluatePolicies(
        { source: 'q/a.rego', at: { kind: 'folder', dir: file }, owners: [] },
        MINIMAL_PLAN as unknown as Plan,
        {},
        opaPath!,
      );
      expect(single.error).toBe(
        '--policies q/a.rego is a file, not a folder: name its folder (--policies q), whose .rego files are all read',
      );
      const other = await evaluate(
        folder({ 'a.rego': 'package other\n\ndeny contains "x" if true\n' }),
      );
      expect(other).toMatchObject({ rules: 0, files: 1 });
      expect(other.error).toBeUndefined();
      const helpers = await evaluate(folder({ 'a.rego': 'package main\n\nlimit := 3\n' }));
      expect(helpers.rules).toBe(0);
      const r = repository('', {});
      const cli = await runInProcess(
        [
          'plan',
          r.dir,
          '--control-plane',
          r.cp,
          '--policies',
          folder({ 'a.rego': 'package main\n\nlimit := 3\n' }),
        ],
        { ...ENV, POOLSYNC_OPA: opaPath! },
      );
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain('0 policies evaluated, which is a failure');
    });

    it("conftest's conventions: strings and objects with msg; prefixed rules; anything else fails closed", async () => {
      const ok = await evaluate(
        folder({
          'a.rego': `package main\n\ndeny contains "a" if true\n\nviolation contains {"msg": "b", "address": "Queue/q", "details": 1} if true\n\nwarn_style contains "c" if true\n`,
        }),
      );
      expect(ok).toMatchObject({
        rules: 3,
        deny: [
          { rule: 'deny', msg: 'a' },
          { rule: 'violation', msg: 'b', address: 'Queue/q' },
        ],
        warn: [{ rule: 'warn_style', msg: 'c' }],
      });
      const noMsg = await evaluate(
        folder({ 'a.rego': 'package main\n\ndeny contains {"message": "x"} if true\n' }),
      );
      expect(noMsg.error).toMatch(
        /^rule deny gave \{"message":"x"\}: a message is a string or an object with a string msg/,
      );
      const notASet = await evaluate(folder({ 'a.rego': 'package main\n\ndeny := "x"\n' }));
      expect(notASet.error).toMatch(/^rule deny is not a set of messages/);
      const broken = await evaluate(folder({ 'a.rego': 'package main\n\ndeny contains if {\n' }));
      expect(broken.error).toMatch(/^p\/a\.rego:\d+: .*rego_parse_error.*fail closed$/);
    });

    it("a built-in's error fails closed at its file:line with OPA's words, never passes (a pull request's annotation cannot switch a policy off)", async () => {
      const gpus =
        'package main\n\ndeny contains "too many GPUs" if {\n\tsome c in input.changes\n\tto_number(data.poolsync.objects[c.address].annotations["max-gpus"]) > 8\n}\n';
      const r = repository('policies:\n  path: policies\n', { 'policies/gpus.rego': gpus });
      writeFileSync(
        join(r.dir, 'pools.yaml'),
        POOL.replace('  name: gpu\n', '  name: gpu\n  annotations:\n    max-gpus: lots\n'),
      );
      const planned = await runInProcess(['plan', r.dir, '--control-plane', r.cp], {
        ...ENV,
        POOLSYNC_OPA: opaPath!,
      });
      expect(planned.code).toBe(1);
      const said =
        'policies/gpus.rego:5: to_number: strconv.ParseFloat: parsing "lots": invalid syntax (a built-in function failed, so the rule could not be decided): the policies fail closed';
      expect(planned.stdout).toContain(`  Policies failed to evaluate: ${said}\n`);
      expect(planned.stdout).not.toContain('passed');
      const division = await evaluate(
        folder({
          'a.rego': 'package main\n\ndeny contains "x" if {\n\tcount(input.changes) / 0 > 1\n}\n',
        }),
      );
      expect(division.error).toBe(
        'p/a.rego:4: div: divide by zero (a built-in function failed, so the rule could not be decided): the policies fail closed',
      );
      // The pull-request comment (and the daemon's) shows the same failure, not a pass.
      expect(policyMarkdown(division)).toContain('### ❌ Policies');
    });

    it("OPA's conflict error names the user's policy file, never poolsync's copy, on one line", async () => {
      const r = await evaluate(
        folder({ 'a.rego': 'package main\n\nx := 1\n\nx := 2\n\ndeny contains "a" if x == 1\n' }),
      );
      expect(r.error).toBe(
        'p/a.rego:5: rule data.main.x produced conflicting values: 1 at p/a.rego:3; 2 at p/a.rego:5 (eval_conflict_error): the policies fail closed',
      );
    });

    it('a data file OPA cannot read is named at its path in the policy folder, never at the copy OPA was given', async () => {
      const rego = 'package main\n\ndeny contains "x" if false\n';
      const yaml = await evaluate(folder({ 'a.rego': rego, 'limits.yaml': 'a: [1\nb: 2\n' }));
      expect(yaml.error).toBe(
        "p/limits.yaml: error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']': the policies fail closed",
      );
      const json = await evaluate(folder({ 'a.rego': rego, 'd.json': '{' }));
      expect(json.error).toBe('p/d.json: unexpected EOF: the policies fail closed');
    });

    it('a failure of a policy set that lists no owner says nobody can approve it: plan, its markdown, apply', async () => {
      const r = repository();
      const deny = folder({ 'a.rego': 'package main\n\ndeny contains "no" if true\n' });
      const env = { ...ENV, POOLSYNC_OPA: opaPath! };
      const none =
        'the policy set lists no owner; fix the plan, or add `owners` under `policies` in poolsync.yaml (`--policy-owners` for the daemon)';
      const planned = await runInProcess(
        ['plan', r.dir, '--control-plane', r.cp, '--policies', deny],
        env,
      );
      expect(planned.code).toBe(1);
      expect(planned.stdout).toContain(
        `1 failure, 0 warnings: apply is blocked, and nobody can approve: ${none}\n`,
      );
      expect(planned.stdout).not.toContain('until an owner');
      // The pull-request comment's section (render/policy.ts), for the same report.
      const report = await evaluatePolicies(
        { source: 'p/', at: { kind: 'folder', dir: deny }, owners: [] },
        MINIMAL_PLAN as unknown as Plan,
        {},
        opaPath!,
      );
      expect(policyMarkdown(report)).toContain(
        `Nobody can release these failures: ${none} (docs/policies.md).`,
      );
      const applied = await runInProcess(
        ['apply', r.dir, '--control-plane', r.cp, '--auto-approve', '--policies', deny],
        env,
      );
      expect(applied.code).toBe(1);
      expect(applied.stderr).toContain(
        `the policies deny this plan (1 failure, above): nothing was applied; nobody can approve them: ${none} (docs/policies.md)`,
      );
    });

    it('apply with a policy that never ends fails closed within its limit (10 s): nothing is applied', async () => {
      const r = repository();
      const loop = `package main\n\ndeny contains "never" if {\n\tsome a in numbers.range(1, 100000)\n\tsome b in numbers.range(1, 100000)\n\ta * b < 0\n}\n`;
      const applied = await runInProcess(
        [
          'apply',
          r.dir,
          '--control-plane',
          r.cp,
          '--auto-approve',
          '--policies',
          folder({ 'loop.rego': loop }),
        ],
        { ...ENV, POOLSYNC_OPA: opaPath! },
      );
      expect(applied.code).toBe(1);
      expect(applied.stdout).toMatch(/the policies ran over their limit of 10 s/);
      expect(applied.stderr).toContain(
        'the policies could not be evaluated (above): they fail closed, nothing was applied',
      );
      const after = await runInProcess(
        ['plan', r.dir, '--control-plane', r.cp, '--detailed-exitcode'],
        ENV,
      );
      expect(after.code).toBe(2); // the pool is still to create
    });

    it('in a pull request the base branch’s policies and owners are evaluated, not the pull request’s edits', async () => {
      const strict =
        'package main\n\ndeny contains "pools need a registry" if {\n\tsome c in input.changes\n\tc.kind == "ClusterPool"\n\tc.after.contract.image_registry == null\n}\n';
      const r = repository(
        'policies:\n  path: policies\n  owners: [alice, "team:acme/platform"]\n',
        {
          'policies/registry.rego': strict,
        },
      );
      git(r.dir, 'init', '-q', '-b', 'main');
      git(r.dir, 'add', '.');
      git(r.dir, 'commit', '-qm', 'base');
      const base = git(r.dir, 'rev-parse', 'HEAD');
      // The pull request weakens the policy and names its author an owner.
      git(r.dir, 'checkout', '-qb', 'weaken');
      writeFileSync(
        join(r.dir, 'policies/registry.rego'),
        'package main\n\ndeny contains "x" if false\n',
      );
      writeFileSync(
        join(r.dir, 'poolsync.yaml'),
        readFileSync(join(r.dir, 'poolsync.yaml'), 'utf8').replace(
          'owners: [alice, "team:acme/platform"]',
          'owners: [mallory]',
        ),
      );
      git(r.dir, 'commit', '-qam', 'weaken');
      const env = { ...ENV, POOLSYNC_OPA: opaPath! };
      const inPr = await runInProcess(['plan', r.dir, '--control-plane', r.cp], {
        ...env,
        POOLSYNC_BASE_REF: base,
      });
      expect(inPr.code).toBe(1);
      expect(inPr.stdout).toContain('FAIL deny: pools need a registry');
      expect(inPr.stdout).toContain(
        'Policies of policies (base branch): 1 rule in 1 file: 1 failure, 0 warnings: apply is blocked until an owner of the policies approves (alice, team:acme/platform)',
      );
      // --policies names a folder of the checkout: also read from the base commit.
      const flag = await runInProcess(
        ['plan', r.dir, '--control-plane', r.cp, '--policies', join(r.dir, 'policies')],
        { ...env, POOLSYNC_BASE_REF: base },
      );
      expect(flag.code).toBe(1);
      expect(flag.stdout).toContain('(base branch)');
      // Outside a pull request the checkout's own (weakened) policies and owners are evaluated.
      const local = await runInProcess(['plan', r.dir, '--control-plane', r.cp], env);
      expect(local.code).toBe(0);
      expect(local.stdout).toContain(
        'Policies of policies: 1 rule in 1 file: 0 failures, 0 warnings: passed',
      );
    });

    it('a commit’s policy set at the repository’s top folder (the daemon’s `policies.path: .`) is read from the commit', async () => {
      const dir = folder({ 'deny.rego': 'package main\n\ndeny contains "committed" if true\n' });
      git(dir, 'init', '-q', '-b', 'main');
      git(dir, 'add', '.');
      git(dir, 'commit', '-qm', 'policies');
      const commit = git(dir, 'rev-parse', 'HEAD');
      writeFileSync(join(dir, 'deny.rego'), 'package main\n\ndeny contains "edited" if true\n');
      const at = { kind: 'commit' as const, repo: dir, commit, path: '' };
      const report = await evaluatePolicies(
        { source: '.', at, owners: [] },
        MINIMAL_PLAN as unknown as Plan,
        {},
        opaPath!,
      );
      expect(report).toMatchObject({ files: 1, deny: [{ msg: 'committed' }] });
      expect(report.error).toBeUndefined();
    });
  },
);
