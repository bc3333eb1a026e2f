/**
 * What a plan takes over (docs/plan.md, Prune by inventory): a live object another tool made,
 * declared here, is recorded as this repository's by the apply, and every plan says so (text,
 * JSON, Markdown, `apply` before it asks), not "No changes" alone. And `import` into a folder
 * that does not validate says truthfully what records an object another repository applied:
 * `import` again, since no apply takes one over (REPOSITORY_CONFLICT). On `file:` and on a
 * served control plane, through the CLI.
 */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import { runCli, startCli } from '../support/cli.js';
import { cleanup } from '../support/cleanup.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';
import { poolManifest } from '../support/repo.js';
import { tempFolder } from '../support/temp-folder.js';

const POOL = poolManifest('gpu');
const cluster = (name: string) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: ${name}\nspec:\n  pool: gpu\n`;

function repository(root: string, name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'poolsync.yaml'),
    'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n',
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return realpathSync(dir);
}

/** `control-plane serve` over `state`, on a free port (a fixed one can be another process's). */
async function served(state: string): Promise<string> {
  const serve = startCli(['control-plane', 'serve', '--listen', '127.0.0.1:0', '--state', state]);
  stopsWithThisProcess(serve.child, 'SIGKILL');
  cleanup.add(async () => {
    serve.child.kill('SIGTERM');
    await serve.done;
  });
  await serve.waitForOutput((out) => out.includes('control plane listening on '));
  return /listening on (http:\/\/\S+)/.exec(serve.stdout() + serve.stderr())![1]!;
}

interface Target {
  controlPlane: string;
  /** Another tool's cluster, made beside poolsync. */
  handMade(name: string, pool: string): Promise<void>;
}

const TARGETS: [string, (root: string) => Promise<Target>][] = [
  [
    'file:',
    async (root) => {
      const state = join(root, 'cp.json');
      return {
        controlPlane: `file:${state}`,
        handMade: async (name, pool) => {
          const cp = await EmbeddedControlPlane.open({ path: state });
          await cp.registerCluster({ name, pool });
          await cp.close();
        },
      };
    },
  ],
  [
    'a served control plane',
    async (root) => {
      const url = await served(join(root, 'cp.json'));
      return {
        controlPlane: url,
        handMade: async (name, pool) => {
          const r = await fetch(`${url}/v1/clusters`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name, pool }),
          });
          expect(r.status, await r.text()).toBe(201);
        },
      };
    },
  ],
];

const ADOPTS =
  "Adopts 1 object poolsync did not apply: Cluster/team-x. The apply records it as this repository's; with prune: true, removing its manifest then deletes it.";

describe.each(TARGETS.map(([name, make]) => ({ name, make })))('on $name', ({ make }) => {
  it('every plan that takes over an object another tool made says so, before apply asks', async () => {
    const root = tempFolder('poolsync-adoption-');
    const target = await make(root);
    const state = ['--state-dir', join(root, 'state')];
    const cli = (...args: string[]) =>
      runCli([...args, '--control-plane', target.controlPlane, ...state]);
    const repo = repository(root, 'repo', { 'pools/gpu.yaml': POOL });
    const first = await cli('apply', repo, '--auto-approve');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('Adopts');

    await target.handMade('team-x', 'gpu');
    writeFileSync(join(repo, 'clusters-team-x.yaml'), cluster('team-x'));

    // Something to do (exit 2), never "No changes": CI that applies on 2 alone must adopt.
    const text = await cli('plan', repo, '--detailed-exitcode');
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).not.toContain('No changes');
    expect(text.stdout).toContain(
      "Nothing to send to the control plane, but the apply records 1 object as this repository's (Adopts, below).",
    );
    expect(text.stdout.split('\n')).toContain(ADOPTS);
    const json = await cli('plan', repo, '--output', 'json', '--detailed-exitcode');
    expect(json.code, json.stderr).toBe(2);
    expect((JSON.parse(json.stdout) as Plan).inventory).toMatchObject({
      found: true,
      repository: repo,
      adopts: ['Cluster/team-x'],
    });
    expect(json.stderr).toBe(`${ADOPTS}\n`);
    const markdown = await cli('plan', repo, '--output', 'markdown', '--detailed-exitcode');
    expect(markdown.code, markdown.stderr).toBe(2);
    expect(markdown.stdout).toContain(`\n${ADOPTS}\n`);
    expect(markdown.stdout).not.toContain('No changes');
    expect(markdown.stdout).toContain(
      "**Merging** changes nothing on the control plane, but the apply records 1 object as this repository's",
    );

    const applied = await cli('apply', repo, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.split('\n')).toContain(ADOPTS);
    expect(applied.stdout).toContain(
      "Nothing was sent to the control plane, but the apply recorded 1 object as this repository's.",
    );
    // Recorded: the next plan adopts nothing, and removing the manifest deletes it, as said.
    const after = await cli('plan', repo, '--output', 'json');
    expect((JSON.parse(after.stdout) as Plan).inventory?.adopts).toBeUndefined();
    const settled = await cli('plan', repo, '--detailed-exitcode');
    expect(settled.code, settled.stderr).toBe(0);
    expect(settled.stdout).toContain('No changes. The control plane matches the repository.');
    expect(settled.stdout).not.toContain('Adopts');
    writeFileSync(join(repo, 'clusters-team-x.yaml'), '');
    const dropped = await cli('plan', repo);
    expect(dropped.stdout).toContain('- Cluster/team-x');
  }, 120_000);

  it('import into a folder that does not validate yet says to import again an object another repository applied, and that hands it over', async () => {
    const root = tempFolder('poolsync-adoption-');
    const target = await make(root);
    const state = ['--state-dir', join(root, 'state')];
    const cli = (...args: string[]) =>
      runCli([...args, '--control-plane', target.controlPlane, ...state]);
    const a = repository(root, 'a', {
      'pools/gpu.yaml': POOL,
      'clusters/gpu-1.yaml': cluster('gpu-1'),
    });
    const applied = await cli('apply', a, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);

    // B does not declare pool gpu: the cluster's manifest leaves it invalid, nothing recorded.
    const b = repository(root, 'b', {});
    const imported = await cli('import', 'Cluster/gpu-1', '--dir', b);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(
      `while the folder does not validate: repository ${a} applied it, and an apply never takes it over (it leaves it as ${a} applied it: REPOSITORY_CONFLICT), so run \`poolsync import Cluster/gpu-1\` again once it validates to hand it over.\n`,
    );
    expect(imported.stdout).not.toContain('the first apply');
    // Once it validates, its apply indeed records nothing of gpu-1: A's still.
    writeFileSync(join(b, 'pools-gpu.yaml'), POOL);
    const conflict = await cli('plan', b, '--output', 'json');
    expect(conflict.code, conflict.stderr).toBe(0);
    const warned = (JSON.parse(conflict.stdout) as Plan).warnings;
    expect(warned.filter((w) => w.code === 'REPOSITORY_CONFLICT').map((w) => w.address)).toEqual(
      ['ClusterPool/gpu', 'Cluster/gpu-1'].sort(),
    );
    // As said: import again hands it over.
    const again = await cli('import', 'Cluster/gpu-1', '--dir', b);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`for repository ${b}, taken from repository ${a}`);
    const handed = JSON.parse((await cli('plan', b, '--output', 'json')).stdout) as Plan;
    expect(handed.warnings.map((w) => `${w.code} ${w.address}`)).toEqual([
      'REPOSITORY_CONFLICT ClusterPool/gpu',
    ]);
  }, 120_000);
});
