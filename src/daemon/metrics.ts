/** Prometheus metrics of one daemon, in its own registry (two daemons in one process never collide). */
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';
import { ACTIONABLE_ACTIONS } from '../model/plan.js';
import { RUN_PHASES, RUN_RESULTS } from './run-result.js';

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly reconcileRuns = this.counter(
    'poolsync_reconcile_runs_total',
    `Reconcile runs by result (${RUN_RESULTS.join(', ')}).`,
    ['result'],
  );
  readonly reconcileDuration = new Histogram({
    name: 'poolsync_reconcile_duration_seconds',
    help: 'Duration of reconcile runs, from fetch to the end of apply.',
    labelNames: ['result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800],
    registers: [this.registry],
  });
  readonly phaseDuration = new Histogram({
    name: 'poolsync_reconcile_phase_duration_seconds',
    help: `Time reconcile runs spent in each phase (${RUN_PHASES.join(', ')}); the phases of a run add up to its duration.`,
    labelNames: ['phase'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly lastSuccess = this.gauge(
    'poolsync_last_successful_reconcile_timestamp_seconds',
    'Unix time of the last run that left the control plane equal to the repository (or planned it, under policy none).',
  );
  readonly changesApplied = this.counter(
    'poolsync_changes_applied_total',
    'Changes applied to the control plane, by action (create, update, replace, delete).',
    ['action'],
  );
  readonly driftDetected = this.counter(
    'poolsync_drift_detected_total',
    'Changes made outside Git: found on the control plane although the repository had not moved since it was last applied, each counted once until corrected or changed again.',
  );
  readonly driftObjects = this.gauge(
    'poolsync_drift_objects',
    'Changes made outside Git and not corrected yet: those the last run found and did not apply (held, frozen, failed or left by policy none).',
  );
  readonly blockedChanges = this.gauge(
    'poolsync_blocked_changes',
    'Changes the control plane cannot make (blocked), as of the last plan.',
  );
  readonly waitingForApproval = this.gauge(
    'poolsync_waiting_for_approval_changes',
    'Destructive changes (replace, delete) held for a person to apply, as of the last plan.',
  );
  readonly guardrailHeld = this.gauge(
    'poolsync_guardrail_held_changes',
    'Changes held for approval by a guardrail whatever the policy (rule: max_destroy, max_replace, confirm_destroy), as of the last plan.',
    ['rule'],
  );
  readonly stoppedByFreeze = this.counter(
    'poolsync_applies_stopped_by_freeze_total',
    'Applies stopped between steps because applies were frozen while they ran (poolsync suspend, or a sync window closing).',
  );
  readonly approvals = this.counter(
    'poolsync_approvals_total',
    'Approvals of held plans by result (accepted, refused, applied) and channel (api, github, gitlab).',
    ['result', 'via'],
  );
  readonly approverRefusals = this.counter(
    'poolsync_approver_refusals_total',
    'Requests refused by a poolsync.yaml approvers rule, by action (approve, sync, suspend, override) and rule (approvers.ENV.ACTION).',
    ['action', 'rule'],
  );
  readonly policyEvaluations = this.counter(
    'poolsync_policy_evaluations_total',
    'Evaluations of the policies (docs/policies.md) by verdict (pass, warn, deny, approved, error).',
    ['result'],
  );
  readonly policyFailures = this.gauge(
    'poolsync_policy_failures',
    'Failing deny/violation messages of the policies, as of the last plan (an evaluation error counts 1).',
  );
  readonly policyWarnings = this.gauge(
    'poolsync_policy_warnings',
    'warn messages of the policies, as of the last plan.',
  );
  readonly policyDuration = new Histogram({
    name: 'poolsync_policy_evaluation_duration_seconds',
    help: 'Time OPA took to evaluate the policies on a plan, from spawn to exit.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly leader = this.gauge(
    'poolsync_leader',
    '1 while this replica holds the leader Lease (always 1 without --leader-elect).',
  );
  readonly leadershipLosses = this.counter(
    'poolsync_leadership_losses_total',
    'Times this replica stopped leading (lease lost or not renewed in time).',
  );
  readonly gitFetchFailures = this.counter(
    'poolsync_git_fetch_failures_total',
    'Failed fetches of the config repository.',
  );
  readonly webhookDeliveries = this.counter(
    'poolsync_webhook_deliveries_total',
    'Webhook deliveries by provider and result as answered (push, ping, pull_request, comment, ignored, duplicate, unauthorized, bad_request, too_large, not_configured, leader_unavailable, not_relayed).',
    ['provider', 'result'],
  );
  readonly frozen = this.gauge(
    'poolsync_applies_frozen',
    '1 while applies are frozen (poolsync suspend, or a sync window): plans and drift detection go on, nothing is applied.',
  );
  readonly rolledBack = this.gauge(
    'poolsync_rolled_back',
    '1 while a rollback holds (poolsync rollback): an earlier run’s commit is applied, not the branch head, until a new commit or poolsync resume.',
  );
  readonly up = this.gauge(
    'poolsync_ready',
    '1 once a first reconcile finished and the control plane answered.',
  );

  /** `environment`: a unit's series, labelled `environment="NAME"`, shown beside the daemon's. */
  constructor(options: { processMetrics?: boolean; environment?: string } = {}) {
    if (options.environment !== undefined)
      this.registry.setDefaultLabels({ environment: options.environment });
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'poolsync_' });
    // Zero-initialise the labelled series so dashboards see them before the first event.
    for (const result of RUN_RESULTS) this.reconcileRuns.inc({ result }, 0);
    for (const action of ACTIONABLE_ACTIONS) this.changesApplied.inc({ action }, 0);
    for (const rule of ['max_destroy', 'max_replace', 'confirm_destroy'])
      this.guardrailHeld.set({ rule }, 0);
    for (const provider of ['github', 'gitlab']) {
      for (const result of ['push', 'unauthorized'])
        this.webhookDeliveries.inc({ provider, result }, 0);
    }
    this.up.set(0);
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** `poolsync_ready` follows this (the daemon's one readiness, as /readyz and /status say). */
  readyProbe: (() => boolean) | null = null;
  /** `poolsync_applies_frozen`, read at each scrape: windows open and close. */
  frozenProbe: (() => boolean) | null = null;
  /** `poolsync_rolled_back`, read at each scrape (daemon/rollback.ts). */
  rolledBackProbe: (() => boolean) | null = null;

  /** Replace this daemon's own series of the same names. */
  environments: DaemonMetrics[] = [];

  async text(): Promise<string> {
    this.probe();
    if (this.environments.length === 0) return this.registry.metrics();
    const parts = await Promise.all(
      this.environments.map((m) => {
        m.probe();
        return m.registry.getMetricsAsJSON();
      }),
    );
    const perEnvironment = new Set(parts.flat().map((m) => m.name));
    const own = (await this.registry.getMetricsAsJSON()).filter(
      (m) => !perEnvironment.has(m.name) || m.name === 'poolsync_ready',
    );
    // Different label sets (one environment each): aggregating is putting them side by side.
    return AggregatorRegistry.aggregate([own, ...parts]).metrics();
  }

  private probe(): void {
    if (this.readyProbe) this.up.set(this.readyProbe() ? 1 : 0);
    if (this.frozenProbe) this.frozen.set(this.frozenProbe() ? 1 : 0);
    if (this.rolledBackProbe) this.rolledBack.set(this.rolledBackProbe() ? 1 : 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
