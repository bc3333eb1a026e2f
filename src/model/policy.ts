import { createHash } from 'node:crypto';

/**
 * What policies said of a plan (docs/policies.md): conftest's conventions over the plan JSON,
 * evaluated by OPA (src/policy/). Data only: src/render/policy.ts words it.
 */

/** One message of a `deny`/`violation` (a failure) or `warn` rule (conftest's names). */
export interface PolicyFinding {
  /** The rule that produced it: `deny`, `violation`, `warn`, or a prefixed one (`deny_pools`). */
  rule: string;
  msg: string;
  /** The object the message is about: the `address` member of an object result (`Queue/q`). */
  address?: string;
  /** Where that object is declared, `file:line` (relative to the repository folder). */
  location?: string;
  /**
   * The set it is from when not the plan's own (the daemon's `policies of the last applied commit
   * 0a1b2c3d4e5f`); not in the failures' digest, so a pull request's approval still names them.
   */
  set?: string;
}

/** A listed owner's release of a policy set's failures (docs/policies.md, Owners). */
export interface PolicyApproval {
  /** The principal who approved: a user (`alice`), `team:org/slug`, `group:path` as listed. */
  by: string;
  why: string;
  /** The failures released: their digest (`policyFailuresDigest`); others are not released. */
  failures: string;
  at: string;
}

export interface PolicyReport {
  /** The policy folder as configured (relative to the repository when inside it). */
  source: string;
  /** Where it was read: the working tree, or the base commit of a pull request. */
  from: 'folder' | 'base';
  /** Rego files read, and `deny`/`violation`/`warn` rules evaluated (0 is a failure). */
  files: number;
  rules: number;
  /** Failures (deny, violation): each blocks apply until an owner approves. */
  deny: PolicyFinding[];
  warn: PolicyFinding[];
  /** Why the policies could not be evaluated: fails closed, as a failure nobody can approve. */
  error?: string;
  /** OPA's own time, from spawn to exit (the bench reads it). */
  elapsed_ms: number;
  /** The policy set's owners (principal strings), who may approve its failures. */
  owners: string[];
  /** `sha256:…` of the failures (failuresDigest): what an owner's approval names. */
  failures?: string;
  approval?: PolicyApproval;
  /** Why the newest approval of these failures was refused (its author, not an owner). */
  refused?: string;
  /** Why the pull request's approval comments could not be read (the forge's words): none counts. */
  unread?: string;
  /**
   * The daemon's: the policies of the commit it last applied judged the plan too (docs/policies.md,
   * Where policies come from). `set`: what they were, evaluated beside the loaded commit's; `same`:
   * the same files, evaluated once; `only`: the loaded commit configures none, so the report is
   * theirs; `unread`: it could not be read (a rewritten branch), so the loaded commit's set judged
   * alone, and `unread` says why. `owners`: the owners are that commit's, the loaded commit
   * listing others. `push`: CLI on a push event, the commit is the one before the push (its
   * `before`), judged as the daemon judges by the last applied commit.
   */
  lastApplied?: {
    commit: string;
    set: { source: string; files: number; rules: number } | 'same' | 'only' | 'unread';
    owners: boolean;
    unread?: string;
    push?: true;
  };
  /** CI on a push-like run that names no commit before it: why this commit's set judged alone. */
  alone?: string;
}

/** `the last applied commit 0a1b2c3d4e5f`, or on a push event `the commit before this push …`. */
export const earlierCommit = (l: { commit: string; push?: true }) =>
  `${l.push ? 'the commit before this push' : 'the last applied commit'} ${l.commit.slice(0, 12)}`;

/** The verdict a plan's policies give apply: `pass`, `approved` (an owner released it), or not. */
export function policyVerdict(r: PolicyReport): 'pass' | 'warn' | 'approved' | 'deny' | 'error' {
  if (r.error !== undefined || r.rules === 0) return 'error';
  if (r.deny.length > 0) return r.approval ? 'approved' : 'deny';
  return r.warn.length > 0 ? 'warn' : 'pass';
}

/** Whether apply may go on after these policies. */
export function policyAllows(r: PolicyReport | null | undefined): boolean {
  if (!r) return true;
  const v = policyVerdict(r);
  return v !== 'deny' && v !== 'error';
}

/** `sha256:…` of the failures, in a stable order: an approval releases exactly these. */
export function failuresDigest(report: Pick<PolicyReport, 'deny'>): string {
  const lines = report.deny.map((f) => JSON.stringify([f.rule, f.msg, f.address ?? null])).sort();
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}
