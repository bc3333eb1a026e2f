/**
 * A flyteadmin label holding control characters (issue 60, item 4): `export` writes nothing raw
 * to the terminal, on any path — the files it writes, its warnings (rows no manifest can
 * describe), its summary — and the manifests keep the value as it is, escaped in YAML.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { startFlyteadmin, type Flyteadmin } from './helpers.js';

/* eslint-disable no-control-regex -- what must never reach the terminal */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
/* eslint-enable no-control-regex */

let fa: Flyteadmin;
beforeAll(async () => {
  fa = await startFlyteadmin(null);
  const row = (project: string, domain: string) => ({
    project,
    domain,
    workflow: '',
    launch_plan: '',
    resource_type: 'EXECUTION_CLUSTER_LABEL' as const,
    org: '',
  });
  // Two levels poolsync manages: project/domain and project-wide.
  fa.store.createOrUpdate(row('team1', 'development'), {
    execution_cluster_label: { value: 'gpu\u0007\u001b[2J' },
  });
  fa.store.createOrUpdate(row('team1', ''), {
    execution_cluster_label: { value: 'cpu\u0007\u009b' },
  });
});
afterAll(() => fa?.close());

describe('export of a flyteadmin label with a BEL byte', () => {
  it('escapes it in every line it prints; the manifest keeps the value', async () => {
    const dir = tempFolder('poolsync-bel-');
    const io = memoryIo();
    const { main } = await import('../../src/cli/run.js');
    const code = await exitOf(
      io,
      main(['export', '--control-plane', fa.url, '--dir', join(dir, 'out')], io),
    );
    expect(io.out() + io.err()).not.toMatch(RAW);
    expect(io.err()).toMatch(/cpu\\(x07|u0007)/);
    expect(code).toBe(0);
    const files = await readdir(join(dir, 'out'), { recursive: true });
    const texts = await Promise.all(
      files.filter((f) => f.endsWith('.yaml')).map((f) => readFile(join(dir, 'out', f), 'utf8')),
    );
    expect(texts.join('')).not.toMatch(RAW);
  });
});
