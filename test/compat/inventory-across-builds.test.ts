/**
 * The inventory between a client and a server of different builds (docs/versioning.md, Upgrade
 * order): an earlier client's format never replaces a stored later one (format 1 would drop every
 * address's repository, format 2 each repository's destroy budget), and this client refuses to
 * apply through an earlier server that cannot record format 3, before the first step. What the
 * earlier builds send is written here as they send it: the bodies from the corpus
 * (test/fixtures/compat/), the refusals from their source or as their serve answered.
 */
import { appendFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InventoryRecord } from '../../src/model/inventory.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { cleanup } from '../support/cleanup.js';
import { answer, forward, listenLoopback, readRequest } from '../support/forwarding.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';

/** 26 Nov 2026: its client PUTs the record its server answers (GET /v1/inventory). */
const EARLIER = join(REPO_ROOT, 'test', 'fixtures', 'compat', '3851f967');
const servedBy = (build: string) =>
  (
    JSON.parse(
      readFileSync(
        join(REPO_ROOT, 'test', 'fixtures', 'compat', build, 'rest', 'inventory.json'),
        'utf8',
      ),
    ) as { inventory: InventoryRecord }
  ).inventory;
const earlierBody = servedBy('3851f967');
/** 29 Nov 2026, before repository_guardrails: it PUTs format 2 and drops fields it does not know. */
const format2Body = servedBy('b33a7cc6');

const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

const STORED: InventoryRecord = {
  format: 2,
  addresses: [],
  repositories: { '/srv/pools': ['Cluster/dev-us-central1', 'ClusterPool/dev'] },
  updated_at: '2026-11-29T00:00:00.000Z',
  commit: null,
  control_plane: null,
};

const put = (url: string, body: unknown) =>
  fetch(`${url}/v1/inventory`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe("an earlier client's inventory (format 1)", () => {
  it('is refused over a stored format 2 (412, naming both), which stays as it was', async () => {
    expect(earlierBody.format).toBe(1);
    const { embedded, url } = await servedControlPlane();
    await embedded.inventory.writeInventory(STORED);
    const refused = await put(url, earlierBody);
    expect(refused.status).toBe(412);
    expect(await refused.json()).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message:
        "the inventory sent is format 1, written by an earlier poolsync; the one stored here is format 2, which records the repository that applied each address, and format 1 would drop them: nothing was written; upgrade the client to this server's poolsync or later (docs/versioning.md)",
    });
    expect(await embedded.inventory.readInventory()).toEqual(STORED);
  });

  it('is kept where nothing newer is stored', async () => {
    const { embedded, url } = await servedControlPlane();
    for (let i = 0; i < 2; i++) {
      expect((await put(url, earlierBody)).status).toBe(204);
      expect((await embedded.inventory.readInventory())?.format).toBe(1);
    }
  });
});

describe("a 29 Nov client's inventory (format 2, b33a7cc6)", () => {
  it("is refused over a stored format 3 (412, naming both), which keeps each repository's budget", async () => {
    expect(format2Body.format).toBe(2);
    const { embedded, url } = await servedControlPlane();
    const root = tempFolder('poolsync-format-2-client-');
    const repo = join(root, 'repo');
    cpSync(join(EARLIER, 'repo'), repo, { recursive: true });
    appendFileSync(join(repo, 'poolsync.yaml'), 'guardrails:\n  max_destroy: 2\n');
    const state = ['--state-dir', join(root, 'state')];
    const run = await runCli(['apply', repo, '--control-plane', url, ...state, '--auto-approve']);
    expect(run.code, run.stderr).toBe(0);
    const stored = await embedded.inventory.readInventory();
    expect(stored).toMatchObject({
      format: 3,
      repository_guardrails: { [repo]: { max_destroy: 2 } },
    });
    const refused = await put(url, format2Body);
    expect(refused.status).toBe(412);
    expect(await refused.json()).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message:
        "the inventory sent is format 2, written by an earlier poolsync; the one stored here is format 3, which records each repository's destroy budget and the clusters' waits, and format 2 would drop them: nothing was written; upgrade the client to this server's poolsync or later (docs/versioning.md)",
    });
    expect(await embedded.inventory.readInventory()).toEqual(stored);
  });
});

/** b33a7cc6's embedded state and its inventory file (format 2) under a copy of its manifests. */
function format2State(edit: (record: Record<string, unknown>) => void = () => {}) {
  const repo = join(tempFolder('poolsync-format-2-file-'), 'repo');
  const built = join(REPO_ROOT, 'test', 'fixtures', 'compat', 'b33a7cc6');
  cpSync(join(built, 'repo'), repo, { recursive: true });
  cpSync(join(built, 'embedded'), join(repo, '.poolsync'), { recursive: true });
  const path = join(repo, '.poolsync', 'control-plane.json.inventory.json');
  const record = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  expect(record.format).toBe(2);
  edit(record);
  writeFileSync(path, JSON.stringify(record));
  const applyHere = () => {
    const cwd = process.cwd();
    process.chdir(repo);
    return runCli(['apply', '.', '--auto-approve']).finally(() => process.chdir(cwd));
  };
  const read = () => JSON.parse(readFileSync(path, 'utf8')) as InventoryRecord;
  return { repo, applyHere, read };
}

// b33a7cc6 reads format 2 and refuses a later one (git show b33a7cc6:src/model/inventory.ts:
// INVENTORY_FORMAT = 2, refuseNewer), so a file it would rewrite without the budgets is format 3.
describe('the inventory file b33a7cc6 wrote (format 2)', () => {
  it("is read, and written as format 3 with this repository's destroy budget", async () => {
    const { repo, applyHere, read } = format2State();
    appendFileSync(join(repo, 'poolsync.yaml'), 'guardrails:\n  max_destroy: 2\n');
    const run = await applyHere();
    expect(run.code, run.stderr).toBe(0);
    expect(read()).toMatchObject({
      format: 3,
      repository_guardrails: { [repo]: { max_destroy: 2 } },
    });
  });

  it('keeps a field a later build of its format added, which this one does not know', async () => {
    const later = { 'ClusterPool/prod': { note: 'kept as read' } };
    const { repo, applyHere, read } = format2State((r) => {
      r.format = 3;
      r.a_later_field = later;
    });
    appendFileSync(join(repo, 'poolsync.yaml'), 'guardrails:\n  max_destroy: 2\n');
    const run = await applyHere();
    expect(run.code, run.stderr).toBe(0);
    expect(read()).toMatchObject({ format: 3, a_later_field: later });
  });
});

/** What an earlier `control-plane serve` answers an inventory of a format after the one it reads (400). */
const EARLIER_SERVERS = [
  // git show 35d2a3b6:src/model/inventory.ts (25 Nov 2026): parseInventory.
  {
    build: '35d2a3b6',
    reads: 1,
    message: 'not an inventory: format is 3, this poolsync reads format 1',
  },
  // git show f4c1debb:src/util/format-version.ts (28 Nov 2026), through newerAsInvalid.
  {
    build: 'f4c1debb',
    reads: 1,
    message:
      'the inventory sent is format 3, written by a newer poolsync; this poolsync (0.1.0) reads format 1: upgrade poolsync',
  },
  // As b33a7cc6's serve answered a PUT of format 3 (29 Nov 2026); it took format 2 and dropped repository_guardrails.
  {
    build: 'b33a7cc6',
    reads: 2,
    message:
      'the inventory sent is format 3, written by a newer poolsync; this poolsync (0.1.0) reads format 2: upgrade poolsync',
  },
];

const LOST = {
  1: "the repository that applied each address, and each repository's destroy budget and the clusters' waits",
  2: "each repository's destroy budget and the clusters' waits",
};

describe('this client through an earlier server, which reads an earlier inventory format', () => {
  for (const { build, reads, message } of EARLIER_SERVERS)
    it(`applies nothing, saying to upgrade the server first (${build}, format ${reads})`, async () => {
      const { embedded, url } = await servedControlPlane();
      const target = new URL(url);
      const earlier = await listenLoopback((req, res) =>
        readRequest(req, (body) => {
          const sent = req.method === 'PUT' && req.url === '/v1/inventory';
          if (sent && (JSON.parse(body.toString()) as InventoryRecord).format > reads)
            return res
              .writeHead(400, { 'content-type': 'application/json' })
              .end(JSON.stringify({ code: 'INVALID_ARGUMENT', message }));
          forward(target, req, body, res, (up, whole) => answer(res, up, whole, 'pass'));
        }),
      );
      cleanup.add(() => earlier.close());
      const root = tempFolder('poolsync-earlier-server-');
      const repo = join(root, 'repo');
      cpSync(join(EARLIER, 'repo'), repo, { recursive: true });
      const at = `http://127.0.0.1:${earlier.port}`;
      const state = ['--state-dir', join(root, 'state')];
      const run = await runCli(['apply', repo, '--control-plane', at, ...state, '--auto-approve']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `Error: Nothing was applied: ${at}/v1/inventory is served by an earlier poolsync, which reads inventory format ${reads}; this poolsync (${version}) writes format 3, which records ${LOST[reads as 1 | 2]}: upgrade the control plane's poolsync serve first, then its clients (docs/versioning.md, Upgrade order)\n`,
      );
      expect(run.stderr).not.toContain('Warning: could not record the inventory');
      expect((await embedded.pools.listPools()).map((p) => p.name)).toEqual(['default']);
      expect(await embedded.clusters.listClusters()).toEqual([]);
    });
});

// 3851f967 (26 Nov 2026) recorded every address without a repository (inventory format 1): what
// it applied under prune: true and this repository then removes is not pruned, and said so.
describe('objects a format-1 inventory recorded, removed from the repository under prune: true', () => {
  it('plan and apply name them in one warning, and never say the control plane matches', async () => {
    const repo = join(tempFolder('poolsync-format-1-prune-'), 'repo');
    cpSync(join(EARLIER, 'repo'), repo, { recursive: true });
    cpSync(join(EARLIER, 'embedded'), join(repo, '.poolsync'), { recursive: true });
    const config = join(repo, 'poolsync.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('prune: false', 'prune: true'));
    rmSync(join(repo, 'clusters', 'dev', 'dev-europe-west4.yaml'));
    const warning =
      'Warning: 1 object not in the repository was applied by an earlier poolsync whose inventory recorded no repository, so prune leaves it (another repository may have applied it): Cluster/dev-europe-west4. If this repository applied it, `poolsync import ADDRESS` adopts it and removing its manifest then deletes it; `poolsync state forget ADDRESS` leaves it alone for good (docs/versioning.md, Every format and its rule).';
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      // The first plan and apply adopt what the repository declares (recorded without one);
      // the plan after them sends nothing: neither says the control plane matches.
      for (const [args, first] of [
        [['plan', '.'], 'Nothing to send to the control plane, but the apply records'],
        [
          ['apply', '.', '--auto-approve'],
          'Nothing was sent to the control plane, but the apply recorded',
        ],
        [
          ['plan', '.'],
          'No changes to send. The control plane does not match the repository: 1 object an earlier poolsync applied is left unpruned (see the warning below).',
        ],
      ] as const) {
        const run = await runCli([...args]);
        expect([run.code, run.stderr]).toEqual([0, '']);
        expect(run.stdout).toContain(first);
        expect(run.stdout).toContain(warning);
        expect(run.stdout).not.toContain('matches the repository');
      }
    } finally {
      process.chdir(cwd);
    }
  });
});
