/**
 * `poolsync status`, `poolsync sync` and `poolsync history` against a running daemon, in process
 * (docs/daemon.md, From the command line): `sync` with the admin token applies the newest
 * commit at once (an hour's poll interval notwithstanding); the run history, with each run's
 * commit and plan, outlives a restart; the dashboard shows what `state list` shows and offers
 * Sync now, which `POST /reconcile` takes with the admin token from the page only.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freeze, history, status, sync } from '../../src/cli/commands/daemon-client.js';
import type { DaemonClientArgs } from '../../src/cli/define.js';
import { list } from '../../src/cli/commands/export.js';
import { exitOf, memoryIo, runInProcess, type MemoryIo } from '../support/memory-io.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon, type OwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';
import { twoEnvironments } from '../environments/helpers.js';
import { SYSTEM_CLOCK } from '../../src/util/clock.js';
import { daemonClientArgs } from '../support/daemon-client-args.js';

const ADMIN = 'admin-token-daemon-client-0123456789';
const started: OwnTestDaemon[] = [];
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
});

async function daemonOn(repo: TestRepo, state: string): Promise<OwnTestDaemon> {
  const d = await startOwnTestDaemon({
    repo,
    state,
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
    logLevel: 'silent',
  });
  await d.daemon.firstRun;
  return d;
}

describe('poolsync status, sync and history', () => {
  it('sync applies the next commit at once; status and history say what happened; history outlives a restart', async () => {
    const repo = new TestRepo();
    const first = repo.commit(manifests({ batchRunConcurrency: 50 }));
    const state = tempDir();
    let d = await daemonOn(repo, state);
    started.push(d);
    const url = d.daemon.url;

    const st = memoryIo();
    expect(await status(daemonClientArgs(url), st)).toBe(0);
    expect(st.out()).toContain(`Daemon ${url}: following ${repo.bare} main, policy all`);
    expect(st.out()).toContain('Outcome: applied');
    expect(st.out()).toContain(`Commit: ${first.slice(0, 12)} (applied: ${first.slice(0, 12)})`);

    // A new commit; the daemon polls hourly: sync fetches and applies it now.
    const second = repo.commit(manifests({ batchRunConcurrency: 70 }));
    const refused = memoryIo();
    expect(await exitOf(refused, sync(daemonClientArgs(url), refused))).toBe(1);
    expect(refused.err()).toMatch(
      /^Error: syncing needs the daemon admin token: set POOLSYNC_ADMIN_TOKEN/,
    );
    const wrong = memoryIo({ POOLSYNC_ADMIN_TOKEN: 'not-the-admin-token-at-all' });
    expect(await exitOf(wrong, sync(daemonClientArgs(url), wrong))).toBe(1);
    expect(wrong.err()).toBe(
      `Error: ${url}/reconcile answered HTTP 401: missing or wrong bearer token. The admin token sent was read from POOLSYNC_ADMIN_TOKEN, and it is not the admin token this daemon was started with (its POOLSYNC_ADMIN_TOKEN or --admin-token-file): pass that one\n`,
    );
    const synced = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    expect(await sync(daemonClientArgs(url), synced)).toBe(0);
    expect(synced.out()).toMatch(
      new RegExp(`^#2 applied .*\\(manual, \\d+ ms\\) commit ${second.slice(0, 12)}: `),
    );
    expect(d.daemon.status().appliedCommit).toBe(second);

    const runs = memoryIo();
    expect(await history(daemonClientArgs(url), runs)).toBe(0);
    expect(runs.out().split('\n')[0]).toMatch(/^#2 applied /);
    expect(runs.out().split('\n')[1]).toMatch(
      new RegExp(`^#1 applied .*commit ${first.slice(0, 12)}`),
    );
    const one = memoryIo();
    expect(await history(daemonClientArgs(url, { run: 2 }), one)).toBe(0);
    expect(one.out()).toContain('~ Queue/batch');
    // A past run's changes: what it did, not what poolsync will do.
    expect(one.out()).toContain('\npoolsync performed the following actions:\n');
    expect(one.out()).not.toContain('will perform');
    expect(one.out()).toContain('run_concurrency: 50 → 70');

    // A restart: the runs, their commits and plans, are read back; numbering goes on.
    // (the daemon alone: the harness's stop() would also remove the repository)
    await d.daemon.stop();
    started.splice(0);
    expect(readFileSync(join(state, 'daemon', 'history.json'), 'utf8')).toContain(second);
    d = await daemonOn(repo, state);
    started.push(d);
    const after = memoryIo();
    expect(await history(daemonClientArgs(d.daemon.url), after)).toBe(0);
    expect(
      after
        .out()
        .split('\n')
        .slice(0, 3)
        .map((l) => l.slice(0, 12)),
    ).toEqual(['#3 in sync 2', '#2 applied 2', '#1 applied 2']);
    const kept = memoryIo();
    expect(await history(daemonClientArgs(d.daemon.url, { run: 2, output: 'json' }), kept)).toBe(0);
    expect(JSON.parse(kept.out())).toMatchObject({
      id: 2,
      commit: second,
      plan: { commit: second },
    });
  });

  it("sync prints the run the daemon made, whatever the daemon's clock says (5 min behind, or ahead, of this one)", async () => {
    for (const skewMs of [-300_000, 300_000]) {
      const repo = new TestRepo();
      repo.commit(manifests({ batchRunConcurrency: 50 }));
      const d = await startOwnTestDaemon({
        repo,
        state: tempDir(),
        env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
        deps: { clock: { ...SYSTEM_CLOCK, now: () => SYSTEM_CLOCK.now() + skewMs } },
        logLevel: 'silent',
      });
      started.push(d);
      await d.daemon.firstRun;
      const second = repo.commit(manifests({ batchRunConcurrency: 70 }));
      const synced = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
      expect(await sync(daemonClientArgs(d.daemon.url), synced)).toBe(0);
      expect(synced.out()).toMatch(
        new RegExp(`^#2 applied .*\\(manual, \\d+ ms\\) commit ${second.slice(0, 12)}: [^\n]*\n$`),
      );
      // With nothing new the run the sync made is still the one printed, never the one before.
      const again = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
      expect(await sync(daemonClientArgs(d.daemon.url, { output: 'json' }), again)).toBe(0);
      expect(JSON.parse(again.out())).toMatchObject({ run: { id: 3, result: 'in_sync' } });
    }
  });

  it('the dashboard lists what state list lists, and offers Sync now; /reconcile refuses another site', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const d = await daemonOn(repo, tempDir());
    started.push(d);
    const listed = memoryIo();
    const stateArgs = {
      dir: repo.work,
      'control-plane': `file:${d.cpPath}`,
      'max-retries': 0,
      'state-dir': join(d.state, 'state'),
      output: 'json' as const,
    };
    expect(await list(stateArgs, listed)).toBe(0);
    const objects = (JSON.parse(listed.out()) as { objects: { address: string; status: string }[] })
      .objects;
    expect(objects.length).toBeGreaterThan(3);
    const page = await (await fetch(`${d.daemon.url}/`)).text();
    const section = page.slice(page.indexOf('id="objects"'));
    for (const o of objects) expect(section).toContain(`<code class="address">${o.address}</code>`);
    // The embedded control plane reports no health: said so, not as if broken.
    expect(section).toContain('pool prod, enabled, health not reported');
    expect(section).not.toMatch(/health unknown|routes to 0 healthy/);
    expect(page).toContain('<button type="button" id="sync" class="sync">Sync now</button>');
    const crossSite = await fetch(`${d.daemon.url}/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const sameSite = await fetch(`${d.daemon.url}/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(sameSite.status).toBe(202);
  });

  it('status says what the repository no longer declares (prune off) beside the last plan', async () => {
    const repo = new TestRepo();
    repo.commit(manifests({ prune: false }));
    const d = await daemonOn(repo, tempDir());
    started.push(d);
    repo.commit(manifests({ prune: false, clusters: ['prod-1'] }), 'drop prod-2', {
      replaceAll: true,
    });
    expect(
      await sync(daemonClientArgs(d.daemon.url), memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN })),
    ).toBe(0);
    const st = memoryIo();
    expect(await status(daemonClientArgs(d.daemon.url), st)).toBe(0);
    expect(st.out()).toContain('Outcome: in sync');
    expect(st.out()).toMatch(
      /^Last plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 0 blocked; 1 object unmanaged \(not in the repository: reported, never touched\)$/m,
    );
  });

  it('with environments: sync --env runs that one only; status --exit-code fails on a failed outcome; a misspelt name gets the closest (issue 61)', async () => {
    const repo = new TestRepo();
    const state = tempDir();
    // staging's control plane refuses connections: its runs fail.
    const staging = '  staging:\n    controlPlane: http://127.0.0.1:9\n    folders: [base]\n';
    repo.commit(
      twoEnvironments({ dev: `file:${state}/dev.json`, prod: `file:${state}/prod.json` }, staging),
    );
    const d = await startOwnTestDaemon({
      repo,
      state,
      env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
      flags: { 'control-plane': `file:${state}/unused.json`, 'max-retries': 0 },
      deps: { retryBaseMs: 3_600_000 },
      logLevel: 'silent',
    });
    started.push(d);
    await d.daemon.firstRun;
    const url = d.daemon.url;
    const env = { POOLSYNC_ADMIN_TOKEN: ADMIN };

    const whole = memoryIo();
    expect(await status(daemonClientArgs(url), whole)).toBe(0);
    expect(whole.out()).toMatch(/Environment staging:\n {2}Outcome: failed/);
    const strict = memoryIo();
    expect(await status(daemonClientArgs(url, { 'exit-code': true }), strict)).toBe(1);
    const dev = memoryIo();
    expect(await status(daemonClientArgs(url, { env: 'dev', 'exit-code': true }), dev)).toBe(0);
    const json = memoryIo();
    expect(await status(daemonClientArgs(url, { output: 'json', 'exit-code': true }), json)).toBe(
      1,
    );
    expect(JSON.parse(json.out())).toHaveProperty('environments');

    const runsOf = (name: string) => d.daemon.status().environments![name]!.runs.length;
    const [devRuns, prodRuns] = [runsOf('dev'), runsOf('prod')];
    const synced = memoryIo(env);
    expect(await sync(daemonClientArgs(url, { env: 'dev' }), synced)).toBe(0);
    expect(synced.out()).toMatch(/^dev: #\d+ in sync .*\(manual, /);
    expect(synced.out()).not.toMatch(/prod:|staging:/);
    expect(runsOf('dev')).toBe(devRuns + 1);
    expect(runsOf('prod')).toBe(prodRuns);

    const typo = memoryIo(env);
    expect(await exitOf(typo, sync(daemonClientArgs(url, { env: 'prdo' }), typo))).toBe(1);
    expect(typo.err()).toBe(
      "Error: the daemon has no environment 'prdo' (did you mean 'prod'?); its environments: dev, prod, staging\n",
    );
    const raw = await fetch(`${url}/reconcile?environment=qa`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toEqual({
      error: "no environment 'qa' (environments: dev, prod, staging)",
    });
  });

  it("the quickstart's token is read only with a bounded address file beside it", async () => {
    const work = tempDir();
    mkdirSync(join(work, '.poolsync'));
    writeFileSync(join(work, '.poolsync/admin-token'), 'quickstart-token\n');
    writeFileSync(join(work, '.poolsync/daemon-url'), `http://127.0.0.1:9/${'x'.repeat(2048)}\n`);
    const huge = await runInProcess(['sync', '--daemon', 'http://127.0.0.1:9'], {}, work);
    expect(huge.code).toBe(1);
    expect(huge.stderr).toMatch(
      /cannot read the quickstart daemon's address file \.poolsync\/daemon-url: it is larger than 1024 bytes/,
    );
  });

  it('sync of an invalid commit shows its first errors at file:line:column (it said the count alone)', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const d = await daemonOn(repo, tempDir());
    started.push(d);
    const one = repo.commit(manifests({ invalid: true }));
    const synced = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    expect(await sync(daemonClientArgs(d.daemon.url), synced)).toBe(1);
    const [head, ...errors] = synced.out().trimEnd().split('\n');
    expect(head).toMatch(
      new RegExp(
        `^#2 invalid .*: 1 validation error in commit ${one.slice(0, 12)}.*; nothing applied`,
      ),
    );
    expect(errors).toEqual([
      expect.stringMatching(/^ {2}queues\/broken\.yaml:7:\d+: [A-Z_0-9]+: .*no-such-cluster/),
    ]);
    // Past five, how many more and where they all are.
    const files = manifests({ invalid: true });
    for (let i = 0; i < 6; i++)
      files[`queues/broken-${i}.yaml`] = files['queues/broken.yaml']!.replace(
        'name: broken',
        `name: broken-${i}`,
      );
    repo.commit(files);
    const many = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    expect(await sync(daemonClientArgs(d.daemon.url), many)).toBe(1);
    const lines = many.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/: 7 validation errors in commit /);
    expect(lines.slice(1, 6)).toEqual(
      Array.from({ length: 5 }, () =>
        expect.stringMatching(/^ {2}queues\/broken[-\d]*\.yaml:7:\d+: /),
      ),
    );
    expect(lines.slice(6)).toEqual(['  … 2 more: `poolsync status` lists them all']);
  });

  it("in a quickstart's folder, the commands find the daemon it recorded and its token, whatever port it listens on (issue: they asked 8080)", async () => {
    const repo = new TestRepo();
    repo.commit(manifests({ batchRunConcurrency: 50 }));
    const d = await daemonOn(repo, tempDir());
    started.push(d);
    const url = d.daemon.url;
    // What `daemon --quickstart --listen 127.0.0.1:PORT` leaves in its folder.
    const work = tempDir();
    mkdirSync(join(work, '.poolsync'));
    writeFileSync(join(work, '.poolsync/admin-token'), `${ADMIN}\n`);
    writeFileSync(join(work, '.poolsync/daemon-url'), `${url}\n`);
    const next = repo.commit(manifests({ batchRunConcurrency: 70 }));
    const synced = await runInProcess(['sync'], {}, work);
    expect(synced.stderr).toBe('');
    expect(synced.stdout).toMatch(new RegExp(`^#2 applied .*commit ${next.slice(0, 12)}: `));
    const st = await runInProcess(['status'], {}, work);
    expect(st.stdout).toContain(`Daemon ${url}: following`);
    expect((await runInProcess(['history'], {}, work)).stdout).toMatch(/^#2 applied /);
    expect((await runInProcess(['suspend', '--reason', 'test'], {}, work)).stdout).toMatch(
      /^Applies suspended: /,
    );
    expect((await runInProcess(['resume'], {}, work)).stdout).toMatch(/^Applies resumed: /);
    expect((await runInProcess(['approve'], {}, work)).stdout).toBe(
      'Nothing is waiting for approval.\n',
    );
    // A quickstart listening on every interface recorded 0.0.0.0: asked on this machine's loopback.
    writeFileSync(join(work, '.poolsync/daemon-url'), `${url.replace('127.0.0.1', '0.0.0.0')}\n`);
    expect((await runInProcess(['status'], {}, work)).stdout).toContain(`Daemon ${url}: `);
    // A token file left by an earlier quickstart, this one started with a token given to it: the
    // refusal names the file sent (never its value) and the way out.
    writeFileSync(join(work, '.poolsync/admin-token'), 'an-earlier-quickstart-token-0123\n');
    const stale = await runInProcess(['sync', '--no-wait'], {}, work);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe(
      `Error: ${url}/reconcile answered HTTP 401: missing or wrong bearer token. The admin token sent was read from .poolsync/admin-token (this folder's quickstart token, used since neither --admin-token-file, POOLSYNC_ADMIN_TOKEN_FILE nor POOLSYNC_ADMIN_TOKEN is set), ` +
        'and this daemon was started with another admin token: pass that one (--admin-token-file FILE, POOLSYNC_ADMIN_TOKEN_FILE or POOLSYNC_ADMIN_TOKEN), or remove .poolsync/admin-token if it is left from an earlier quickstart\n',
    );
    expect(stale.stderr).not.toContain('an-earlier-quickstart-token');
    writeFileSync(join(work, '.poolsync/admin-token'), `${ADMIN}\n`);
    // --daemon and POOLSYNC_DAEMON_URL come first.
    const named = await runInProcess(['status', '--daemon', 'http://127.0.0.1:9'], {}, work);
    expect(named.stderr).toMatch(/cannot reach the daemon at http:\/\/127\.0\.0\.1:9\/status/);
    const fromEnv = await runInProcess(
      ['status'],
      { POOLSYNC_DAEMON_URL: 'http://127.0.0.1:9' },
      work,
    );
    expect(fromEnv.stderr).toMatch(/cannot reach the daemon at http:\/\/127\.0\.0\.1:9\/status/);
    // A stopped quickstart: its recorded address is said as where the daemon was looked for.
    writeFileSync(join(work, '.poolsync/daemon-url'), 'http://127.0.0.1:9\n');
    const gone = await runInProcess(['status'], {}, work);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(
      /^Error: cannot reach the daemon at http:\/\/127\.0\.0\.1:9\/status: .*is \.poolsync\/daemon-url \(where this folder's quickstart listens; --daemon URL asks another daemon\) right\?/,
    );
    // Only a daemon on this machine: the admin token never goes elsewhere.
    writeFileSync(join(work, '.poolsync/daemon-url'), 'http://poolsync.example:8080\n');
    const elsewhere = await runInProcess(['sync'], {}, work);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toBe(
      'Error: .poolsync/daemon-url holds "http://poolsync.example:8080", not the loopback address a quickstart records there: name the daemon with --daemon URL (or POOLSYNC_DAEMON_URL), or remove the file\n',
    );
  });

  it('an error of no file or object is its code and message (it said "Error: -: GIT_FETCH: …")', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const d = await daemonOn(repo, tempDir());
    started.push(d);
    // The followed branch is deleted on the remote: the next fetch fails.
    execFileSync('git', ['--git-dir', repo.bare, 'update-ref', '-d', 'refs/heads/main']);
    const synced = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    expect(await exitOf(synced, sync(daemonClientArgs(d.daemon.url), synced))).toBe(1);
    const st = memoryIo();
    expect(await status(daemonClientArgs(d.daemon.url), st)).toBe(0);
    expect(st.out()).toMatch(/^Error: GIT_FETCH: cannot fetch branch main of /m);
    expect(st.out()).not.toContain('Error: -:');
  });

  it('a daemon out of reach is one line', async () => {
    const io = memoryIo();
    expect(await exitOf(io, status(daemonClientArgs('http://127.0.0.1:9'), io))).toBe(1);
    expect(io.err()).toMatch(
      /^Error: cannot reach the daemon at http:\/\/127\.0\.0\.1:9\/status: /,
    );
  });

  it('without a token, a daemon out of reach is said first, then the token (it said the token alone)', async () => {
    for (const [run, what] of [
      [sync, 'syncing'],
      [(a: DaemonClientArgs, io: MemoryIo) => freeze(a, io, true), 'suspending'],
    ] as const) {
      const io = memoryIo();
      expect(await exitOf(io, run(daemonClientArgs('http://127.0.0.1:9'), io))).toBe(1);
      expect(io.err()).toMatch(
        new RegExp(
          `^Error: cannot reach the daemon at http://127\\.0\\.0\\.1:9/status: nothing accepts connections at http://127\\.0\\.0\\.1:9 \\(ECONNREFUSED\\); is it running, and is --daemon \\(its status address; env POOLSYNC_DAEMON_URL\\) right\\? Once it answers, ${what} needs the daemon admin token: set POOLSYNC_ADMIN_TOKEN or pass --admin-token-file FILE `,
        ),
      );
    }
  });
});
