/** schemas/plan.schema.json accepts every plan the planner makes and rejects what is not a plan. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computePlan } from '../../src/plan/index.js';
import {
  PlanFileError,
  parsePlanFile,
  planFileParts,
  planValidator,
  sealOf,
} from '../../src/render/plan-file.js';
import { renderJson } from '../../src/render/json.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText, renderedOfRun } from '../../src/render/text.js';
import { contract, desired, live } from '../plan/build.js';
import type { Plan } from '../../src/model/plan.js';
import { driftedScenario, emptyScenario } from './scenarios.js';

describe('plan JSON schema (draft 2020-12)', () => {
  it('validates the plans of the golden scenarios and of hand-built ones', async () => {
    const plans = [
      await emptyScenario(),
      await driftedScenario(),
      computePlan(
        desired({
          prune: true,
          pools: { prod: contract('prod-v2') },
          clusters: { a: { pool: 'prod', annotations: { 'poolsync/prevent-destroy': 'true' } } },
        }),
        live({
          pools: { prod: contract('prod') },
          clusters: { a: {}, gone: {} },
          assignments: [{ project: 'p', domain: 'd', pool: 'prod' }],
        }),
        { commit: 'abc123' },
      ),
    ];
    const validate = planValidator();
    for (const plan of plans) {
      const data: unknown = JSON.parse(renderJson(plan));
      expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    }
    expect(plans[2]!.errors.length).toBeGreaterThan(0);
  });

  it('golden JSON files are valid plans, and parse back as plan files once sealed', () => {
    const validate = planValidator();
    for (const f of ['plan-empty.json', 'plan-drifted.json']) {
      const data = JSON.parse(readFileSync(`test/golden/${f}`, 'utf8')) as Plan;
      expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
      const sealed = [...planFileParts(data, null)].join('');
      expect(() => parsePlanFile(sealed, f, { key: null })).not.toThrow();
    }
  });

  it('a plan saved before steps were marked completes_change (a disable after its registration, C6) reads as written', () => {
    const now = JSON.parse(readFileSync('test/golden/plan-empty.json', 'utf8')) as Plan;
    expect(now.steps.filter((s) => s.completes_change).map((s) => s.op)).toEqual([
      'update_cluster',
    ]);
    const earlier = {
      ...now,
      steps: now.steps.map(({ completes_change: _, ...step }) => step),
    } as Plan;
    const read = parsePlanFile([...planFileParts(earlier, null)].join(''), 'old.json', {
      key: null,
    });
    expect(read.steps).toEqual(earlier.steps);
  });

  // Sealed as anyone can (poolsync writes no plan with a step its changes do not account for).
  const sealed = (doc: Record<string, unknown>) =>
    JSON.stringify({ ...doc, seal: sealOf(doc, null) }, null, 2);
  it.each([
    ['not JSON', 'plan: yes', /not JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['no format_version', '{"steps": []}', /no format_version/],
    [
      'a newer format_version',
      '{"format_version": "2"}',
      /is format 2, written by a newer poolsync/,
    ],
    ['an older format_version', '{"format_version": "0"}', /format_version "0"/],
    [
      'a step with an unknown op (sealed)',
      sealed({
        ...JSON.parse(readFileSync('test/golden/plan-empty.json', 'utf8')),
        steps: [
          {
            id: 's1',
            op: 'drain_cluster',
            target: 'Cluster/a',
            depends_on: [],
            args: {},
            execution: 'api',
          },
        ],
      }),
      /not a valid plan: steps\.0\.op/,
    ],
  ])('rejects %s with a clear message', (_what, text, message) => {
    expect(() => parsePlanFile(text, 'x.json', { key: null })).toThrow(PlanFileError);
    expect(() => parsePlanFile(text, 'x.json', { key: null })).toThrow(message);
  });
});

describe('renderers', () => {
  const plan = computePlan(
    desired({ pools: { prod: contract('prod') }, clusters: { a: { pool: 'prod' } } }),
    live({ pools: { prod: contract('prod') }, clusters: { a: { enabled: false, pool: 'prod' } } }),
  );

  it('text uses ANSI colour only when asked', () => {
    expect(renderText(plan, { color: true })).toContain('\x1b[');
    expect(renderText(plan, { color: false })).not.toContain('\x1b[');
  });

  it('text: "No changes." when nothing would be sent or blocked', () => {
    const none = computePlan(desired({ clusters: { a: {} } }), live({ clusters: { a: {} } }));
    const text = renderText(none, { color: false });
    expect(text).toMatch(/^No changes\./);
    expect(text).not.toContain('Plan:');
    expect(renderMarkdown(none)).toMatch(/^\*\*No changes\.\*\*/);
  });

  it('a failed plan without changes never says "No changes"; rendered files that would change are named instead', () => {
    const none = computePlan(desired({ clusters: { a: {} } }), live({ clusters: { a: {} } }));
    const failed: Plan = {
      ...none,
      errors: [{ code: 'BACKEND_KIND', address: 'Queue/q', location: null, message: 'no queues' }],
    };
    const text = renderText(failed, { color: false });
    expect(text).not.toContain('No changes');
    expect(text).toContain('Plan failed with 1 error: nothing will be applied.');
    expect(renderMarkdown(failed).split('\n')[0]).toBe('**Plan failed:** see its errors below.');
    const files = renderText(none, {
      color: false,
      renderedFiles: [{ path: 'deploy/pools.yaml' }],
    });
    expect(files).not.toContain('matches the repository');
    expect(files).toMatch(
      /^No changes to send to the control plane\. The repository changes what it has no API for: rendered file deploy\/pools\.yaml, below\.$/m,
    );
  });

  it("a daemon run's kinds with no rendered file named read as the CLI's; one a newer build recorded is left out", () => {
    const none = computePlan(desired({ clusters: { a: {} } }), live({ clusters: { a: {} } }));
    const run = { unnamedRender: [{ kind: 'flyte-core-values' }, { kind: 'a-newer-kind' }] };
    expect(renderText(none, { color: false, ...renderedOfRun(run) })).toMatch(
      /^No changes to send to the control plane\. The repository declares ExecutionCluster and ClusterLabel objects, which have no API and no rendered file to compare them with \(poolsync\.yaml render\): whether they changed is unknown, above\.$/m,
    );
  });

  it('text and markdown end / start with the closing Plan line', () => {
    expect(renderText(plan, { color: false }).trimEnd().split('\n').at(-1)).toBe(
      'Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 blocked.',
    );
    expect(renderMarkdown(plan).split('\n')[0]).toBe(
      '**Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 blocked.**',
    );
  });

  it('markdown stays under its size budget for big plans', () => {
    const clusters = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`c${i}`, {}]));
    const big = computePlan(desired({ clusters }), live());
    const md = renderMarkdown(big, { maxChars: 20_000 });
    expect(md.length).toBeLessThanOrEqual(20_000);
    expect(md).toMatch(/more changes not shown/);
  });

  it('JSON is the plan as-is, in plan.md key order', () => {
    expect(Object.keys(JSON.parse(renderJson(plan)))).toEqual([
      'format_version',
      'desired_fingerprint',
      'live_fingerprint',
      'commit',
      'summary',
      'counts',
      'changes',
      'steps',
      'warnings',
      'errors',
      'capabilities',
    ]);
  });
});
