/**
 * A local GitHub + GitLab API (node:http on 127.0.0.1, port 0) implementing the endpoints
 * poolsync uses, with real pagination, a request log and injectable faults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  /** Path with query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface StoredComment {
  id: number;
  body: string;
  system?: boolean;
}

export interface StoredStatus {
  sha: string;
  body: Record<string, unknown>;
}

export interface Fault {
  /** Matches `METHOD path` (path without query), e.g. `POST /repos/acme/cfg/issues/7/comments`. */
  match: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many times it fires (default 1). */
  times?: number;
  /** Perform the real operation first, then answer with the fault (a lost response). */
  afterEffect?: boolean;
  /** Close the connection instead of answering. */
  destroy?: boolean;
}

export class FakeForge {
  readonly requests: LoggedRequest[] = [];
  /** Comments / notes per pull request key (`github:acme/cfg#7`, `gitlab:group/proj!7`). */
  readonly comments = new Map<string, StoredComment[]>();
  readonly statuses: StoredStatus[] = [];
  readonly faults: Fault[] = [];
  pageSize = 100;
  /** Token the server accepts. */
  token = 'test-token-s3cr3t';
  /** Limit enforced on bodies (code points), like the real services. */
  limits = { github: 65_536, gitlab: 1_000_000 };
  gitlabStatusStates = new Map<string, string>();
  /** GitHub collaborator permission per login (absent: 404, not a collaborator). */
  githubPermissions = new Map<string, string>();
  /** GitLab member access level per user id (absent: 404, not a member). */
  gitlabAccess = new Map<number, number>();
  /** Head commit per pull/merge request key (`github:acme/cfg#7`, `gitlab:group/proj!7`). */
  heads = new Map<string, string>();
  private nextId = 1000;
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
  url = '';

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

  seed(key: string, bodies: (string | StoredComment)[]): void {
    const list = this.comments.get(key) ?? [];
    for (const b of bodies) {
      list.push(typeof b === 'string' ? { id: this.nextId++, body: b } : b);
    }
    this.comments.set(key, list);
  }

  list(key: string): StoredComment[] {
    return this.comments.get(key) ?? [];
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
    });
    const url = new URL(req.url ?? '/', this.url);
    const route = `${req.method} ${url.pathname}`;
    for (const h of this.holds) if (h.matches(route, body)) await h.until;
    const fault = this.faults.find((f) => f.match.test(route) && (f.times ?? 1) > 0);
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.destroy) {
        req.socket.destroy();
        return;
      }
      if (fault.afterEffect) this.route(req, url, body, () => undefined);
      return this.send(
        res,
        fault.status,
        fault.body ?? { message: `injected ${fault.status}` },
        fault.headers,
      );
    }
    this.route(req, url, body, (status, json, headers) => this.send(res, status, json, headers));
  }

  private send(
    res: ServerResponse,
    status: number,
    json: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(json);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  }

  private route(
    req: IncomingMessage,
    url: URL,
    body: unknown,
    reply: (status: number, json: unknown, headers?: Record<string, string>) => void,
  ): void {
    const path = url.pathname;
    const method = req.method;
    let m: RegExpExecArray | null;
    // GitHub, under / or /api/v3 (Enterprise).
    const gh = path.replace(/^\/api\/v3/, '');
    if (
      (m = /^\/repos\/([^/]+\/[^/]+)\/(collaborators\/([^/]+)\/permission|pulls\/(\d+))$/.exec(gh))
    ) {
      if (req.headers.authorization !== `Bearer ${this.token}`)
        return reply(401, { message: 'Bad credentials' });
      if (method !== 'GET') return reply(404, { message: 'Not Found' });
      if (m[3] !== undefined) {
        const login = decodeURIComponent(m[3]);
        const permission = this.githubPermissions.get(login);
        if (permission === undefined)
          return reply(404, { message: `${login} is not a user or not a collaborator` });
        const legacy =
          permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
        return reply(200, { permission: legacy, role_name: permission, user: { login } });
      }
      const head = this.heads.get(`github:${m[1]}#${m[4]}`);
      if (!head) return reply(404, { message: 'Not Found' });
      return reply(200, { number: Number(m[4]), head: { sha: head, ref: 'feature' } });
    }
    if ((m = /^\/repos\/([^/]+\/[^/]+)\/(issues|statuses)\/(.+)$/.exec(gh))) {
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        return reply(401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
        });
      }
      const [, repo, kind, rest] = m;
      if (repo === 'acme/private') return reply(404, { message: 'Not Found' });
      if (repo === 'acme/readonly' && method !== 'GET') {
        return reply(403, { message: 'Resource not accessible by integration' });
      }
      if (kind === 'statuses' && method === 'POST') {
        const b = body as Record<string, unknown>;
        if (!['pending', 'success', 'failure', 'error'].includes(String(b.state))) {
          return reply(422, {
            message: 'Validation Failed',
            errors: [{ resource: 'Status', field: 'state', code: 'invalid' }],
          });
        }
        if (typeof b.description === 'string' && b.description.length > 140) {
          return reply(422, {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'Status',
                field: 'description',
                code: 'custom',
                message: 'description is too long (maximum is 140 characters)',
              },
            ],
          });
        }
        this.statuses.push({ sha: rest ?? '', body: b });
        return reply(201, { id: this.nextId++, ...b });
      }
      if ((m = /^(\d+)\/comments$/.exec(rest ?? ''))) {
        const key = `github:${repo}#${m[1]}`;
        if (method === 'GET') return this.pageGitHub(url, this.list(key), reply);
        if (method === 'POST') {
          const text = String((body as { body?: unknown }).body ?? '');
          if (Array.from(text).length > this.limits.github) {
            return reply(422, {
              message: 'Validation Failed',
              errors: [
                {
                  resource: 'IssueComment',
                  code: 'custom',
                  field: 'body',
                  message: 'body is too long (maximum is 65536 characters)',
                },
              ],
            });
          }
          const c = { id: this.nextId++, body: text };
          this.comments.set(key, [...this.list(key), c]);
          return reply(201, {
            ...c,
            html_url: `https://github.example/${repo}/pull/${m[1]}#issuecomment-${c.id}`,
          });
        }
      }
      if ((m = /^comments\/(\d+)$/.exec(rest ?? '')) && method === 'PATCH') {
        const id = Number(m[1]);
        const text = String((body as { body?: unknown }).body ?? '');
        if (Array.from(text).length > this.limits.github) {
          return reply(422, {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'IssueComment',
                code: 'custom',
                field: 'body',
                message: 'body is too long (maximum is 65536 characters)',
              },
            ],
          });
        }
        for (const [key, list] of this.comments) {
          const c = list.find((x) => x.id === id);
          if (c && key.startsWith(`github:${repo}#`)) {
            c.body = text;
            return reply(200, {
              ...c,
              html_url: `https://github.example/${repo}/pull/x#issuecomment-${c.id}`,
            });
          }
        }
        return reply(404, { message: 'Not Found' });
      }
      return reply(404, { message: 'Not Found' });
    }
    // GitLab, under /api/v4.
    if ((m = /^\/api\/v4\/projects\/([^/]+)\/(.+)$/.exec(url.pathname.replace(/%2F/gi, '%2F')))) {
      if (req.headers['private-token'] !== this.token)
        return reply(401, { message: '401 Unauthorized' });
      const project = decodeURIComponent(m[1] ?? '');
      const rest = m[2] ?? '';
      if (project === 'acme/private') return reply(404, { message: '404 Project Not Found' });
      if (project === 'acme/readonly' && method !== 'GET')
        return reply(403, { message: '403 Forbidden' });
      let n: RegExpExecArray | null;
      if ((n = /^members\/all\/(\d+)$/.exec(rest)) && method === 'GET') {
        const level = this.gitlabAccess.get(Number(n[1]));
        if (level === undefined) return reply(404, { message: '404 Not found' });
        return reply(200, { id: Number(n[1]), access_level: level });
      }
      if ((n = /^merge_requests\/(\d+)$/.exec(rest)) && method === 'GET') {
        const head = this.heads.get(`gitlab:${project}!${n[1]}`);
        if (!head) return reply(404, { message: '404 Not found' });
        return reply(200, { iid: Number(n[1]), sha: head });
      }
      if ((n = /^merge_requests\/(\d+)\/notes$/.exec(rest))) {
        const key = `gitlab:${project}!${n[1]}`;
        if (method === 'GET') return this.pageGitLab(url, this.list(key), reply);
        if (method === 'POST') {
          const text = String((body as { body?: unknown }).body ?? '');
          if (Array.from(text).length > this.limits.gitlab) {
            return reply(400, {
              message: { note: ['is too long (maximum is 1000000 characters)'] },
            });
          }
          const c = { id: this.nextId++, body: text };
          this.comments.set(key, [...this.list(key), c]);
          return reply(201, c);
        }
      }
      if ((n = /^merge_requests\/(\d+)\/notes\/(\d+)$/.exec(rest)) && method === 'PUT') {
        const c = this.list(`gitlab:${project}!${n[1]}`).find((x) => x.id === Number(n![2]));
        if (!c) return reply(404, { message: '404 Not found' });
        c.body = String((body as { body?: unknown }).body ?? '');
        return reply(200, c);
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
        this.statuses.push({ sha, body: b });
        return reply(201, { id: this.nextId++, status: b.state });
      }
      return reply(404, { message: '404 Not found' });
    }
    reply(404, { message: 'Not Found' });
  }

  private pageGitHub(
    url: URL,
    list: StoredComment[],
    reply: (s: number, j: unknown, h?: Record<string, string>) => void,
  ): void {
    const per = Math.min(Number(url.searchParams.get('per_page') ?? 30), this.pageSize);
    const page = Number(url.searchParams.get('page') ?? 1);
    const slice = list.slice((page - 1) * per, page * per);
    const headers: Record<string, string> = {};
    if (page * per < list.length) {
      const next = new URL(url.toString());
      next.searchParams.set('page', String(page + 1));
      next.searchParams.set('per_page', String(per));
      headers.link = `<${this.url}${next.pathname}${next.search}>; rel="next", <${this.url}${next.pathname}?page=${Math.ceil(list.length / per)}>; rel="last"`;
    }
    reply(
      200,
      slice.map((c) => ({ id: c.id, body: c.body, html_url: `https://github.example/c/${c.id}` })),
      headers,
    );
  }

  private pageGitLab(
    url: URL,
    list: StoredComment[],
    reply: (s: number, j: unknown, h?: Record<string, string>) => void,
  ): void {
    const per = Math.min(Number(url.searchParams.get('per_page') ?? 20), this.pageSize);
    const page = Number(url.searchParams.get('page') ?? 1);
    const slice = list.slice((page - 1) * per, page * per);
    const more = page * per < list.length;
    reply(
      200,
      slice.map((c) => ({ id: c.id, body: c.body, system: c.system ?? false })),
      { 'x-next-page': more ? String(page + 1) : '', 'x-page': String(page) },
    );
  }
}
