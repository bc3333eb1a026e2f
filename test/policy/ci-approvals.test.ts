/**
 * Owners' approvals in CI without a daemon (docs/policies.md, Owners): `plan --comment github`
 * posts the failures with their digest; an owner's `poolsync approve-policies DIGEST WHY`
 * comment on the pull request releases them for `plan --comment` (its status) and for
 * `apply --policy-approvals github`, its author's never. Against the real OPA and the local
 * GitHub API (test/support/fake-forge.ts, held to GitHub's OpenAPI).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { FakeForge } from '../support/fake-forge.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { userId } from '../vcs/recorded.js';
import { git, opaMissing, opaPath } from './opa.js';

const REGISTRY = `package main

deny contains {"msg": sprintf("%s has no container registry", [c.address]), "address": c.address} if {
	some c in input.changes
	c.kind == "ClusterPool"
	c.action == "create"
	not c.after.contract.image_registry.locator
}
`;

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
  cleanup.add(() => forge.stop());
});

const KEY = 'github:acme/cfg#5';
const user = (login: string) => ({ login, id: userId(login), type: 'User' as const });

/** A pull request adding a pool without a registry, the base's policy denying it; its CLI runs. */
function pullRequest() {
  const dir = tempFolder('poolsync-policy-ci-');
  writeFileSync(
    join(dir, 'poolsync.yaml'),
    'apiVersion: poolsync/v1\nkind: RepoConfig\npolicies:\n  path: policies\n  owners: [alice, "team:acme/platform"]\n',
  );
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies/registry.rego'), REGISTRY);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'base');
  const base = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'checkout', '-qb', 'gpu');
  writeFileSync(
    join(dir, 'pools.yaml'),
    'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata:\n  name: gpu\nspec:\n  object_store_ref:\n    uri: s3://gpu/data\n  secret_store:\n    type: AWS_SECRETS_MANAGER\n    locator: us-east-1\n',
  );
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'gpu');
  const head = git(dir, 'rev-parse', 'HEAD');
  forge.heads.set(KEY, head);
  forge.authors.set(KEY, user('mallory'));
  const cp = `file:${join(tempFolder('poolsync-policy-cp-'), 'state.json')}`;
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    XDG_STATE_HOME: process.env.XDG_STATE_HOME,
    TMPDIR: process.env.TMPDIR,
    NO_COLOR: '',
    POOLSYNC_OPA: opaPath!,
    GITHUB_TOKEN: forge.token,
    POOLSYNC_BASE_REF: base,
  };
  const comment = [
    '--comment',
    'github',
    '--repo',
    'acme/cfg',
    '--pr',
    '5',
    '--api-url',
    forge.url,
  ];
  const plan = () => runInProcess(['plan', dir, '--control-plane', cp, ...comment], env);
  const apply = (...more: string[]) =>
    runInProcess(['apply', dir, '--control-plane', cp, '--auto-approve', ...more], env);
  return { dir, cp, env, head, comment, plan, apply };
}

describe.skipIf(opaMissing)(
  `policy approvals by comment in CI${opaMissing ? ` (skipped: ${opaMissing})` : ''}`,
  { timeout: 120_000 },
  () => {
    it("the author's approval is refused, a pending team member's too; a team owner's releases exactly the failures for plan --comment and apply --policy-approvals", async () => {
      const { dir, cp, env, head, comment, plan, apply } = pullRequest();
      const approvals = ['--policy-approvals', ...comment.slice(1)];

      const first = await plan();
      expect(first.code).toBe(1);
      const posted = forge.list(KEY).find((c) => c.body.includes('Policies'))!.body;
      const command = /`(poolsync approve-policies sha256:[0-9a-f]{64}) WHY`/.exec(posted)![1]!;

      forge.seed(KEY, [{ body: `${command} mine, trust me`, author: user('mallory') }]);
      const byAuthor = await plan();
      expect(byAuthor.code).toBe(1);
      expect(byAuthor.stdout).toContain(
        'An approval was refused: mallory wrote the pull request: its author may not approve its policy failures',
      );
      // An approval of other failures releases nothing, and says so: the newest answer is shown,
      // not an older refusal (a digest cut short was ignored without a word).
      const digest = command.split(' ').at(-1)!;
      forge.seed(KEY, [
        { body: `poolsync approve-policies sha256:${'1'.repeat(64)} other`, author: user('alice') },
      ]);
      const other = await plan();
      expect(other.code).toBe(1);
      expect(other.stdout).toContain(
        `An approval was refused: alice's approval names sha256:${'1'.repeat(64)}, not the failures' ${digest}: approve exactly those`,
      );
      forge.seed(KEY, [
        { body: 'poolsync approve-policies sha256:08eb4328 ok', author: user('alice') },
      ]);
      const cut = await plan();
      expect(cut.code).toBe(1);
      const cutRefusal = `An approval was refused: alice's approval names sha256:08eb4328, not the failures' ${digest}: approve exactly those`;
      expect(cut.stdout).toContain(cutRefusal);
      expect(forge.list(KEY).find((c) => c.body.includes('Policies'))!.body).toContain(cutRefusal);

      // A team owner (vcs/principals.ts): an active member of acme/platform, not a pending one.
      forge.githubTeams.set(
        'acme/platform',
        new Map([
          ['carol', 'active'],
          ['dave', 'pending'],
        ]),
      );
      forge.seed(KEY, [{ body: `${command} pending but sure`, author: user('dave') }]);
      const pending = await plan();
      expect(pending.code).toBe(1);
      expect(pending.stdout).toContain(
        'An approval was refused: dave is not an owner of the policies',
      );
      // The author edits an owner's comment into an approval: GitHub still says alice wrote it.
      forge.seed(KEY, [{ body: 'let me look at the registry', author: user('alice') }]);
      forge.now = () => Date.now() + 2000;
      const edit = await fetch(
        `${forge.url}/repos/acme/cfg/issues/comments/${forge.list(KEY).at(-1)!.id}`,
        {
          method: 'PATCH',
          headers: { authorization: `Bearer ${forge.tokenOf(user('mallory'))}` },
          body: JSON.stringify({ body: `${command} fine by me` }),
        },
      );
      expect(await edit.json()).toMatchObject({ user: { login: 'alice' } });
      const edited = await plan();
      expect(edited.code).toBe(1);
      const refusal =
        "An approval was refused: alice's approval comment was edited after it was posted: an edited comment approves nothing; post a new one";
      expect(edited.stdout).toContain(refusal);
      expect(forge.list(KEY).find((c) => c.body.includes('Policies'))!.body).toContain(refusal);
      const editedApply = await apply(...approvals);
      expect(editedApply.code).toBe(1);
      expect(editedApply.stderr).toContain('the policies deny this plan');
      // The command's words in any case (docs/pull-request-comments.md): a phone's capital P.
      forge.seed(KEY, [
        {
          body: `${command.replace('poolsync', 'Poolsync')} the registry lands next sprint`,
          author: user('carol'),
        },
      ]);
      const approved = await plan();
      expect(approved.code).toBe(0);
      expect(approved.stdout).toContain(
        'the failures are approved by carol (the registry lands next sprint)',
      );
      const statuses = forge.requests.filter(
        (r) => r.method === 'POST' && r.url.endsWith(`/statuses/${head}`),
      );
      expect(statuses.at(-1)!.body).toMatchObject({ state: 'success' });

      // apply in CI reads the same approval; without --policy-approvals it stays blocked.
      const blocked = await apply();
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toContain('the policies deny this plan');
      // After the merge (a push run) the pull request is to be named: said by this option's name.
      const pushed = await runInProcess(
        ['apply', dir, '--control-plane', cp, '--auto-approve', '--policy-approvals', 'github'],
        {
          ...env,
          GITHUB_ACTIONS: 'true',
          GITHUB_EVENT_NAME: 'push',
          GITHUB_REPOSITORY: 'acme/cfg',
        },
      );
      expect(pushed.stderr).toMatch(
        /Error: --policy-approvals github needs --pr, the pull request number \(a positive integer\): this run is not for a pull request \(it is for push\); pass --pr N, the one whose comments approve \(the merged one\)\.$/m,
      );
      const applied = await apply(...approvals);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      expect(applied.stdout).toMatch(/Apply complete: 1 created/);
    });

    it("a push withdraws an owner's approval: the same failures with another change are refused, naming the commit approved, until approved again", async () => {
      const { dir, head, comment, plan, apply } = pullRequest();
      const approvals = ['--policy-approvals', ...comment.slice(1)];
      expect((await plan()).code).toBe(1);
      const planComment = () => forge.list(KEY).find((c) => c.body.includes('Policies'))!.body;
      const command = /`(poolsync approve-policies sha256:[0-9a-f]{64}) WHY`/.exec(
        planComment(),
      )![1]!;
      // The forge's times are whole seconds: the approval is read and written after the plan.
      forge.now = () => Date.now() + 2000;
      forge.seed(KEY, [
        { body: `${command} the registry lands next sprint`, author: user('alice') },
      ]);
      expect((await plan()).code).toBe(0);

      // The author pushes the same failure and another change.
      writeFileSync(
        join(dir, 'pools.yaml'),
        readFileSync(join(dir, 'pools.yaml'), 'utf8').replace(
          's3://gpu/data',
          's3://gpu/elsewhere',
        ),
      );
      git(dir, 'commit', '-qam', 'elsewhere');
      const pushed = git(dir, 'rev-parse', 'HEAD');
      forge.heads.set(KEY, pushed);
      const refusal = `An approval was refused: written for an earlier commit ${head.slice(0, 12)}: the plan comment showed it when alice approved, and the pull request is now at ${pushed.slice(0, 12)}; review the plan of ${pushed.slice(0, 12)}, then approve again`;
      const stale = await plan();
      expect(stale.code).toBe(1);
      expect(stale.stdout).toContain(refusal);
      expect(planComment()).toContain(refusal);
      const statuses = () =>
        forge.requests.filter((r) => r.method === 'POST' && r.url.endsWith(`/statuses/${pushed}`));
      expect(statuses().at(-1)!.body).toMatchObject({ state: 'failure' });
      // The plan comment shows the new commit now; the approval is still older than that.
      const again = await plan();
      expect(again.code).toBe(1);
      expect(again.stdout).toContain(
        `An approval was refused: written for an earlier commit: alice approved at `,
      );
      expect((await apply(...approvals)).stderr).toContain('the policies deny this plan');

      forge.now = () => Date.now() + 4000;
      forge.seed(KEY, [{ body: `${command} still fine`, author: user('alice') }]);
      const approved = await plan();
      expect(approved.code).toBe(0);
      expect(approved.stdout).toContain('the failures are approved by alice (still fine)');
      expect(statuses().at(-1)!.body).toMatchObject({ state: 'success' });
      const applied = await apply(...approvals);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
    });

    it('a forge that refuses the comments to plan --comment: the plan and the policies are printed first, then its error, with the status set', async () => {
      const { head, plan } = pullRequest();
      forge.faults.push({ match: /^GET .*\/issues\/5\/comments$/, status: 403, times: 100 });
      const refused = await plan();
      expect(refused.code).toBe(1);
      // The plan and the policies' block, as without the forge (they were never printed).
      expect(refused.stdout).toContain('+ ClusterPool/gpu');
      expect(refused.stdout).toContain('FAIL deny: ClusterPool/gpu has no container registry');
      expect(refused.stdout).toContain(
        'The approvals on the pull request cannot be read, so none releases these failures: ',
      );
      // Then the comment's failure, as without policies: one line, and the commit status says it.
      expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Error: .*403/)]);
      const statuses = forge.requests.filter(
        (r) => r.method === 'POST' && r.url.endsWith(`/statuses/${head}`),
      );
      expect(statuses.at(-1)!.body).toMatchObject({ state: 'error' });
    });
  },
);
