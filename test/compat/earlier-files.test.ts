/**
 * Every file an earlier poolsync build wrote is read by this one (docs/versioning.md, issue 77):
 * test/fixtures/compat/<commit>/ holds what that commit's own build wrote
 * (scripts/compat-corpus.sh): the embedded state with its journal, inventory and last-applied
 * record, a saved plan, the REST API's state and answers, and the quickstart daemon's history,
 * suspension, admin token and /status. Each is read here through the command a user runs.
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { readHistory } from '../../src/daemon/status.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';

const CORPUS = join(REPO_ROOT, 'test', 'fixtures', 'compat');

/** A fresh copy of the corpus' manifests with `files` as its `.poolsync/`. */
function repoWith(build: string, files: string): string {
  const dir = join(tempFolder('poolsync-compat-'), 'repo');
  cpSync(join(CORPUS, build, 'repo'), dir, { recursive: true });
  if (files) cpSync(join(CORPUS, build, files), join(dir, '.poolsync'), { recursive: true });
  return dir;
}

function inFolder(dir: string, args: string[]) {
  const cwd = process.cwd();
  process.chdir(dir);
  return runCli(args).finally(() => process.chdir(cwd));
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

describe.each(readdirSync(CORPUS))('files poolsync %s wrote', (build) => {
  const at = (...p: string[]) => join(CORPUS, build, ...p);
  // Its inventory recorded no repository (format 1): the next apply adopts what it lists (exit 2).
  const inventory = readJson(at('embedded', 'control-plane.json.inventory.json'));
  const adopts = (inventory as { repositories?: unknown }).repositories === undefined;
  /** Nothing to send: exit 0, or 2 with what the apply records where it adopts. */
  const expectConverged = (r: { code: number; stdout: string; stderr: string }) => {
    expect([r.code, r.stderr]).toEqual([adopts ? 2 : 0, '']);
    expect(r.stdout).toContain(
      adopts ? 'Nothing to send to the control plane, but the apply records' : 'No changes.',
    );
  };

  it('its embedded state, inventory and last-applied record: plan, refresh-only and state list read them', async () => {
    const repo = repoWith(build, 'embedded');
    expectConverged(await inFolder(repo, ['plan', '.', '--detailed-exitcode']));
    const refresh = await inFolder(repo, ['plan', '.', '--refresh-only', '--detailed-exitcode']);
    expect([refresh.code, refresh.stderr]).toEqual([0, '']);
    const list = await inFolder(repo, ['state', 'list', '.']);
    expect([list.code, list.stderr]).toEqual([0, '']);
    expect(list.stdout).toContain('Queue/critical');
  });

  it('its saved plan: shown, and its seal and control plane still read when applied', async () => {
    const repo = repoWith(build, 'embedded');
    const shown = await inFolder(repo, ['show', at('plan.json')]);
    expect([shown.code, shown.stderr]).toEqual([0, '']);
    expect(shown.stdout).toContain('Queue/critical');
    // A plan names the control plane it was made against (an absolute state path, gone since):
    // read whole, it is refused for that reason alone, in one line, and nothing is applied.
    const applied = await inFolder(repo, ['apply', at('plan.json')]);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toMatch(
      /^Error: \S+ was made for another control plane: .*Nothing was applied.*\n$/,
    );
    expectConverged(await inFolder(repo, ['plan', '.', '--detailed-exitcode']));
  });

  it('its REST state: served with every field it answered then, and planned as converged', async () => {
    const dir = tempFolder('poolsync-compat-rest-');
    cpSync(at('rest'), dir, { recursive: true });
    const controlPlane = await EmbeddedControlPlane.open({ path: join(dir, 'rest-state.json') });
    const server = await startControlPlaneServer({ controlPlane });
    try {
      for (const file of readdirSync(at('rest')).filter((f) => !f.startsWith('rest-state'))) {
        const path = `/v1/${file.replace(/\.json$/, '').replace('-', '/')}`;
        const res = await fetch(`${server.url}${path}`);
        expect(res.status, path).toBe(200);
        // An answer only ever gains fields: every field the earlier build answered is still there.
        expect(await res.json(), path).toMatchObject(readJson(at('rest', file)) as object);
      }
      const repo = repoWith(build, '');
      const plan = await inFolder(repo, [
        'plan',
        '.',
        '--control-plane',
        server.url,
        '--detailed-exitcode',
      ]);
      expectConverged(plan);
    } finally {
      await server.close();
      await controlPlane.close();
    }
  });

  it('its quickstart daemon folder: history, suspension and admin token read by a daemon run', async () => {
    const top = repoWith(build, 'quickstart');
    const suspension = readFileSync(at('quickstart', 'daemon', 'suspended.json'), 'utf8');
    const before = readJson(at('quickstart', 'daemon', 'history.json')) as {
      runs: { id: number; repeats?: { lastId: number } }[];
    };
    // The quickstart's own settings on the corpus' manifests (--quickstart watches this
    // checkout's example, which later commits change).
    const run = await inFolder(top, [
      'daemon',
      '--watch',
      '.',
      '--control-plane',
      'file:.poolsync/control-plane.json',
      '--state-dir',
      '.poolsync/daemon',
      '--admin-token-file',
      '.poolsync/admin-token',
      '--policy',
      'all',
      '--once',
      '--listen',
      '127.0.0.1:0',
      '--log-level',
      'error',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^poolsync daemon listening on \S+\n$/);
    // A file this build could not read would have been set aside and started afresh: the
    // earlier runs are kept, this run after them, and the suspension is where it was.
    const warnings: string[] = [];
    const kept = await readHistory(join(top, '.poolsync', 'daemon'), (w) => warnings.push(w));
    expect(warnings).toEqual([]);
    if (kept === null) throw new Error('the history is gone');
    const ids = kept.runs.map((r) => r.id);
    for (const r of before.runs) expect(ids).toContain(r.id);
    // A new run, or a repeat of the last (in sync again): numbered after every earlier one.
    const newest = (runs: typeof before.runs) =>
      Math.max(...runs.map((r) => r.repeats?.lastId ?? r.id));
    expect(newest(kept.runs)).toBeGreaterThan(newest(before.runs));
    expect(readFileSync(join(top, '.poolsync', 'daemon', 'suspended.json'), 'utf8')).toBe(
      suspension,
    );
  });

  it('its daemon /status: read by status and history', async () => {
    await servingStatus(at('daemon-status.json'), async (url) => {
      const status = await runCli(['status', '--daemon', url]);
      expect([status.code, status.stderr]).toEqual([0, '']);
      expect(status.stdout).toContain('compat corpus');
      const history = await runCli(['history', '--daemon', url]);
      expect([history.code, history.stderr]).toEqual([0, '']);
    });
  });
});

/**
 * Builds of 21-22 Nov, before `scripts/compat-corpus.sh` had a folder of theirs: their /status (no
 * `runs`, no `controlPlane`) and a plan they saved (no seal), written by a build of commit
 * 51e67318 (test/fixtures/compat-made/51e67318/README.md).
 */
describe('what poolsync 51e67318 served and saved', () => {
  const at = (file: string) => join(REPO_ROOT, 'test', 'fixtures', 'compat-made', '51e67318', file);

  it('its daemon /status: status, history and history N read it, each absent field its default', async () => {
    await servingStatus(at('daemon-status.json'), async (url) => {
      // It said: …/status is not a poolsync daemon's status (status.runs is missing).
      const status = await runCli(['status', '--daemon', url]);
      expect([status.code, status.stderr]).toEqual([0, '']);
      expect(status.stdout).toContain(
        `Daemon ${url}: watching /tmp/poolsync-compat.eNY3zM/tree/examples/config-repo, policy all\n`,
      );
      expect(status.stdout).toContain(
        'Last run: #2 in sync 2026-11-29 03:52:53 (drift, 18 ms) commit —: in sync\n',
      );
      // A control plane it never said is not printed as `? `.
      expect(status.stdout).not.toContain('Control plane:');
      const json = await runCli(['status', '--daemon', url, '--output', 'json']);
      expect(JSON.parse(json.stdout)).toMatchObject({
        runs: [],
        counts: null,
        controlPlane: { backend: null, url: null, reachable: null },
        freeze: { frozen: false },
        lastRun: { id: 2, changed: [], changedTotal: 0 },
      });
      const unkept =
        'the daemon keeps no runs, as builds before run history did: its last run, #2, is in `poolsync status`; upgrade the daemon to keep them';
      const history = await runCli(['history', '--daemon', url]);
      expect(history).toMatchObject({
        code: 0,
        stderr: '',
        stdout: `No run is kept: ${unkept}.\n`,
      });
      const run = await runCli(['history', '2', '--daemon', url]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^Error: run #2 is not kept: ${escape(unkept)}`));
    });
  });

  it('its saved plan, unsealed: show and apply say it was made before plans were sealed, and to plan again', async () => {
    const plan = at('plan.json');
    const said = `Error: ${plan} has no seal: it was made by an earlier poolsync, before plans were sealed (or its seal was removed), and only a sealed plan is shown or applied: run \`poolsync plan --out ${plan}\` again\n`;
    expect(await runCli(['show', plan])).toMatchObject({ code: 1, stdout: '', stderr: said });
    const repo = repoWith('b8137a5c', 'embedded');
    const applied = await inFolder(repo, ['apply', plan, '--auto-approve']);
    expect(applied).toMatchObject({ code: 1, stderr: said });
    // Nothing was applied: the state is as it was (its records still to adopt: exit 2).
    expect((await inFolder(repo, ['plan', '.', '--detailed-exitcode'])).code).toBe(2);
  });
});

/** `fn` given the URL of a server answering `GET /status` with the file a daemon served. */
async function servingStatus(file: string, fn: (url: string) => Promise<void>): Promise<void> {
  const body = readFileSync(file);
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/status' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/status' ? body : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
