/**
 * Issue 23, items 4 and 9: `export` and `import` never write outside `--dir`, whatever a live
 * object's name; a name that is not a valid manifest name (N1) is refused (export leaves it
 * out with a warning, import refuses it), shown escaped, and messages stay one line. The live
 * state comes from a `file:` control plane whose state file holds hostile names.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { runCli } from '../support/cli.js';
import { poolContract } from '../support/builders.js';

/* eslint-disable no-control-regex -- what a terminal would obey */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
/* eslint-enable no-control-regex */
const HOSTILE = {
  'evil-cluster': '../../escaped-cluster',
  'evil-pool': 'pool\nOK: forged line',
  'evil-queue': 'queue\u001b[2J\u0007',
} as const;

const root = mkdtempSync(join(tmpdir(), 'poolsync-export-names-'));
const state = join(root, 'cp.json');

beforeAll(async () => {
  // keepJournal 0: closing compacts everything into the snapshot edited below.
  const cp = await EmbeddedControlPlane.open({ path: state, keepJournal: 0 });
  await cp.createPool(
    'evil-pool',
    poolContract('s3://b/m', { secret_store: { type: 'VAULT', locator: 'x' } }),
  );
  await cp.registerCluster({ name: 'evil-cluster' });
  await cp.createQueue({
    name: 'evil-queue',
    pool: 'default',
    clusters: ['*'],
    run_concurrency: 1,
    action_concurrency: 1,
  } as never);
  await cp.registerCluster({ name: 'good' });
  await cp.close();
  // What a hostile or foreign control plane could hold: names the embedded one never accepts.
  let text = readFileSync(state, 'utf8');
  for (const [from, to] of Object.entries(HOSTILE))
    text = text.split(JSON.stringify(from)).join(JSON.stringify(to));
  writeFileSync(state, text);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('export with hostile live names', () => {
  it('writes only under --dir, leaves each bad name out with an escaped one-line warning', async () => {
    const out = join(root, 'a', 'b', 'out');
    const r = await runCli(['export', '--control-plane', `file:${state}`, '--dir', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(CONTROL);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning: '));
    expect(warnings).toEqual(
      expect.arrayContaining([
        'Warning: ClusterPool "pool\\nOK: forged line": left out: not a valid manifest name (N1: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit), so it can name neither a manifest nor a file; rename it on the control plane',
        expect.stringMatching(
          /^Warning: Cluster "\.\.\/\.\.\/escaped-cluster": left out: not a valid manifest name/,
        ),
        expect.stringMatching(/^Warning: Queue "queue\\u001b\[2J\\u0007": left out/),
      ]),
    );
    expect(existsSync(join(root, 'a', 'escaped-cluster.yaml'))).toBe(false);
    expect(readdirSync(join(root, 'a'))).toEqual(['b']);
    expect(readdirSync(join(out, 'clusters'))).toEqual(['good.yaml']);
  });
});

describe('import with hostile names', () => {
  /** Into a config repository of its own: import refuses any other folder. */
  const importing = (address: string) => {
    const repo = mkdtempSync(join(root, 'repo-'));
    writeFileSync(join(repo, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
    return runCli(['import', address, '--dir', repo, '--control-plane', `file:${state}`]);
  };

  it('refuses an address whose name is not N1, escaped, before reading anything', async () => {
    const r = await importing('Cluster/../../escaped-cluster');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: import Cluster/../../escaped-cluster: ../../escaped-cluster is not a valid manifest name (N1: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit); an object with such a name cannot be a manifest: rename it on the control plane\n',
    );
    expect(existsSync(join(root, 'escaped-cluster.yaml'))).toBe(false);
  });

  it('the not-found error lists live names escaped, on one line', async () => {
    const r = await importing('ClusterPool/nosuch');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: ClusterPool/nosuch is not on the control plane (its ClusterPool objects: ClusterPool/default, ClusterPool/pool\\nOK: forged line)\n',
    );
  });
});

describe('checkExportedPath', () => {
  it('refuses any path that could leave --dir or carry control characters', async () => {
    const { checkExportedPath } = await import('../../src/cli/commands/export.js');
    for (const bad of [
      '../x.yaml',
      '/etc/x.yaml',
      'pools/../../x.yaml',
      'pools/a\nb.yaml',
      'pools/\u001b.yaml',
      'pools//x.yaml',
      '',
    ])
      expect(() => checkExportedPath(bad), JSON.stringify(bad)).toThrow(
        /not a plain file path inside --dir/,
      );
    expect(() => checkExportedPath('clusters/prod-1.yaml')).not.toThrow();
  });
});
