/**
 * daemon --commit-rendered: the generated flyte-core values in the config repository follow
 * the manifests. A real bare Git remote, the daemon pushes the rendered file, and the push does
 * not start a loop of commits.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { body } from '../../src/render/values.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, git } from './helpers.js';
import { until } from '../support/until.js';

function exampleFiles(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) Object.assign(out, exampleFiles(full, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = readFileSync(full, 'utf8');
  }
  return out;
}

describe('daemon --commit-rendered', () => {
  it('commits the re-rendered values once when the manifests change them, and applies the labels', async () => {
    const repo = new TestRepo();
    const files = exampleFiles('examples/flyte-oss');
    // The manifests move training to 50/50; the committed values still say 70/30.
    files['labels/labels.yaml'] = files['labels/labels.yaml']!.replace(
      'weight: 0.7',
      'weight: 0.5',
    ).replace('weight: 0.3', 'weight: 0.5');
    const seeded = repo.commit(files, 'seed');
    const { cp, logs, stop } = await startTestDaemon({
      repo,
      flags: { 'poll-interval': '200ms', 'commit-rendered': true },
    });
    cleanup.add(stop);

    const head = () => git(repo.bare, 'rev-parse', 'main');
    const pushed = await until('the rendered commit', () => head() !== seeded && head());
    expect(git(repo.bare, 'log', '-1', '--format=%an %s', 'main')).toBe(
      `poolsync poolsync: render deploy/flyte-clusters-values.yaml from ${seeded.slice(0, 12)}`,
    );
    const values = git(repo.bare, 'show', 'main:deploy/flyte-clusters-values.yaml');
    expect(values).toContain(`from commit ${seeded} of the config repository`);
    expect(body(values)).toContain(
      '      training:\n        - id: dataplane_1\n          weight: 0.5\n        - id: dataplane_2\n          weight: 0.5',
    );
    // The labels were applied from the same desired state.
    await until(
      'labels applied',
      async () => (await cp.listExecutionClusterLabels()).length === 4 || null,
    );
    // The daemon's own commit re-renders to the same content: no second commit.
    await new Promise((r) => setTimeout(r, 1500));
    expect(head()).toBe(pushed);
    expect(logs.join('')).toContain('committed rendered files');
  });
});
