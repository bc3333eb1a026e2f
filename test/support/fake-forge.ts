/**
 * A local GitHub + GitLab API (node:http on 127.0.0.1, port 0) for the endpoints poolsync
 * uses, built from the forges' published definitions, with a request log and injectable
 * faults:
 * - GitHub: every answer is shaped by GitHub's OpenAPI description (npm @octokit/openapi;
 *   test/vcs/fake-forge.test.ts validates each one against its schema with Ajv): comments
 *   carry their `user`, statuses their `creator` (listed newest first, per commit), a pull
 *   request is the recorded payload's
 *   (npm @octokit/webhooks-examples); Link headers name `/repositories/{id}/…` as GitHub does;
 *   every answer carries the x-ratelimit-* headers, and a used-up limit answers 403 until its
 *   reset (docs.github.com, "Rate limits for the REST API"); an installation token may not read
 *   `GET /user` (403 "Resource not accessible by integration") and comments as `<slug>[bot]`,
 *   through its app (`performed_via_github_app`); a deleted comment answers 204. Every request
 *   and answer can be checked against the description: test/support/github-openapi.ts.
 * - GitHub team memberships (`GET /orgs/{org}/teams/{slug}/memberships/{user}`, `githubTeams`).
 * - GitLab (docs.gitlab.com/api/notes, /api/merge_requests, /api/users, /api/commits (statuses
 *   set and listed, `all` or each name's latest), group
 *   members with inherited ones (`gitlabGroups`), REST pagination): notes carry their `author`, and only the author edits or deletes a note (403);
 *   a merge request its `author`; X-Next-Page and Link pagination; under a relative URL root
 *   (`gitlabRoot`, docs.gitlab.com "Install GitLab under a relative URL") the API is only at
 *   ROOT/api/v4.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, vi } from 'vitest';
import { recordedPayloads, userId } from '../vcs/recorded.js';

export interface LoggedRequest {
  method: string;
  /** Path with query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The forge's clock when it arrived. */
  at: number;
}

/** A user of both forges: GitHub `user` / GitLab `author`. */
export interface Account {
  login: string;
  id: number;
  type: 'User' | 'Bot';
  /** A GitHub App installation token's bot: it may not read `GET /user`. */
  installation?: boolean;
}

export interface StoredComment {
  id: number;
  body: string;
  author: Account;
  system?: boolean;
  created_at: string;
  updated_at: string;
}

export interface StoredStatus {
  sha: string;
  body: Record<string, unknown>;
}

/** One GitHub answer, for the schema test. */
export interface GitHubAnswer {
  method: string;
  path: string;
  status: number;
  json: unknown;
}

export interface Fault {
  /** Matches `METHOD path` (path without query), e.g. `POST /repos/acme/cfg/issues/7/comments`. */
  match: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as it is (a proxy's HTML page), in place of `body` as JSON. */
  raw?: string;
  /** How many times it fires (default 1). */
  times?: number;
  /** Perform the real operation first, then answer with the fault (a lost response). */
  afterEffect?: boolean;
  /** Close the connection instead of answering. */
  destroy?: boolean;
  /** Never answer (the connection stays open until the forge closes). */
  silent?: boolean;
}

/** poolsync's own account: the user `forge.token` belongs to. */
export const POOLSYNC: Account = { login: 'poolsync-bot', id: 9001, type: 'User' };

type Answer = Record<string, unknown>;
type Reply = (status: number, json: unknown, headers?: Record<string, string>) => void;

const GITHUB_DOCS = 'https://docs.github.com/rest';
let forges = 0;
const recordedPullRequest = recordedPayloads('pull_request', 'opened')[0]!.pull_request as Record<
  string,
  unknown
>;

export class FakeForge {
  readonly requests: LoggedRequest[] = [];
  /** Comments / notes per pull request key (`github:acme/cfg#7`, `gitlab:group/proj!7`). */
  readonly comments = new Map<string, StoredComment[]>();
  readonly statuses: StoredStatus[] = [];
  /** Each status as answered when made, listed again (`repository`: as the request named it). */
  private readonly statusAnswers: { repository: string; sha: string; answer: Answer }[] = [];
  readonly faults: Fault[] = [];
  /** Every GitHub answer sent (method, path, status, JSON): test/vcs/fake-forge.test.ts. */
  readonly githubAnswers: GitHubAnswer[] = [];
  pageSize = 100;
  /**
   * poolsync's token (POOLSYNC's); `tokenOf` makes others. One per forge: a rate limit holds a
   * token in the client's process (src/vcs/http.ts), and a later forge may reuse a port.
   */
  private readonly serial = ++forges;
  token = `test-token-s3cr3t-${this.serial}`;
  readonly accounts = new Map<string, Account>([[this.token, POOLSYNC]]);
  /** Limit enforced on bodies (code points), like the real services. */
  limits = { github: 65_536, gitlab: 1_000_000 };
  gitlabStatusStates = new Map<string, string>();
  /** GitHub collaborator permission per login (absent: 404, not a collaborator). */
  githubPermissions = new Map<string, string>();
  /** GitLab member access level per user id (absent: 404, not a member). */
  gitlabAccess = new Map<number, number>();
  /** GitHub team memberships: `org/slug` → login → state (absent: 404, no membership). */
  githubTeams = new Map<string, Map<string, 'active' | 'pending'>>();
  /**
   * GitLab direct group memberships: full path → user id → access level; `members/all` also
   * finds a member of an ancestor group (inherited), as GitLab documents.
   */
  gitlabGroups = new Map<string, Map<number, number>>();
  /** Head commit per pull/merge request key (`github:acme/cfg#7`, `gitlab:group/proj!7`). */
  heads = new Map<string, string>();
  /** Who opened each pull/merge request (same keys); absent: the recorded payload's user. */
  authors = new Map<string, Pick<Account, 'login' | 'id' | 'type'>>();
  /** Pull/merge requests (same keys) that are closed. */
  closed = new Set<string>();
  /** Pull/merge requests (same keys) that are merged, and the commit each was merged as. */
  merged = new Map<string, string>();
  /** GitLab's relative URL root (`/gitlab`: the API is at /gitlab/api/v4, nothing at /api/v4). */
  gitlabRoot = '';
  /** The forge's clock (ms); a test with an injected clock shares it. */
  now: () => number = () => Date.now();
  /** GitHub's primary rate limit per token: requests left and the reset (epoch ms). */
  readonly rateLimits = new Map<string, { remaining: number; reset: number }>();
  url = '';
  private nextId = 1000;
  private readonly repositoryIds = new Map<string, number>();
  private server: Server | null = null;
  private readonly holds: {
    matches: (route: string, body: unknown) => boolean;
    until: Promise<void>;
  }[] = [];

  /** Requests `matches` accepts wait (unanswered) until the returned function is called. */
  hold(matches: (route: string, body: unknown) => boolean): () => void {
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    this.holds.push({ matches, until });
    return release;
  }

  /** A token of `account` (a user, or with `installation` a GitHub App's bot). */
  tokenOf(account: Account): string {
    const token = `token-of-${account.login.replace(/\W/g, '-')}-${this.serial}`;
    this.accounts.set(token, account);
    return token;
  }

  /** `token`'s GitHub limit used up until `reset` (epoch ms). */
  exhaust(token: string, reset: number): void {
    this.rateLimits.set(token, { remaining: 0, reset });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Adds comments (by poolsync's account unless another is given) to a pull request. */
  seed(
    key: string,
    bodies: (string | { body: string; author?: Account; system?: boolean })[],
  ): void {
    const list = this.comments.get(key) ?? [];
    for (const b of bodies) {
      const c = typeof b === 'string' ? { body: b } : b;
      list.push(this.comment(c.body, c.author ?? POOLSYNC, c.system));
    }
    this.comments.set(key, list);
  }

  list(key: string): StoredComment[] {
    return this.comments.get(key) ?? [];
  }

  private comment(body: string, author: Account, system = false): StoredComment {
    const at = new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    return { id: this.nextId++, body, author, system, created_at: at, updated_at: at };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = null;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      at: this.now(),
    });
    const url = new URL(req.url ?? '/', this.url);
    const route = `${req.method} ${url.pathname}`;
    for (const h of this.holds) if (h.matches(route, body)) await h.until;
    const github = !/^(\/[^/]+)*\/api\/v4\//.test(url.pathname);
    const send: Reply = (status, json, headers = {}) => {
      if (github) {
        this.githubAnswers.push({ method: req.method ?? '', path: url.pathname, status, json });
        headers = { ...this.rateHeaders(req), ...headers };
      }
      if (status === 204) return void res.writeHead(204, headers).end();
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(json));
    };
    const fault = this.faults.find((f) => f.match.test(route) && (f.times ?? 1) > 0);
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.destroy) {
        req.socket.destroy();
        return;
      }
      if (fault.silent) return;
      if (fault.afterEffect) this.route(req, url, body, () => undefined);
      if (fault.raw !== undefined) {
        res.writeHead(fault.status, { 'content-type': 'text/html', ...fault.headers });
        return void res.end(fault.raw);
      }
      return send(
        fault.status,
        fault.body ?? { message: `injected ${fault.status}`, documentation_url: GITHUB_DOCS },
        fault.headers,
      );
    }
    this.route(req, url, body, send);
  }

  /** GitHub's x-ratelimit-* headers, counting this request against its token. */
  private rateHeaders(req: IncomingMessage): Record<string, string> {
    const token = this.githubToken(req);
    if (token === null) return {};
    const limit = this.limitOf(token);
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(limit.remaining),
      'x-ratelimit-reset': String(Math.ceil(limit.reset / 1000)),
      'x-ratelimit-used': String(5000 - limit.remaining),
      'x-ratelimit-resource': 'core',
    };
  }

  /** The token's limit, filled again once its reset has passed. */
  private limitOf(token: string): { remaining: number; reset: number } {
    let limit = this.rateLimits.get(token);
    if (!limit || this.now() >= limit.reset) {
      limit = { remaining: 5000, reset: this.now() + 3_600_000 };
      this.rateLimits.set(token, limit);
    }
    return limit;
  }

  private githubToken(req: IncomingMessage): string | null {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m && this.accounts.has(m[1]!) ? m[1]! : null;
  }

  private route(req: IncomingMessage, url: URL, body: unknown, reply: Reply): void {
    if (url.pathname.startsWith(`${this.gitlabRoot}/api/v4/`))
      return this.gitlab(req, url, body, reply);
    // Not GitLab's root (docs.gitlab.com "Install GitLab under a relative URL"): another server.
    if (/\/api\/v4\//.test(url.pathname)) return reply(404, { error: 'not GitLab' });
    const token = this.githubToken(req);
    if (token === null)
      return reply(401, {
        message: 'Bad credentials',
        documentation_url: GITHUB_DOCS,
        status: '401',
      });
    const limit = this.limitOf(token);
    if (limit.remaining === 0) {
      const who = this.accounts.get(token)!;
      return reply(403, {
        message: `API rate limit exceeded for user ID ${who.id}.`,
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      });
    }
    limit.remaining--;
    this.github(req, url, body, reply, this.accounts.get(token)!);
  }

  private github(req: IncomingMessage, url: URL, body: unknown, reply: Reply, me: Account): void {
    // Under / (github.com, ghe.com) or /api/v3 (GitHub Enterprise Server).
    const prefix = url.pathname.startsWith('/api/v3/') ? '/api/v3' : '';
    const api = `${this.url}${prefix}`;
    const path = url.pathname.slice(prefix.length);
    const method = req.method;
    const notFound = () =>
      reply(404, { message: 'Not Found', documentation_url: GITHUB_DOCS, status: '404' });
    let m: RegExpExecArray | null;
    if (path === '/user' && method === 'GET') {
      if (me.installation)
        return reply(403, {
          message: 'Resource not accessible by integration',
          documentation_url: `${GITHUB_DOCS}/users/users#get-the-authenticated-user`,
          status: '403',
        });
      return reply(200, this.publicUser(api, me));
    }
    // /repositories/{id}/… is where GitHub's Link headers point.
    if ((m = /^\/repositories\/(\d+)\/(.+)$/.exec(path))) {
      const repo = [...this.repositoryIds].find(([, id]) => id === Number(m![1]))?.[0];
      if (!repo) return notFound();
      return this.githubRepo(method, url, body, reply, { api, repo, rest: m[2]!, me });
    }
    // docs.github.com/rest/teams/members "Get team membership for a user": 404 without one.
    if (
      (m = /^\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/.exec(path)) &&
      method === 'GET'
    ) {
      const [org, slug, login] = [m[1]!, m[2]!, decodeURIComponent(m[3]!)];
      const state = this.githubTeams.get(`${org}/${slug}`)?.get(login);
      if (state === undefined) return notFound();
      return reply(200, {
        url: `${api}/organizations/1/team/${userId(slug)}/memberships/${login}`,
        role: 'member',
        state,
      });
    }
    if ((m = /^\/repos\/([^/]+\/[^/]+)\/(.+)$/.exec(path))) {
      return this.githubRepo(method, url, body, reply, { api, repo: m[1]!, rest: m[2]!, me });
    }
    notFound();
  }

  private githubRepo(
    method: string | undefined,
    url: URL,
    body: unknown,
    reply: Reply,
    { api, repo, rest, me }: { api: string; repo: string; rest: string; me: Account },
  ): void {
    const notFound = () =>
      reply(404, { message: 'Not Found', documentation_url: GITHUB_DOCS, status: '404' });
    if (repo === 'acme/private') return notFound();
    if (repo === 'acme/readonly' && method !== 'GET') {
      return reply(403, {
        message: 'Resource not accessible by integration',
        documentation_url: GITHUB_DOCS,
        status: '403',
      });
    }
    let m: RegExpExecArray | null;
    if ((m = /^collaborators\/([^/]+)\/permission$/.exec(rest)) && method === 'GET') {
      const login = decodeURIComponent(m[1]!);
      const permission = this.githubPermissions.get(login);
      if (permission === undefined)
        return reply(404, {
          message: `${login} is not a user`,
          documentation_url: GITHUB_DOCS,
          status: '404',
        });
      const legacy =
        permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
      const user = {
        ...this.user(api, { login, id: userId(login), type: 'User' }),
        role_name: permission,
      };
      return reply(200, { permission: legacy, role_name: permission, user });
    }
    if ((m = /^pulls\/(\d+)$/.exec(rest)) && method === 'GET') {
      const key = `github:${repo}#${m[1]}`;
      const head = this.heads.get(key);
      if (!head) return notFound();
      const author = this.authors.get(key);
      const open = !this.closed.has(key) && !this.merged.has(key);
      const pr = {
        ...this.pullRequest(api, repo, Number(m[1]), head, open),
        merged: this.merged.has(key),
        merge_commit_sha: this.merged.get(key) ?? null,
      };
      return reply(200, author ? { ...pr, user: this.user(api, author) } : pr);
    }
    if ((m = /^statuses\/([^/]+)$/.exec(rest)) && method === 'POST') {
      const b = body as Record<string, unknown>;
      if (!['pending', 'success', 'failure', 'error'].includes(String(b.state))) {
        return this.invalid(reply, 'Status', 'state', 'invalid');
      }
      if (typeof b.description === 'string' && b.description.length > 140) {
        return this.invalid(
          reply,
          'Status',
          'description',
          'custom',
          'description is too long (maximum is 140 characters)',
        );
      }
      const id = this.nextId++;
      const at = this.timestamp();
      const answer = {
        url: `${api}/repos/${repo}/statuses/${m[1]}`,
        avatar_url: null,
        id,
        node_id: `SC_${id}`,
        state: b.state,
        description: b.description ?? null,
        target_url: b.target_url ?? null,
        context: b.context ?? 'default',
        created_at: at,
        updated_at: at,
        creator: this.user(api, me),
      };
      this.statuses.push({ sha: m[1]!, body: b });
      this.statusAnswers.push({ repository: repo, sha: m[1]!, answer });
      return reply(201, answer);
    }
    // docs.github.com/rest/commits/statuses "List commit statuses for a reference": newest first.
    if ((m = /^commits\/([^/]+)\/statuses$/.exec(rest)) && method === 'GET') {
      const sha = m[1]!;
      const mine = this.statusAnswers.filter((x) => x.repository === repo && x.sha === sha);
      return this.pageGitHub(url, api, repo, rest, mine.map((x) => x.answer).reverse(), reply);
    }
    if ((m = /^issues\/(\d+)\/comments$/.exec(rest))) {
      const number = Number(m[1]);
      const key = `github:${repo}#${number}`;
      if (method === 'GET') {
        const comments = this.list(key).map((c) => this.githubComment(api, repo, number, c));
        return this.pageGitHub(url, api, repo, rest, comments, reply);
      }
      if (method === 'POST') {
        const text = String((body as { body?: unknown }).body ?? '');
        if (Array.from(text).length > this.limits.github) return this.tooLong(reply);
        const c = this.comment(text, me);
        this.comments.set(key, [...this.list(key), c]);
        return reply(201, this.githubComment(api, repo, number, c));
      }
    }
    if ((m = /^issues\/comments\/(\d+)$/.exec(rest)) && method === 'DELETE') {
      const id = Number(m[1]);
      for (const [key, list] of this.comments)
        if (key.startsWith(`github:${repo}#`) && list.some((c) => c.id === id)) {
          this.comments.set(
            key,
            list.filter((c) => c.id !== id),
          );
          return reply(204, null);
        }
      return notFound();
    }
    if ((m = /^issues\/comments\/(\d+)$/.exec(rest)) && method === 'PATCH') {
      const id = Number(m[1]);
      const text = String((body as { body?: unknown }).body ?? '');
      if (Array.from(text).length > this.limits.github) return this.tooLong(reply);
      for (const [key, list] of this.comments) {
        const c = list.find((x) => x.id === id);
        // GitHub lets anyone with write access edit any comment: the token here has it.
        if (c && key.startsWith(`github:${repo}#`)) {
          c.body = text;
          c.updated_at = this.timestamp();
          return reply(200, this.githubComment(api, repo, Number(key.split('#')[1]), c));
        }
      }
      return notFound();
    }
    notFound();
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  }

  private invalid(
    reply: Reply,
    resource: string,
    field: string,
    code: string,
    message?: string,
  ): void {
    reply(422, {
      message: 'Validation Failed',
      errors: [{ resource, field, code, ...(message ? { message } : {}) }],
      documentation_url: GITHUB_DOCS,
      status: '422',
    });
  }

  private tooLong(reply: Reply): void {
    this.invalid(
      reply,
      'IssueComment',
      'body',
      'custom',
      'body is too long (maximum is 65536 characters)',
    );
  }

  private repositoryId(repo: string): number {
    let id = this.repositoryIds.get(repo);
    if (id === undefined) {
      id = 100_000 + this.repositoryIds.size;
      this.repositoryIds.set(repo, id);
    }
    return id;
  }

  /** simple-user. */
  private user(api: string, a: Pick<Account, 'login' | 'id' | 'type'>): Record<string, unknown> {
    const u = `${api}/users/${encodeURIComponent(a.login)}`;
    // A bot's page is its app's: https://github.com/apps/SLUG.
    const page =
      a.type === 'Bot'
        ? `https://github.com/apps/${a.login.replace(/\[bot\]$/, '')}`
        : `https://github.com/${a.login}`;
    return {
      login: a.login,
      id: a.id,
      node_id: `U_${a.id}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${a.id}?v=4`,
      gravatar_id: '',
      url: u,
      html_url: page,
      followers_url: `${u}/followers`,
      following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`,
      starred_url: `${u}/starred{/owner}{/repo}`,
      subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`,
      repos_url: `${u}/repos`,
      events_url: `${u}/events{/privacy}`,
      received_events_url: `${u}/received_events`,
      type: a.type,
      user_view_type: 'public',
      site_admin: false,
    };
  }

  /** public-user (GET /user). */
  private publicUser(api: string, a: Account): Record<string, unknown> {
    return {
      ...this.user(api, a),
      name: a.login,
      company: null,
      blog: '',
      location: null,
      email: null,
      hireable: null,
      bio: null,
      public_repos: 0,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2020-01-01T00:00:00Z',
    };
  }

  /** issue-comment. */
  private githubComment(
    api: string,
    repo: string,
    number: number,
    c: StoredComment,
  ): Record<string, unknown> {
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${api}/repos/${repo}/issues/comments/${c.id}`,
      html_url: `https://github.example/${repo}/pull/${number}#issuecomment-${c.id}`,
      body: c.body,
      user: this.user(api, c.author),
      created_at: c.created_at,
      updated_at: c.updated_at,
      issue_url: `${api}/repos/${repo}/issues/${number}`,
      author_association: c.author === POOLSYNC ? 'MEMBER' : 'NONE',
      // A comment posted with a GitHub App's installation token names the app; no user can.
      performed_via_github_app: c.author.installation ? this.app(api, c.author) : null,
    };
  }

  /** integration: the app whose bot `a` (`SLUG[bot]`) is. */
  private app(api: string, a: Account): Record<string, unknown> {
    const slug = a.login.replace(/\[bot\]$/, '');
    const id = 300_000 + a.id;
    return {
      id,
      slug,
      node_id: `A_${id}`,
      client_id: `Iv1.${id}`,
      owner: this.user(api, { login: 'acme', id: 1, type: 'User' }),
      name: slug,
      description: `The ${slug} app`,
      external_url: `https://${slug}.example`,
      html_url: `https://github.com/apps/${slug}`,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2020-01-01T00:00:00Z',
      permissions: { issues: 'write', pull_requests: 'write', statuses: 'write', metadata: 'read' },
      events: [],
    };
  }

  /** pull-request: the recorded `pull_request` payload, at this number, head and state. */
  private pullRequest(
    api: string,
    repo: string,
    number: number,
    head: string,
    open: boolean,
  ): Record<string, unknown> {
    const pr = structuredClone(recordedPullRequest) as Record<string, unknown> & {
      head: Record<string, unknown>;
    };
    return {
      ...pr,
      url: `${api}/repos/${repo}/pulls/${number}`,
      number,
      state: open ? 'open' : 'closed',
      head: { ...pr.head, sha: head },
      // In the REST answer, absent from the recorded webhook payload.
      auto_merge: null,
    };
  }

  /** A page of `list` (at `rest` in the repository) with GitHub's Link header (`/repositories/{id}/…`, prev, next, last, first). */
  private pageGitHub(
    url: URL,
    api: string,
    repo: string,
    rest: string,
    list: unknown[],
    reply: Reply,
  ): void {
    const per = Math.min(Number(url.searchParams.get('per_page') ?? 30), this.pageSize);
    const page = Number(url.searchParams.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(list.length / per));
    const at = (p: number) =>
      `<${api}/repositories/${this.repositoryId(repo)}/${rest}?per_page=${per}&page=${p}>`;
    const links = [
      ...(page > 1 ? [`${at(page - 1)}; rel="prev"`] : []),
      ...(page < last ? [`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`] : []),
      ...(page > 1 ? [`${at(1)}; rel="first"`] : []),
    ];
    reply(
      200,
      list.slice((page - 1) * per, page * per),
      links.length > 0 ? { link: links.join(', ') } : {},
    );
  }

  private gitlab(req: IncomingMessage, url: URL, body: unknown, reply: Reply): void {
    const me = this.accounts.get(String(req.headers['private-token'] ?? ''));
    if (!me) return reply(401, { message: '401 Unauthorized' });
    const method = req.method;
    const path = url.pathname.slice(`${this.gitlabRoot}/api/v4`.length);
    if (path === '/user' && method === 'GET') return reply(200, this.gitlabUser(me));
    // docs.gitlab.com/api/members "Get a member of a group or project, including inherited and
    // invited members": the group or any ancestor (the highest level); 404 when none.
    const g = /^\/groups\/([^/]+)\/members\/all\/(\d+)$/.exec(path);
    if (g && method === 'GET') {
      const id = Number(g[2]);
      const parts = decodeURIComponent(g[1]!).split('/');
      const levels = parts.flatMap((_, i) => {
        const level = this.gitlabGroups.get(parts.slice(0, i + 1).join('/'))?.get(id);
        return level === undefined ? [] : [level];
      });
      if (levels.length === 0) return reply(404, { message: '404 Not found' });
      return reply(200, {
        ...this.gitlabUser({ login: `user${id}`, id, type: 'User' }),
        access_level: Math.max(...levels),
        created_at: '2020-01-01T00:00:00.000Z',
        expires_at: null,
        membership_state: 'active',
      });
    }
    const m = /^\/projects\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return reply(404, { message: '404 Not found' });
    const project = decodeURIComponent(m[1]!);
    const rest = m[2]!;
    if (project === 'acme/private') return reply(404, { message: '404 Project Not Found' });
    if (project === 'acme/readonly' && method !== 'GET')
      return reply(403, { message: '403 Forbidden' });
    const web = `https://gitlab.example/${/^\d+$/.test(project) ? `group/project-${project}` : project}`;
    let n: RegExpExecArray | null;
    if ((n = /^members\/all\/(\d+)$/.exec(rest)) && method === 'GET') {
      const level = this.gitlabAccess.get(Number(n[1]));
      if (level === undefined) return reply(404, { message: '404 Not found' });
      return reply(200, {
        ...this.gitlabUser({ login: `user${n[1]}`, id: Number(n[1]), type: 'User' }),
        access_level: level,
      });
    }
    if ((n = /^merge_requests\/(\d+)$/.exec(rest)) && method === 'GET') {
      const key = `gitlab:${project}!${n[1]}`;
      const head = this.heads.get(key) ?? 'f'.repeat(40);
      return reply(200, {
        id: 50_000 + Number(n[1]),
        iid: Number(n[1]),
        project_id: /^\d+$/.test(project) ? Number(project) : 1,
        state: this.merged.has(key) ? 'merged' : this.closed.has(key) ? 'closed' : 'opened',
        sha: head,
        merge_commit_sha: this.merged.get(key) ?? null,
        web_url: `${web}/-/merge_requests/${n[1]}`,
        author: this.gitlabUser(
          this.authors.get(key) ?? { login: 'mr-author', id: 4242, type: 'User' },
        ),
      });
    }
    if ((n = /^merge_requests\/(\d+)\/notes$/.exec(rest))) {
      const key = `gitlab:${project}!${n[1]}`;
      if (method === 'GET') {
        const notes = this.list(key).map((c) => this.gitlabNote(c, Number(n![1])));
        return this.pageGitLab(url, notes, reply);
      }
      if (method === 'POST') {
        const text = String((body as { body?: unknown }).body ?? '');
        if (Array.from(text).length > this.limits.gitlab) {
          return reply(400, { message: { note: ['is too long (maximum is 1000000 characters)'] } });
        }
        const c = this.comment(text, me);
        this.comments.set(key, [...this.list(key), c]);
        return reply(201, this.gitlabNote(c, Number(n[1])));
      }
    }
    if ((n = /^merge_requests\/(\d+)\/notes\/(\d+)$/.exec(rest)) && method === 'DELETE') {
      const key = `gitlab:${project}!${n[1]}`;
      const c = this.list(key).find((x) => x.id === Number(n![2]));
      if (!c) return reply(404, { message: '404 Not found' });
      // Only a note's author (or a maintainer) may delete it.
      if (c.author.id !== me.id) return reply(403, { message: '403 Forbidden' });
      this.comments.set(
        key,
        this.list(key).filter((x) => x !== c),
      );
      return reply(204, null);
    }
    if ((n = /^merge_requests\/(\d+)\/notes\/(\d+)$/.exec(rest)) && method === 'PUT') {
      const c = this.list(`gitlab:${project}!${n[1]}`).find((x) => x.id === Number(n![2]));
      if (!c) return reply(404, { message: '404 Not found' });
      // Only a note's author may edit it.
      if (c.author.id !== me.id) return reply(403, { message: '403 Forbidden' });
      c.body = String((body as { body?: unknown }).body ?? '');
      c.updated_at = this.timestamp();
      return reply(200, this.gitlabNote(c, Number(n[1])));
    }
    if ((n = /^statuses\/([0-9a-f]+)$/.exec(rest)) && method === 'POST') {
      const b = body as Record<string, unknown>;
      const sha = n[1] ?? '';
      const prev = this.gitlabStatusStates.get(`${sha}:${String(b.name)}`);
      if (prev === 'running' && b.state === 'running') {
        return reply(400, {
          message:
            'Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")',
        });
      }
      this.gitlabStatusStates.set(`${sha}:${String(b.name)}`, String(b.state));
      // docs.gitlab.com/api/commits "Set the pipeline status of a commit": its example answer.
      const at = this.timestamp();
      const answer = {
        id: this.nextId++,
        sha,
        ref: b.ref ?? null,
        status: b.state,
        name: b.name,
        target_url: b.target_url ?? null,
        description: b.description ?? null,
        coverage: b.coverage ?? null,
        created_at: at,
        started_at: b.state === 'running' ? at : null,
        finished_at: b.state === 'running' || b.state === 'pending' ? null : at,
        allow_failure: false,
        author: this.gitlabUser(me),
      };
      this.statuses.push({ sha, body: b });
      this.statusAnswers.push({ repository: project, sha, answer });
      return reply(201, answer);
    }
    // docs.gitlab.com/api/commits "List the statuses of a commit": `all` for every one, oldest first.
    if ((n = /^repository\/commits\/([0-9a-f]+)\/statuses$/.exec(rest)) && method === 'GET') {
      const sha = n[1]!;
      const mine = this.statusAnswers.filter((x) => x.repository === project && x.sha === sha);
      const all = url.searchParams.get('all') === 'true';
      const shown = mine.filter(
        (x, i) => all || !mine.slice(i + 1).some((y) => y.answer.name === x.answer.name),
      );
      return this.pageGitLab(
        url,
        shown.map((x) => x.answer),
        reply,
      );
    }
    reply(404, { message: '404 Not found' });
  }

  private gitlabUser(a: Pick<Account, 'login' | 'id' | 'type'>): Record<string, unknown> {
    return {
      id: a.id,
      username: a.login,
      name: a.login,
      state: 'active',
      avatar_url: `https://gitlab.example/uploads/user/avatar/${a.id}/avatar.png`,
      web_url: `https://gitlab.example/${a.login}`,
      bot: a.type === 'Bot',
    };
  }

  private gitlabNote(c: StoredComment, iid: number): Record<string, unknown> {
    return {
      id: c.id,
      type: null,
      body: c.body,
      attachment: null,
      author: this.gitlabUser(c.author),
      created_at: c.created_at,
      updated_at: c.updated_at,
      system: c.system ?? false,
      noteable_id: 50_000 + iid,
      noteable_type: 'MergeRequest',
      noteable_iid: iid,
      resolvable: false,
      confidential: false,
      internal: false,
      imported: false,
      imported_from: 'none',
    };
  }

  /** A page of notes with GitLab's pagination headers (X-Next-Page, X-Page, …, Link). */
  private pageGitLab(url: URL, list: unknown[], reply: Reply): void {
    const per = Math.min(Number(url.searchParams.get('per_page') ?? 20), this.pageSize);
    const page = Number(url.searchParams.get('page') ?? 1);
    const pages = Math.max(1, Math.ceil(list.length / per));
    const at = (p: number) => {
      const u = new URL(url.toString());
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(per));
      return `<${u.toString()}>`;
    };
    const links = [
      ...(page > 1 ? [`${at(page - 1)}; rel="prev"`] : []),
      ...(page < pages ? [`${at(page + 1)}; rel="next"`] : []),
      `${at(1)}; rel="first"`,
      `${at(pages)}; rel="last"`,
    ];
    reply(200, list.slice((page - 1) * per, page * per), {
      'x-next-page': page < pages ? String(page + 1) : '',
      'x-page': String(page),
      'x-per-page': String(per),
      'x-prev-page': page > 1 ? String(page - 1) : '',
      'x-total': String(list.length),
      'x-total-pages': String(pages),
      link: links.join(', '),
    });
  }
}

/**
 * A forge stand-in for each test of the scope it is called in: GITHUB_TOKEN and GITHUB_API_URL
 * point at it and POOLSYNC_COMMENT_REPOSITORY names `repository`; after each test the variables
 * are restored and it stops. Returns the current test's.
 */
export function forgePerTest(repository = 'acme/cfg'): () => FakeForge {
  let forge: FakeForge | null = null;
  beforeEach(async () => {
    forge = await new FakeForge().start();
    vi.stubEnv('GITHUB_TOKEN', forge.token);
    vi.stubEnv('GITHUB_API_URL', forge.url);
    vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', repository);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await forge?.stop();
  });
  return () => forge!;
}
