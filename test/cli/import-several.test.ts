/**
 * `poolsync import ADDRESS...` on the embedded control plane (file:): several objects in one run,
 * one apply lock and one inventory write; all or nothing (any address wrong, missing or its file
 * there without --force: nothing written, every problem said with its address); an address given
 * twice imported once (docs/plan.md, Import several objects).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import { POOL, writeFiles } from '../environments/helpers.js';
import { poolContract } from '../support/builders.js';
import { memoryIo, runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import type * as applyRun from '../../src/ops/apply-run.js';
import type * as inventoryModule from '../../src/apply/inventory.js';

// Counted, not changed: how many times import takes the apply locks and writes the inventory.
const calls = vi.hoisted(() => ({ locks: 0, adopts: [] as string[][] }));
vi.mock('../../src/ops/apply-run.js', async (original) => {
  const real = await original<typeof applyRun>();
  return {
    ...real,
    underApplyLocks: (...a: Parameters<typeof real.underApplyLocks>) => {
      calls.locks++;
      return real.underApplyLocks(...a);
    },
  };
});
vi.mock('../../src/apply/inventory.js', async (original) => {
  const real = await original<typeof inventoryModule>();
  return {
    ...real,
    adoptIntoInventory: (...a: Parameters<typeof real.adoptIntoInventory>) => {
      calls.adopts.push([...a[1]]);
      return real.adoptIntoInventory(...a);
    },
  };
});

let root: string;
let repo: string;
let state: string;

const cli = (...words: string[]) =>
  runInProcess(
    [...words, '--control-plane', `file:${state}`, '--state-dir', join(root, 'state')],
    {},
    repo,
  );
const inventory = () => readFileSync(`${state}.inventory.json`, 'utf8');

beforeEach(async () => {
  root = tempFolder('poolsync-import-several-');
  repo = join(root, 'repo');
  state = join(root, 'cp.json');
  await writeFiles(repo, {
    'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n',
    'pool.yaml': POOL,
  });
  const applied = await cli('apply', repo, '--auto-approve');
  expect(applied.code, applied.stderr).toBe(0);
  // Made by hand, as legacy objects are: a pool and its clusters the repository does not declare.
  const cp = await EmbeddedControlPlane.open({ path: state });
  try {
    await cp.createPool('legacy', poolContract('s3://legacy/metadata'));
    for (const name of ['legacy-1', 'legacy-2']) await cp.registerCluster({ name, pool: 'legacy' });
  } finally {
    await cp.close();
  }
  calls.locks = 0;
  calls.adopts = [];
});

describe('poolsync import with several addresses', () => {
  it('imports them all under one lock and one inventory write; a pool and its clusters together validate', async () => {
    const r = await cli(
      'import',
      'Cluster/legacy-1',
      'ClusterPool/legacy',
      'Cluster/legacy-2',
      '--dir',
      repo,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const file of ['clusters/legacy-1.yaml', 'clusters/legacy-2.yaml', 'pools/legacy.yaml'])
      expect(existsSync(join(repo, file)), file).toBe(true);
    // Each alone would name a pool the folder lacks; imported together, they validate.
    expect(r.stdout).toContain(
      `Imported Cluster/legacy-1 into ${join(repo, 'clusters/legacy-1.yaml')}. Commit it; \`poolsync plan\` now shows no change for it.\n`,
    );
    expect(r.stdout).toContain(
      `Recorded 3 adopted objects in the inventory (${state}.inventory.json): with prune: true, poolsync deletes each once it leaves the repository.\n`,
    );
    expect(calls.locks).toBe(1);
    expect(calls.adopts).toEqual([['Cluster/legacy-1', 'ClusterPool/legacy', 'Cluster/legacy-2']]);
    const plan = await cli('plan', repo, '--output', 'json');
    const changes = (JSON.parse(plan.stdout) as Plan).changes;
    expect(changes.filter((c) => c.action !== 'noop')).toEqual([]);
    const listed = await cli('state', 'list', repo);
    for (const a of ['Cluster/legacy-1', 'Cluster/legacy-2', 'ClusterPool/legacy'])
      expect(listed.stdout).toMatch(new RegExp(`^${a} `, 'm'));
  });

  it('one bad address among good ones: nothing is written, and every problem names its address', async () => {
    await mkdir(join(repo, 'clusters'), { recursive: true });
    const mine = '# a file of mine\n';
    writeFileSync(join(repo, 'clusters/legacy-2.yaml'), mine);
    const before = inventory();
    const r = await cli(
      'import',
      'Cluster/legacy-1',
      'Cluster/legacy-3',
      'ClusterPool/legacy',
      'Cluster/legacy-2',
      'Queue/Bad_Name',
      '--dir',
      repo,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'Error: nothing was imported: 3 addresses of the 5 given cannot be imported:\n' +
        '  - Cluster/legacy-3 is not on the control plane: did you mean Cluster/legacy-1? (its Cluster objects: Cluster/legacy-1, Cluster/legacy-2)\n' +
        `  - ${join(repo, 'clusters/legacy-2.yaml')} already exists: move it away, or pass --force to overwrite it with Cluster/legacy-2\n` +
        '  - import Queue/Bad_Name: Bad_Name is not a valid manifest name (N1: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit); an object with such a name cannot be a manifest: rename it on the control plane\n' +
        'Fix them or leave them out, then run the import again\n',
    );
    expect(existsSync(join(repo, 'clusters/legacy-1.yaml'))).toBe(false);
    expect(existsSync(join(repo, 'pools/legacy.yaml'))).toBe(false);
    expect(readFileSync(join(repo, 'clusters/legacy-2.yaml'), 'utf8')).toBe(mine);
    expect(inventory()).toBe(before);
    expect(calls.locks).toBe(0);
  });

  it('an address given twice is imported once', async () => {
    const r = await cli('import', 'ClusterPool/legacy', 'ClusterPool/legacy', '--dir', repo);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^Imported ClusterPool\/legacy /gm)).toHaveLength(1);
    expect(r.stdout).toContain(
      `Recorded 1 adopted object in the inventory (${state}.inventory.json): with prune: true, poolsync deletes it once it leaves the repository.\n`,
    );
    expect(calls.adopts).toEqual([['ClusterPool/legacy']]);
  });

  it('a write failing part-way (a folder where the third file goes): every file as it was, nothing new left', async () => {
    await mkdir(join(repo, 'clusters/legacy-2.yaml'), { recursive: true });
    const mine = '# a file of mine\n';
    writeFileSync(join(repo, 'clusters/legacy-1.yaml'), mine);
    const before = { inventory: inventory(), clusters: readdirSync(join(repo, 'clusters')) };
    // --force: the existing file is replaced, and the folder passes the check, failing the write.
    const r = await cli(
      'import',
      'Cluster/legacy-1',
      'ClusterPool/legacy',
      'Cluster/legacy-2',
      '--dir',
      repo,
      '--force',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `Error: cannot write clusters/legacy-2.yaml: it is a folder, not a regular file (under ${repo}); nothing was imported\n`,
    );
    expect(readFileSync(join(repo, 'clusters/legacy-1.yaml'), 'utf8')).toBe(mine);
    // No pools/ folder, no temporary beside a target.
    expect(existsSync(join(repo, 'pools'))).toBe(false);
    expect(readdirSync(join(repo, 'clusters'))).toEqual(before.clusters);
    expect(inventory()).toBe(before.inventory);
    expect(calls.locks).toBe(0);
  });
});

describe('poolsync import --from FILE', () => {
  it('imports the addresses listed, one a line (comments, blank lines, one listed twice), as the same addresses given as arguments', async () => {
    const list = join(root, 'legacy.txt');
    writeFileSync(
      list,
      '# the legacy pool, adopted whole\n\nCluster/legacy-1\nClusterPool/legacy  # its pool\r\n  Cluster/legacy-2\nCluster/legacy-1\n',
    );
    const r = await cli('import', '--from', list, '--dir', repo);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `Recorded 3 adopted objects in the inventory (${state}.inventory.json): with prune: true, poolsync deletes each once it leaves the repository.\n`,
    );
    expect(calls.locks).toBe(1);
    expect(calls.adopts).toEqual([['Cluster/legacy-1', 'ClusterPool/legacy', 'Cluster/legacy-2']]);
    for (const file of ['clusters/legacy-1.yaml', 'clusters/legacy-2.yaml', 'pools/legacy.yaml'])
      expect(existsSync(join(repo, file)), file).toBe(true);
  });

  it('a folder not read whole names the first 20 of a long list, then how many more', async () => {
    writeFileSync(join(repo, 'broken.yaml'), 'kind: [\n');
    const list = join(root, 'many.txt');
    const names = Array.from({ length: 25 }, (_, i) => `Queue/q${String(i + 1).padStart(2, '0')}`);
    writeFileSync(list, `${names.join('\n')}\n`);
    const r = await cli('import', '--from', list, '--dir', repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`whether it declares ${names.slice(0, 20).join(', ')} and 5 more`);
    expect(r.stderr).not.toContain('Queue/q21');
  });

  it('a bad address in the file: nothing is written, each problem named at FILE:line', async () => {
    const list = join(root, 'legacy.txt');
    writeFileSync(list, 'ClusterPool/legacy\n# next: a typo\nCluster/legacy-3\nQueue/Bad_Name\n');
    const before = inventory();
    const r = await cli('import', 'Cluster/legacy-1', '--from', list, '--dir', repo);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'Error: nothing was imported: 2 addresses of the 4 given cannot be imported:\n' +
        `  - ${list}:3: Cluster/legacy-3 is not on the control plane: did you mean Cluster/legacy-1? (its Cluster objects: Cluster/legacy-1, Cluster/legacy-2)\n` +
        `  - ${list}:4: import Queue/Bad_Name: Bad_Name is not a valid manifest name (N1: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit); an object with such a name cannot be a manifest: rename it on the control plane\n` +
        'Fix them or leave them out, then run the import again\n',
    );
    expect(existsSync(join(repo, 'clusters'))).toBe(false);
    expect(existsSync(join(repo, 'pools'))).toBe(false);
    expect(inventory()).toBe(before);
    expect(calls.locks).toBe(0);
  });

  it('- reads the list from stdin; one bad address there is named at stdin:line', async () => {
    const { main } = await import('../../src/cli/run.js');
    const run = async (text: string) => {
      const io = { ...memoryIo(), stdin: Readable.from([Buffer.from(text)]) };
      const code = await main(
        [
          'import',
          '--from',
          '-',
          '--dir',
          repo,
          '--control-plane',
          `file:${state}`,
          '--state-dir',
          join(root, 'state'),
        ],
        io,
      );
      return { code, stdout: io.out(), stderr: io.err() };
    };
    const bad = await run('\nCluster/legacy-3\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^Error: stdin:2: Cluster\/legacy-3 is not on the control plane: did you mean Cluster\/legacy-1\?/,
    );
    const good = await run('ClusterPool/legacy\n');
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(calls.adopts).toEqual([['ClusterPool/legacy']]);
    expect(existsSync(join(repo, 'pools/legacy.yaml'))).toBe(true);
  });

  it('no address at all, or a list naming none: refused saying what to give', async () => {
    const none = await cli('import', '--dir', repo);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'Error: name what to import: one or more addresses (Kind/name, e.g. Cluster/legacy-1), or --from FILE with one a line (- for stdin)\n',
    );
    const list = join(root, 'empty.txt');
    writeFileSync(list, '# nothing yet\n\n');
    const empty = await cli('import', '--from', list, '--dir', repo);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(
      `Error: ${list} names no address to import: write one Kind/name a line (e.g. Cluster/legacy-1; \`#\` starts a comment)\n`,
    );
    const missing = await cli('import', '--from', join(root, 'nope.txt'), '--dir', repo);
    expect(missing.stderr).toBe(
      `Error: --from file ${join(root, 'nope.txt')} does not exist: name a file of addresses, one a line, or - to read them from stdin\n`,
    );
  });
});
