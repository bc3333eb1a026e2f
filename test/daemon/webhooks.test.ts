import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from '../../src/util/constant-time.js';
import {
  githubSignature,
  handleGithubWebhook,
  handleGitlabWebhook,
} from '../../src/daemon/webhooks.js';

const secret = 'webhook-secret-123';
const gh = (event: string, payload: unknown, sign: string | null = secret) => {
  const body = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = { 'x-github-event': event };
  if (sign !== null) headers['x-hub-signature-256'] = githubSignature(sign, body);
  return handleGithubWebhook({ headers, body }, { secret, branch: 'main' });
};

describe('GitHub webhooks', () => {
  it('a signed push to the followed branch asks for a reconcile', () => {
    const out = gh('push', { ref: 'refs/heads/main', after: 'abc' });
    expect(out).toMatchObject({ status: 202, result: 'push', commit: 'abc' });
  });

  it('a push to another branch is ignored with 202', () => {
    expect(gh('push', { ref: 'refs/heads/feature' })).toMatchObject({
      status: 202,
      result: 'ignored',
    });
  });

  it('missing or wrong signature is 401 before the body is even parsed', () => {
    expect(gh('push', { ref: 'refs/heads/main' }, null)).toMatchObject({ status: 401 });
    expect(gh('push', { ref: 'refs/heads/main' }, 'other-secret')).toMatchObject({ status: 401 });
    const out = handleGithubWebhook(
      {
        headers: { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=zz' },
        body: Buffer.from('not json'),
      },
      { secret, branch: 'main' },
    );
    expect(out.status).toBe(401);
  });

  it('signature is over the raw bytes: re-serialised JSON does not verify', () => {
    const raw = Buffer.from('{"ref": "refs/heads/main"}');
    const sig = githubSignature(secret, Buffer.from(JSON.stringify(JSON.parse(raw.toString()))));
    const out = handleGithubWebhook(
      { headers: { 'x-github-event': 'push', 'x-hub-signature-256': sig }, body: raw },
      { secret, branch: 'main' },
    );
    expect(out.status).toBe(401);
  });

  it('answers ping, ignores other events with 202, rejects signed non-JSON with 400', () => {
    expect(gh('ping', { zen: 'x' })).toMatchObject({ status: 200, result: 'ping' });
    expect(gh('issues', {})).toMatchObject({ status: 202, result: 'ignored' });
    const body = Buffer.from('nope');
    const out = handleGithubWebhook(
      {
        headers: { 'x-github-event': 'push', 'x-hub-signature-256': githubSignature(secret, body) },
        body,
      },
      { secret, branch: 'main' },
    );
    expect(out).toMatchObject({ status: 400 });
  });

  it('parses pull_request events into a PullRequestEvent', () => {
    const out = gh('pull_request', {
      action: 'synchronize',
      number: 42,
      pull_request: { number: 42, head: { sha: 'deadbeef', ref: 'feature/x' } },
      repository: { full_name: 'acme/pools' },
    });
    expect(out).toEqual({
      status: 202,
      result: 'pull_request',
      message: expect.any(String),
      event: {
        provider: 'github',
        repository: 'acme/pools',
        number: 42,
        headSha: 'deadbeef',
        headRef: 'feature/x',
        action: 'synchronize',
        merged: false,
      },
    });
  });
});

describe('GitLab webhooks', () => {
  const gl = (token: string | null, payload: unknown) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers['x-gitlab-token'] = token;
    return handleGitlabWebhook(
      { headers, body: Buffer.from(JSON.stringify(payload)) },
      { secret: 'gl-token', branch: 'main' },
    );
  };

  it('push with the right token to the branch asks for a reconcile; wrong or missing token is 401', () => {
    expect(
      gl('gl-token', { object_kind: 'push', ref: 'refs/heads/main', after: 'c1' }),
    ).toMatchObject({ status: 202, result: 'push' });
    expect(gl('gl-tokenX', { object_kind: 'push', ref: 'refs/heads/main' })).toMatchObject({
      status: 401,
    });
    expect(gl(null, { object_kind: 'push', ref: 'refs/heads/main' })).toMatchObject({
      status: 401,
    });
  });

  it('parses merge_request events', () => {
    const out = gl('gl-token', {
      object_kind: 'merge_request',
      project: { path_with_namespace: 'group/pools' },
      object_attributes: {
        iid: 7,
        action: 'update',
        oldrev: 'beef',
        source_branch: 'feat',
        last_commit: { id: 'cafe' },
      },
    });
    expect(out).toMatchObject({
      status: 202,
      result: 'pull_request',
      event: {
        provider: 'gitlab',
        repository: 'group/pools',
        number: 7,
        headSha: 'cafe',
        headRef: 'feat',
        action: 'update',
      },
    });
  });
});

describe('constantTimeEqual', () => {
  it('compares strings of any lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('issue 38, item 12: webhook deliveries as GitHub can send them, and as an attacker can', () => {
  const form = (payload: unknown) =>
    Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
  const signedForm = (event: string, body: Buffer) =>
    handleGithubWebhook(
      {
        headers: {
          'x-github-event': event,
          'content-type': 'application/x-www-form-urlencoded',
          'x-hub-signature-256': githubSignature(secret, body),
        },
        body,
      },
      { secret, branch: 'main' },
    );

  it('a form-encoded GitHub push (content type application/x-www-form-urlencoded) is read from its payload field', () => {
    const body = form({ ref: 'refs/heads/main', after: 'abc' });
    expect(signedForm('push', body)).toMatchObject({ status: 202, result: 'push', commit: 'abc' });
    expect(signedForm('ping', form({ zen: 'x' }))).toMatchObject({ status: 200 });
    // Signed over the form as sent: the JSON inside it alone does not verify.
    const out = handleGithubWebhook(
      {
        headers: {
          'x-github-event': 'push',
          'content-type': 'application/x-www-form-urlencoded',
          'x-hub-signature-256': githubSignature(
            secret,
            JSON.stringify({ ref: 'refs/heads/main' }),
          ),
        },
        body: form({ ref: 'refs/heads/main' }),
      },
      { secret, branch: 'main' },
    );
    expect(out.status).toBe(401);
    expect(signedForm('push', Buffer.from('other=1'))).toMatchObject({ status: 400 });
  });

  it('a 512 KiB ref or event name is shown as its first 200 characters and its length', () => {
    const ref = `refs/heads/${'a'.repeat(512 * 1024)}`;
    const out = gh('push', { ref });
    expect(out.result).toBe('ignored');
    expect(out.message).toBe(
      `push to ${ref.slice(0, 200)}… (${ref.length.toLocaleString('en-US')} characters) is not the followed branch`,
    );
    expect(gh('x'.repeat(10_000), {}).message.length).toBeLessThan(300);
    const gl = handleGitlabWebhook(
      {
        headers: { 'x-gitlab-token': 'tok' },
        body: Buffer.from(JSON.stringify({ object_kind: 'k'.repeat(512 * 1024) })),
      },
      { secret: 'tok', branch: 'main' },
    );
    expect(gl.message.length).toBeLessThan(300);
  });
});

describe('the repository a delivery is for', () => {
  const remote = 'git@github.com:acme/cfg.git';
  const push = (repository: unknown, followed = { name: 'acme/cfg', remote }) => {
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: 'c1', repository }));
    const headers = {
      'x-github-event': 'push',
      'x-hub-signature-256': githubSignature(secret, body),
    };
    return handleGithubWebhook({ headers, body }, { secret, branch: 'main', followed });
  };

  it("is the followed one by its name (any case) or a clone URL equal to --repo's", () => {
    expect(push({ full_name: 'ACME/cfg' }).result).toBe('push');
    expect(
      push({ full_name: 'acme/renamed', clone_url: 'https://github.com/Acme/cfg.git' }).result,
    ).toBe('push');
    expect(push({ full_name: 'evil/cfg', ssh_url: 'git@github.com:evil/cfg.git' })).toEqual({
      status: 202,
      result: 'ignored',
      message: 'delivery for evil/cfg; this daemon follows acme/cfg: ignored',
    });
    // A delivery naming no repository is taken as before: no forge sends one.
    expect(push(undefined).result).toBe('push');
  });

  it('a GitLab project may be followed by its numeric id', () => {
    const gl = (project: unknown) =>
      handleGitlabWebhook(
        {
          headers: { 'x-gitlab-token': 'tok' },
          body: Buffer.from(
            JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', after: 'c1', project }),
          ),
        },
        { secret: 'tok', branch: 'main', followed: { name: '15', remote: '/srv/cfg.git' } },
      );
    expect(gl({ id: 15, path_with_namespace: 'grp/cfg' }).result).toBe('push');
    expect(gl({ id: 16, path_with_namespace: 'grp/other' }).message).toBe(
      'delivery for grp/other; this daemon follows 15: ignored',
    );
  });
});
