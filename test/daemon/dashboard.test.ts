/**
 * The dashboard over HTTP (no browser): its headers, the live part and its ETag, the flag that
 * turns it off, no secret in it, and POST /approve refusing what a browser marks as sent by
 * another site, with the right token.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { CONTENT_SECURITY_POLICY } from '../../src/daemon/dashboard/page.js';
import {
  ADMIN_TOKEN,
  RECONCILE_TOKEN,
  WEBHOOK_SECRET,
  startDashboardDaemon,
  type DashboardHarness,
} from './dashboard-harness.js';
import { manifests } from './fixtures.js';
import { TestRepo } from './helpers.js';
import { briefPlan } from '../../src/render/cli-output.js';

async function start(flags: Record<string, string> = {}): Promise<DashboardHarness> {
  const repo = new TestRepo();
  repo.commit(manifests({ clusters: ['prod-1', 'prod-2'] }), 'two clusters');
  const h = await startDashboardDaemon({ repo, flags });
  cleanup.add(() => h.stop());
  await h.daemon.firstRun;
  return h;
}

/** The repository drops prod-2: policy safe holds its delete. */
async function holdDelete(h: DashboardHarness): Promise<string> {
  h.repo.commit(manifests({ clusters: ['prod-1'] }), 'retire prod-2', { replaceAll: true });
  await h.daemon.reconcile('poll');
  return (await h.status()).approval!.pending!.fingerprint;
}

const approve = (h: DashboardHarness, fingerprint: string, headers: Record<string, string>) =>
  fetch(`${h.daemon.url}/approve`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...headers,
    },
    body: JSON.stringify({ fingerprint, approver: 'mallory' }),
  });

describe('the dashboard over HTTP', () => {
  it('serves the page with a strict CSP and the headers that keep it out of frames and other sites', async () => {
    const h = await start();
    const res = await fetch(`${h.daemon.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    expect(page).toContain('<div id="live"');
    expect(page).toContain('id="run-1"');
    const head = await fetch(`${h.daemon.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${h.daemon.url}/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers the live part with an ETag: 304 while nothing changed, 200 after a run', async () => {
    const h = await start();
    const first = await fetch(`${h.daemon.url}/?part=live`);
    const etag = first.headers.get('etag')!;
    const live = await first.text();
    // The bar to each section first (issue 78), then the sections.
    expect(live).toMatch(
      /^<nav class="jump" aria-label="Sections of this page"><a href="#overview">Overview<\/a><a href="#held">Held<\/a>.*<\/nav><section id="overview"/,
    );
    expect(live).not.toContain('<html');
    const same = await fetch(`${h.daemon.url}/?part=live`, { headers: { 'if-none-match': etag } });
    expect(same.status).toBe(304);
    await holdDelete(h);
    const moved = await fetch(`${h.daemon.url}/?part=live`, { headers: { 'if-none-match': etag } });
    expect(moved.status).toBe(200);
    expect(moved.headers.get('etag')).not.toBe(etag);
    expect(await moved.text()).toContain('Cluster/prod-2');
  });

  it('a held delete is counted the same by the terminal, the run, /status and the page (issue 78)', async () => {
    const printed: string[] = [];
    const repo = new TestRepo();
    repo.commit(manifests({ clusters: ['prod-1', 'prod-2'] }), 'two clusters');
    const h = await startDashboardDaemon({
      repo,
      deps: { onApplyPlan: (plan, held) => printed.push(briefPlan(plan, held)) },
    });
    cleanup.add(() => h.stop());
    await h.daemon.firstRun;
    // prod-2 retired (held by policy safe) and batch retuned (applied at once).
    h.repo.commit(manifests({ clusters: ['prod-1'], batchRunConcurrency: 75 }), 'retire, retune', {
      replaceAll: true,
    });
    await h.daemon.reconcile('poll');
    const s = await h.status();
    const counted = '1 to update, 0 to replace, 1 to delete, 0 blocked';
    // The quickstart's terminal: the whole plan's line, the held change said held, its co-named
    // queue's update a side effect on a line of its own, counted apart as the plan counts it.
    expect(printed.at(-1)).toContain(
      `Plan: 0 to create, ${counted}; 1 side effect (made by the control plane). 2 changes of it wait for approval.`,
    );
    expect(printed.at(-1)).toMatch(/^ {2}- Cluster, held for approval \(1\): prod-2$/m);
    expect(printed.at(-1)).toMatch(/^ {2}~ Queue, side effects, held for approval \(1\): prod-2$/m);
    // The co-named queue goes with its cluster (C8): a side effect, held with it. What was
    // applied is counted apart from the plan (it said "applied: … 1 to delete" of the held one).
    expect(s.lastRun!.message).toContain(
      'applied: 0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked; 2 changes held for approval (delete Cluster/prod-2, update Queue/prod-2)',
    );
    expect(s.counts).toMatchObject({ update: 1, replace: 0, delete: 1 });
    const page = await (await fetch(`${h.daemon.url}/?part=live`)).text();
    expect(page).toContain(`: Plan: 0 to create, ${counted}.</dd>`);
  });

  it('is off with --dashboard=false: / answers 404 and /status still works', async () => {
    const h = await start({ dashboard: 'false' });
    const res = await fetch(`${h.daemon.url}/`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { endpoints: string[] }).endpoints).not.toContain('/');
    expect((await fetch(`${h.daemon.url}/status`)).status).toBe(200);
  });

  it('renders no secret, after runs and an approval', async () => {
    const h = await start();
    const fingerprint = await holdDelete(h);
    expect((await approve(h, fingerprint, {})).status).toBe(200);
    await h.daemon.reconcile('manual');
    const page = await (await fetch(`${h.daemon.url}/`)).text();
    expect(page).toContain('Last approval applied');
    for (const secret of [ADMIN_TOKEN, RECONCILE_TOKEN, WEBHOOK_SECRET]) {
      expect(page).not.toContain(secret);
    }
  });

  it('POST /approve refuses a request a browser marks as cross-site, even with the right token', async () => {
    const h = await start();
    const fingerprint = await holdDelete(h);
    const host = new URL(h.daemon.url).host;
    const crossSite: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site', origin: `http://${host}` },
    ];
    for (const headers of crossSite) {
      const res = await approve(h, fingerprint, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(/^refused: /);
    }
    expect((await h.status()).approval!.granted).toEqual([]);
    // The daemon's own page (same origin) and non-browser clients go through.
    const own = await approve(h, fingerprint, {
      origin: `http://${host}`,
      'sec-fetch-site': 'same-origin',
    });
    expect(own.status).toBe(200);
    expect((await h.status()).approval!.granted.map((g) => g.fingerprint)).toEqual([fingerprint]);
  });

  it('without an admin token the page offers no approval nor Sync now, and says why', async () => {
    const repo = new TestRepo();
    repo.commit(manifests({ clusters: ['prod-1', 'prod-2'] }), 'two clusters');
    const h = await startDashboardDaemon({ repo, noAdminToken: true });
    cleanup.add(() => h.stop());
    await h.daemon.firstRun;
    await holdDelete(h);
    const page = await (await fetch(`${h.daemon.url}/`)).text();
    expect(page).not.toContain('class="approve"');
    expect(page).not.toContain('id="admin-token"');
    expect(page).toContain('Approving needs the daemon admin token');
    expect(page).toContain(
      '<p class="muted" id="no-actions">No Sync now or Approve here: they need the daemon admin token',
    );
  });
});
