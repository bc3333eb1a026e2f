/**
 * The dashboard's rendering, without a browser: the escaping template, the terminal's plan
 * text as HTML (the same text, the same colours), and a page from a /status document whose
 * every string is hostile.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ansiToHtml, escapeHtml, inlineAsset, markup } from '../../src/daemon/dashboard/html.js';
import { CONTENT_SECURITY_POLICY, pageHtml } from '../../src/daemon/dashboard/page.js';
import {
  initialStatus,
  planDigest,
  PROBLEMS_LISTED,
  type DaemonStatus,
} from '../../src/daemon/status.js';
import { applyStatusUpdate } from '../../src/daemon/stages/context.js';
import type { Plan } from '../../src/model/plan.js';
import { renderText } from '../../src/render/text.js';
import { driftedScenario } from '../render/scenarios.js';

const HOSTILE = `<img src=x onerror="alert(1)">'&</pre><script>alert(2)</script>\u202e\x1b[31m`;

/** The text a browser shows for an HTML fragment (tags dropped, entities decoded). */
function shownText(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('html tagged template', () => {
  it('escapes every value, in text and in attributes; nested templates and lists pass as built', () => {
    const name = `a"b'<c>&d`;
    const out = markup`<p title="${name}">${name} ${markup`<b>${name}</b>`} ${[1, markup`<i>x</i>`]}</p>`;
    expect(out.text).toBe(
      '<p title="a&quot;b&#39;&lt;c&gt;&amp;d">a&quot;b&#39;&lt;c&gt;&amp;d <b>a&quot;b&#39;&lt;c&gt;&amp;d</b> 1<i>x</i></p>',
    );
    expect(markup`${null}${undefined}${false}${0}`.text).toBe('0');
  });

  it('shows control and bidi characters as escapes, as the terminal does', () => {
    expect(escapeHtml('a\u202eb\x1b[2Jc\nd')).toBe('a\\u{202e}b\\x1b[2Jc\\nd');
  });

  it('refuses an inline asset that could close its element', () => {
    expect(() => inlineAsset('x</script><script>alert(1)')).toThrow(/may not close/);
  });
});

describe('the plan as the terminal renders it', () => {
  it('is the same text, with each SGR style as a class', async () => {
    const plan = await driftedScenario();
    const coloured = renderText(plan, { color: true });
    const out = ansiToHtml(coloured).text;
    expect(shownText(out)).toBe(renderText(plan, { color: false }));
    expect(out).toMatch(/<span class="t-green">\s*\+<\/span>/);
    expect(out).toMatch(/<span class="t-yellow">\s*~<\/span>/);
    expect(out).toMatch(/<span class="t-bold">Plan: /);
    expect(out).not.toContain('\x1b');
  });

  it('keeps hostile names and values as text: no markup, no terminal control', async () => {
    const base = await driftedScenario();
    const change = base.changes.find((c) => c.action === 'update')!;
    const plan: Plan = {
      ...base,
      changes: [
        {
          ...change,
          address: `Queue/${HOSTILE}`,
          diff: [{ path: 'note', before: HOSTILE, after: 'x', forces_replacement: false }],
        },
      ],
      steps: [],
    };
    const out = ansiToHtml(renderText(plan, { color: true })).text;
    expect(out).not.toMatch(/<img|<script|<\/pre>/i);
    expect(shownText(out)).toContain('Queue/<img src=x onerror="alert(1)">');
    // The ESC inside the value is shown, not obeyed: no red span comes from it.
    expect(shownText(out)).toContain('\\u{202e}\\x1b[31m');
    expect(out.match(/t-red/g) ?? []).toHaveLength(0);
  });
});

describe('the page', () => {
  it('escapes every string of the status document and allows only its own script and style', async () => {
    const plan = await driftedScenario();
    const s = hostileStatus(plan);
    const page = pageHtml(s, { approvals: true, daemonUrl: 'http://127.0.0.1:8080' }, new Date(0));
    expect(page).not.toMatch(/<img/i);
    expect(page.match(/<script>/g)).toHaveLength(1);
    expect(page).not.toContain('onerror="');
    expect(page).not.toContain('\u202e');
    expect(page).not.toContain('\x1b');
    expect(shownText(page)).toContain(`${HOSTILE.slice(0, 30)}`);
    // The CSP names the page's one inline script and stylesheet by hash.
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
    const hash = (t: string) => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    expect(CONTENT_SECURITY_POLICY).toContain(`script-src ${hash(script)}`);
    expect(CONTENT_SECURITY_POLICY).toContain(`style-src ${hash(style)}`);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe/);
    // No inline handlers or style attributes (the CSP would block them; none are needed).
    expect(page).not.toMatch(/\son[a-z]+="/);
    expect(page).not.toMatch(/\sstyle="/);
  });

  it('offers the approve button only with an admin token, for exactly the held fingerprint', async () => {
    const s = hostileStatus(await driftedScenario());
    const on = pageHtml(s, { approvals: true, daemonUrl: null }, new Date(0));
    expect(on).toContain(
      `<button type="button" class="approve" data-fingerprint="sha256:${'a'.repeat(64)}">`,
    );
    const off = pageHtml(s, { approvals: false, daemonUrl: null }, new Date(0));
    expect(off).not.toContain('class="approve"');
    expect(off).toContain('Approving needs the daemon admin token');
  });
});

describe('the page at any size (issue 78)', () => {
  const codes = ['QUEUE_NO_HEALTHY_CLUSTER', 'QUEUE_ROUTES_NOWHERE', 'CONAMED_QUEUE_ORPHANED'];
  const status = (): DaemonStatus => {
    const s = initialStatus({ kind: 'folder', dir: '/srv/repo' }, 'safe');
    const held = {
      address: 'Cluster/shared-us-west-2',
      action: 'replace',
      reason: null,
      fields: ['pool: "dev" → "default"  # forces replacement'],
    };
    return {
      ...s,
      // 164 + 180 as at 10,000 objects, and one of a third code.
      warnings: [164, 180, 1].flatMap((n, c) =>
        Array.from({ length: n }, (_, i) => ({
          code: codes[c]!,
          address: `Queue/q-${c}-${i}`,
          message: `queue q-${c}-${i} has a problem`,
        })),
      ),
      waitingForApproval: [held],
      approval: {
        pending: {
          fingerprint: `sha256:${'c'.repeat(64)}`,
          commit: null,
          since: '2026-11-26T09:00:00.000Z',
          changes: [held],
        },
        granted: [],
        lastApplied: null,
        lastRefused: null,
      },
    };
  };
  const page = () => pageHtml(status(), { approvals: true, daemonUrl: null }, new Date(0));

  it('a bar jumps to each section shown, in page order, counting what waits', () => {
    const bar = /<nav class="jump"[^>]*>(.*?)<\/nav>/.exec(page())![1]!;
    const links = [...bar.matchAll(/<a href="#([a-z]+)">([^<]+)/g)].map(
      (m) => `${m[1]}:${m[2]!.trim()}`,
    );
    expect(links).toEqual([
      'overview:Overview',
      'held:Held',
      'drift:Drift',
      'problems:Problems',
      'runs:Runs',
      'objects:Objects',
      'replicas:Replicas',
      'connections:Connections',
    ]);
    expect(bar).toContain('<a href="#held">Held <span class="count">1</span></a>');
    expect(bar).toContain('<a href="#problems">Problems <span class="count">345</span></a>');
    // Each link's target is on the page.
    for (const link of links) expect(page()).toContain(`<section id="${link.split(':')[0]}"`);
  });

  it('warnings are folded by code: one closed line each for 164 and 180, a single one as it is', () => {
    const folded = [
      ...page().matchAll(
        /<details class="warnings" id="warnings-([A-Z_]+)"><summary>(.*?)<\/summary>/g,
      ),
    ];
    expect(folded.map((m) => m[1])).toEqual(['QUEUE_NO_HEALTHY_CLUSTER', 'QUEUE_ROUTES_NOWHERE']);
    expect(shownText(folded[0]![2]!)).toBe(
      'warning QUEUE_NO_HEALTHY_CLUSTER × 164: Queue/q-0-0, Queue/q-0-1 and 162 more',
    );
    expect(page()).not.toMatch(/<details class="warnings"[^>]* open/);
    expect(shownText(page())).toContain(
      'CONAMED_QUEUE_ORPHANED Queue/q-2-0: queue q-2-0 has a problem',
    );
  });

  it('the held box shows each held change with its field diff, in its colour', () => {
    const box = /<section id="held".*?<\/section>/s.exec(page())![0];
    expect(box).toContain(
      '<span class="t-magenta">pool: &quot;dev&quot; → &quot;default&quot;  # forces replacement</span>',
    );
    expect(shownText(box)).toMatch(
      /-\/\+ Cluster\/shared-us-west-2 \(replace\)\n\s+pool: "dev" → "default"/,
    );
  });
});

describe('the run in progress', () => {
  it('is shown beside the outcome while it runs', async () => {
    const s = hostileStatus(await driftedScenario());
    const running = { id: 4, trigger: ['startup' as const], startedAt: '2026-11-28T02:24:20.000Z' };
    const shown = (st: typeof s) =>
      /<dd id="outcome">.*?<\/dd>/s.exec(
        pageHtml(st, { approvals: true, daemonUrl: null }, new Date(0)),
      )![0];
    expect(shownText(shown({ ...s, running: { ...running, phase: 'apply' } }))).toContain(
      'run #4 running since 2026-11-28 02:24:20 UTC (startup), apply',
    );
    expect(shown(s)).not.toContain('running');
  });
});

describe('the page on a follower replica', () => {
  it('says at the top that runs and held changes are on the leader', async () => {
    const s = hostileStatus(await driftedScenario());
    const live = shownText(pageHtml(s, { approvals: true, daemonUrl: null }, new Date(0)));
    expect(live).toMatch(
      /follows the leader .*only the leader reconciles, applies and holds approvals/,
    );
    const leader = { ...s, leader: { ...s.leader!, isLeader: true } };
    expect(pageHtml(leader, { approvals: true, daemonUrl: null }, new Date(0))).not.toContain(
      'class="notice"',
    );
  });
});

describe('planDigest', () => {
  it('drops noop changes and the inventory record, keeps the summary, and cuts long plans with the steps of what it keeps', async () => {
    const drifted = await driftedScenario();
    const inventory = { found: true, declared: ['Queue/a', 'Queue/b'], gone: [] };
    const plan: Plan = { ...drifted, inventory };
    const visible = plan.changes.filter((c) => c.action !== 'noop');
    const all = planDigest(plan);
    expect(all.plan).not.toHaveProperty('inventory');
    expect(plan.inventory).toBe(inventory);
    expect(all.omitted).toBe(0);
    expect(all.plan.changes).toEqual(visible);
    expect(all.plan.summary).toEqual(plan.summary);
    expect(all.plan.steps).toEqual(plan.steps);
    const cut = planDigest(plan, 2);
    expect(cut.plan).not.toHaveProperty('inventory');
    expect(cut.plan.changes).toEqual(visible.filter((c) => c.action !== 'unmanaged').slice(0, 2));
    expect(cut.omitted).toBe(visible.length - 2);
    const kept = new Set(cut.plan.changes.map((c) => c.address));
    expect(cut.plan.steps.every((st) => kept.has(st.target))).toBe(true);
  });

  it('cuts the unmanaged objects before the changes: a run keeps what it did', async () => {
    const plan = await driftedScenario();
    const visible = plan.changes.filter((c) => c.action !== 'noop');
    const acted = visible.filter((c) => c.action !== 'unmanaged');
    // Cluster/legacy-1 (unmanaged) comes before four of the changes, as 3,000 unmanaged queues
    // named before a created one did.
    expect(visible[0]!.address).toBe('Cluster/legacy-1');
    const cut = planDigest(plan, acted.length);
    expect(cut.plan.changes).toEqual(acted);
    expect(cut.omitted).toBe(visible.length - acted.length);
    const onemore = planDigest(plan, acted.length + 1).plan.changes;
    expect(onemore).toEqual(visible.filter((c) => c.action !== 'unmanaged' || c === visible[0]));
  });
});

function hostileStatus(plan: Plan): DaemonStatus {
  const s = initialStatus(
    { kind: 'git', repository: HOSTILE, branch: HOSTILE, path: HOSTILE },
    'safe',
  );
  const run = {
    id: 3,
    trigger: ['webhook' as const],
    startedAt: '2026-11-22T12:00:00.000Z',
    finishedAt: '2026-11-22T12:00:01.000Z',
    durationMs: 1000,
    result: 'waiting_for_approval' as const,
    commit: 'a'.repeat(40),
    message: HOSTILE,
    applied: { create: 0, update: 0, replace: 0, delete: 0, side_effects: 0 },
    changed: [{ address: `Cluster/${HOSTILE}`, action: 'delete', sideEffect: false }],
    changedTotal: 1,
    phasesMs: { [HOSTILE]: 10, fetch: 20 },
  };
  const brief = {
    address: `Cluster/${HOSTILE}`,
    action: 'delete',
    reason: HOSTILE,
    fields: [HOSTILE],
  };
  return {
    ...s,
    commit: HOSTILE,
    appliedCommit: 'b'.repeat(40),
    lastRun: run,
    outcome: 'waiting_for_approval',
    errors: [{ code: HOSTILE, message: HOSTILE, location: HOSTILE, address: HOSTILE }],
    blocked: [brief],
    // Enough of one code to be folded (issue 78).
    warnings: Array.from({ length: 5 }, () => ({
      code: HOSTILE,
      address: HOSTILE,
      message: HOSTILE,
    })),
    waitingForApproval: [brief],
    approval: {
      pending: {
        fingerprint: `sha256:${'a'.repeat(64)}`,
        commit: HOSTILE,
        since: HOSTILE,
        changes: [brief],
      },
      granted: [
        { fingerprint: HOSTILE, approver: HOSTILE, via: 'api', source: HOSTILE, at: HOSTILE },
        {
          fingerprint: HOSTILE,
          approver: HOSTILE,
          via: 'github',
          source: HOSTILE,
          at: HOSTILE,
          pullRequest: { provider: 'github', number: 7, head: HOSTILE },
        },
      ],
      lastApplied: {
        fingerprint: HOSTILE,
        approver: HOSTILE,
        via: 'github',
        source: HOSTILE,
        at: HOSTILE,
        commit: HOSTILE,
        appliedAt: HOSTILE,
      },
      lastRefused: {
        fingerprint: HOSTILE,
        approver: HOSTILE,
        via: 'api',
        reason: HOSTILE,
        at: HOSTILE,
      },
    },
    leader: {
      enabled: true,
      identity: HOSTILE,
      isLeader: false,
      leader: HOSTILE,
      leaderAddress: HOSTILE,
      lease: HOSTILE,
      lastTransitionAt: HOSTILE,
    },
    controlPlane: {
      backend: HOSTILE,
      url: HOSTILE,
      reachable: false,
      lastAnsweredAt: HOSTILE,
      lastError: HOSTILE,
    },
    runs: [
      {
        ...run,
        plan,
        planChangesOmitted: 3,
        drift: { run: 3, at: HOSTILE, commit: HOSTILE, changes: [{ ...brief, corrected: false }] },
      },
    ],
    lastDrift: { run: 3, at: HOSTILE, commit: HOSTILE, changes: [{ ...brief, corrected: true }] },
    manualSteps: [
      {
        id: 's1',
        op: 'delete_pool',
        args: { name: HOSTILE },
        target: HOSTILE,
        depends_on: [],
        execution: 'manual',
        manual: { reason: HOSTILE, command: HOSTILE, file: { name: HOSTILE, content: HOSTILE } },
      },
    ],
    renderedFiles: [
      {
        kind: HOSTILE,
        path: HOSTILE,
        status: 'changed',
        diff: `+${HOSTILE}\n-${HOSTILE}`,
        committed: HOSTILE,
      },
    ],
  };
}

describe('problems past what /status lists', () => {
  it('a status update keeps the first PROBLEMS_LISTED errors, warnings and blocked changes with their totals; the page says where the rest are', () => {
    const s = initialStatus({ kind: 'dir', dir: '/conf' }, 'all');
    const n = PROBLEMS_LISTED + 5;
    applyStatusUpdate(s, {
      errors: Array.from({ length: n }, (_, i) => ({
        code: 'SCHEMA',
        message: `bad ${i}`,
        location: `m.yaml:${i + 1}:1`,
        address: null,
      })),
      warnings: Array.from({ length: n }, (_, i) => ({ code: 'W', address: `Queue/q${i}` })),
      blocked: Array.from({ length: n }, (_, i) => ({
        address: `Cluster/c${i}`,
        action: 'blocked',
        reason: 'r',
      })),
    });
    expect([s.errors.length, s.warnings.length, s.blocked.length]).toEqual([
      PROBLEMS_LISTED,
      PROBLEMS_LISTED,
      PROBLEMS_LISTED,
    ]);
    expect([s.errorsTotal, s.warningsTotal, s.blockedTotal]).toEqual([n, n, n]);
    const text = shownText(pageHtml(s, { approvals: false, daemonUrl: null }, new Date(0)));
    expect(text).toContain(
      "and 5 more errors: `poolsync validate` (a plan's errors: `poolsync plan`) on the commit lists them all",
    );
    expect(text).toContain('and 5 more blocked changes: `poolsync plan` lists them all');
    expect(text).toContain('and 5 more warnings: `poolsync plan` lists them all');
  });
});
