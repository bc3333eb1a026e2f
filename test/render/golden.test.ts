/**
 * Golden files for the three renderers on examples/config-repo, against an empty control
 * plane and a drifted one. Regenerate after an intended change with UPDATE_GOLDEN=1.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { renderJson } from '../../src/render/json.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { driftedScenario, emptyScenario } from './scenarios.js';

const GOLDEN = 'test/golden';
const update = process.env.UPDATE_GOLDEN === '1';

function golden(file: string, actual: string): void {
  const path = join(GOLDEN, file);
  if (update || !existsSync(path)) {
    writeFileSync(path, actual);
    if (!update)
      throw new Error(`${path} was missing and has been written: review it, then run again`);
    return;
  }
  expect(actual, `${path} (UPDATE_GOLDEN=1 regenerates it)`).toBe(readFileSync(path, 'utf8'));
}

describe.each([
  ['empty', emptyScenario],
  ['drifted', driftedScenario],
] as const)('golden: example repository against a %s control plane', (name, scenario) => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await scenario();
  });

  it('text', () => golden(`plan-${name}.txt`, renderText(plan, { color: false })));
  it('json', () => golden(`plan-${name}.json`, renderJson(plan)));
  it('markdown', () => golden(`plan-${name}.md`, renderMarkdown(plan)));
});

describe('drifted scenario shows every kind of change', () => {
  it('has updates, creates, replace, blocked, unmanaged and warnings', async () => {
    const plan = await driftedScenario();
    expect(plan.summary).toMatchObject({
      create: 1,
      update: 2,
      replace: 1,
      blocked: 1,
      unmanaged: 3,
    });
    expect(plan.warnings.map((w) => w.code).sort()).toEqual(
      expect.arrayContaining(['CONAMED_QUEUE_ORPHANED', 'QUEUE_NO_HEALTHY_CLUSTER']),
    );
  });
});
