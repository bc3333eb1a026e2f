/**
 * The inventory between a client and a server of different builds (docs/versioning.md, Upgrade
 * order): an earlier client's format 1 never replaces a stored format 2 (it would drop every
 * address's repository), and this client refuses to apply through an earlier server that cannot
 * record format 2, before the first step. What the earlier builds send is written here as they
 * send it: the body from the corpus (test/fixtures/compat/), the refusals from their source.
 */
import { cpSync, readFileSync } from 'node:fs';
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
const earlierBody = (
  JSON.parse(readFileSync(join(EARLIER, 'rest', 'inventory.json'), 'utf8')) as {
    inventory: InventoryRecord;
  }
).inventory;

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

/** What an earlier `control-plane serve` answers this client's format 2 (400), by its source. */
const EARLIER_SERVERS = {
  // git show 35d2a3b6:src/model/inventory.ts (25 Nov 2026): parseInventory.
  '35d2a3b6': 'not an inventory: format is 2, this poolsync reads format 1',
  // git show f4c1debb:src/util/format-version.ts (28 Nov 2026), through newerAsInvalid.
  f4c1debb:
    'the inventory sent is format 2, written by a newer poolsync; this poolsync (0.1.0) reads format 1: upgrade poolsync',
};

describe('this client through an earlier server, which reads inventory format 1', () => {
  for (const [build, message] of Object.entries(EARLIER_SERVERS))
    it(`applies nothing, saying to upgrade the server first (${build})`, async () => {
      const { embedded, url } = await servedControlPlane();
      const target = new URL(url);
      const earlier = await listenLoopback((req, res) =>
        readRequest(req, (body) => {
          if (req.method === 'PUT' && req.url === '/v1/inventory')
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
        `Error: Nothing was applied: ${at}/v1/inventory is served by an earlier poolsync, which reads inventory format 1; this poolsync (${version}) writes format 2, which records the repository that applied each address: upgrade the control plane's poolsync serve first, then its clients (docs/versioning.md, Upgrade order)\n`,
      );
      expect(run.stderr).not.toContain('Warning: could not record the inventory');
      expect((await embedded.pools.listPools()).map((p) => p.name)).toEqual(['default']);
      expect(await embedded.clusters.listClusters()).toEqual([]);
    });
});
