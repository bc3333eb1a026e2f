/**
 * Owners' `poolsync approve-policies` comments read in CI (src/vcs/policy-approval.ts) on the
 * local GitHub and GitLab APIs: a comment edited after it was posted approves nothing, whoever
 * the forge says posted it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failuresDigest, type PolicyReport } from '../../src/model/policy.js';
import { createPullRequestApi } from '../../src/vcs/forges.js';
import { approvalInComments } from '../../src/vcs/policy-approval.js';
import type { Provider } from '../../src/vcs/types.js';
import { FakeForge, type Account } from '../support/fake-forge.js';

const ALICE: Account = { login: 'alice', id: 501, type: 'User' };
const MALLORY: Account = { login: 'mallory', id: 666, type: 'User' };
const FAST = { maxRetries: 2, minDelayMs: 5, maxDelayMs: 50 };

const deny = [{ rule: 'deny', msg: 'gpu has no container registry', address: 'ClusterPool/gpu' }];
const report: PolicyReport = {
  source: 'policies',
  from: 'base',
  files: 1,
  rules: 1,
  deny,
  warn: [],
  elapsed_ms: 1,
  owners: ['alice'],
  failures: failuresDigest({ deny }),
};
const approve = `poolsync approve-policies ${report.failures} fine by me`;

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
});
afterEach(async () => {
  await forge.stop();
});

const FORGES: { provider: Provider; repository: string; key: string }[] = [
  { provider: 'github', repository: 'acme/cfg', key: 'github:acme/cfg#12' },
  { provider: 'gitlab', repository: 'acme/infra/cfg', key: 'gitlab:acme/infra/cfg!12' },
];

describe.each(FORGES)('approvals by comment in CI ($provider)', ({ provider, repository, key }) => {
  const target = (token: string) => ({
    provider,
    apiUrl: forge.url,
    repository,
    number: 12,
    token,
    retry: FAST,
  });

  it("an owner's comment edited after it was posted approves nothing, and the refusal says so", async () => {
    forge.heads.set(key, 'a'.repeat(40));
    forge.authors.set(key, MALLORY);
    forge.seed(key, [{ body: 'looks risky, let me check', author: ALICE }]);
    const [comment] = forge.list(key);
    // GitHub lets any writer edit any comment (the pull request's author here); GitLab lets a
    // note's author (and maintainers): a second later, as the forge's clock says it.
    forge.now = () => Date.now() + 2000;
    const editor = createPullRequestApi(
      target(forge.tokenOf(provider === 'github' ? MALLORY : ALICE)),
    );
    await editor.updateComment(comment!.id, approve);
    await editor.close();
    expect(comment!.author).toBe(ALICE);
    expect(comment!.updated_at).not.toBe(comment!.created_at);

    expect(await approvalInComments(target(forge.token), report)).toEqual({
      ok: false,
      reason:
        "alice's approval comment was edited after it was posted: an edited comment approves nothing; post a new one",
    });

    // A new comment, as posted, approves.
    forge.seed(key, [{ body: approve, author: ALICE }]);
    expect(await approvalInComments(target(forge.token), report)).toMatchObject({
      ok: true,
      approval: { by: 'alice', why: 'fine by me', failures: report.failures },
    });
  });
});
