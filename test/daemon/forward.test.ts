/**
 * A follower hands what needs the leader to it (src/daemon/http.ts, handOff), over real sockets: two
 * status servers in this process, one playing the leader (recording what its handlers get) and
 * one the follower (its follower() names the leader's address). The forwarded call carries a
 * signature, never the credential; a forged or replayed signature is refused; a forwarded
 * request is not forwarded again.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import {
  FORWARDED_HEADER,
  HAND_OFF_WAIT_MS,
  handOff,
  signForward,
  verifyForward,
  startStatusServer,
  type Follower,
  type FreezeRequest,
  type HttpHandlers,
  type StatusServer,
} from '../../src/daemon/http.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { initialStatus, type DaemonStatus, type LeaderStatus } from '../../src/daemon/status.js';
import { githubSignature } from '../../src/daemon/webhooks.js';
import { main } from '../../src/cli/run.js';
import { memoryIo } from '../support/memory-io.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { until } from '../support/until.js';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import {
  electedLeadership,
  followerOf,
  readiness,
  soleLeadership,
} from '../../src/daemon/leader.js';
import { startFakeKubeApi } from '../support/fake-kube-api.js';

const GITHUB = 'github-secret-0123456789';
const GITLAB = 'gitlab-token-0123456789';
const RECONCILE = 'reconcile-token-0123456789';
const ADMIN = 'admin-token-0123456789';

interface Seen {
  reconciles: string[];
  approvals: { fingerprint: string; approver: string }[];
  comments: number[];
  pullRequests: number[];
  freezes: FreezeRequest[];
}

type Secrets = Partial<Pick<HttpHandlers, 'githubWebhookSecret' | 'reconcileToken' | 'adminToken'>>;

async function replica(
  identity: string,
  follower: () => Follower | null,
  secrets: Secrets & Pick<Partial<HttpHandlers>, 'requestReconcile'> = {},
): Promise<{ server: StatusServer; seen: Seen; metrics: DaemonMetrics; logged: Logged[] }> {
  const seen: Seen = {
    reconciles: [],
    approvals: [],
    comments: [],
    pullRequests: [],
    freezes: [],
  };
  const logged: Logged[] = [];
  const metrics = new DaemonMetrics({ processMetrics: false });
  const h: HttpHandlers = {
    status: () => {
      const f = follower();
      const leader = f
        ? {
            enabled: true,
            identity,
            isLeader: false,
            leader: f.leader,
            leaderAddress: f.leaderAddress,
            lease: 'poolsync/leader',
            lastTransitionAt: null,
            leaseUnreadSince: f.leaseUnreadSince ?? null,
            leaseError: f.leaseError ?? null,
          }
        : undefined;
      return { ...initialStatus({ kind: 'watch' }, 'safe'), ready: true, commit: identity, leader };
    },
    ready: () => true,
    metrics,
    requestReconcile: async (reason) => {
      seen.reconciles.push(reason);
      const at = '2026-11-29T06:00:00.000Z';
      const applied = { create: 0, update: 0, replace: 0, delete: 0, side_effects: 0 };
      const run = { id: 1, trigger: [reason], startedAt: at, finishedAt: at, durationMs: 0 };
      const fields = { commit: null, applied, changed: [], changedTotal: 0, phasesMs: {} };
      const said = { result: 'in_sync' as const, message: `in sync (run by ${identity})` };
      return [{ environment: null, run: { ...run, ...said, ...fields } }];
    },
    githubWebhookSecret: GITHUB,
    gitlabWebhookToken: GITLAB,
    reconcileToken: RECONCILE,
    adminToken: ADMIN,
    branch: 'main',
    onPullRequest: async (e) => {
      seen.pullRequests.push(e.number);
    },
    onComment: async (e) => {
      seen.comments.push(e.number);
    },
    approve: (r) => {
      seen.approvals.push(r);
      return {
        ok: true,
        record: { ...r, via: 'api', source: null, at: 'now' },
      };
    },
    freeze: async (r) => {
      seen.freezes.push(r);
      const before = [{ environment: null, suspended: null }];
      return { ok: true, freeze: initialStatus({ kind: 'watch' }, 'safe').freeze, before };
    },
    follower,
    replica: identity,
    logger: pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) }),
    ...secrets,
  };
  const server = await startStatusServer({ host: '127.0.0.1', port: 0 }, { ...h, doing: () => '' });
  server.serve(h);
  cleanup.add(() => server.close());
  return { server, seen, metrics, logged };
}

/** A log record of a replica: its message and fields. */
type Logged = { msg: string } & Record<string, unknown>;

/** The count of `poolsync_webhook_deliveries_total` for GitHub and `result`, as scraped. */
const deliveries = async (metrics: DaemonMetrics, result: string): Promise<number> => {
  const line = new RegExp(
    `^poolsync_webhook_deliveries_total\\{provider="github",result="${result}"\\} (\\d+)$`,
    'm',
  );
  return Number(line.exec(await metrics.text())?.[1] ?? 0);
};

async function pair(leaderSecrets: Parameters<typeof replica>[2] = {}) {
  const leader = await replica('replica-l', () => null, leaderSecrets);
  const follower = await replica('replica-f', () => ({
    identity: 'replica-f',
    leader: 'replica-l',
    leaderAddress: leader.server.url,
    retryAfterSeconds: 2,
    limits: DEFAULT_LIMITS,
  }));
  return { leader, follower };
}

const github = (
  url: string,
  event: string,
  payload: unknown,
  secret = GITHUB,
  delivery?: string,
) => {
  const raw = JSON.stringify(payload);
  return fetch(`${url}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-hub-signature-256': githubSignature(secret, raw),
      ...(delivery ? { 'x-github-delivery': delivery } : {}),
    },
    body: raw,
  });
};
const push = { ref: 'refs/heads/main', after: 'a'.repeat(40) };
const commentOn = (number: number) => ({
  action: 'created',
  issue: { number, pull_request: { url: `https://api.github.com/repos/acme/cfg/pulls/${number}` } },
  comment: { body: 'poolsync apply', user: { login: 'alice' } },
  repository: { full_name: 'acme/cfg' },
});

describe('a follower hands requests to the leader', () => {
  it('pushes, pull requests and comments (GitHub and GitLab), /reconcile, /approve and /status are answered by the leader', async () => {
    const { leader, follower } = await pair();
    const f = follower.server.url;

    const pushed = await github(f, 'push', push, GITHUB, 'ha-1');
    expect(pushed.status).toBe(202);
    expect(pushed.headers.get('x-poolsync-replica')).toBe('replica-l');
    // The follower logs and counts the leader's answer, naming the leader that gave it.
    expect(follower.logged.filter((l) => l.delivery === 'ha-1')).toEqual([
      expect.objectContaining({ result: 'push', status: 202, leader: 'replica-l' }),
    ]);
    expect(await deliveries(follower.metrics, 'push')).toBe(1);
    const commented = await github(f, 'issue_comment', commentOn(7));
    expect(commented.status).toBe(202);
    const pr = await github(f, 'pull_request', {
      action: 'synchronize',
      number: 8,
      pull_request: {
        number: 8,
        head: { sha: 'b'.repeat(40), ref: 'feature' },
        base: { ref: 'main' },
      },
      repository: { full_name: 'acme/cfg' },
    });
    expect(pr.status).toBe(202);
    const gitlab = await fetch(`${f}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Push Hook',
        'x-gitlab-token': GITLAB,
      },
      body: JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', after: 'c'.repeat(40) }),
    });
    expect(gitlab.status).toBe(202);
    expect(gitlab.headers.get('x-poolsync-replica')).toBe('replica-l');

    const reconcile = await fetch(`${f}/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RECONCILE}` },
    });
    expect(reconcile.status).toBe(202);
    const approve = await fetch(`${f}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fingerprint: 'sha256:abc', approver: 'alice' }),
    });
    expect(approve.status).toBe(200);
    expect(((await approve.json()) as { approved: boolean }).approved).toBe(true);
    const suspend = await fetch(`${f}/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'alice', reason: 'incident 42' }),
    });
    expect(suspend.status).toBe(200);

    // /status is the leader's; ?local=1 the follower's own.
    const status = (await (await fetch(`${f}/status`)).json()) as { commit: string };
    expect(status.commit).toBe('replica-l');
    const own = await fetch(`${f}/status?local=1`);
    expect(((await own.json()) as { commit: string }).commit).toBe('replica-f');
    expect(own.headers.get('x-poolsync-replica')).toBe('replica-f');

    // Everything reached the leader's handlers, nothing the follower's.
    // The handlers record synchronously, before the 202 is sent.
    expect(leader.seen.reconciles.sort()).toEqual(
      ['manual', 'manual', 'webhook', 'webhook'].sort(),
    );
    expect(leader.seen.comments).toEqual([7]);
    expect(leader.seen.pullRequests).toEqual([8]);
    expect(leader.seen.approvals).toEqual([{ fingerprint: 'sha256:abc', approver: 'alice' }]);
    expect(leader.seen.freezes).toEqual([{ suspend: true, by: 'alice', reason: 'incident 42' }]);
    expect(follower.seen).toEqual({
      reconciles: [],
      approvals: [],
      comments: [],
      pullRequests: [],
      freezes: [],
    });
  });

  it('unauthenticated requests are refused by the follower and never handed on', async () => {
    const { leader, follower } = await pair();
    const f = follower.server.url;
    expect((await github(f, 'push', push, 'wrong-secret')).status).toBe(401);
    expect(
      (await fetch(`${f}/reconcile`, { method: 'POST', headers: { authorization: 'Bearer nope' } }))
        .status,
    ).toBe(401);
    expect(leader.seen.reconciles).toEqual([]);
  });

  it('a leader given other secrets than its follower: the refusal names the setting every replica must share', async () => {
    const { leader, follower } = await pair({
      githubWebhookSecret: 'another-github-secret-0123',
      reconcileToken: 'another-reconcile-token-0123',
      adminToken: null,
    });
    const f = follower.server.url;
    const pushed = await github(f, 'push', push);
    expect(pushed.status).toBe(401);
    expect(((await pushed.json()) as { message: string }).message).toBe(
      'replica-f accepted the credential and handed the request to the leader replica-l, whose POOLSYNC_GITHUB_WEBHOOK_SECRET does not verify its signature: give every replica the same POOLSYNC_GITHUB_WEBHOOK_SECRET',
    );
    const reconcile = await fetch(`${f}/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RECONCILE}` },
    });
    expect(reconcile.status).toBe(401);
    expect(((await reconcile.json()) as { error: string }).error).toMatch(
      /^replica-f accepted .* whose POOLSYNC_RECONCILE_TOKEN or POOLSYNC_ADMIN_TOKEN does not verify/,
    );
    // `poolsync suspend` through the follower: the leader has no admin token at all.
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    expect(await main(['suspend', '--daemon', f, '--reason', 'incident'], io)).toBe(1);
    expect(io.err()).toContain(
      'answered HTTP 403: replica-f accepted the credential and handed the request to the leader replica-l, which has no POOLSYNC_ADMIN_TOKEN: give every replica the same POOLSYNC_ADMIN_TOKEN',
    );
    expect(leader.seen).toEqual(follower.seen);
    expect(leader.seen.reconciles).toEqual([]);
  });

  it('a leader that made no run (it stopped leading before): `poolsync sync` says nothing was applied, and fails', async () => {
    const { leader, follower } = await pair({ requestReconcile: async () => [] });
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    expect(await main(['sync', '--daemon', follower.server.url], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toBe(
      `Error: ${follower.server.url} made no run: the replica that took the request stopped leading (or shut down) before its run, or leads none of the environments asked; nothing was applied: \`poolsync status\` names the leader, then run \`poolsync sync\` again\n`,
    );
    expect(leader.seen.reconciles).toEqual([]);
  });

  it('a follower whose clock is 90 s ahead: `poolsync suspend` says the clocks disagree, and names no token', async () => {
    const { leader } = await pair();
    // The follower as the leader sees it: the request checked, then signed 90 s in the future.
    const follower = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const forward = signForward(
          ADMIN,
          'replica-f',
          'POST',
          req.url!,
          body,
          Date.now() + 90_000,
        );
        void fetch(`${leader.server.url}${req.url}`, {
          method: 'POST',
          headers: { [FORWARDED_HEADER]: forward, 'content-type': 'application/json' },
          body,
        }).then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(await answer.text());
        });
      });
    });
    await new Promise<void>((r) => follower.listen(0, '127.0.0.1', r));
    cleanup.add(() => new Promise<void>((r) => follower.close(() => r())));
    const url = `http://127.0.0.1:${(follower.address() as AddressInfo).port}`;
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    expect(await main(['suspend', '--daemon', url, '--reason', 'incident'], io)).toBe(1);
    expect(io.err()).toMatch(
      /answered HTTP 401: replica-f accepted the credential and handed the request to the leader replica-l, which got it signed (89|90) s ahead of its clock, .* the clocks of replica-f and of replica-l disagree by at least (89|90) s .*synchronise the clock of the replica that is off \(NTP\)/,
    );
    expect(io.err()).not.toMatch(/token sent|or the hand-off waited/);
    expect(leader.seen.freezes).toEqual([]);
  });

  it('the leader refuses a forged, altered or stale signature; a forwarded request is not forwarded again', async () => {
    const { leader } = await pair();
    const l = leader.server.url;
    const body = JSON.stringify({ fingerprint: 'sha256:abc', approver: 'mallory' });
    const forwarded = (value: string) =>
      fetch(`${l}/approve`, {
        method: 'POST',
        headers: { [FORWARDED_HEADER]: value, 'content-type': 'application/json' },
        body,
      });
    const b = Buffer.from(body);
    expect((await forwarded(signForward('guessed', 'x', 'POST', '/approve', b))).status).toBe(401);
    expect(
      (await forwarded(signForward(ADMIN, 'x', 'POST', '/approve', Buffer.from('{}')))).status,
    ).toBe(401);
    // Signed with the right token too long ago: said to be late, not a token mismatch.
    const stale = await forwarded(
      signForward(ADMIN, 'x', 'POST', '/approve', b, Date.now() - 120_000),
    );
    expect(stale.status).toBe(401);
    const late = ((await stale.json()) as { error: string }).error;
    expect(late.replace(/signed \d+ s ago/, 'signed N s ago')).toBe(
      'x accepted the credential and handed the request to the leader replica-l, which got it signed N s ago, past the minute a hand-off is accepted: ' +
        "the replicas' clocks differ by more than a minute (keep them synchronised, e.g. NTP), or the hand-off waited that long on a leader that did not answer; nothing was done, send the request again",
    );
    const raw = JSON.stringify(push);
    const latePush = await fetch(`${l}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        [FORWARDED_HEADER]: signForward(
          GITHUB,
          'x',
          'POST',
          '/webhooks/github',
          Buffer.from(raw),
          Date.now() + 90_000,
        ),
      },
      body: raw,
    });
    expect(latePush.status).toBe(401);
    expect(((await latePush.json()) as { message: string }).message).toMatch(
      /^x accepted the credential .* which got it signed \d+ s ahead of its clock, past the minute a hand-off is accepted: the clocks of x and of replica-l disagree by at least \d+ s \(a wait cannot sign a request in the future\); synchronise the clock of the replica that is off \(NTP\) and send the request again; nothing was done$/,
    );
    expect((await forwarded('identity=x')).status).toBe(401);
    expect(leader.seen.approvals).toEqual([]);
    expect((await forwarded(signForward(ADMIN, 'x', 'POST', '/approve', b))).status).toBe(200);

    // A replica that is not the leader and gets a forwarded request: 503, no second hop.
    const lost = await replica('replica-g', () => ({
      identity: 'replica-g',
      leader: 'replica-l',
      leaderAddress: l,
      retryAfterSeconds: 2,
      limits: DEFAULT_LIMITS,
    }));
    const res = await fetch(`${lost.server.url}/approve`, {
      method: 'POST',
      headers: {
        [FORWARDED_HEADER]: signForward(ADMIN, 'replica-f', 'POST', '/approve', b),
        'content-type': 'application/json',
      },
      body,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(((await res.json()) as { error: string }).error).toMatch(
      /replica-f handed it here, but this replica is not the leader either/,
    );
    expect(leader.seen.approvals).toHaveLength(1);
  });

  it('when the leader cannot be reached: 503 with the reason for what needs it; a pull request is still planned here', async () => {
    const gone = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const follower = await replica('replica-f', () => ({
      identity: 'replica-f',
      leader: 'replica-l',
      leaderAddress: `http://127.0.0.1:${gone}`,
      retryAfterSeconds: 2,
      limits: DEFAULT_LIMITS,
    }));
    const f = follower.server.url;
    const pushed = await github(f, 'push', push, GITHUB, 'ha-3');
    expect(pushed.status).toBe(503);
    const { error } = (await pushed.json()) as { error: string };
    expect(error).toMatch(
      /could not hand the request to it \(the leader replica-l did not answer at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\)/,
    );
    // Logged and counted as answered (a hand-tester saw "202 reconcile queued" and `push` here).
    const said = follower.logged.filter((l) => l.delivery === 'ha-3');
    expect(said).toEqual([
      expect.objectContaining({ result: 'leader_unavailable', status: 503, msg: error }),
    ]);
    expect(await deliveries(follower.metrics, 'push')).toBe(0);
    expect(await deliveries(follower.metrics, 'leader_unavailable')).toBe(1);
    const pr = await github(f, 'pull_request', {
      action: 'opened',
      number: 9,
      pull_request: { number: 9, head: { sha: 'd'.repeat(40), ref: 'x' }, base: { ref: 'main' } },
      repository: { full_name: 'acme/cfg' },
    });
    expect(pr.status).toBe(202);
    expect(follower.seen.pullRequests).toEqual([9]);
    const status = (await (await fetch(`${f}/status`)).json()) as { commit: string };
    expect(status.commit).toBe('replica-f'); // its own, when the leader does not answer
    // `poolsync status` says so: the follower's "no run yet" is not the team's state.
    const io = memoryIo();
    expect(await main(['status', '--daemon', f], io)).toBe(0);
    expect(io.out()).toContain(
      "Leader: replica-l, not reached: this is replica-f's own view, a follower's; only the leader reconciles",
    );
  });

  it('no replica known to lead (the Lease unread since the API server went away): the deposed leader names none; what is handed to it, its /status and `poolsync status` say since when and why', async () => {
    const since = '2026-11-29T06:00:00.000Z';
    const down = 'cannot reach the Kubernetes API: connect ECONNREFUSED 10.0.0.1:6443';
    // replica-2's term ended unrenewed; replica-1 read it as the holder less than a lease ago.
    const deposed = await replica('replica-2', () => ({
      identity: 'replica-2',
      leader: null,
      leaderAddress: null,
      leaseUnreadSince: since,
      leaseError: down,
      retryAfterSeconds: 2,
      limits: DEFAULT_LIMITS,
    }));
    const follower = await replica(
      'replica-1',
      () => ({
        identity: 'replica-1',
        leader: 'replica-2',
        leaderAddress: deposed.server.url,
        leaseError: down,
        retryAfterSeconds: 2,
        limits: DEFAULT_LIMITS,
      }),
      { adminToken: ADMIN },
    );
    const unknown = `no replica is known to lead: replica-2 has not read or renewed the Lease since ${since} (${down})`;
    const sync = await fetch(`${follower.server.url}/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(sync.status).toBe(503);
    expect(sync.headers.get('x-poolsync-replica')).toBe('replica-2');
    expect(((await sync.json()) as { error: string }).error).toContain(
      `(replica-1 handed it here, but this replica is not the leader either: ${unknown})`,
    );
    // Asked directly, replica-2 hands nothing to itself.
    const direct = await github(deposed.server.url, 'push', push);
    expect(direct.status).toBe(503);
    expect(((await direct.json()) as { error: string }).error).toContain(`(${unknown})`);
    expect(deposed.seen.reconciles).toEqual([]);
    const relayed = (await (await fetch(`${follower.server.url}/status`)).json()) as DaemonStatus;
    expect(relayed.leader).toMatchObject({
      identity: 'replica-2',
      isLeader: false,
      leader: null,
      leaseUnreadSince: since,
    });
    const io = memoryIo();
    expect(await main(['status', '--daemon', follower.server.url], io)).toBe(0);
    expect(io.out()).toContain(
      `Leader: none known, ${unknown}; nothing is reconciled or applied until a replica leads again: this is replica-2's own view`,
    );
    expect(io.out()).not.toContain('Leader: replica-2');
  });

  it('readiness is to serve: a replica once ready stays ready while no leader is known; one that never knew a leader is not', () => {
    let s: LeaderStatus = {
      enabled: true,
      identity: 'replica-1',
      isLeader: false,
      leader: null,
      leaderAddress: null,
      lease: 'poolsync/leader',
      lastTransitionAt: null,
    };
    const leadership = { ...soleLeadership(), status: () => s };
    const ready = readiness(leadership, () => false);
    expect(ready()).toBe(false);
    s = { ...s, leader: 'replica-2', leaderAddress: 'http://10.0.0.2:8080' };
    expect(ready()).toBe(true);
    s = { ...s, leader: null, leaderAddress: null, leaseUnreadSince: '2026-11-29T06:00:00.000Z' };
    expect(ready()).toBe(true);
    expect(readiness(leadership, () => false)()).toBe(false);
  });

  it('a delivery no replica took is not remembered: sent again, it is handed on; one the leader took is a duplicate', async () => {
    const gone = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const leader = await replica('replica-l', () => null);
    let address = `http://127.0.0.1:${gone}`;
    const follower = await replica('replica-f', () => ({
      identity: 'replica-f',
      leader: 'replica-l',
      leaderAddress: address,
      retryAfterSeconds: 2,
      limits: DEFAULT_LIMITS,
    }));
    const f = follower.server.url;
    const delivery = '6f2b1a40-1c1d-11ef-8f3a-0d2b9c1e2f30';
    const send = () => github(f, 'push', push, GITHUB, delivery);
    expect((await send()).status).toBe(503);
    // The leader is reached now: GitHub's redelivery (the same id) is taken by it.
    address = leader.server.url;
    const redelivered = await send();
    expect(redelivered.status).toBe(202);
    expect(redelivered.headers.get('x-poolsync-replica')).toBe('replica-l');
    expect(leader.seen.reconciles).toEqual(['webhook']);
    // Taken by the leader: the follower answers a replay itself, and nothing reaches the leader.
    const replayed = await send();
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get('x-poolsync-replica')).toBe('replica-f');
    expect(((await replayed.json()) as { result: string }).result).toBe('duplicate');
    // The leader too answers one sent to it directly.
    const direct = await github(leader.server.url, 'push', push, GITHUB, delivery);
    expect(((await direct.json()) as { result: string }).result).toBe('duplicate');
    expect(leader.seen.reconciles).toEqual(['webhook']);
  });
});

describe('the leadership changing while a follower waits on the leader', () => {
  /** A follower of a leader that takes requests and never answers (SIGSTOPped), and its Lease. */
  async function hungLeader() {
    let arrived = 0;
    const address = await leaderAt(() => (arrived += 1));
    const lease = {
      leader: 'replica-b' as string | null,
      leading: false,
      change: new AbortController(),
    };
    const follower = await replica('replica-a', () =>
      lease.leading
        ? null
        : {
            identity: 'replica-a',
            leader: lease.leader,
            leaderAddress: address,
            retryAfterSeconds: 2,
            limits: DEFAULT_LIMITS,
            changed: lease.change.signal,
          },
    );
    /** The Lease changes hands: to this replica (`leading`) or another. */
    const moveTo = (leader: string) => {
      lease.leading = leader === 'replica-a';
      lease.leader = leader;
      lease.change.abort();
      lease.change = new AbortController();
    };
    return { follower, moveTo, arrived: () => arrived };
  }

  it('this replica takes the Lease: `poolsync sync` handed to the hung leader is run here, not left waiting on it', async () => {
    const { follower, moveTo, arrived } = await hungLeader();
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    const sync = main(['sync', '--daemon', follower.server.url], io);
    await until('the sync handed to the leader', () => arrived() === 1);
    moveTo('replica-a');
    expect(await sync).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out()).toMatch(/^#1 in sync .*\(run by replica-a\)\n$/);
    expect(follower.seen.reconciles).toEqual(['manual']);
  });

  it('the Lease stays with the hung leader: `poolsync suspend` waits for the follower’s 503, which ends the hand-off wait', async () => {
    const { follower, arrived } = await hungLeader();
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    const suspend = main(['suspend', '--daemon', follower.server.url, '--reason', 'x'], io);
    await until('the suspend handed to the leader', () => arrived() === 1);
    expect(await suspend).toBe(1);
    // The follower's truthful answer, not the CLI giving up first (its read timeout is 10 s).
    expect(io.err()).toMatch(
      /answered HTTP 503: this replica is not the leader and could not hand the request to it \(the leader replica-b did not answer at http:\/\/127\.0\.0\.1:\d+ \(no complete answer within 15s\)\)/,
    );
    expect(io.err()).not.toMatch(/read-timeout|READ_TIMEOUT/);
    expect(HAND_OFF_WAIT_MS).toBe(15_000);
  });

  it('a daemon that never answers: the client names the variable it reads, not a flag its commands lack', async () => {
    const silent = await leaderAt(() => {});
    const io = memoryIo({ POOLSYNC_READ_TIMEOUT: '200ms' });
    expect(await main(['status', '--daemon', silent], io)).toBe(1);
    expect(io.err()).toMatch(
      /within 200ms \(env POOLSYNC_READ_TIMEOUT\): .*; raise POOLSYNC_READ_TIMEOUT if it is only slow/,
    );
    expect(io.err()).not.toContain('--read-timeout');
  });

  it('another replica takes the Lease: a push waiting on the old leader is answered 503 at once, naming the new one', async () => {
    const { follower, moveTo, arrived } = await hungLeader();
    const pushed = github(follower.server.url, 'push', push, GITHUB, 'ha-4');
    await until('the push handed to the leader', () => arrived() === 1);
    moveTo('replica-c');
    const res = await pushed;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect((await res.json()) as { error: string; leader: string }).toEqual({
      error: expect.stringMatching(
        /^this replica is not the leader and could not hand the request to it \(the leader replica-b did not answer at http:\/\/127\.0\.0\.1:\d+ \(the leadership changed meanwhile; the leader is replica-c\)\), so it does not reconcile this push\. Retry later$/,
      ),
      leader: 'replica-c',
    });
    expect(follower.seen.reconciles).toEqual([]);
    expect(await deliveries(follower.metrics, 'leader_unavailable')).toBe(1);
  });
});

describe('a replica taking the Lease', () => {
  it("ends its hand-offs' wait (followerOf's `changed`), on the fake Kubernetes API", async () => {
    const kube = await startFakeKubeApi();
    cleanup.add(async () => {
      await kube.close();
      await rm(dirname(kube.kubeconfig), { recursive: true, force: true });
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kube.kubeconfig);
    const deps = {
      logger: pino({ level: 'silent' }),
      metrics: new DaemonMetrics({ processMetrics: false }),
      kubeConfig,
      env: {},
      limits: DEFAULT_LIMITS,
    };
    const election = (identity: string) => ({
      lease: { namespace: 'poolsync', name: 'handoff' },
      identity,
      advertiseAddress: null,
      // Long enough that neither loses it on a busy machine: it changes hands only when given up.
      leaseDurationMs: 20_000,
      renewDeadlineMs: 15_000,
      retryPeriodMs: 100,
    });
    const b = electedLeadership(election('replica-b'), deps);
    cleanup.add(() => b.stop());
    b.start(() => {}, 'http://127.0.0.1:1');
    await until('replica-b leads', () => b.isLeader());
    const a = electedLeadership(election('replica-a'), deps);
    cleanup.add(() => a.stop());
    a.start(() => {}, 'http://127.0.0.1:2');
    const config = { leaderElection: election('replica-a'), limits: DEFAULT_LIMITS };
    await until('replica-a follows replica-b', () => followerOf(a, config)?.leader === 'replica-b');
    const waiting = followerOf(a, config)!;
    expect(waiting.changed?.aborted).toBe(false);
    await b.stop(); // gives the Lease up
    await until('replica-a leads', () => a.isLeader());
    expect(waiting.changed?.aborted).toBe(true);
    expect(followerOf(a, config)).toBeNull();
  });
});

describe('handOff', () => {
  it('a leader trickling its answer a byte at a time is cut off at the hand-off deadline', async () => {
    const address = await leaderAt((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const drip = setInterval(() => res.write(' '), 10);
      res.on('close', () => clearInterval(drip));
    });
    const follower = {
      identity: 'f',
      leader: 'l',
      leaderAddress: address,
      retryAfterSeconds: 2,
      limits: DEFAULT_LIMITS,
    };
    const get = { method: 'GET', url: '/status', headers: {} };
    expect(await handOff(get, Buffer.alloc(0), () => follower, null, 1_000)).toEqual({
      kind: 'failed',
      reason: `the leader l at ${address} got the request, but its answer was not relayed: no complete answer within 1.0s`,
    });
  });

  it('sends the leader no credential: the signature verifies with the endpoint secret', async () => {
    let got: { headers: IncomingHttpHeaders; url: string; body: string } | null = null;
    const sink = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got = { headers: req.headers, url: req.url ?? '', body };
        res.writeHead(202, { 'content-type': 'application/json', 'x-poolsync-replica': 'l' });
        res.end('{"queued":true}');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const address = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
      const body = Buffer.from('{"object_kind":"push"}');
      const off = await handOff(
        {
          method: 'POST',
          url: '/webhooks/gitlab?x=1',
          headers: {
            'x-gitlab-token': GITLAB,
            'x-gitlab-event': 'Push Hook',
            authorization: 'Bearer t',
          },
        },
        body,
        () => ({
          identity: 'f',
          leader: 'l',
          leaderAddress: address,
          retryAfterSeconds: 2,
          limits: DEFAULT_LIMITS,
        }),
        GITLAB,
        5_000,
      );
      expect(off).toMatchObject({
        kind: 'answered',
        status: 202,
        headers: { 'x-poolsync-replica': 'l' },
      });
      expect(got!.url).toBe('/webhooks/gitlab?x=1');
      expect(got!.headers['x-gitlab-token']).toBeUndefined();
      expect(got!.headers.authorization).toBeUndefined();
      expect(got!.headers['x-gitlab-event']).toBe('Push Hook');
      expect(JSON.stringify(got!.headers)).not.toContain(GITLAB);
      const verify = (path: string) => verifyForward(GITLAB, got!.headers, 'POST', path, body);
      expect(verify('/webhooks/gitlab?x=1')).toEqual({ kind: 'verified' });
      expect(verify('/webhooks/gitlab')).toEqual({ kind: 'invalid' });
    } finally {
      await new Promise((r) => sink.close(r));
    }
  });

  it('a leader address answering more than 32 MiB: the follower stops reading and answers 502 naming the address and the cap', async () => {
    // Streamed from one chunk, so the test stays small; 48 MiB leaves the cap past any socket buffer.
    let finished = 0;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    function* body() {
      for (let sent = 0; sent < 48 * 1024 * 1024; sent += chunk.length) yield chunk;
      finished += 1;
    }
    const address = await leaderAt((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      pipeline(Readable.from(body()), res).catch(() => {});
    });
    const follower = await replica('replica-f', () => ({
      identity: 'replica-f',
      leader: 'replica-l',
      leaderAddress: address,
      retryAfterSeconds: 2,
      limits: DEFAULT_LIMITS,
    }));
    const f = follower.server.url;
    for (const res of [await fetch(`${f}/status`), await github(f, 'push', push)]) {
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: string }).error).toBe(
        `the leader replica-l at ${address} got the request, but its answer was not relayed: the answer is larger than 32 MiB (--max-response-size, env POOLSYNC_MAX_RESPONSE_SIZE): is it the right server? raise --max-response-size if the answer is really that large`,
      );
    }
    expect(finished).toBe(0);
  });
});

/** A server at the leader's address answering every request with `answer`; its URL. */
async function leaderAt(answer: (res: ServerResponse) => unknown): Promise<string> {
  const server = createServer((_req, res) => void answer(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.add(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
