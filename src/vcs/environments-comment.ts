/**
 * The comment of a repository with environments (docs/environments.md): one comment, one
 * collapsible section per environment with its counts in the summary line, so a reviewer sees
 * at a glance what the change does everywhere and opens the environment to read its plan.
 * The provider's size limit is shared: each environment gets an equal part, and an
 * environment whose plan does not fit its part is shortened on its own (comment.ts's short
 * forms), never the others.
 */
import { splitHeld } from '../plan/hold.js';
import { closingLine, markdownText, plural } from '../render/index.js';
import { codePointLength } from './text.js';
import type { EnvironmentOutcome, PublishOutcome, StatusState } from './types.js';

type Sections = Extract<PublishOutcome, { kind: 'environments' }>;
type Render = (outcome: EnvironmentOutcome, budget: number) => string;

/** The one-line summary of an environment's outcome. */
export function environmentSummary(outcome: EnvironmentOutcome): string {
  if (outcome.kind === 'error') return 'could not plan';
  if (outcome.kind === 'invalid') {
    const n = outcome.errorCount;
    return `invalid${n ? ` (${plural(n, 'error')})` : ''}`;
  }
  if (outcome.plan.errors.length > 0) return `plan failed (${outcome.plan.errors.length} errors)`;
  return closingLine(outcome.plan);
}

/** Whether the section opens by default: what needs a reviewer (failures) is shown open. */
function opens(outcome: EnvironmentOutcome): boolean {
  return outcome.kind !== 'plan' || outcome.plan.errors.length > 0;
}

function section(name: string, outcome: EnvironmentOutcome, body: string): string {
  const summary = `<b>${markdownText(name)}</b>: ${markdownText(environmentSummary(outcome))}`;
  return `<details${opens(outcome) ? ' open' : ''}><summary>${summary}</summary>\n\n${record(name, outcome)}${body.trim()}\n\n</details>`;
}

/**
 * What a section's plan was, for machines (docs/environments.md#several-replicas): the
 * commit, the full desired, live and held-changes fingerprints. An environment's leader that
 * did not post the comment re-plans and accepts `poolsync apply -e NAME` only when its plan
 * has exactly these. A hidden HTML comment; never shortened with the section's body.
 */
export interface PlanRecord {
  environment: string;
  commit: string;
  desired: string;
  live: string;
  /** `-` when nothing is held. */
  held: string;
}

const RECORD = /<!-- poolsync:environment ((?:[a-z]+="[^"<>]*" ?)+)-->/g;
/** `--` would end the HTML comment; `"`, `<` and `>` would end the attribute or the record. */
const attribute = (v: string) => v.replace(/-{2,}|["<>]/g, '_');

function record(name: string, outcome: EnvironmentOutcome): string {
  if (outcome.kind !== 'plan') return '';
  const p = outcome.plan;
  const fields: Omit<PlanRecord, 'environment'> = {
    commit: p.commit ?? '-',
    desired: p.desired_fingerprint,
    live: p.live_fingerprint,
    held: splitHeld(p).fingerprint ?? '-',
  };
  const attrs = Object.entries({ name, ...fields }).map(([k, v]) => `${k}="${attribute(v)}"`);
  return `<!-- poolsync:environment ${attrs.join(' ')} -->\n`;
}

/** The record of `environment`'s section in a plan comment's body, or null. */
export function planRecord(body: string, environment: string): PlanRecord | null {
  for (const m of body.matchAll(RECORD)) {
    const a = Object.fromEntries(
      [...m[1]!.matchAll(/([a-z]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (a.name !== attribute(environment)) continue;
    const { commit, desired, live, held } = a;
    if (!commit || !desired || !live || !held) return null;
    return { environment, commit, desired, live, held };
  }
  return null;
}

const OVERHEAD = 200;

/** Every environment's section, each within its part of `budget`. */
export function environmentSections(
  outcome: Sections,
  budget: number,
  render: { full: (o: EnvironmentOutcome) => string; short: Render },
): string {
  const intro = `${outcome.environments.length} environments: ${outcome.environments.map((e) => `\`${e.name}\``).join(', ')}.`;
  const fulls = outcome.environments.map((e) => section(e.name, e.outcome, render.full(e.outcome)));
  const all = [intro, ...fulls].join('\n\n');
  if (codePointLength(all) <= budget) return all;
  const part = Math.floor((budget - codePointLength(intro)) / outcome.environments.length);
  return [
    intro,
    ...outcome.environments.map((e, i) =>
      codePointLength(fulls[i]!) <= part
        ? fulls[i]!
        : section(e.name, e.outcome, render.short(e.outcome, Math.max(0, part - OVERHEAD))),
    ),
  ].join('\n\n');
}

/** The commit status: the worst of the environments' (an error, else a failure, else success). */
export function worstState(states: StatusState[]): StatusState {
  for (const s of ['error', 'failure', 'pending'] as const) if (states.includes(s)) return s;
  return 'success';
}

/** The status description: each environment's summary, in order. */
export function environmentsDescription(outcome: Sections): string {
  return outcome.environments.map((e) => `${e.name}: ${environmentSummary(e.outcome)}`).join('; ');
}
