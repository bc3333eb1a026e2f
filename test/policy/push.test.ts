/**
 * `plan`/`apply` in CI on a push (docs/policies.md, Where policies come from): the pushed commit
 * is judged by its own policy set and by the set of the commit before the push (GitHub's
 * `before`, GitLab's CI_COMMIT_BEFORE_SHA), read with Git, as the daemon judges a run by the
 * last applied commit's; a clone without that commit is refused, saying how to check out.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { CLEAN_ENV, git, opaMissing, opaPath } from './opa.js';

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
const STRICT =
  'package main\n\ndeny contains "pools need a registry" if {\n\tsome c in input.changes\n\tc.kind == "ClusterPool"\n\tc.after.contract.image_registry == null\n}\n';
const LAX = 'package main\n\ndeny contains "never" if false\n';
const CONFIG = 'apiVersion: poolsync/v1\nkind: RepoConfig\n';
const OWNED = `${CONFIG}policies:\n  path: policies\n  owners: [alice]\n`;

/**
 * A repository whose first commit (the one before the push) holds STRICT, owned by alice, and
 * whose second (the push) holds `pushed`: the commits and a fresh control plane.
 */
function pushed(files: Record<string, string | null>) {
  const dir = tempFolder('poolsync-push-repo-');
  const write = (all: Record<string, string | null>) => {
    for (const [path, text] of Object.entries(all)) {
      if (text === null) rmSync(join(dir, path), { recursive: true, force: true });
      else {
        mkdirSync(join(dir, path, '..'), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
    }
  };
  write({ 'poolsync.yaml': OWNED, 'policies/registry.rego': STRICT });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'policies');
  const before = git(dir, 'rev-parse', 'HEAD');
  write({ 'pools.yaml': POOL, ...files });
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'push');
  const cp = `file:${join(tempFolder('poolsync-push-cp-'), 'state.json')}`;
  return { dir, before, cp };
}

/** GitHub Actions on an event `name` whose payload is `payload`. */
function github(name: string, payload: object) {
  const path = join(tempFolder('poolsync-push-event-'), 'event.json');
  writeFileSync(path, JSON.stringify(payload));
  return { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: name, GITHUB_EVENT_PATH: path };
}

const ENV = { ...CLEAN_ENV, POOLSYNC_OPA: opaPath ?? '' };
const apply = (r: { dir: string; cp: string }, vars: object, ...more: string[]) =>
  runInProcess(['apply', r.dir, '--control-plane', r.cp, '--auto-approve', ...more], {
    ...ENV,
    ...vars,
  });

describe.skipIf(opaMissing)(
  `apply on a CI push, with OPA${opaMissing ? ` (skipped: ${opaMissing})` : ''}`,
  () => {
    it('a push that relaxes a deny rule and names another owner beside the change it denies is held by the set and owners of the commit before it', async () => {
      const r = pushed({
        'policies/registry.rego': LAX,
        'poolsync.yaml': OWNED.replace('[alice]', '[mallory]'),
      });
      const short = r.before.slice(0, 12);
      const out = await apply(r, github('push', { before: r.before }));
      expect(out.code).toBe(1);
      expect(out.stdout).toContain(
        `FAIL deny: pools need a registry (policies of the commit before this push ${short})`,
      );
      expect(out.stdout).toContain(
        `Policies of policies: 1 rule in 1 file, and policies of the commit before this push ${short}: 1 rule in 1 file: 1 failure, 0 warnings: apply is blocked until an owner of the policies approves (alice, as the commit before this push ${short} lists them`,
      );
      expect(out.stderr).toContain('nothing was applied');
      // Outside CI the checkout's own relaxed set judges alone.
      expect((await apply(r, {})).code).toBe(0);
    });

    it('a push that drops poolsync.yaml policies (GitLab) is held by the set of the commit before it alone', async () => {
      const r = pushed({ 'poolsync.yaml': CONFIG, policies: null });
      const gitlab = {
        GITLAB_CI: 'true',
        CI_PIPELINE_SOURCE: 'push',
        CI_COMMIT_BEFORE_SHA: r.before,
      };
      const out = await apply(r, gitlab);
      expect(out.code).toBe(1);
      expect(out.stdout).toContain(
        `Policies of policies of the commit before this push ${r.before.slice(0, 12)} (this commit configures none): 1 rule in 1 file: 1 failure`,
      );
    });

    it('a push that leaves the policy folder as it was evaluates it once, its owners the commit before it’s; --policies outside the checkout stays the one set', async () => {
      const r = pushed({ 'poolsync.yaml': OWNED.replace('[alice]', '[mallory]') });
      const short = r.before.slice(0, 12);
      const event = github('push', { before: r.before });
      const blocked = `1 rule in 1 file: 1 failure, 0 warnings: apply is blocked until an owner of the policies approves (alice, as the commit before this push ${short} lists them`;
      const out = await apply(r, event);
      expect(out.code).toBe(1);
      expect(out.stdout).toContain(`Policies of policies: ${blocked}`);
      const own = tempFolder('poolsync-push-own-');
      writeFileSync(join(own, 'strict.rego'), STRICT);
      const flag = await apply(r, event, '--policies', own);
      expect(flag.code).toBe(1);
      expect(flag.stdout).toContain(`Policies of ${own}: ${blocked}`);
    });

    it('a run that names no commit before it (workflow_dispatch, a new branch) is judged by its commit’s set alone, saying so', async () => {
      const r = pushed({ 'policies/registry.rego': LAX });
      const dispatch = await apply(r, github('workflow_dispatch', {}));
      expect(dispatch.code).toBe(0);
      expect(dispatch.stdout).toContain(
        "Policies of policies: 1 rule in 1 file (a GitHub workflow_dispatch run names no commit before it: this commit's judged alone): 0 failures, 0 warnings: passed",
      );
      const fresh = pushed({ 'policies/registry.rego': LAX });
      const branch = await apply(fresh, github('push', { before: '0'.repeat(40) }));
      expect(branch.stdout).toContain(
        "(the GitHub push event's before names none (a new branch): this commit's judged alone)",
      );
    });

    it('a shallow clone without the commit before the push is refused in one line saying how to check out', async () => {
      const r = pushed({ 'policies/registry.rego': LAX });
      const clone = tempFolder('poolsync-push-clone-');
      git(clone, 'clone', '-q', '--depth', '1', `file://${r.dir}`, 'c');
      const out = await apply(
        { dir: join(clone, 'c'), cp: r.cp },
        github('push', { before: r.before }),
      );
      expect(out.code).not.toBe(0);
      const line = out.stderr.trim();
      expect(line).not.toContain('\n');
      expect(line).toContain(
        `the policies cannot be checked on this push: the commit before it, ${r.before.slice(0, 12)} (the GitHub push event's before), cannot be read: poolsync.yaml of commit ${r.before.slice(0, 12)} cannot be read with Git in `,
      );
      expect(line).toMatch(
        /set fetch-depth: 0 in actions\/checkout \(2 is enough when every push to the branch is one merge or squashed commit\), so that the clone holds it$/,
      );
    });
  },
);
