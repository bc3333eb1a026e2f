/**
 * Saved plans (`poolsync plan --output json --out FILE`, plan.md JSON format): read and
 * checked for shape before anything runs, so a truncated or hand-edited file is refused
 * with a message naming the file and the faulty field rather than failing mid-apply.
 */
import { readFile } from 'node:fs/promises';
import { PLAN_FORMAT_VERSION, STEP_KINDS, type Plan } from '../model/plan.js';

export class PlanFileError extends Error {
  override readonly name = 'PlanFileError';
}

/** Every op the planner can emit (one list, model/plan.ts). */
const STEP_OPS: ReadonlySet<string> = new Set<string>(STEP_KINDS);

/** Plan files are small JSON; a cap keeps a wrong path (a disk image, a log) from being slurped. */
const MAX_PLAN_FILE_BYTES = 64 * 1024 * 1024;

export async function readPlanFile(path: string): Promise<Plan> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_PLAN_FILE_BYTES)
      throw new PlanFileError(`${path}: a plan file is at most 64 MiB`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof PlanFileError) throw err;
    throw new PlanFileError(`cannot read plan file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PlanFileError(
      `${path} is not a JSON plan (${(err as Error).message}); save one with \`poolsync plan --output json --out ${path}\``,
    );
  }
  return checkPlanShape(data, path);
}

export function checkPlanShape(data: unknown, where: string): Plan {
  const fail = (what: string): never => {
    throw new PlanFileError(
      `${where}: ${what}; save the plan again with \`poolsync plan --output json --out FILE\``,
    );
  };
  if (!isObject(data)) return fail('expected a JSON object (a saved plan)');
  if (data.format_version !== PLAN_FORMAT_VERSION) {
    return fail(
      `format_version is ${JSON.stringify(data.format_version)}, expected "${PLAN_FORMAT_VERSION}"`,
    );
  }
  for (const field of ['live_fingerprint', 'desired_fingerprint'] as const) {
    if (typeof data[field] !== 'string' || data[field] === '') fail(`${field} is missing`);
  }
  for (const field of ['changes', 'steps', 'warnings', 'errors'] as const) {
    if (!Array.isArray(data[field])) fail(`${field} must be an array`);
  }
  if (!isObject(data.summary)) fail('summary is missing');
  (data.steps as unknown[]).forEach((step, i) => {
    const at = `steps[${i}]`;
    if (!isObject(step)) return fail(`${at} must be an object`);
    if (typeof step.id !== 'string') fail(`${at}.id must be a string`);
    if (typeof step.op !== 'string' || !STEP_OPS.has(step.op)) {
      fail(`${at}.op ${JSON.stringify(step.op)} is not a step this version can run`);
    }
    if (typeof step.target !== 'string') fail(`${at}.target must be a string`);
    if (!Array.isArray(step.depends_on) || !step.depends_on.every((d) => typeof d === 'string')) {
      fail(`${at}.depends_on must be an array of step ids`);
    }
    if (!isObject(step.args)) fail(`${at}.args must be an object`);
  });
  (data.changes as unknown[]).forEach((change, i) => {
    if (
      !isObject(change) ||
      typeof change.address !== 'string' ||
      typeof change.action !== 'string'
    ) {
      fail(`changes[${i}] must have an address and an action`);
    }
  });
  return data as unknown as Plan;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
