/**
 * One side of the differential planner check (scripts/differential-plan.ts): plans every case
 * of a recording (record.ts) with the modules of `--tree` and renders each plan (text with and
 * without colour, JSON, Markdown whole and cut), with what else reads a plan (counts, the part
 * held for approval, the state it leaves, the refresh report), one JSON line per case.
 */
import { createReadStream, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/* eslint-disable @typescript-eslint/no-explicit-any -- either tree's modules, read untyped */
type Any = any;

const { values } = parseArgs({
  options: { tree: { type: 'string' }, cases: { type: 'string' }, out: { type: 'string' } },
});
const tree = resolve(values.tree ?? '.');
const from = (path: string): Promise<Any> => import(pathToFileURL(join(tree, path)).href);
/** The first of PATHS the tree has (a module merged into another keeps its old path in the base). */
const fromFirst = (...paths: string[]): Promise<Any> =>
  from(paths.find((p) => existsSync(join(tree, p))) ?? paths.at(-1)!);

const [pipeline, against, render, refresh, applied, counts, hold] = await Promise.all([
  fromFirst('src/ops/pipeline.ts', 'src/ops/plan-run.ts'),
  fromFirst('src/plan/plan-against.ts', 'src/plan/index.ts'),
  Promise.all(['text', 'json', 'markdown'].map((m) => from(`src/render/${m}.ts`))).then(
    (modules) => Object.assign({}, ...modules) as Any,
  ),
  from('src/render/refresh.ts'),
  fromFirst('src/plan/applied-state.ts', 'src/plan/inventory.ts'),
  from('src/plan/counts.ts'),
  from('src/plan/hold.ts'),
]);
const { driftSince } = await from('src/plan/refresh.ts');

/** The planner's options of a case, whichever request type the tree takes. */
interface Request {
  backend?: Any;
  environment?: string;
  replace?: string[];
  targets?: string[];
}

const planData = (desired: Any, live: Any, req: Request): Any =>
  against.planAgainst(desired, live, { commit: null, ...req });

async function planFolder(dir: string, live: Any, req: Request): Promise<Any> {
  const result = await pipeline.planRepository(dir, () => Promise.resolve(live), {
    commit: null,
    ...req,
  });
  return result.ok ? result.plan : { invalid: result.errors };
}

/** test/apply/helpers/manual-backend.ts's instructions: the runbook's cases. */
function manualInstruction(step: Any): Any {
  switch (step.op) {
    case 'create_pool':
      return {
        reason: 'this test backend has no API to create a cluster pool',
        command: `flyte create cluster-pool ${step.args.name} --file ${step.args.name}.yaml`,
        file: {
          name: `${step.args.name}.yaml`,
          content: `${JSON.stringify({ name: step.args.name, contract: step.args.contract }, null, 2)}\n`,
        },
      };
    case 'register_cluster':
      return {
        reason: 'this test backend has no API to register a cluster',
        command: `flyte create cluster ${step.args.name} --pool ${step.args.pool}`,
      };
    case 'update_cluster':
      return {
        reason: 'this test backend has no API to enable or disable a cluster',
        command: `# ${step.args.enabled ? 'enable' : 'disable'} cluster ${step.args.name} in the console`,
      };
    default:
      return null;
  }
}

function rendered(plan: Any, live: Any): Record<string, string> {
  const split = hold.splitHeld(plan);
  return {
    text: render.renderText(plan, { color: false }),
    color: render.renderText(plan, { color: true }),
    json: render.renderJson(plan),
    markdown: render.renderMarkdown(plan),
    'markdown cut': render.renderMarkdown(plan, { maxChars: 3_000 }),
    counts: JSON.stringify(counts.countPlan(plan)),
    held: JSON.stringify({
      fingerprint: split.fingerprint,
      held: split.held.map((c: Any) => c.address),
      steps: split.heldSteps.map((s: Any) => s.id),
      now: split.now === plan ? 'plan' : render.renderJson(split.now),
    }),
    applied: JSON.stringify(applied.appliedState(live, plan)),
  };
}

function refreshed(last: Any, now: Any): Record<string, string> {
  const report = driftSince(
    { format_version: '1', applied_at: '2020-01-01T00:00:00.000Z', commit: null, live: last },
    now,
  );
  return {
    text: refresh.renderRefreshText(report),
    markdown: refresh.renderRefreshMarkdown(report),
    json: refresh.renderRefreshJson(report),
  };
}

async function run(c: Any): Promise<Record<string, string>> {
  if (c.refresh) {
    const { desired, live, now } = c.refresh;
    const left = applied.appliedState(live, planData(desired, live, {}));
    const after = refreshed(left, now);
    const before = refreshed(left, live);
    return Object.fromEntries([
      ...Object.entries(after).map(([k, v]) => [`after ${k}`, v]),
      ...Object.entries(before).map(([k, v]) => [`before ${k}`, v]),
    ]);
  }
  const backend = c.manual
    ? {
        ...c.backend,
        manualStep: (s: Any) => (c.manual.includes(s.op) ? manualInstruction(s) : null),
      }
    : c.backend;
  const req: Request = {
    backend,
    ...c.opts,
    ...(c.environment ? { environment: c.environment } : {}),
  };
  let plan = c.dir ? await planFolder(c.dir, c.live, req) : planData(c.desired, c.live, req);
  if (plan.invalid) return { invalid: JSON.stringify(plan.invalid) };
  if (c.control_plane) plan = { ...plan, control_plane: c.control_plane };
  return rendered(plan, c.live);
}

const lines: string[] = [];
for await (const line of createInterface({ input: createReadStream(values.cases!) })) {
  if (line === '') continue;
  const c = JSON.parse(line) as Any;
  let out: Record<string, string>;
  try {
    out = await run(c);
  } catch (err) {
    out = { error: err instanceof Error ? err.message : String(err) };
  }
  lines.push(JSON.stringify({ id: c.id, out }));
}
await writeFile(values.out!, `${lines.join('\n')}\n`);
