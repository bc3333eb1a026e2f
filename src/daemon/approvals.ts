/**
 * Approvals of held plans (policy `safe`, docs/daemon.md#approvals). The gate stage says what
 * is held (`hold`); a person approves exactly that fingerprint (`POST /approve`, `poolsync
 * approve`, or a `poolsync apply` comment: pull-requests.ts); the next run applies the held part
 * only when its fingerprint is the approved one (`take`) and, for a comment's, its commit is
 * that pull request merged at the approved head, as the forge reads it then. Anything else is
 * refused with why.
 */
import { approvalWords, type commentWords } from '../render/daemon-words.js';
import { fieldLines, whyText } from '../render/common.js';
import type { Change } from '../model/plan.js';
import type { ApproverAction, ApproverRules } from '../model/desired.js';
import { heldRule, ruleFor, type PrincipalRule } from '../vcs/principals.js';
import { editDistance } from '../manifests/suggest.js';
import type { PolicyApproval, PolicyReport } from '../model/policy.js';
import { PolicyApprovals } from '../policy/approvals.js';
import type { Provider } from '../vcs/types.js';

/** One change as /status and the approvals list it. */
export interface ChangeBrief {
  address: string;
  action: string;
  /** Why it is blocked or held. */
  reason: string | null;
  /**
   * A held change's field lines as `poolsync plan` shows them (`pool: "dev" → "default"  #
   * forces replacement`): what an approver approves. Absent in records written before it.
   */
  fields?: string[];
}

/** Its reason in the catalog's words (src/render/reasons.ts); `fields` for a held change. */
export function briefOf(c: Change, fields = false): ChangeBrief {
  const brief = { address: c.address, action: c.action, reason: whyText(c) };
  if (!fields) return brief;
  const lines = fieldLines(c).map((f) => `${f.text}${f.forces ? '  # forces replacement' : ''}`);
  return { ...brief, fields: lines };
}

export type ApprovalVia = 'api' | 'github' | 'gitlab';

export interface ApprovalRecord {
  fingerprint: string;
  approver: string;
  via: ApprovalVia;
  /** `github:acme/pools#7` for a comment; null for the API. */
  source: string | null;
  at: string;
  /** The approvers rule that allowed it and the principal that matched (absent: no rule). */
  rule?: string;
  principal?: string;
  /** A comment's: the pull request and its head commit when granted (absent: the API). */
  pullRequest?: { provider: Provider; number: number; head: string };
}

/** A pull request as the forge reports it now: its head, and whether and as what it was merged. */
export interface PullRequestState {
  headSha: string;
  open: boolean;
  merged: boolean;
  /** A merged one's commit on the base branch (a merge, squash or the last rebased commit). */
  mergeCommit: string | null;
}

export type PullRequestReader = (provider: Provider, number: number) => Promise<PullRequestState>;

export interface HeldPlan {
  fingerprint: string;
  commit: string | null;
  since: string;
  changes: ChangeBrief[];
}

export interface ApprovalStatus {
  /** What waits for approval now (null: nothing held). */
  pending: HeldPlan | null;
  /** Approved, not applied yet (a pull request approved before it was merged). */
  granted: ApprovalRecord[];
  lastApplied: (ApprovalRecord & { commit: string | null; appliedAt: string }) | null;
  lastRefused: (Omit<ApprovalRecord, 'source'> & { reason: string }) | null;
  /**
   * Who may approve (poolsync.yaml `approvers:` of the commit last loaded): the rule and its
   * principals; null: no rule (a writer by comment, the admin token by the API); absent: the
   * repository is not read yet.
   */
  approvers?: PrincipalRule | null;
}

export function approvalFields(a: ApprovalRecord): Omit<ApprovalRecord, 'at'> {
  const { fingerprint, approver, via, source, rule, principal } = a;
  return { fingerprint, approver, via, source, ...(rule ? { rule, principal } : {}) };
}

export type ApprovalAnswer = { ok: true; record: ApprovalRecord } | { ok: false; reason: string };

/**
 * The unit an approval is for: the daemon's one (naming an environment is refused), or the one
 * named; naming none with environments, `unnamed` decides (the API: the one holding the
 * fingerprint; a comment must name one). Else the reason, in the channel's words.
 */
export function approvalTarget<U extends { name: string | null }>(
  units: readonly U[],
  environment: string | undefined,
  words: typeof approvalWords | typeof commentWords,
  unnamed: (names: string[]) => U | string,
): U | string {
  const sole = units[0]!.name === null ? units[0]! : null;
  if (sole !== null)
    return environment === undefined ? sole : words.withoutEnvironments(environment);
  const names = units.map((u) => u.name!);
  if (environment === undefined) return unnamed(names);
  return units.find((u) => u.name === environment) ?? words.noSuchEnvironment(environment, names);
}

/** A granted approval not applied within this long is dropped (the plan has surely moved). */
const GRANT_TTL_MS = 24 * 3600_000;

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;

/** How many fingerprints held earlier are remembered, to tell a stale one from a typo. */
const HELD_BEFORE = 256;

/** A fingerprint this close to the held one is a typo of it (two random ones differ in ~60). */
const TYPO_DISTANCE = 4;

export class Approvals {
  private pending: HeldPlan | null = null;
  /** By fingerprint and source: one pull request's approval never stands in for another's. */
  private readonly granted = new Map<string, ApprovalRecord>();
  /** By fingerprint, approvals their pull request withdrew (new commits, closed unmerged), and why. */
  private readonly withdrawn = new Map<string, { record: ApprovalRecord; why: string }>();
  /** Reads a pull request from its forge (pull-requests.ts). */
  private readPullRequest: PullRequestReader = (provider) =>
    Promise.reject(new Error(`${provider} is not configured on this daemon`));
  /** What was held before (oldest first), so an approval of one is stale, not unknown. */
  private readonly heldBefore = new Set<string>();
  private lastApplied: ApprovalStatus['lastApplied'] = null;
  private lastRefused: ApprovalStatus['lastRefused'] = null;

  /** poolsync.yaml `approvers:` of the commit last loaded; `unread` until one is. */
  private rules: ApproverRules | null | 'unread';

  constructor(
    /** `rule`: the approvers rule that refused it. */
    private readonly onEvent: (
      result: 'accepted' | 'refused' | 'applied',
      via: ApprovalVia,
      rule?: string,
    ) => void = () => {},
    /** The unit's: its environment (null: none), and whether its rules come from a load. */
    private readonly unit: { environment: string | null; fromRepository: boolean } = {
      environment: null,
      fromRepository: false,
    },
  ) {
    this.rules = unit.fromRepository ? 'unread' : null;
  }

  /** The forge that tells whether an approval's pull request was merged, and as what commit. */
  readPullRequestsWith(reader: PullRequestReader): void {
    this.readPullRequest = reader;
  }

  /** The last applied commit's `approvers:` when it is not the loaded commit (merged-rules.ts). */
  private appliedRules: { commit: string; approvers: ApproverRules | null } | null = null;

  /**
   * The rules stage: the rules of the commit it loaded (the followed branch, never a pull
   * request), and those of the commit last applied, which hold where the loaded ones are looser.
   */
  setApprovers(
    rules: ApproverRules | undefined,
    applied: { commit: string; approvers: ApproverRules | null } | null = null,
  ): void {
    this.rules = rules ?? null;
    this.appliedRules = applied;
  }

  /**
   * The rule of `action` in this environment: null without one, `unread` before the first commit
   * is loaded (docs/daemon.md#approvers).
   */
  ruleOf(action: ApproverAction): PrincipalRule | null | 'unread' {
    if (this.rules === 'unread') return 'unread';
    const own = ruleFor(this.rules, this.unit.environment, action);
    const applied = this.appliedRules;
    if (applied === null) return own;
    const theirs = ruleFor(applied.approvers, this.unit.environment, action);
    return heldRule(own, theirs, applied.commit);
  }

  status(): ApprovalStatus {
    this.expire();
    const approvers = this.ruleOf('approve');
    return structuredClone({
      pending: this.pending,
      granted: [...this.granted.values()],
      lastApplied: this.lastApplied,
      lastRefused: this.lastRefused,
      ...(approvers === 'unread' ? {} : { approvers }),
    });
  }

  /** Fingerprints held before this process (kept runs' heldFingerprint): stale when approved, not typos. */
  rememberHeld(fingerprints: Iterable<string>): void {
    for (const fp of fingerprints) this.heldBefore.add(fp);
    for (const fp of this.heldBefore) {
      if (this.heldBefore.size <= HELD_BEFORE) break;
      this.heldBefore.delete(fp);
    }
  }

  /**
   * Whether `fingerprint` is this unit's: held now, held before, or a typo of what it holds
   * (with environments, the one an approval naming none is for).
   */
  concerns(fingerprint: string): boolean {
    const held = this.pending?.fingerprint;
    return (
      held === fingerprint ||
      this.heldBefore.has(fingerprint) ||
      (held !== undefined && isTypoOf(fingerprint, held))
    );
  }

  hold(held: Omit<HeldPlan, 'since'> | null): void {
    if (this.pending !== null && this.pending.fingerprint !== held?.fingerprint) {
      this.heldBefore.delete(this.pending.fingerprint);
      this.rememberHeld([this.pending.fingerprint]);
    }
    if (held === null) this.pending = null;
    else if (this.pending?.fingerprint !== held.fingerprint)
      this.pending = { ...held, since: new Date().toISOString() };
    else this.pending = { ...this.pending, commit: held.commit };
  }

  /** Only what is held now, or with `anyPlan` (a comment on a checked plan) one not merged yet. */
  approve(
    request: {
      fingerprint: string;
      approver: string;
      via: ApprovalVia;
      source?: string | null;
      rule?: string;
      principal?: string;
      pullRequest?: ApprovalRecord['pullRequest'];
    },
    anyPlan = false,
  ): ApprovalAnswer {
    const refuse = (reason: string): ApprovalAnswer => {
      this.refuse(request, reason);
      return { ok: false, reason };
    };
    const pending = this.pending;
    const asked = request.fingerprint;
    // A typo of the held one (`did you mean`), unless it is one held before: a moved plan.
    const typo = !anyPlan && pending !== null && isTypoOf(asked, pending.fingerprint);
    if (!FINGERPRINT.test(asked))
      return refuse(
        `${approvalWords.notAFingerprint(asked)}${typo ? ` (did you mean ${pending.fingerprint}?)` : ''}`,
      );
    if (!anyPlan) {
      if (pending === null) return refuse(approvalWords.nothingHeld);
      if (pending.fingerprint !== asked)
        return refuse(
          this.heldBefore.has(asked)
            ? approvalWords.heldMoved(pending.fingerprint, pending.commit, asked)
            : approvalWords.noSuchPlan(asked, pending.fingerprint, pending.commit, typo),
        );
    }
    // One approval suffices: a second would replace who approved (a freeze keeps it waiting).
    const already = this.approvalOf(asked);
    if (already !== null) return refuse(approvalWords.heldApproved(already));
    const record: ApprovalRecord = {
      fingerprint: request.fingerprint,
      approver: request.approver,
      via: request.via,
      source: request.source ?? null,
      at: new Date().toISOString(),
      ...(request.rule ? { rule: request.rule, principal: request.principal } : {}),
      ...(request.pullRequest ? { pullRequest: request.pullRequest } : {}),
    };
    this.granted.set(`${record.fingerprint} ${record.source ?? ''}`, record);
    this.withdrawn.delete(record.fingerprint);
    this.onEvent('accepted', request.via);
    return { ok: true, record };
  }

  /** The approval granted for `fingerprint` that no merge conditions (by the API), or null. */
  private approvalOf(fingerprint: string): ApprovalRecord | null {
    this.expire();
    const all = [...this.granted.values()];
    return all.find((r) => r.fingerprint === fingerprint && !r.pullRequest) ?? null;
  }

  /** A refusal decided outside (a comment from a user without permission, a stale PR plan). */
  refuse(
    request: Pick<ApprovalRecord, 'fingerprint' | 'approver' | 'via'> & { rule?: string },
    reason: string,
  ): void {
    const { fingerprint, approver, via, rule } = request;
    const at = new Date().toISOString();
    this.lastRefused = { fingerprint, approver, via, reason, at, ...(rule ? { rule } : {}) };
    this.onEvent('refused', via, rule);
  }

  /**
   * Pull request `number` got a new head, or was closed without merge (`head` null): what was
   * approved on it is not what it holds now, so its approvals are withdrawn (returned).
   */
  withdraw(provider: Provider, number: number, head: string | null, why: string): ApprovalRecord[] {
    const gone: ApprovalRecord[] = [];
    for (const [key, r] of this.granted) {
      const pr = r.pullRequest;
      if (pr?.provider !== provider || pr.number !== number || pr.head === head) continue;
      this.granted.delete(key);
      this.withdrawn.set(r.fingerprint, { record: r, why });
      gone.push(r);
    }
    return gone;
  }

  /**
   * The gate stage: the approval of exactly these held changes, consumed, when one reaches
   * `commit` (`merged`); else null and why each approval of them does not (the held message).
   */
  async take(
    fingerprint: string,
    commit: string | null,
    contains: (ancestor: string) => Promise<boolean>,
  ): Promise<{ approval: ApprovalRecord | null; why: string[] }> {
    this.expire();
    const why: string[] = [];
    const gone = this.withdrawn.get(fingerprint);
    if (gone) why.push(approvalWords.withdrawn(gone.record, gone.why));
    for (const [key, record] of this.granted) {
      if (record.fingerprint !== fingerprint) continue;
      const not = await this.notMerged(record, commit, contains);
      if (not !== null) {
        why.push(not);
        continue;
      }
      this.granted.delete(key);
      this.lastApplied = { ...record, commit, appliedAt: new Date().toISOString() };
      this.onEvent('applied', record.via);
      return { approval: record, why: [] };
    }
    return { approval: null, why };
  }

  /**
   * Why approval `r` by comment is not for `commit`, or null: its pull request, read from the
   * forge now, is still at the approved head and open or merged, and the commit contains that
   * head (a merge, a fast-forward) or the commit the forge says it was merged as (a squash or
   * rebase). An API approval is of the held plan.
   */
  private async notMerged(
    r: ApprovalRecord,
    commit: string | null,
    contains: (ancestor: string) => Promise<boolean>,
  ): Promise<string | null> {
    const pr = r.pullRequest;
    if (!pr) return null;
    if (commit === null) return approvalWords.noCommit(r);
    try {
      // Read at every use: the event that withdrew it may have reached another replica only (HA);
      // the reader withdraws it then (pull-requests.ts), and says so on the pull request.
      const now = await this.readPullRequest(pr.provider, pr.number);
      if (!now.open && !now.merged) return approvalWords.withdrawn(r, approvalWords.closedUnmerged);
      if (now.headSha !== pr.head)
        return approvalWords.withdrawn(r, approvalWords.newCommits(now.headSha));
      if (await contains(pr.head)) return null;
      if (now.merged && now.mergeCommit !== null && (await contains(now.mergeCommit))) return null;
      return approvalWords.notMerged(r, commit, now);
    } catch (err) {
      return approvalWords.mergeUnchecked(r, err instanceof Error ? err.message : String(err));
    }
  }

  private expire(): void {
    const cutoff = Date.now() - GRANT_TTL_MS;
    for (const [key, r] of this.granted) if (Date.parse(r.at) < cutoff) this.granted.delete(key);
    for (const [fp, w] of this.withdrawn)
      if (Date.parse(w.record.at) < cutoff) this.withdrawn.delete(fp);
  }
}

function isTypoOf(asked: string, held: string): boolean {
  return asked !== held && editDistance(asked, held) <= TYPO_DISTANCE;
}

/**
 * A unit's policy approvals, each used once (docs/policies.md, Owners): after the run it released
 * has applied, the same failures in a later plan (a revert and back, a rollback and `poolsync
 * resume`) wait for a new approval, as a held plan's approval is taken by its run (`take`).
 */
export class UnitPolicyApprovals extends PolicyApprovals {
  /** By digest, the `at` of the approval a run applied with: a newer approval is not used. */
  private readonly used = new Map<string, string>();

  override of(report: PolicyReport): PolicyApproval | undefined {
    const approval = super.of(report);
    return approval && this.used.get(approval.failures) !== approval.at ? approval : undefined;
  }

  /** The run `approval` released has applied. */
  use(approval: PolicyApproval): void {
    this.used.set(approval.failures, approval.at);
  }
}
