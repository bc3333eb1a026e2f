/**
 * The body of the sticky pull-request comment: a hidden marker that finds it again, the commit
 * it was made for, and the plan (or the validation errors). The forges' limits count code
 * points; a body over one is shortened (summary, errors, warnings and blocked first, then as
 * many changes as fit, with a count of what was left out), never refused. With environments
 * (docs/environments.md) one comment holds a collapsible section per environment, its counts
 * in the summary line; each gets an equal part of the limit and is shortened on its own.
 */
import { policyAllows } from '../model/policy.js';
import { onlyHeldErrors } from '../plan/guardrails.js';
import { policyMarkdown, policySummary } from '../render/policy.js';
import type { Change } from '../model/plan.js';
import { closingLine, plural } from '../render/common.js';
import { code, htmlText, renderMarkdown } from '../render/markdown.js';
import { splitHeld } from '../plan/hold.js';
import { budgetBound, errorText } from '../render/reasons.js';
import { unnamedObjects } from '../render/rendered-files.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { approversFile, lastAppliedPolicy } from '../render/daemon-words.js';
import {
  STATUS_CONTEXT,
  type EnvironmentOutcome,
  type InvalidOutcome,
  type HeldNote,
  type Provider,
  type PublishOutcome,
} from './types.js';

/** Characters (code points) a comment may hold. */
export const COMMENT_LIMITS: Record<Provider, number> = { github: 65_536, gitlab: 1_000_000 };

const MARKER_PREFIX = '<!-- poolsync:plan';

/** Keyed by folder: two folders, two comments. */
export function commentMarker(key?: string | null): string {
  const k = commentKey(key);
  // `--` would end the HTML comment early; `>` is harmless but kept out for clarity.
  return k === ''
    ? `${MARKER_PREFIX} -->`
    : `${MARKER_PREFIX} path="${k.replace(/-{2,}|[>"]/g, '_')}" -->`;
}

/**
 * The commit status context (GitHub) / name (GitLab) of a folder: the root's STATUS_CONTEXT,
 * another's with its path after it, as Atlantis' `atlantis/plan: DIR/WORKSPACE`, so that one
 * folder's status never replaces another's.
 */
export function statusContext(key?: string | null): string {
  const k = commentKey(key);
  return k === '' ? STATUS_CONTEXT : `${STATUS_CONTEXT}: ${k}`;
}

/**
 * The one key of a poolsync folder inside its repository, for the CLI's comment (its Git
 * prefix, `a/b/`) and the daemon's (its `--path`): `./a/b/` and `a\b` are `a/b`, the root
 * is empty; a folder whose name starts with a dot (`.config`) keeps it.
 */
export function commentKey(key: string | null | undefined): string {
  if (!key) return '';
  const k = key
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  return k === '.' ? '' : k;
}

/** The marker opens the body. */
export function isPoolsyncComment(body: string, marker: string): boolean {
  return body.trimStart().startsWith(marker);
}

export interface Comments {
  body: string;
  /** The held lists too long for `body`, each whole, in comments of their own (part 1, 2…). */
  heldLists: string[];
  /**
   * Per section ('' without environments) with held changes: the fingerprint the pull request
   * shows with every one of its changes listed, or null when they are too many to list (then no
   * comment may approve them: an approval approves what its author saw).
   */
  shown: Map<string, string | null>;
}

export interface CommentInput {
  outcome: PublishOutcome;
  commit: string;
  /** Folder inside the repository (marker key and title); empty for the root. */
  key?: string | null;
  /** COMMENT_LIMITS[provider]. */
  limit: number;
}

export function statusDescription(outcome: PublishOutcome): string {
  if (outcome.kind === 'environments')
    return outcome.environments
      .map((e) => `${e.name}: ${environmentSummary(e.outcome)}`)
      .join('; ');
  if (outcome.kind === 'invalid')
    return `Invalid configuration${errorsNote(outcome.errorCount)}: nothing can be applied`;
  if (outcome.kind === 'error') return `Could not plan: ${outcome.message}`;
  const { plan } = outcome;
  if (outcome.policies && !policyAllows(outcome.policies)) return policySummary(outcome.policies);
  if (heldByBudget(outcome)) return environmentSummary(outcome);
  if (plan.errors.length > 0) {
    const n = plan.errors.length;
    return `Plan failed with ${plural(n, 'error')}: ${plan.errors[0] ? errorText(plan.errors[0]) : ''}`;
  }
  return planLine(outcome);
}

/** The marker of comment `part` (1, 2…) of the held lists too long for the plan comment. */
export function heldListMarker(key: string | null | undefined, part: number): string {
  return commentMarker(key)
    .replace('poolsync:plan', 'poolsync:held')
    .replace(' -->', ` part="${part}" -->`);
}

/** At most: beyond, a list is shown nowhere. */
export const HELD_LIST_COMMENTS = 10;

/**
 * The plan comment and, when a list of held changes is too long for it, comments after it with
 * that list whole. A held list is never shortened away: it is in the plan comment when it takes
 * at most half its section's room, else in the comments after it while they have room (at most
 * HELD_LIST_COMMENTS; the plan comment then shows its count, fingerprint and first changes, and
 * says where the rest is), else nowhere, and the plan comment says that no comment approves it.
 */
export function buildComments(input: CommentInput): Comments {
  const key = commentKey(input.key);
  const title = key ? ` for \`${key.replace(/`/g, '')}\`` : '';
  const head = `${commentMarker(key)}\n### poolsync plan${title}\n\nFor commit \`${input.commit}\`.\n\n`;
  const foot =
    '\n\n---\n<sub>Posted by poolsync; updated in place on every push. Nothing is applied from a pull request.</sub>\n';
  const budget = input.limit - codePointLength(head) - codePointLength(foot);

  const outcome = input.outcome;
  const sections = outcome.kind === 'environments' ? outcome.environments : [{ name: '', outcome }];
  const where = new Map<string, HeldPlace>();
  const shown = new Map<string, string | null>();
  const lists = new HeldLists(input, key, title);
  const share = Math.floor(budget / sections.length / 2);
  for (const { name, outcome: o } of sections) {
    const held = o.kind === 'plan' ? o.held : undefined;
    if (!held) continue;
    if (codePointLength(heldSection(held, 'here', '')) <= share) where.set(name, 'here');
    else where.set(name, lists.add(name, held) ? 'next' : 'nowhere');
    shown.set(name, where.get(name) === 'nowhere' ? null : held.fingerprint);
  }
  const heldText = (name: string, o: EnvironmentOutcome) =>
    (o.kind === 'plan' && o.policies ? `${policyMarkdown(o.policies)}\n` : '') +
    (o.kind === 'plan' && o.held ? `${heldSection(o.held, where.get(name)!, heldBy(o))}\n\n` : '');

  let section: string;
  if (outcome.kind === 'environments')
    section = environmentSections(outcome, budget, heldText, where);
  else {
    section = sectionBody(outcome, budget, where.get(''), heldText('', outcome));
  }
  // The short forms are built to fit; this cut only guards against a tiny limit.
  if (codePointLength(section) > budget) section = takeCodePoints(section, Math.max(0, budget));
  const body = head + section + foot;
  return {
    body: codePointLength(body) <= input.limit ? body : takeCodePoints(body, input.limit),
    heldLists: lists.comments(),
    shown,
  };
}

/** The commit a plan comment was made for (buildComments' `For commit` line), or null. */
export function planCommentCommit(body: string): string | null {
  return /^For commit `([0-9a-f]{7,64})`\.$/im.exec(body)?.[1]?.toLowerCase() ?? null;
}

/**
 * The plan comment of a pull request into another branch than the daemon's: it is not planned,
 * since merging it applies nothing (an earlier plan comment, before a retarget, is replaced).
 */
export function notPlannedComment(key: string | null | undefined, base: string, branch: string) {
  const k = commentKey(key);
  const title = k ? ` for \`${k.replace(/`/g, '')}\`` : '';
  const name = (ref: string) => `\`${clip(ref.replace(/`/g, ''), 200)}\``;
  return (
    `${commentMarker(k)}\n### poolsync plan${title}\n\n` +
    `**Not planned: this pull request merges into ${name(base)}, and this daemon follows ${name(branch)}.** ` +
    `Merging it applies nothing. To have it planned and applied on merge, change its base branch to ${name(branch)}.\n\n` +
    '---\n<sub>Posted by poolsync; updated in place on every push. Nothing is applied from a pull request.</sub>\n'
  );
}

/** Packed line by line into comments of the limit. */
class HeldLists {
  /** Each comment's lines (its head first). */
  private readonly parts: string[][] = [];
  private left = 0;

  constructor(
    private readonly input: CommentInput,
    private readonly key: string,
    private readonly title: string,
  ) {}

  /** The whole list, or nothing (false) when it would take more than the comments allowed. */
  add(name: string, held: HeldNote): boolean {
    const saved = { parts: this.parts.map((p) => [...p]), left: this.left };
    const header = `\n#### ${name ? `\`${name}\`: ` : ''}${plural(held.changes.length, 'change')}, fingerprint \`${held.fingerprint}\`\n`;
    for (const line of [header, ...held.changes.map(heldLine)]) {
      const cost = codePointLength(line) + 1;
      if (cost > this.left) {
        if (this.parts.length === HELD_LIST_COMMENTS) {
          this.parts.splice(0, this.parts.length, ...saved.parts);
          this.left = saved.left;
          return false;
        }
        const n = this.parts.length + 1;
        const top = `${heldListMarker(this.key, n)}\n### poolsync: changes held for approval${this.title} (${n})\n\nFor commit \`${this.input.commit}\`: the held changes too many for the plan comment, every one.\n`;
        this.parts.push([top]);
        this.left = this.input.limit - codePointLength(top) - 1;
      }
      this.parts.at(-1)!.push(line);
      this.left -= cost;
    }
    return true;
  }

  comments(): string[] {
    return this.parts.map((p) => `${p.join('\n')}\n`);
  }
}

/** In the plan comment, in the ones after it, or too long for them. */
type HeldPlace = 'here' | 'next' | 'nowhere';

/** Held changes the plan comment shows when the list is elsewhere. */
const HELD_PREVIEW = 10;

const heldLine = (c: Pick<Change, 'action' | 'address'>) => `- ${code(`${c.action} ${c.address}`)}`;

/**
 * Why the daemon will hold them: its policy `safe`, or a guardrail whatever the policy
 * (docs/daemon.md#guardrails), as the daemon's run names it.
 */
function heldBy(o: Extract<EnvironmentOutcome, { kind: 'plan' }>): string {
  const guards = [
    ...o.plan.errors.flatMap((e) =>
      e.code === 'DESTROY_BUDGET' && e.params
        ? [`the destroy budget ${budgetBound(e.params)}`]
        : [],
    ),
    ...(o.plan.confirm_destroy?.length ? ['`poolsync/confirm-destroy`'] : []),
  ];
  const policy = `policy \`safe\`${lastAppliedPolicy(o.policyLastApplied ?? null)}`;
  if (guards.length === 0) return policy;
  return `${o.policy === 'safe' ? `${policy}, and ` : ''}${guards.join(' and ')}, whatever the policy`;
}

/**
 * Whether the plan fails only on a destroy budget, which the daemon holds for approval instead
 * (docs/daemon.md#guardrails): its check succeeds; CI's `plan --comment` fails on it.
 */
export const heldByBudget = (o: EnvironmentOutcome) =>
  o.kind === 'plan' && o.held !== undefined && onlyHeldErrors(o.plan);

/** Never shortened away; `by`: why they are held (heldBy). */
function heldSection(h: HeldNote, place: HeldPlace, by: string): string {
  const n = h.changes.length;
  const intro = `**Held for approval** (${by}): after merge the daemon applies the rest and holds ${n === 1 ? 'this change' : `these ${plural(n, 'change')}`}, fingerprint \`${h.fingerprint}\``;
  const who = h.approvers
    ? `A user with write permission who is one of ${h.approvers.principals.map((p) => `\`${p}\``).join(', ') || 'no one'} (\`${h.approvers.rule}\` in ${h.approvers.lastApplied === undefined ? 'poolsync.yaml' : approversFile(h.approvers.lastApplied)})`
    : 'A user with write permission';
  const approve = `${who} approves exactly them by commenting \`${h.command}\` (the comment's whole first line; not the pull request's author).`;
  if (place === 'here') return `${intro}:\n${h.changes.map(heldLine).join('\n')}\n\n${approve}`;
  const first = h.changes.slice(0, HELD_PREVIEW).map(heldLine);
  const more = `- … ${plural(n - first.length, 'more change')}`;
  if (place === 'next')
    return `${intro}. They are more than this comment holds: all ${n} are listed in the comments after it (_poolsync: changes held for approval_). The first ${first.length}:\n${first.join('\n')}\n${more}\n\n${approve}`;
  return `${intro}. They are more than the pull request's comments hold, so no comment approves them: after merge, review them where the daemon holds them (its dashboard, or \`poolsync approve\`, which lists them) and approve that fingerprint there. The first ${first.length}:\n${first.join('\n')}\n${more}`;
}

/** Nothing when the count is not known. */
const errorsNote = (n: number | undefined) => (n ? ` (${plural(n, 'error')})` : '');

const OMISSION_RESERVE = 200;

/** Items while they fit in `budget`, with room reserved for the omission note. */
function fitItems(items: string[], budget: number, omitted: (n: number) => string): string {
  const parts: string[] = [];
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] ?? '';
    const cost = codePointLength(item) + (parts.length > 0 ? 1 : 0);
    const reserve = i < items.length - 1 ? OMISSION_RESERVE : 0;
    if (used + cost + reserve > budget) {
      const note = omitted(items.length - i);
      return parts.length > 0 ? `${parts.join('\n')}\n${note}` : note;
    }
    parts.push(item);
    used += cost;
  }
  return parts.join('\n');
}

/**
 * A section within `budget` (Infinity: whole); `held`: where its held changes are listed, and
 * `heldText` what says so, right under the counts (never shortened away).
 */
function sectionBody(
  outcome: EnvironmentOutcome,
  budget: number,
  held?: HeldPlace,
  heldText = '',
): string {
  if (outcome.kind === 'plan') {
    const { plan } = outcome;
    // Held changes listed on the pull request (this comment, the ones after it) are not repeated.
    const listed = new Set(
      held === 'here' || held === 'next' ? (outcome.held?.changes ?? []).map((c) => c.address) : [],
    );
    const merge = outcome.policy && {
      policy: outcome.policy,
      held: outcome.held?.changes.length ?? 0,
      by: outcome.held ? heldBy(outcome) : null,
    };
    const lead = heldText.trim();
    const { rendered, policies } = outcome;
    return renderMarkdown(plan, {
      maxChars: budget,
      listed,
      ...(merge ? { merge } : {}),
      ...(lead ? { lead } : {}),
      ...(rendered ? { rendered } : {}),
      ...(policies ? { policies } : {}),
    }).trim();
  }
  if (outcome.kind === 'error') {
    // A server's message: its lines kept, their control characters escaped.
    const lines = clip(outcome.message, Math.max(0, budget - 100)).split('\n');
    return `**poolsync could not plan this commit.**\n\n${fence(lines.map(escapeTerminal).join('\n'), 'text')}`;
  }
  return invalidBody(outcome, budget);
}

/** An invalid repository's errors, fenced, within `budget` (`plan --output markdown` prints it too). */
export function invalidBody(outcome: InvalidOutcome, budget: number): string {
  const intro = `**The repository is invalid${errorsNote(outcome.errorCount)}: nothing can be applied from this commit.** Fix these and push again:\n\n`;
  const lines = outcome.errorsText.trimEnd().split('\n');
  // Fence and note overhead; a line containing backticks may lengthen the fence a little.
  const fit = fitItems(
    lines,
    budget - codePointLength(intro) - 40,
    (n) =>
      `… ${plural(n, 'more line')} omitted (the comment size limit); run \`poolsync validate\` for all.`,
  );
  return intro + fence(fit, 'text');
}

type Sections = Extract<PublishOutcome, { kind: 'environments' }>;

export function environmentSummary(outcome: EnvironmentOutcome): string {
  if (outcome.kind === 'error') return 'could not plan';
  if (outcome.kind === 'invalid') return `invalid${errorsNote(outcome.errorCount)}`;
  const held = heldByBudget(outcome);
  if (outcome.plan.errors.length > 0 && !held)
    return `plan failed${errorsNote(outcome.plan.errors.length)}`;
  if (outcome.policies && !policyAllows(outcome.policies))
    return `${planLine(outcome)} Policies fail: nothing is applied until approved or fixed.`;
  if (held)
    return `${planLine(outcome)} Over the destroy budget: the daemon holds ${plural(outcome.held!.changes.length, 'change')} for approval after merge.`;
  return planLine(outcome);
}

/**
 * The closing line, the rendered files no plan sends and the objects no file is named for: a
 * commit of only those is not "no change".
 */
function planLine(outcome: Extract<EnvironmentOutcome, { kind: 'plan' }>): string {
  const files = outcome.rendered?.files ?? [];
  const unnamed = files.flatMap((f) => (f.status === 'unnamed' ? [f.kind] : []));
  const n = files.length - unnamed.length;
  return `${closingLine(outcome.plan)}${n > 0 ? ` ${plural(n, 'rendered file')} to deploy (no API).` : ''}${unnamed.length > 0 ? ` ${unnamedObjects(unnamed)} unknown (no rendered file).` : ''}`;
}

function environmentSection(
  name: string,
  outcome: EnvironmentOutcome,
  body: string,
  listed: boolean,
): string {
  const summary = `<b>${htmlText(name)}</b>: ${htmlText(environmentSummary(outcome))}`;
  // What needs a reviewer (a failure, a policy's included) is shown open.
  const failed =
    outcome.kind !== 'plan' || outcome.plan.errors.length > 0 || !policyAllows(outcome.policies);
  const open = failed ? ' open' : '';
  return `<details${open}><summary>${summary}</summary>\n\n${record(name, outcome, listed)}${body.trim()}\n\n</details>`;
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
  /** `-` when nothing is held; `unlisted` when the held changes are too many to list. */
  held: string;
}

const RECORD = /<!-- poolsync:environment ((?:[a-z]+="[^"<>]*" ?)+)-->/g;
/** `--` would end the HTML comment; `"`, `<` and `>` would end the attribute or the record. */
const attribute = (v: string) => v.replace(/-{2,}|["<>]/g, '_');

function record(name: string, outcome: EnvironmentOutcome, listed: boolean): string {
  if (outcome.kind !== 'plan') return '';
  const p = outcome.plan;
  const fields: Omit<PlanRecord, 'environment'> = {
    commit: p.commit ?? '-',
    desired: p.desired_fingerprint,
    live: p.live_fingerprint,
    held: listed ? (splitHeld(p).fingerprint ?? '-') : 'unlisted',
  };
  const attrs = Object.entries({ name, ...fields }).map(([k, v]) => `${k}="${attribute(v)}"`);
  return `<!-- poolsync:environment ${attrs.join(' ')} -->\n`;
}

/** Of `environment`'s section in a plan comment's body. */
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

/** Every environment's section, each within its part of `budget`, its held changes first. */
function environmentSections(
  outcome: Sections,
  budget: number,
  heldText: (name: string, outcome: EnvironmentOutcome) => string,
  where: Map<string, HeldPlace>,
): string {
  const intro = `${outcome.environments.length} environments: ${outcome.environments.map((e) => `\`${e.name}\``).join(', ')}.`;
  const section = (e: Sections['environments'][number], budget: number) =>
    environmentSection(
      e.name,
      e.outcome,
      sectionBody(e.outcome, budget, where.get(e.name), heldText(e.name, e.outcome)),
      where.get(e.name) !== 'nowhere',
    );
  const fulls = outcome.environments.map((e) => section(e, Infinity));
  const all = [intro, ...fulls].join('\n\n');
  if (codePointLength(all) <= budget) return all;
  const part = Math.floor((budget - codePointLength(intro)) / outcome.environments.length);
  return [
    intro,
    ...outcome.environments.map((e, i) =>
      codePointLength(fulls[i]!) <= part ? fulls[i]! : section(e, Math.max(0, part - OVERHEAD)),
    ),
  ].join('\n\n');
}

/** A surrogate pair counts once. */
export const codePointLength = (text: string): number =>
  text.length - (text.match(/[\ud800-\udbff][\udc00-\udfff]/g)?.length ?? 0);

/** A string iterates by code point: no pair is split. */
const takeCodePoints = (text: string, max: number): string =>
  [...text].slice(0, Math.max(0, max)).join('');

/** At most `max` code points, the cut marked with an ellipsis. */
export function clip(text: string, max: number): string {
  if (codePointLength(text) <= max) return text;
  return `${takeCodePoints(text, max - 1)}…`;
}

/** Longer than any run of backticks inside `content`. */
function fence(content: string, info = ''): string {
  let longest = 0;
  for (const m of content.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const f = '`'.repeat(Math.max(3, longest + 1));
  return `${f}${info}\n${content}\n${f}`;
}

// The commands poolsync reads in pull-request comments: `poolsync apply` approves the held
// part of the plan posted there, and `poolsync apply -e NAME` (or `--env NAME`) that of one
// environment (docs/environments.md), like Atlantis' `atlantis apply -p PROJECT`.

/**
 * The command: the whole first line, at most 3 spaces in (4 make it code in Markdown). A
 * command on any other line is inside text, code or a quote, and approves nothing (issue 59).
 * Its words in any case: a phone writes `Poolsync apply`, and nothing else is the whole line.
 */
const COMMAND = /^ {0,3}poolsync[ \t]+apply(?:[ \t]+(?:-e|--env)(?:[ \t]+|=)(\S+))?[ \t]*$/i;
/** As poolsync.yaml allows it (lower case, case-sensitive). */
const NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** `environment`: the one named with `-e` / `--env`, else null. */
export function parseCommentCommand(body: string) {
  const m = COMMAND.exec(body.split(/\r?\n/, 1)[0]!);
  if (!m || (m[1] !== undefined && !NAME.test(m[1]))) return null;
  return { command: 'apply' as const, environment: m[1] ?? null };
}

/**
 * `poolsync approve-policies sha256:DIGEST WHY…` (docs/policies.md, Owners): an owner of the
 * policies releases exactly the failures the plan comment showed (their digest), saying why.
 * The whole first line, as `poolsync apply`; `-e NAME` names the environment. Any first word
 * is its digest: one cut short or mistyped is refused by decideApproval, saying so, not ignored.
 */
const POLICY_COMMAND =
  /^ {0,3}poolsync[ \t]+approve-policies(?:[ \t]+(?:-e|--env)(?:[ \t]+|=)(\S+))?(?:[ \t]+(\S+))?(?:[ \t]+(.*?))?[ \t]*$/i;

export function parsePolicyApproval(body: string) {
  const m = POLICY_COMMAND.exec(body.split(/\r?\n/, 1)[0]!);
  if (!m || (m[1] !== undefined && !NAME.test(m[1]))) return null;
  return { digest: m[2] ?? '', why: m[3] ?? '', environment: m[1] ?? null };
}
