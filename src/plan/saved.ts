/**
 * Saved plans (`plan --out FILE`, read by `show`): parsed and checked against
 * schemas/plan.schema.json so that a file which is not a plan, or a plan of another
 * format_version, is refused with a message naming the file and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../model/plan.js';

export class SavedPlanError extends Error {
  override readonly name = 'SavedPlanError';
}

/** Plans are JSON text; a cap keeps a wrong path (an image, a log) from being read whole. */
const MAX_BYTES = 64 * 1024 * 1024;

/** schemas/ sits two levels above this module both in src/plan and dist/plan. */
const SCHEMA_URL = new URL('../../schemas/plan.schema.json', import.meta.url);

let validator: ValidateFunction | null = null;
export function planValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object);
  }
  return validator;
}

export async function readSavedPlan(path: string): Promise<Plan> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SavedPlanError(
      code === 'ENOENT'
        ? `plan file ${path} does not exist`
        : `cannot read plan file ${path}: ${code ?? String(err)}`,
    );
  }
  if (buf.length > MAX_BYTES)
    throw new SavedPlanError(`${path} is too large to be a plan (over 64 MiB)`);
  return parseSavedPlan(buf.toString('utf8'), path);
}

export function parseSavedPlan(text: string, where: string): Plan {
  const hint = 'save a plan with `poolsync plan --out FILE`';
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SavedPlanError(
      `${where} is not a plan: not JSON (${(err as Error).message}); ${hint}`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SavedPlanError(`${where} is not a plan: expected a JSON object; ${hint}`);
  }
  const version = (data as Record<string, unknown>).format_version;
  if (version === undefined)
    throw new SavedPlanError(`${where} is not a plan: it has no format_version; ${hint}`);
  if (version !== PLAN_FORMAT_VERSION) {
    throw new SavedPlanError(
      `${where} is a plan of format_version ${JSON.stringify(version)}; this poolsync reads format_version ` +
        `"${PLAN_FORMAT_VERSION}": plan again with this version`,
    );
  }
  const validate = planValidator();
  if (!validate(data)) {
    const e = validate.errors?.[0];
    const at = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
    throw new SavedPlanError(
      `${where} is not a valid plan: ${at} ${e?.message ?? 'is invalid'}; ${hint}`,
    );
  }
  return data as Plan;
}
