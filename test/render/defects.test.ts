/**
 * Issue 17's three rendering defects: the markdown plan drew an update as `!` with no legend
 * (blocked in the text plan; issue 35 keeps `!`, which GitHub colours, and adds the legend), the pull-request footer said `commit unknown` with --commit, and side effects
 * with no step of their own were counted in the closing line.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { runCli } from '../support/cli.js';
import { driftedScenario, emptyScenario } from './scenarios.js';

let empty: Plan;
let drifted: Plan;
beforeAll(async () => {
  [empty, drifted] = await Promise.all([emptyScenario(), driftedScenario()]);
});

describe('markdown symbols', () => {
  it('draws an update as ! in the diff block (GitHub colours it; ~ it leaves plain), with a legend; blocked items stay out of the block', () => {
    const md = renderMarkdown(drifted);
    const end = md.indexOf('```', md.indexOf('```diff') + 3);
    const diff = md.slice(md.indexOf('```diff'), end);
    expect(diff).toContain('! Cluster/prod-us-west-2');
    expect(diff).toContain('! Queue/critical');
    expect(diff).not.toMatch(/^~/m);
    for (const c of drifted.changes.filter((x) => x.action === 'blocked'))
      expect(diff).not.toContain(c.address);
    expect(md.slice(end)).toContain('`!` update');
    expect(renderText(drifted, { color: false })).toContain('  ~ Queue/critical');
  });
});

describe('side effects', () => {
  it('are shown but not counted as creates or updates', () => {
    const targets = new Set(empty.steps.map((s) => s.target));
    const sideEffects = empty.changes.filter((c) => c.caused_by && !targets.has(c.address));
    expect(sideEffects.length).toBeGreaterThan(0);
    const withStep = empty.changes.filter(
      (c) => c.action === 'create' && !(c.caused_by && !targets.has(c.address)),
    );
    expect(empty.summary.create).toBe(withStep.length + sideEffects.length);
    const text = renderText(empty, { color: false });
    expect(text).toContain(`Plan: ${withStep.length} to create,`);
    expect(text).toContain(`${sideEffects.length} more changes follow from these steps`);
    expect(text).toContain('# created by registering Cluster/');
    expect(renderMarkdown(empty)).toContain(`${sideEffects.length} more changes follow`);
  });
});

describe('markdown footer commit', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'poolsync-footer-'));
    cpSync('examples/config-repo', join(dir, 'repo'), { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the --commit given, outside a Git work tree', async () => {
    const sha = 'abcdef0123456789abcdef0123456789abcdef01';
    const args = ['plan', join(dir, 'repo'), '-o', 'markdown', '--control-plane'];
    const cp = `file:${join(dir, 'cp.json')}`;
    const r = await runCli([...args, cp, '--commit', sha]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('<sub>commit `abcdef012345`');
    const json = await runCli([
      'plan',
      join(dir, 'repo'),
      '-o',
      'json',
      '--control-plane',
      cp,
      '--commit',
      sha,
    ]);
    expect((JSON.parse(json.stdout) as Plan).commit).toBe(sha);
    const without = await runCli([...args, cp]);
    expect(without.stdout).toContain('commit unknown (not a clean Git work tree)');
  });
});
