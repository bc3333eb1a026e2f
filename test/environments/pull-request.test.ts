/**
 * A pull request cannot steer credentials (docs/security.md, "Environments"; issue 48): every way
 * a pull request's poolsync.yaml could send a secret to an endpoint the operator did not name —
 * the URL, the token file, the OAuth token endpoint a chosen server advertises, a redirect, a
 * proxy from the environment — against a catcher on 127.0.0.1 that records every request. The
 * catcher never hears from poolsync, and each refusal says which value and why. The CLI in child
 * processes, a real Git repository (the base commit) and real sockets.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import {
  openServedControlPlane,
  type ServedControlPlane,
} from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';
import { until } from '../support/until.js';
import { apiKey } from '../controlplane/union/helpers.js';
import { catcher, oauthCatcher, POOL, writeFiles } from './helpers.js';
import { pullRequestBase } from '../../src/ops/open-target.js';
import { issueCommentPayload, recordedPayloads } from '../vcs/recorded.js';

const SECRETS = [
  'prod-secret-0123456789',
  'staging-secret-0123456789',
  'flyte-client-secret-0123456789',
];

let root: string;
let repo: string;
let base: string;
let caught: Awaited<ReturnType<typeof catcher>>;
let redirector: Awaited<ReturnType<typeof catcher>>;
const servers: ServedControlPlane[] = [];
let prod: string;
let staging: string;
const secret = (name: string) => join(root, 'secrets', name);

function config(envs: Record<string, Record<string, string>>): string {
  const lines = ['apiVersion: poolsync/v1', 'kind: RepoConfig', 'environments:'];
  for (const [name, fields] of Object.entries(envs)) {
    lines.push(`  ${name}:`, '    folders: [base]');
    for (const [k, v] of Object.entries(fields)) lines.push(`    ${k}: ${v}`);
  }
  return `${lines.join('\n')}\n`;
}
const BASE = () => ({
  prod: { controlPlane: prod, tokenFile: secret('prod.token') },
  staging: { controlPlane: staging, tokenFile: secret('staging.token') },
  flyte: { controlPlane: 'flyteadmin+http://127.0.0.1:9' },
});

const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();

beforeAll(async () => {
  root = tempFolder('poolsync-pr-secrets-');
  repo = join(root, 'repo');
  for (const token of SECRETS.slice(0, 2)) servers.push(await openServedControlPlane({ token }));
  [prod, staging] = servers.map((s) => s.url.replace(/\/$/, '')) as [string, string];
  mkdirSync(join(root, 'secrets'));
  writeFileSync(secret('prod.token'), `endpoint: ${prod}\ntoken: ${SECRETS[0]}\n`);
  writeFileSync(secret('staging.token'), `endpoint: ${staging}\ntoken: ${SECRETS[1]}\n`);
  writeFileSync(
    secret('flyte.secret'),
    `endpoint: flyteadmin+http://127.0.0.1:9\nsecret: ${SECRETS[2]}\n`,
  );
  writeFileSync(secret('flyte-unbound.secret'), `${SECRETS[2]}\n`);
  caught = await catcher(oauthCatcher);
  redirector = await catcher((req) => [307, { location: `${caught.url}${req.url}` }, '']);
  await writeFiles(repo, { 'poolsync.yaml': config(BASE()), 'base/pool.yaml': POOL });
  git('init', '-q', '-b', 'main');
  git(
    '-c',
    'user.email=t@example.com',
    '-c',
    'user.name=t',
    'commit',
    '-q',
    '--allow-empty',
    '-m',
    'empty',
  );
  git('add', '.');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '-m', 'base');
  base = git('rev-parse', 'HEAD');
});

afterAll(async () => {
  for (const s of [caught.server, redirector.server]) s.close();
  for (const s of servers) await s.close();
});

/** The pull request: poolsync.yaml with `change` applied, in the working tree over the base. */
async function pullRequest(
  change: (envs: ReturnType<typeof BASE>) => Record<string, Record<string, string>>,
) {
  writeFileSync(join(repo, 'poolsync.yaml'), config(change(BASE())));
}

const FLYTE_ENV = {
  POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
  POOLSYNC_FLYTE_CLIENT_SECRET: SECRETS[2]!,
};

async function plan(env: string, vars: Record<string, string | undefined> = {}) {
  const ci = { GITHUB_ACTIONS: undefined, GITLAB_CI: undefined, POOLSYNC_BASE_REF: undefined };
  const r = await runCli(['plan', repo, '--env', env, '--no-color'], {
    ...ci,
    ...FLYTE_ENV,
    ...vars,
  });
  for (const s of SECRETS) expect(r.stdout + r.stderr).not.toContain(s);
  return r;
}

function expectNothingCaught(): void {
  expect(caught.heard).toEqual([]);
  expect(
    redirector.heard.filter((h) => SECRETS.some((s) => JSON.stringify(h).includes(s))),
  ).toEqual([]);
}

describe('in pull-request mode, the base branch pins where each environment sends its credentials', () => {
  const PR = () => ({ POOLSYNC_BASE_REF: base });

  it('an unchanged environment is planned; its token reaches its own control plane only', async () => {
    await pullRequest((e) => e);
    const r = await plan('prod', PR());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Environment: prod');
    expectNothingCaught();
  });

  it.each([
    [
      'controlPlane',
      'prod',
      (e: ReturnType<typeof BASE>) => ({ ...e, prod: { ...e.prod, controlPlane: caught.url } }),
    ],
    [
      'tokenFile',
      'prod',
      (e: ReturnType<typeof BASE>) => ({
        ...e,
        prod: { ...e.prod, tokenFile: secret('staging.token') },
      }),
    ],
    [
      'controlPlane',
      'flyte',
      (e: ReturnType<typeof BASE>) => ({
        ...e,
        flyte: { controlPlane: `flyteadmin+${caught.url}` },
      }),
    ],
    [
      'apiKeyFile',
      'staging',
      (e: ReturnType<typeof BASE>) => ({
        ...e,
        staging: { ...e.staging, apiKeyFile: secret('prod.token') },
      }),
    ],
  ])(
    'a change of %s (environment %s) is refused, naming the value and why; nothing leaves',
    async (field, name, change) => {
      const changed = change(BASE());
      await pullRequest(() => changed);
      const r = await plan(name, PR());
      expect(r.code).toBe(1);
      const was = (BASE() as Record<string, Record<string, string>>)[name]![field];
      const now = (changed as Record<string, Record<string, string>>)[name]![field];
      expect(r.stderr).toContain(
        `environment ${name} is refused in pull-request mode: no credential was read and nothing was sent: environments.${name}.${field} is ${JSON.stringify(now)} in this pull request and ${was === undefined ? 'not set' : JSON.stringify(was)} on the base branch. A pull request may not change where an environment's credentials go`,
      );
      expectNothingCaught();
    },
  );

  it('an environment the base branch does not have is refused', async () => {
    await pullRequest((e) => ({
      ...e,
      evil: { controlPlane: caught.url, tokenFile: secret('prod.token') },
    }));
    const r = await plan('evil', PR());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'environment evil is refused in pull-request mode: no credential was read and nothing was sent: the base branch has no environment evil',
    );
    expectNothingCaught();
  });

  it('a GitHub pull_request run is pull-request mode, its base from the event; a base Git cannot read refuses all', async () => {
    await pullRequest((e) => ({ ...e, prod: { ...e.prod, controlPlane: caught.url } }));
    const event = join(root, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 7, base: { sha: base } } }));
    const github = {
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
    };
    const r = await plan('prod', github);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `environments.prod.controlPlane is ${JSON.stringify(caught.url)} in this pull request`,
    );
    const missing = 'f'.repeat(40);
    const gone = await plan('staging', { POOLSYNC_BASE_REF: missing });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(
      `environment staging is refused in pull-request mode: no credential was read and nothing was sent. In pull-request mode an environment's controlPlane, tokenFile and apiKeyFile must be the base branch's, and poolsync.yaml of the base commit ${missing} (POOLSYNC_BASE_REF) cannot be read with Git`,
    );
    expectNothingCaught();
  });
});

describe('outside pull-request mode, a secret bound to its control plane goes nowhere else', () => {
  it('a token file names its control plane: a changed URL is refused, naming both', async () => {
    await pullRequest((e) => ({ ...e, prod: { ...e.prod, controlPlane: caught.url } }));
    const r = await plan('prod');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `environments.prod.tokenFile (poolsync.yaml:7) ${secret('prod.token')} is for the control plane ${prod}, not ${caught.url}: nothing was sent`,
    );
    expectNothingCaught();
  });

  it("an environment's token file must name its control plane; the process's own token never goes to one", async () => {
    const plain = join(root, 'secrets', 'plain.token');
    writeFileSync(plain, `${SECRETS[0]}\n`);
    await pullRequest((e) => ({ ...e, prod: { controlPlane: caught.url, tokenFile: plain } }));
    const r = await plan('prod');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `environment prod: environments.prod.tokenFile (poolsync.yaml:7) ${plain} does not name its control plane`,
    );
    await pullRequest((e) => ({ ...e, prod: { controlPlane: caught.url } }));
    await plan('prod', { POOLSYNC_TOKEN: SECRETS[0]!, POOLSYNC_TOKEN_FILE: secret('prod.token') });
    expect(caught.heard.length).toBeGreaterThan(0); // it was asked, without a credential
    expect(caught.heard.every((h) => h.authorization === undefined)).toBe(true);
    // The plan ends at the catcher's first unusable answer while its other reads may still be
    // on the wire: each is heard once the connection it went on is closed.
    await until(
      'the catcher has no connection left',
      () => new Promise<boolean>((done) => caught.server.getConnections((_, n) => done(n === 0))),
    );
    caught.heard.length = 0;
  });

  it('a flyteadmin client secret file that names its flyteadmin is never offered to the token endpoint another server advertises', async () => {
    await pullRequest((e) => ({ ...e, flyte: { controlPlane: `flyteadmin+${caught.url}` } }));
    const r = await plan('flyte', {
      POOLSYNC_FLYTE_CLIENT_SECRET: '',
      POOLSYNC_FLYTE_CLIENT_SECRET_FILE: secret('flyte.secret'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the client secret file (POOLSYNC_FLYTE_CLIENT_SECRET_FILE) ${secret('flyte.secret')} is for the control plane flyteadmin+http://127.0.0.1:9, not flyteadmin+${caught.url}: nothing was sent`,
    );
    expectNothingCaught();
  });

  it('a redirect is never followed with a credential: REST, flyteadmin, Union and OAuth discovery', async () => {
    writeFileSync(secret('redirect.token'), `endpoint: ${redirector.url}\ntoken: ${SECRETS[0]}\n`);
    writeFileSync(
      secret('redirect.secret'),
      `endpoint: flyteadmin+${redirector.url}\nsecret: ${SECRETS[2]}\n`,
    );
    writeFileSync(
      secret('union.key'),
      apiKey(new URL(redirector.url).host, { client_secret: SECRETS[1] }),
    );
    await pullRequest((e) => ({
      ...e,
      prod: { controlPlane: redirector.url, tokenFile: secret('redirect.token') },
      flyte: { controlPlane: `flyteadmin+${redirector.url}` },
      union: { controlPlane: `union+${redirector.url}`, apiKeyFile: secret('union.key') },
    }));
    const union = await plan('union');
    expect(union.code).toBe(1);
    const rest = await plan('prod');
    expect(rest.code).toBe(1);
    const flyte = await plan('flyte', {
      POOLSYNC_FLYTE_CLIENT_SECRET: '',
      POOLSYNC_FLYTE_CLIENT_SECRET_FILE: secret('redirect.secret'),
    });
    expect(flyte.code).toBe(1);
    expect(redirector.heard.length).toBeGreaterThan(0);
    expect(caught.heard).toEqual([]);
    redirector.heard.length = 0;
  });

  it('proxies from the environment are not used: the token goes straight to its control plane', async () => {
    await pullRequest((e) => e);
    const proxy = {
      HTTP_PROXY: caught.url,
      HTTPS_PROXY: caught.url,
      http_proxy: caught.url,
      ALL_PROXY: caught.url,
      NODE_USE_ENV_PROXY: '1',
    };
    const r = await plan('prod', proxy);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const flyte = await plan('flyte', {
      ...proxy,
      POOLSYNC_FLYTE_CLIENT_SECRET: '',
      POOLSYNC_FLYTE_CLIENT_SECRET_FILE: secret('flyte.secret'),
    });
    expect(flyte.code).toBe(1); // nothing listens on 127.0.0.1:9: unreachable, not proxied
    expectNothingCaught();
  });
});

/**
 * Issue 74 item 5: every CI event that runs a pull request's files is pull-request mode, its base
 * as the CI system names it (GitHub's recorded payloads, @octokit/webhooks-examples; GitLab's
 * predefined variables). The pull request points the flyte environment at the catcher, with the
 * process's unbound flyteadmin client secret: outside pull-request mode it is sent there.
 */
describe('pull-request mode wherever a pull request’s files run', () => {
  const toCatcher = (e: ReturnType<typeof BASE>) => ({
    ...e,
    flyte: { controlPlane: `flyteadmin+${caught.url}` },
  });
  const event = (name: string, payload: unknown) => {
    const path = join(root, `${name}.json`);
    writeFileSync(path, JSON.stringify(payload));
    return { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: name, GITHUB_EVENT_PATH: path };
  };
  const gitlab = { GITLAB_CI: 'true', CI_PROJECT_PATH: 'acme/cfg', CI_DEFAULT_BRANCH: 'main' };
  const CASES: [string, () => Record<string, string>][] = [
    [
      'a GitHub issue_comment run on a pull request (base: GITHUB_SHA, the default branch)',
      () => ({
        ...event(
          'issue_comment',
          issueCommentPayload({ repository: 'acme/cfg', number: 7, login: 'bob', body: '/plan' }),
        ),
        GITHUB_SHA: base,
      }),
    ],
    [
      'a GitHub issue_comment run whose event cannot be read (it may be a pull request’s)',
      () => ({
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'issue_comment',
        GITHUB_EVENT_PATH: join(root, 'no-such-event.json'),
        GITHUB_SHA: base,
      }),
    ],
    [
      'a GitHub merge_group run (base: merge_group.base_sha)',
      () => {
        const payload = recordedPayloads('merge_group', 'checks_requested')[0]!;
        (payload.merge_group as Record<string, unknown>).base_sha = base;
        return { ...event('merge_group', payload), GITHUB_SHA: 'f'.repeat(40) };
      },
    ],
    [
      'a GitLab merge request pipeline',
      () => ({
        ...gitlab,
        CI_PIPELINE_SOURCE: 'merge_request_event',
        CI_MERGE_REQUEST_IID: '7',
        CI_MERGE_REQUEST_DIFF_BASE_SHA: base,
      }),
    ],
    [
      "a GitLab branch pipeline of a merge request's branch (base: origin/CI_DEFAULT_BRANCH)",
      () => ({
        ...gitlab,
        CI_PIPELINE_SOURCE: 'push',
        CI_COMMIT_BRANCH: 'feature',
        CI_OPEN_MERGE_REQUESTS: 'acme/cfg!7',
      }),
    ],
  ];

  it('outside it, the unbound client secret goes to the URL the pull request chose', async () => {
    await pullRequest(toCatcher);
    await plan('flyte', { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'push' });
    // OAuth client credentials: HTTP Basic, each part form-encoded (RFC 6749 2.3.1).
    const sent = caught.heard.flatMap((h) =>
      h.authorization?.startsWith('Basic ')
        ? [decodeURIComponent(Buffer.from(h.authorization.slice(6), 'base64').toString())]
        : [],
    );
    caught.heard.length = 0;
    expect(sent).toEqual([`poolsync:${SECRETS[2]}`]);
  });

  it.each(CASES)('%s: the base pins the endpoint; nothing reaches the catcher', async (_, vars) => {
    git('update-ref', 'refs/remotes/origin/main', base);
    await pullRequest(toCatcher);
    const r = await plan('flyte', vars());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `environment flyte is refused in pull-request mode: no credential was read and nothing was sent: environments.flyte.controlPlane is ${JSON.stringify(`flyteadmin+${caught.url}`)} in this pull request and "flyteadmin+http://127.0.0.1:9" on the base branch`,
    );
    expectNothingCaught();
    // An environment the pull request leaves as the base has it is planned.
    const prod = await plan('prod', vars());
    expect(prod.stderr).toBe('');
    expect(prod.code).toBe(0);
  });

  it("a branch pipeline whose default branch is not fetched is refused, saying what to fetch; an issue's comment is not a pull request's", async () => {
    git('update-ref', '-d', 'refs/remotes/origin/main');
    await pullRequest(toCatcher);
    const r = await plan('prod', {
      GITLAB_CI: 'true',
      CI_DEFAULT_BRANCH: 'main',
      CI_OPEN_MERGE_REQUESTS: 'acme/cfg!7',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('git fetch origin main:refs/remotes/origin/main');
    const issue = recordedPayloads('issue_comment', 'created')[0]!;
    expect(pullRequestBase(event('issue_comment', issue), false)).toBeNull();
    expectNothingCaught();
  });
});
