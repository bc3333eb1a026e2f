import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { generateScaleModel } from '../../bench/lib/scale.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const run = promisify(execFile);
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('generated repository', () => {
  it('validates clean with the real loader (V1-V8) and counts every kind', async () => {
    for (const [objects, seed] of [
      [1000, 1],
      [400, 99],
    ] as const) {
      const model = generateScaleModel(objects, seed);
      const dir = await tempDir();
      await writeRepository(model, dir);
      const result = await loadRepository(dir);
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
      expect(result.counts).toMatchObject({
        pools: model.pools.length,
        clusters: model.clusters.length,
        queues: model.queues.length,
        assignments: model.assignments.length,
        documents: objects,
      });
      // Defaults applied by the loader equal the generator's complete specs.
      const desired = new Map(result.desired!.queues.map((q) => [q.name, q.spec]));
      for (const q of model.queues) expect(desired.get(q.name)).toEqual(q.spec);
    }
  });

  it('CLI writes a Git repository and seeds an embedded control plane (file:PATH)', async () => {
    const dir = await tempDir();
    const out = join(dir, 'org');
    const state = join(dir, 'cp', 'state.json');
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/generate.ts',
        '--objects',
        '300',
        '--out',
        out,
        '--control-plane',
        `file:${state}`,
      ],
      { cwd: process.cwd() },
    );
    expect(stdout).toMatch(/wrote 300 documents in \d+ files .* commit [0-9a-f]{12}/);
    expect(stdout).toMatch(/seeded file:.* with \d+ calls/);
    const { stdout: log } = await run('git', ['-C', out, 'log', '--oneline']);
    expect(log).toMatch(/Scale organisation: 300 objects, seed 1/);
    const cp = await EmbeddedControlPlane.open({ path: state });
    const live = await readLiveState(cp);
    await cp.close();
    expect(live.clusters).toHaveLength(generateScaleModel(300).clusters.length);
    expect(live.clusters.every((c) => c.health === 'healthy')).toBe(true); // C5: reported by the simulator
  });

  it('CLI rejects bad flags with a clear message and no stack trace', async () => {
    const err = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/generate.ts', '--objects', 'ten', '--out', '/tmp/x'],
      {
        cwd: process.cwd(),
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain(
      '--objects must be an integer >= 4 (got "ten")',
    );
    expect((err as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });

  it('seeds a control plane that asks for a token with the one POOLSYNC_TOKEN_FILE or --token-file names', async () => {
    const served = await servedControlPlane({ token: 'bench-token-0123456789abcdef' });
    const dir = await tempDir();
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'bench-token-0123456789abcdef\n');
    const { POOLSYNC_TOKEN: _t, POOLSYNC_TOKEN_FILE: _f, ...env } = process.env;
    const generate = (vars: NodeJS.ProcessEnv, ...flags: string[]) =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/generate.ts',
          '--objects',
          '20',
          '--no-git',
          '--out',
          join(dir, 'org'),
          '--control-plane',
          served.url,
          ...flags,
        ],
        { cwd: process.cwd(), env: { ...env, ...vars } },
      );
    const seeded = await generate({ POOLSYNC_TOKEN_FILE: tokenFile });
    expect(seeded.stdout).toContain(`seeded ${served.url} with`);
    expect((await served.embedded.listPools()).length).toBeGreaterThan(0);
    // The flag, with no variable set, into a second plane (the first holds the objects now).
    const other = await servedControlPlane({ token: 'bench-token-0123456789abcdef' });
    const flagged = await generate({}, '--control-plane', other.url, '--token-file', tokenFile);
    expect(flagged.stdout).toContain(`seeded ${other.url} with`);
    // None given: the server's refusal says where a token comes from, no stack trace.
    const none = await generate({}).catch((e: { code: number; stderr: string }) => e);
    expect(none).toMatchObject({ code: 1 });
    expect((none as { stderr: string }).stderr).toContain(
      'set POOLSYNC_TOKEN (or POOLSYNC_TOKEN_FILE), or pass --token-file FILE',
    );
    expect((none as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
