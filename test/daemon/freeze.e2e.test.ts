/**
 * Freeze and resume (issue 61 item 5; docs/daemon.md#freeze-and-resume): a suspended daemon, or
 * one outside its sync windows, plans and detects drift but applies nothing until resumed or
 * inside its window; /status, the dashboard and the metrics say why; an explicit override
 * applies anyway. The windows are read on an injected clock.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approve, freeze, status, sync } from '../../src/cli/commands/daemon-client.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { Freeze, parseSyncWindows } from '../../src/daemon/freeze.js';
import { cleanup } from '../support/cleanup.js';
import { until } from '../support/until.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { ManualClock } from '../support/virtual-clock.js';
import { manifests, setRunConcurrency } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';
import { daemonClientArgs } from '../support/daemon-client-args.js';

const ADMIN = 'admin-token-freeze-0123456789';
const env = { POOLSYNC_ADMIN_TOKEN: ADMIN };

function writeFolder(dir: string, files: Record<string, string | null>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    if (content === null) rmSync(full, { force: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
}

async function watching(
  folder: string,
  flags: Record<string, unknown> = {},
  deps: { clock?: ManualClock; cp?: EmbeddedControlPlane } = {},
) {
  const h = await startTestDaemon({
    ...(deps.cp ? { cp: deps.cp } : {}),
    flags: { watch: folder, 'watch-debounce': '1h', ...flags },
    env,
    logLevel: 'silent',
    deps: deps.clock ? { clock: deps.clock } : {},
    state: join(folder, '..', 'state'),
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

/** Midnight UTC of Monday 2026-11-23, in epoch milliseconds. */
const MONDAY = Date.UTC(2026, 10, 23);

describe('sync windows', () => {
  it('are allow or deny, by day and time in a time zone, past midnight included', () => {
    const [night, weekend, office] = parseSyncWindows(
      'deny Mon-Fri 18:00-08:00 Europe/Berlin; deny sat,SUN 00:00-24:00; allow * 09:00-17:00',
      '--sync-windows',
    );
    const at = (day: number, hh: number, mm = 0) =>
      MONDAY + day * 86_400_000 + (hh * 60 + mm) * 60_000;
    // Berlin is UTC+1 in November: 18:00 there is 17:00 UTC.
    expect(night!.openAt(at(0, 16, 59))).toBe(false);
    expect(night!.openAt(at(0, 17, 0))).toBe(true);
    // Friday night runs into Saturday morning; Sunday night is not a window of its own.
    expect(night!.openAt(at(5, 6, 59))).toBe(true);
    expect(night!.openAt(at(6, 23, 0))).toBe(false);
    expect(night!.openAt(at(0, 6, 0))).toBe(false);
    expect(weekend!.openAt(at(5, 0, 0))).toBe(true);
    expect(weekend!.openAt(at(6, 23, 59))).toBe(true);
    expect(weekend!.openAt(at(0, 0, 0))).toBe(false);
    expect(office).toMatchObject({ kind: 'allow', text: 'allow * 09:00-17:00 UTC' });
    expect(office!.openAt(at(2, 16, 59))).toBe(true);
    expect(office!.openAt(at(2, 17, 0))).toBe(false);
  });

  it('a mistake is one line naming the window and what to write', () => {
    for (const [text, why] of [
      ['deny Mon-Fri 18:00', /not KIND DAYS HH:MM-HH:MM/],
      ['deny Mondays 18:00-19:00', /"Mondays" is not a day/],
      ['allow * 25:00-26:00', /a time is from 00:00 to 24:00/],
      ['deny * 01:00-02:00 Mars/Olympus', /"Mars\/Olympus" is not a time zone \(an IANA name/],
      [
        'deny * 01:00-02:00 Europe/Berln',
        /"Europe\/Berln" is not a time zone \(did you mean 'Europe\/Berlin'\?\)/,
      ],
    ] as const)
      expect(() => parseSyncWindows(text, 'poolsync-daemon.yaml: sync-windows')).toThrow(
        new RegExp(
          `^poolsync-daemon\\.yaml: sync-windows: sync window "[^"]+": ${why.source}.*write it like`,
        ),
      );
  });
});

describe('poolsync suspend and resume', () => {
  it('a suspended daemon plans and detects drift but applies nothing; /status, the page and the metrics say why; an override and resume apply', async () => {
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, manifests());
    const h = await watching(folder);
    const url = h.daemon.url;

    const suspended = memoryIo(env);
    expect(
      await freeze(daemonClientArgs(url, { reason: 'incident 42', as: 'alice' }), suspended, true),
    ).toBe(0);
    expect(suspended.out()).toMatch(/^Applies suspended: the daemon still plans and detects drift/);

    // Drift is still found, and left as it is; the run says what waits and why.
    await setRunConcurrency(h.cp, 'batch', 3);
    await h.daemon.reconcile('drift');
    let s = h.daemon.status();
    expect(s.lastDrift?.changes).toEqual([
      expect.objectContaining({ address: 'Queue/batch', corrected: false }),
    ]);
    expect(s.lastRun).toMatchObject({ result: 'frozen', applied: { update: 0 } });
    expect(s.lastRun!.message).toMatch(
      /^applies frozen, suspended by alice since \S+ \(incident 42\): `poolsync resume` lifts it; planned only: 0 to create, 1 to update/,
    );
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(3);
    // A repository edit is planned, not applied.
    writeFolder(folder, manifests({ batchRunConcurrency: 70 }));
    await h.daemon.reconcile('watch');
    s = h.daemon.status();
    expect(s.lastRun!.result).toBe('frozen');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(3);

    const body = (await (await fetch(`${url}/status`)).json()) as typeof s;
    expect(body.freeze).toMatchObject({
      frozen: true,
      suspended: { by: 'alice', reason: 'incident 42' },
      why: expect.stringMatching(/^suspended by alice/),
    });
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toMatch(
      /<p class="notice" id="frozen">Applies are frozen: suspended by alice since/,
    );
    expect(page).toContain('<span class="badge warn">suspended</span>');
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^poolsync_applies_frozen 1$/m);
    const st = memoryIo(env);
    await status(daemonClientArgs(url), st);
    expect(st.out()).toMatch(/^Applies frozen: suspended by alice/m);

    // An override applies what waits, this once.
    const override = memoryIo(env);
    expect(await sync(daemonClientArgs(url, { 'override-freeze': true }), override)).toBe(0);
    expect(override.out()).toMatch(/^#\d+ applied .*\(override, /);
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(70);
    writeFolder(folder, manifests({ batchRunConcurrency: 80 }));
    await h.daemon.reconcile('watch');
    expect(h.daemon.status().lastRun!.result).toBe('frozen');

    // Resumed: the daemon runs at once and applies what waited.
    const resumed = memoryIo(env);
    expect(await freeze(daemonClientArgs(url), resumed, false)).toBe(0);
    expect(resumed.out()).toBe('Applies resumed: the daemon runs now and applies what waited.\n');
    await h.daemon.reconcile('manual');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(80);
    expect(h.daemon.status().freeze).toMatchObject({ frozen: false, why: null, suspended: null });
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^poolsync_applies_frozen 0$/m);
  });

  it('a second suspend keeps the first (who, why, since) and says so; resuming what is not suspended says it was not', async () => {
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, manifests());
    const h = await watching(folder);
    const url = h.daemon.url;
    expect(
      await freeze(
        daemonClientArgs(url, { reason: 'incident 42', as: 'alice' }),
        memoryIo(env),
        true,
      ),
    ).toBe(0);
    const first = h.daemon.status().freeze.suspended!;
    const second = memoryIo(env);
    expect(
      await freeze(daemonClientArgs(url, { reason: 'change freeze', as: 'bob' }), second, true),
    ).toBe(0);
    expect(second.out()).toBe(
      `Applies were already suspended by alice since ${first.since} (incident 42): \`poolsync resume\` lifts it; that suspension stays as it is (its reason and start are not replaced).\n`,
    );
    expect(h.daemon.status().freeze.suspended).toEqual(first);
    // The API answers as before (200, \`freeze\`), and says what was in force.
    const asked = await fetch(`${url}/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'carol', reason: 'again' }),
    });
    expect(asked.status).toBe(200);
    expect(await asked.json()).toMatchObject({
      freeze: { frozen: true, suspended: first },
      before: [{ environment: null, suspended: first }],
    });

    const resumed = memoryIo(env);
    expect(await freeze(daemonClientArgs(url), resumed, false)).toBe(0);
    expect(resumed.out()).toBe('Applies resumed: the daemon runs now and applies what waited.\n');
    const again = memoryIo(env);
    expect(await freeze(daemonClientArgs(url), again, false)).toBe(0);
    expect(again.out()).toBe('Applies were not suspended: nothing to resume.\n');
  });

  it('drift left uncorrected is counted once, not at every run; changed again or back after a correction, again', async () => {
    const critical = [
      'apiVersion: poolsync/v1',
      'kind: Queue',
      'metadata:',
      '  name: critical',
      'spec:',
      '  pool: prod',
      "  clusters: ['*']",
      '  run_concurrency: 8',
      '  action_concurrency: 100',
      '',
    ].join('\n');
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, { ...manifests(), 'queues/critical.yaml': critical });
    const h = await watching(folder);
    const url = h.daemon.url;
    const drift = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
      return [value('poolsync_drift_detected_total'), value('poolsync_drift_objects')];
    };
    expect(await freeze(daemonClientArgs(url), memoryIo(env), true)).toBe(0);
    await setRunConcurrency(h.cp, 'batch', 3);
    await setRunConcurrency(h.cp, 'critical', 4);
    for (let run = 0; run < 4; run++) await h.daemon.reconcile('drift');
    expect(h.daemon.status().lastDrift?.changes).toHaveLength(2);
    expect(await drift()).toEqual([2, 2]);
    // Changed by hand again: a new change outside Git.
    await setRunConcurrency(h.cp, 'batch', 5);
    await h.daemon.reconcile('drift');
    expect(await drift()).toEqual([3, 2]);
    // Corrected by a run that may apply, then made again: counted again.
    const override = daemonClientArgs(url, { 'override-freeze': true });
    expect(await sync(override, memoryIo(env))).toBe(0);
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);
    await h.daemon.reconcile('drift');
    expect(await drift()).toEqual([3, 0]);
    await setRunConcurrency(h.cp, 'batch', 3);
    await h.daemon.reconcile('drift');
    expect(await drift()).toEqual([4, 1]);
  });

  it('an approval while suspended says the held changes wait for the freeze to lift; resume applies them', async () => {
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, manifests());
    const h = await watching(folder, { policy: 'safe' });
    const url = h.daemon.url;
    expect(await freeze(daemonClientArgs(url, { as: 'alice' }), memoryIo(env), true)).toBe(0);
    writeFolder(folder, { 'clusters/prod-2.yaml': null });
    await h.daemon.reconcile('watch');
    const { fingerprint } = h.daemon.status().approval!.pending!;
    const approved = memoryIo(env);
    expect(await approve(daemonClientArgs(url, { fingerprint, as: 'bob' }), approved)).toBe(0);
    expect(approved.out()).toMatch(
      new RegExp(
        `^Approved ${fingerprint} as bob; applies are frozen \\(suspended by alice since \\S+: \`poolsync resume\` lifts it\\): the held changes wait until applies may go, then the daemon applies them \\(see ${url}/status\\)\\.\n$`,
      ),
    );
    await h.daemon.reconcile('manual');
    expect(h.daemon.status().lastRun!.result).toBe('frozen');
    // Approved, so nobody is asked to approve it again: status and the listing name who did.
    const { at } = h.daemon.status().approval!.granted[0]!;
    const waits = `approved by bob at ${at}, waiting for the freeze to end (suspended by alice since`;
    const shown = memoryIo(env);
    expect(await status(daemonClientArgs(url), shown)).toBe(0);
    expect(shown.out()).toContain(`Held: 2 changes, ${waits}`);
    const listed = memoryIo(env);
    expect(await approve(daemonClientArgs(url), listed)).toBe(0);
    expect(listed.out()).toContain(`\n${waits}`);
    for (const out of [shown.out(), listed.out()]) expect(out).not.toContain('poolsync approve');
    // One approval suffices: a second is refused, naming the first, which the run credits.
    const second = memoryIo(env);
    const again = approve(daemonClientArgs(url, { fingerprint, as: 'carol' }), second);
    expect(await exitOf(second, again)).toBe(1);
    expect(second.err()).toContain(
      `Approval refused: the changes ${fingerprint} are approved already, by bob at ${at}: the next run that may apply applies them`,
    );
    // Resumed: its run applies the approved changes.
    expect(await freeze(daemonClientArgs(url), memoryIo(env), false)).toBe(0);
    await until('the approved changes applied', () =>
      h.daemon.status().runs.find((r) => r.result === 'applied' && r.approvedBy === 'bob'),
    );
    expect((await h.cp.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
  });

  it('the suspension outlives a restart; suspend and resume need the admin token; an override needs it too', async () => {
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, manifests());
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    let h = await watching(folder, {}, { cp });
    expect(await freeze(daemonClientArgs(h.daemon.url), memoryIo(env), true)).toBe(0);
    const noToken = memoryIo({});
    expect(await exitOf(noToken, freeze(daemonClientArgs(h.daemon.url), noToken, false))).toBe(1);
    expect(noToken.err()).toMatch(/resuming needs the daemon admin token/);
    const reconcileToken = await fetch(`${h.daemon.url}/reconcile?override=freeze`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
    });
    expect(reconcileToken.status).toBe(401);
    await h.daemon.stop();

    // The state folder's suspended.json is read back.
    h = await watching(folder, {}, { cp });
    expect(h.daemon.status().freeze.suspended).not.toBeNull();
    writeFolder(folder, manifests({ batchRunConcurrency: 60 }));
    await h.daemon.reconcile('watch');
    expect(h.daemon.status().lastRun!.result).toBe('frozen');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);
  });
});

describe('a suspension file that does not read', () => {
  it('is set aside with a warning, and applies stay suspended until resumed', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    for (const text of ['{"suspended": ', '{"suspended": {"since": 1}}']) {
      writeFileSync(join(dir, 'suspended.json'), text);
      const warned: string[] = [];
      const f = await Freeze.open([], clock, dir, (m) => warned.push(m));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(
        /^the suspension .*suspended\.json is not one poolsync can read \(.*\): set aside as .*suspended\.json\.corrupt-\S+, starting anew; applies stay suspended until `poolsync resume`$/,
      );
      expect(f.status()).toMatchObject({
        frozen: true,
        suspended: { by: 'poolsync', reason: 'suspended.json could not be read' },
      });
      // Kept across a restart, until resumed.
      expect((await Freeze.open([], clock, dir, (m) => warned.push(m))).status().frozen).toBe(true);
      await f.resume();
      expect((await Freeze.open([], clock, dir, (m) => warned.push(m))).status().frozen).toBe(
        false,
      );
      expect(warned).toHaveLength(1);
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('suspended.json.corrupt-'))).toHaveLength(2);
  });
});

describe('sync windows in the configuration', () => {
  it('outside its allow window or inside a deny window a daemon plans only; inside, it applies', async () => {
    const clock = new ManualClock();
    // Monday 12:00 UTC: inside the office window, outside the deny window.
    clock.advance(MONDAY + 12 * 3600_000 - clock.now());
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, manifests());
    const h = await watching(
      folder,
      { 'sync-windows': 'allow Mon-Fri 09:00-17:00 UTC; deny * 12:30-13:00 UTC' },
      { clock },
    );
    expect(h.daemon.status().lastRun!.result).toBe('applied');
    expect(h.daemon.status().freeze).toMatchObject({ frozen: false, why: null });

    clock.advance(40 * 60_000); // 12:40: the deny window
    writeFolder(folder, manifests({ batchRunConcurrency: 65 }));
    await h.daemon.reconcile('watch');
    let s = h.daemon.status();
    expect(s.lastRun!.result).toBe('frozen');
    expect(s.freeze.why).toBe('inside the sync window "deny * 12:30-13:00 UTC"');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);

    clock.advance(5 * 3600_000); // 17:40: outside every allow window
    await h.daemon.reconcile('drift');
    s = h.daemon.status();
    expect(s.freeze.why).toBe('outside every allow window ("allow Mon-Fri 09:00-17:00 UTC")');
    const page = await (await fetch(`${h.daemon.url}/`)).text();
    expect(page).toContain('<span class="badge warn">outside sync window</span>');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);

    clock.advance(16 * 3600_000); // Tuesday 09:40
    await h.daemon.reconcile('drift');
    expect(h.daemon.status().lastRun!.result).toBe('applied');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(65);
  });

  it('a frozen `daemon --once` says what a one-shot run can do: no daemon remains for `sync --override-freeze`', async () => {
    const clock = new ManualClock();
    clock.advance(MONDAY + 12 * 3600_000 + 40 * 60_000 - clock.now()); // Monday 12:40 UTC
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, manifests());
    const h = await watching(
      folder,
      { once: true, 'sync-windows': 'deny * 12:30-13:00 UTC' },
      { clock },
    );
    const run = h.daemon.status().lastRun!;
    expect(run.result).toBe('frozen');
    expect(run.message).toMatch(
      /^applies frozen, inside the sync window "deny \* 12:30-13:00 UTC"; planned only: .*; --once leaves no daemon for `poolsync sync --override-freeze` to reach: run it again once the sync windows let applies go, at 2026-11-23T13:00:00.000Z, or without sync windows \(--sync-windows, POOLSYNC_SYNC_WINDOWS, sync-windows: in the config file\) to apply now$/,
    );
    expect(run.message).not.toContain('applies it now');
  });

  it('`poolsync resume` inside a window says the window holds applies until it ends, and the override', async () => {
    const clock = new ManualClock();
    clock.advance(MONDAY + 12 * 3600_000 + 40 * 60_000 - clock.now()); // Monday 12:40 UTC
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, manifests());
    const h = await watching(folder, { 'sync-windows': 'deny * 12:30-13:00 UTC' }, { clock });
    const url = h.daemon.url;
    const window = {
      why: 'inside the sync window "deny * 12:30-13:00 UTC"',
      until: '2026-11-23T13:00:00.000Z',
    };
    const holds = `Applies stay frozen, ${window.why}, which \`poolsync resume\` does not lift: the sync windows let applies go again at ${window.until}, and the first run after that (a poll, a drift run, a webhook) plans again from the live state; \`poolsync sync --override-freeze\` does it now.\n`;
    // The daemon's answer says it too.
    const asked = await fetch(`${url}/resume`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(asked.status).toBe(200);
    expect(await asked.json()).toMatchObject({
      before: [{ environment: null, suspended: null, window }],
    });
    const resumed = memoryIo(env);
    expect(await freeze(daemonClientArgs(url), resumed, false)).toBe(0);
    expect(resumed.out()).toBe(`Applies were not suspended: nothing to resume.\n${holds}`);

    // A suspension lifted inside the window: the window still holds applies.
    expect(await freeze(daemonClientArgs(url, { as: 'alice' }), memoryIo(env), true)).toBe(0);
    const lifted = memoryIo(env);
    expect(await freeze(daemonClientArgs(url), lifted, false)).toBe(0);
    expect(lifted.out()).toBe(`Applies resumed: the suspension is lifted.\n${holds}`);
  });
});
