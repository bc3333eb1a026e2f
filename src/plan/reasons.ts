/**
 * Reasons as data (docs/plan.md, One voice): the planner decides once per object why it
 * changes the way it does and records that decision as a code and its parameters
 * (`Change.cause`, `Change.why`, `PlanWarning.params`). This catalog is the one place that
 * turns a code into words; the text plan, the markdown comment, the JSON's `reason` and
 * `message`, the dashboard and notifications all read it, so they cannot tell different stories.
 * Its words live in src/plan/words/ (one table per part of the planner); it stays in src/plan
 * because the planner fills `Change.reason` from it (the JSON contract) and render/ sits above
 * plan/ in the layers (docs/architecture.md).
 *
 * Adding a code: add it to a table of src/plan/words/ with the parameters it reads
 * (test/plan/reason-catalog.test.ts checks every call names a code with words, and passes the
 * parameters its words read). A plan carrying a code this poolsync does not know (a newer
 * writer) falls back to the text stored beside it.
 */
import type { PlanError, PlanWarning, Reason, ReasonParams } from '../model/plan.js';
import { CAUSES } from './words/causes.js';
import type { Words } from './words/params.js';
import { CLUSTER_REASONS, CLUSTER_WARNINGS } from './words/clusters.js';
import { BACKEND_ERRORS, ERRORS } from './words/errors.js';
import { LABEL_WARNINGS } from './words/labels.js';
import { FLYTEADMIN_REASONS } from './words/flyteadmin.js';
import { POOL_REASONS } from './words/pools.js';
import { UNMANAGED } from './words/prune.js';
import { QUEUE_REASONS } from './words/queues.js';
import { ROUTING_CAUSES, WARNINGS } from './words/warnings.js';

export { describeScope, scopeParams } from './words/prune.js';

const CATALOG: Readonly<Record<string, Words>> = {
  ...CAUSES,
  ...UNMANAGED,
  ...POOL_REASONS,
  ...CLUSTER_REASONS,
  ...QUEUE_REASONS,
  ...WARNINGS,
  ...ROUTING_CAUSES,
  ...CLUSTER_WARNINGS,
  ...FLYTEADMIN_REASONS,
  ...ERRORS,
  ...BACKEND_ERRORS,
  ...LABEL_WARNINGS,
};

/** Every code the catalog has words for. */
export function reasonCodes(): string[] {
  return Object.keys(CATALOG);
}

/**
 * The codes the plan JSON carries as data (`why`, `cause`, a warning's `params`): those it
 * carried before every reason became a code (issue 37). The others are data in memory (the
 * text plan, markdown, dashboard read them) and words only in the JSON (`reason`, `message`),
 * so a plan's JSON stays what it was (docs/plan.md, One voice).
 */
const IN_JSON: ReadonlySet<string> = new Set([
  ...Object.keys(CAUSES),
  ...Object.keys(UNMANAGED),
  'CONAMED_QUEUE_POOL_FIXED',
  ...Object.keys(WARNINGS),
]);

/** Whether the plan JSON carries a reason of this code as data (else its words only). */
export function reasonInJson(code: string): boolean {
  return IN_JSON.has(code);
}

/** Whether this poolsync has words for `code`. */
export function knownReason(code: string): boolean {
  return Object.hasOwn(CATALOG, code);
}

/** A reason in words; null for a code this poolsync does not know. */
export function reasonText(reason: Reason): string | null {
  return knownReason(reason.code) ? CATALOG[reason.code]!(reason.params) : null;
}

/** A reason made from its code and parameters (the code must be in the catalog). */
export function reasonOf(code: string, params: ReasonParams): Reason {
  if (!knownReason(code)) throw new Error(`no words for reason ${code}`);
  return { code, params };
}

/** A warning whose message is rendered from its code and parameters. */
export function warning(code: string, address: string, params: ReasonParams): PlanWarning {
  return { code, address, message: reasonText(reasonOf(code, params))!, params };
}

/**
 * A warning worded by the catalog that keeps no `params` (the label warnings, whose objects
 * callers compare whole: their data would be a new member of the object).
 */
export function wordedWarning(code: string, address: string, params: ReasonParams): PlanWarning {
  return { code, address, message: reasonText(reasonOf(code, params))! };
}

/** An error of the plan whose message is rendered from its code and parameters. */
export function planError(
  code: string,
  address: string | null,
  params: ReasonParams,
  location: string | null,
): PlanError {
  return { code, address, message: reasonText(reasonOf(code, params))!, location, params };
}

/** The message of a warning as this poolsync words it (its stored text for an unknown code). */
export function warningText(w: PlanWarning): string {
  return (w.params && reasonText({ code: w.code, params: w.params })) ?? w.message;
}

/** The words of a change's cause (Change.cause), or null when it has none. */
export function causeText(change: { cause?: Reason | null }): string | null {
  return change.cause ? reasonText(change.cause) : null;
}

/** The words of a change's reason: from its code when known, else the stored text. */
export function whyText(change: { why?: Reason | null; reason: string | null }): string | null {
  return (change.why && reasonText(change.why)) ?? change.reason;
}
