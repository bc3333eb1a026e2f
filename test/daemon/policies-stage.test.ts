/**
 * The daemon's policy sets (docs/policies.md): a poolsync.yaml set without OPA fails each run
 * closed, naming poolsync.yaml's line; a pull request is checked by the followed branch's set,
 * read from the branch's head as fetched (a real Git repository) until a run loads it, never
 * by the pull request's own, and fails closed only when that set cannot be known.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { GitSource } from '../../src/daemon/git-source.js';
import type * as repoConfig from '../../src/manifests/config.js';
import { readRepoConfig } from '../../src/manifests/config.js';
import type * as evaluate from '../../src/policy/evaluate.js';
import { unitPolicies } from '../../src/daemon/stages/policies.js';
import { policySummary } from '../../src/render/policy.js';
import type { DaemonConfig } from '../../src/daemon/config.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { Plan } from '../../src/model/plan.js';
import { cleanup } from '../support/cleanup.js';
import { tempFolder } from '../support/temp-folder.js';
import { opaMissing } from '../policy/opa.js';
import { manifests } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';

/** The next read of a poolsync.yaml, or of a policy set, waits here until the test lets it go. */
type Held = 'config' | 'policies';
const holding = vi.hoisted(() => ({
  next: {} as Partial<Record<'config' | 'policies', { reached: () => void; go: Promise<void> }>>,
}));
/** Waits while the test holds the next read of `what` (holdNext). */
async function wait(what: Held) {
  const hold = holding.next[what];
  delete holding.next[what];
  if (hold) {
    hold.reached();
    await hold.go;
  }
}
vi.mock('../../src/manifests/config.js', async (original) => {
  const real = await original<typeof repoConfig>();
  return {
    ...real,
    readRepoConfig: async (...args: Parameters<typeof real.readRepoConfig>) => {
      await wait('config');
      return real.readRepoConfig(...args);
    },
  };
});
vi.mock('../../src/policy/evaluate.js', async (original) => {
  const real = await original<typeof evaluate>();
  return {
    ...real,
    evaluatePolicies: async (...args: Parameters<typeof real.evaluatePolicies>) => {
      await wait('policies');
      return real.evaluatePolicies(...args);
    },
  };
});

/** `reached` once the next read of `what` starts; it reads once `go` is called. */
function holdNext(what: Held) {
  let go!: () => void;
  const released = new Promise<void>((r) => (go = r));
  const reached = new Promise<void>((r) => (holding.next[what] = { reached: r, go: released }));
  return { reached, go };
}

/** An environment where OPA is never found: a report's error names the set that was chosen. */
const noOpa = () => ({
  PATH: '/nonexistent',
  HOME: tempFolder('home-'),
  XDG_CACHE_HOME: tempFolder('cache-'),
});

describe('the daemon’s policy stage without OPA', () => {
  it('names poolsync.yaml’s policies.path at its line', async () => {
    const config = { policies: undefined, source: { kind: 'watch' } } as unknown as DaemonConfig;
    const { follow, run } = unitPolicies(config, noOpa(), {});
    const desired = {
      config: { policies: { path: 'pol', owners: [], line: 4 } },
    } as unknown as DesiredState;
    // A folder that is a policy set: only then is OPA looked for (a missing one is said first).
    const repo = tempFolder('repo-');
    mkdirSync(join(repo, 'pol'));
    writeFileSync(join(repo, 'pol', 'a.rego'), 'package main\n');
    follow(desired, { dir: repo, commit: null });
    const report = await run({} as Plan, desired, null);
    expect(report?.error).toMatch(
      /^poolsync\.yaml:4: policies\.path 'pol' needs the Open Policy Agent and none was found/,
    );
  });
});

const DENY_ALL = 'package main\n\ndeny contains "the branch says no" if true\n';
/** poolsync.yaml naming the policy folder `policies` (`path:` at its line 5). */
const WITH_POLICIES = `${manifests()['poolsync.yaml']}policies:\n  path: policies\n`;
/** A pull request's desired state that names a weaker policy folder of its own. */
const ITS_OWN = {
  config: { policies: { path: 'lax', owners: ['mallory'], line: 9 } },
} as unknown as DesiredState;
const MINIMAL_PLAN = { format_version: '1', changes: [], steps: [], warnings: [], errors: [] };

/** A daemon's Git source of a branch whose head holds `files`, fetched as at start (or not). */
async function branchSource(files: Record<string, string>, fetched = true) {
  const repo = new TestRepo();
  cleanup.add(() => repo.cleanup());
  const head = repo.commit({ ...manifests(), ...files });
  const source = new GitSource({
    env: process.env,
    repo: repo.bare,
    branch: 'main',
    path: '.',
    auth: { token: null, username: 'x', sshKeyFile: null, sshKnownHostsFile: null },
    checkoutDir: join(tempDir(), 'checkout'),
  });
  if (fetched) await source.sync();
  return { source, head, repo };
}

const gitConfig = (policies?: DaemonConfig['policies']) =>
  ({ policies, source: { kind: 'git', branch: 'main' } }) as unknown as DaemonConfig;

describe('a pull request before a run has loaded the followed branch', () => {
  it('is not checked when no policies are configured anywhere', async () => {
    const { source } = await branchSource({});
    const { follow, pullRequest } = unitPolicies(gitConfig(), noOpa(), source);
    expect(await pullRequest({} as Plan, { config: {} } as DesiredState, 'feature')).toBeNull();
    follow({ config: {} } as DesiredState, { dir: '/repo', commit: null });
    expect(await pullRequest({} as Plan, { config: {} } as DesiredState, 'feature')).toBeNull();
  });

  it('is checked by the head’s poolsync.yaml even when the head’s manifests are invalid, never by its own', async () => {
    const { source } = await branchSource({
      'poolsync.yaml': WITH_POLICIES,
      'policies/deny.rego': DENY_ALL,
      'pools/broken.yaml': 'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: [\n',
    });
    const { pullRequest } = unitPolicies(gitConfig(), noOpa(), source);
    const report = await pullRequest({} as Plan, ITS_OWN, 'feature');
    expect(report?.error).toMatch(
      /^poolsync\.yaml:5: policies\.path 'policies' needs the Open Policy Agent/,
    );
    expect(report?.owners).toEqual([]);
  });

  it('fails closed, saying why and what to do, when the head’s poolsync.yaml is invalid', async () => {
    const { source, head } = await branchSource({
      'poolsync.yaml': `${manifests()['poolsync.yaml']}policies: lax\n`,
    });
    const { pullRequest } = unitPolicies(gitConfig(), noOpa(), source);
    const report = await pullRequest({} as Plan, ITS_OWN, 'feature');
    expect(report?.error).toMatch(
      new RegExp(
        `^poolsync\\.yaml of branch main at ${head.slice(0, 12)} is invalid \\(poolsync\\.yaml:4:\\d+: .+\\): the policies that check pull requests are not known \\(a pull request never chooses its own\\), so this plan fails closed; fix it on branch main, then push to the pull request again$`,
      ),
    );
  });

  it('fails closed while the branch has not been fetched', async () => {
    const { source } = await branchSource({}, false);
    const { pullRequest } = unitPolicies(gitConfig(), noOpa(), source);
    const report = await pullRequest({} as Plan, ITS_OWN, 'feature');
    expect(report?.error).toMatch(
      /^branch main has not been fetched since the daemon started: .* fails closed; then push to the pull request again once \/status shows it fetched/,
    );
  });
});

describe('a run judged by the policies of the commit last applied too', () => {
  it('judges by the loaded commit’s set alone, saying why, when that commit cannot be read (a rewritten branch)', async () => {
    const { source } = await branchSource({
      'poolsync.yaml': WITH_POLICIES,
      'policies/deny.rego': DENY_ALL,
    });
    const { follow, run } = unitPolicies(gitConfig(), noOpa(), source);
    const { config } = await readRepoConfig(source.last!.dir);
    follow({ config } as DesiredState, source.last!);
    const gone = 'f'.repeat(40);
    const report = await run({} as Plan, { config } as DesiredState, gone);
    // The loaded set was evaluated (here: no OPA, its own words), not the run failed for the gone commit.
    expect(report?.error).toMatch(
      /^poolsync\.yaml:5: policies\.path 'policies' needs the Open Policy Agent/,
    );
    expect(report?.lastApplied).toMatchObject({ commit: gone, set: 'unread', owners: false });
    expect(report?.lastApplied?.unread).toMatch(
      new RegExp(`^commit ${gone} is neither in the checkout nor fetchable from `),
    );
    // As a report that evaluated (OPA present) names its sets.
    expect(policySummary({ ...report!, error: undefined, rules: 1 })).toContain(
      `(the policies of the last applied commit ${gone.slice(0, 12)} could not be read, commit ${gone} is neither`,
    );
  });

  it('judges nothing when neither commit can be read nor the loaded one configures any', async () => {
    const { source } = await branchSource({});
    const { follow, run } = unitPolicies(gitConfig(), noOpa(), source);
    follow({ config: {} } as DesiredState, source.last!);
    expect(await run({} as Plan, { config: {} } as DesiredState, 'f'.repeat(40))).toBeNull();
  });
});

describe('pull requests checked at once before the first run', () => {
  /** A head whose poolsync.yaml names the policy folder `path`, owned by `owner`. */
  const policiesIn = (path: string, owner: string) => ({
    ...manifests(),
    'poolsync.yaml': `${manifests()['poolsync.yaml']}policies:\n  path: ${path}\n  owners: [${owner}]\n`,
    [`${path}/deny.rego`]: DENY_ALL,
  });

  it('each reads the branch head fetched when it began, though the next fetch moves it, and leaves no copy behind', async () => {
    const { source, repo } = await branchSource(policiesIn('alpha', 'alice'));
    const { pullRequest } = unitPolicies(gitConfig(), noOpa(), source);
    // The first check is stopped once it holds the head, before it reads its poolsync.yaml;
    // meanwhile the branch moves, and a second check reads the new head to the end.
    const held = holdNext('config');
    const first = pullRequest({} as Plan, ITS_OWN, 'feature-a');
    await held.reached;
    repo.commit(policiesIn('beta', 'bob'), 'beta', { replaceAll: true });
    await source.sync();
    const second = await pullRequest({} as Plan, ITS_OWN, 'feature-b');
    held.go();
    expect(second).toMatchObject({ owners: ['bob'], error: expect.stringMatching(/'beta'/) });
    expect(await first).toMatchObject({
      owners: ['alice'],
      error: expect.stringMatching(/'alpha'/),
    });
    // What each check read was its own, and is gone with it.
    expect(readdirSync(dirname(source.last!.root!))).toEqual(['checkout']);
  });
});

describe.skipIf(opaMissing)(
  `a pull request before the first run, with OPA${opaMissing ? ` (skipped: ${opaMissing})` : ''}`,
  () => {
    const plan = MINIMAL_PLAN as unknown as Plan;

    it('is checked by --policies whatever the branch holds', async () => {
      const dir = tempFolder('poolsync-given-policies-');
      writeFileSync(join(dir, 'deny.rego'), DENY_ALL);
      // The branch's poolsync.yaml does not even read: --policies does not depend on it.
      const { source } = await branchSource({ 'poolsync.yaml': 'policies: [\n' });
      const given = { dir, owners: ['alice'], opa: null };
      const { pullRequest } = unitPolicies(gitConfig(given), process.env, source);
      const report = await pullRequest(plan, ITS_OWN, 'feature');
      expect(report).toMatchObject({ source: dir, owners: ['alice'] });
      expect(report?.error).toBeUndefined();
      expect(report?.deny.map((f) => f.msg)).toEqual(['the branch says no']);
    });

    it('is checked by the branch head’s policy files while its manifests are invalid, not by its own', async () => {
      const { source } = await branchSource({
        'poolsync.yaml': `${WITH_POLICIES}  owners: [alice]\n`,
        'policies/deny.rego': DENY_ALL,
        'pools/broken.yaml': 'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: [\n',
      });
      const { pullRequest } = unitPolicies(gitConfig(), process.env, source);
      const report = await pullRequest(plan, ITS_OWN, 'feature');
      expect(report).toMatchObject({ source: 'policies', owners: ['alice'] });
      expect(report?.deny.map((f) => f.msg)).toEqual(['the branch says no']);
    });

    it('after a run, each reads the policy files of the commit that run loaded, though the next fetch moves the checkout', async () => {
      /** A head whose policies deny in `owner`'s words. */
      const by = (owner: string) => ({
        'poolsync.yaml': `${WITH_POLICIES}  owners: [${owner}]\n`,
        'policies/deny.rego': `package main\n\ndeny contains "${owner} says no" if true\n`,
      });
      const { source, repo } = await branchSource(by('alice'));
      const { follow, pullRequest } = unitPolicies(gitConfig(), process.env, source);
      // A run loads the head the source last fetched: its poolsync.yaml, its commit.
      const run = async () => {
        const { config } = await readRepoConfig(source.last!.dir);
        follow({ config } as DesiredState, source.last!);
      };
      await run();
      // The first check is stopped before it reads the policy files; meanwhile the branch moves,
      // the next fetch moves the checkout, a run loads it, and a second check reads it.
      const held = holdNext('policies');
      const first = pullRequest(plan, ITS_OWN, 'feature-a');
      await held.reached;
      repo.commit(by('bob'), 'bob', { replaceAll: true });
      await source.sync();
      await run();
      const second = await pullRequest(plan, ITS_OWN, 'feature-b');
      held.go();
      expect(second).toMatchObject({ owners: ['bob'], deny: [{ msg: 'bob says no' }] });
      expect(await first).toMatchObject({ owners: ['alice'], deny: [{ msg: 'alice says no' }] });
    });
  },
);
