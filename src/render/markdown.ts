/**
 * Markdown for a pull-request comment, read at any size as Atlantis' is (issue 78): the counts
 * first, then what a reviewer must see whole (errors, then every destructive and blocked
 * change), warnings one line per code, the capability and manual steps, the plan itself folded
 * in `<details>`, and last what merging does. Kept under a size budget (GitHub caps comments at
 * 65,536 characters): each part after the counts takes what it needs of the room left, or says
 * how many of its items it could not show. In the diff block an update is `!` (GitHub colours
 * `+` green, `-` red and `!` orange but not `~`); blocked items are never in it.
 */
import { onlyHeldErrors } from '../plan/guardrails.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { visibleChanges, type Change, type Plan } from '../model/plan.js';
import { policyVerdict, type PolicyReport } from '../model/policy.js';
import { countPlan } from '../plan/counts.js';
import { destructiveChanges } from '../plan/hold.js';
import {
  adoptsOnly,
  capabilitiesOn,
  capabilitySteps,
  causeText,
  closingLine,
  fieldLines,
  footnotes,
  headerLines,
  hasNoChanges,
  inWords,
  notMatchingLine,
  noteText,
  plural,
  SYMBOL,
  unmanagedReason,
  warningText,
  whyText,
} from './common.js';
import { errorText } from './reasons.js';
import { manualSteps, runbookLines, waitingNote } from './runbook.js';
import { nothingToSend, renderedAdvice, type RenderedFilesNote } from './rendered-files.js';

/** An update's line in the diff block: orange on GitHub, where `~` has no colour. */
const UPDATE_IN_DIFF = '!';

const IN_DIFF: ReadonlySet<Change['action']> = new Set(['create', 'update', 'replace', 'delete']);

/** What the caller knows of what merging does: the daemon's policy and what it will hold. */
export interface MergeFacts {
  policy: 'safe' | 'all' | 'none';
  /** Changes the daemon holds for approval, by its policy `safe` or a guardrail (listed above the plan by the comment). */
  held: number;
  /** What holds them, as the comment's held section names it (vcs/comment.ts heldBy); null: none held. */
  by: string | null;
}

/** `plan --output markdown`'s bound: under a GitHub comment's 65,536 with room for its heading. */
export const MARKDOWN_MAX_CHARS = 60_000;

export interface MarkdownOptions {
  /** A plan file `show` read (footnotes). */
  saved?: boolean;
  /** Upper bound of the output's length; what does not fit is counted, never cut mid-line. */
  maxChars?: number;
  /** Addresses the comment lists already (its held changes): counted here, not listed again. */
  listed?: ReadonlySet<string>;
  /** Absent (`plan -o markdown`, a CI comment): the next step in general words. */
  merge?: MergeFacts;
  /** Markdown right under the counts, never shortened (the comment's held changes). */
  lead?: string;
  /** The generated files the commit changes, which no plan sends: said first, as the CLI does. */
  rendered?: RenderedFilesNote;
  /** What the plan's policies said (the comment shows them before the plan): merging follows it. */
  policies?: PolicyReport;
}

/** A long warning is cut to this many characters: one line per code must stay one line. */
const WARNING_CHARS = 400;
/** Warnings of one code up to this many are a line each (the dashboard's rule). */
const UNGROUPED_WARNINGS = 3;
/** Addresses named after a warning code's first one. */
const WARNING_EXAMPLES = 3;
/** The plan's `<details>` is open when its diff block is at most this many lines. */
const OPEN_DIFF_LINES = 20;

export function renderMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const changes = visibleChanges(plan);
  const rendered = opts.rendered?.files.length ? opts.rendered : undefined;
  const head = [...headLines(plan, rendered, opts.saved), ...(opts.lead ? [opts.lead, ''] : [])];
  const end = [metaLine(plan), '', mergeLine(plan, opts.merge, opts.policies)];
  const room = new Room((opts.maxChars ?? MARKDOWN_MAX_CHARS) - size(head) - size(end));
  errorsSection(room, plan, heldByBudget(plan, opts.merge));
  if (rendered)
    room.whole(renderedSection(rendered), (n) => `_${plural(n, 'rendered file')} not listed._`);
  destructiveSection(room, plan, opts.listed ?? new Set(), opts.merge);
  warningsSection(room, plan);
  room.whole(capabilitySection(plan), (n) => `_${plural(n, 'capability step')} not shown here._`);
  room.whole(manualSection(plan), () => "_The manual steps' runbook is not shown here._");
  diffSection(
    room,
    changes.filter((c) => IN_DIFF.has(c.action)),
  );
  room.whole(unmanagedSection(changes), (n) => `_${plural(n, 'unmanaged object')} not listed._`);
  return [...head, ...room.lines, ...end].join('\n') + '\n';
}

/** Characters of lines joined with newlines, one after the last. */
const size = (lines: readonly string[]): number =>
  lines.reduce((n, line) => n + line.length + 1, 0);

/** A note of what did not fit: where the reader finds it. */
const NOT_SHOWN = "(the comment's size limit): `poolsync plan` shows them all";

/** The comment's room left, taken part by part in the order a reviewer reads them. */
class Room {
  readonly lines: string[] = [];
  /** Room kept for the notes of what did not fit, one line each part: an eighth, at most 1,000. */
  private readonly notes: number;
  constructor(private left: number) {
    this.notes = Math.min(1000, Math.max(0, Math.floor(left / 8)));
  }

  /** Characters left beside the notes of the parts after them. */
  space(): number {
    return this.left - this.notes;
  }

  /** Whether `lines` fit beside the notes of the parts after them. */
  fits(lines: readonly string[]): boolean {
    return size(lines) <= this.left - this.notes;
  }

  /** A note of what did not fit, when even it fits. */
  private note(line: string): void {
    this.add(size([line, '']) <= this.left ? [line, ''] : []);
  }

  private add(lines: readonly string[]): void {
    this.lines.push(...lines);
    this.left -= size(lines);
  }

  /** `lines` whole when they take at most `share` of the room, else the note of their `items`. */
  whole(part: { lines: string[]; items: number }, note: (n: number) => string, share = 1): void {
    if (part.lines.length === 0) return;
    if (size(part.lines) <= (this.left - this.notes) * share) this.add(part.lines);
    else this.note(note(part.items));
  }

  /**
   * `head`, items while they fit, the note of those left (`more`), then `tail`; the note alone
   * when not even the head fits. An item stands for `counts[i]` things (default 1).
   */
  some(
    head: string[],
    items: string[][],
    tail: string[],
    more: (n: number) => string,
    counts?: readonly number[],
  ): void {
    const count = (from: number) =>
      counts ? counts.slice(from).reduce((a, b) => a + b, 0) : items.length - from;
    let used = size(head) + size(tail);
    if (used > this.left - this.notes) return this.note(more(count(0)));
    let shown = 0;
    for (const item of items) {
      used += size(item);
      if (used > this.left - this.notes) break;
      shown++;
    }
    const left = items.length - shown;
    this.add([...head, ...items.slice(0, shown).flat()]);
    if (left > 0) this.note(more(count(shown)));
    this.add(tail);
  }
}

function headLines(plan: Plan, rendered: RenderedFilesNote | undefined, saved = false): string[] {
  const head = [
    !hasNoChanges(plan)
      ? `**${closingLine(plan)}**`
      : plan.errors.length > 0
        ? '**Plan failed:** see its errors below.'
        : !rendered && adoptsOnly(plan, 'records') !== null
          ? `**Nothing to send to the control plane,** but ${adoptsOnly(plan, 'records')}.`
          : notMatchingLine(plan)
            ? `**No changes to send.** ${markdownText(notMatchingLine(plan)!)}`
            : rendered
              ? nothingToSendLine(rendered)
              : '**No changes.** The control plane matches the repository.',
  ];
  const header = headerLines(plan, code, (w) => `> :warning: ${markdownText(w)}`);
  for (const line of [...footnotes(plan, undefined, saved), ...header]) head.push('', line);
  head.push('');
  return head;
}

/** The text's first line (render/text.ts) when only rendered files change. */
function nothingToSendLine(rendered: RenderedFilesNote): string {
  const { head, rest } = nothingToSend(rendered.files);
  return `**${head}** ${markdownText(rest)}, below.`;
}

/** Each rendered file the commit changes, why no plan sends it and what to do: as `poolsync plan` says. */
function renderedSection(rendered: RenderedFilesNote) {
  const n = rendered.files.length;
  const lines = [
    `### Rendered ${n === 1 ? 'file' : `files (${n})`}: no API`,
    '',
    ...rendered.files.map((f) => `- ${markdownText(renderedAdvice(f, rendered))}`),
    '',
  ];
  return { lines, items: n };
}

/** A destroy budget exceeded fails the plan, but the daemon holds it for approval (guardrails.ts). */
const heldByBudget = (plan: Plan, merge: MergeFacts | undefined) =>
  merge !== undefined && merge.held > 0 && onlyHeldErrors(plan);

function errorsSection(room: Room, plan: Plan, held: boolean): void {
  if (plan.errors.length === 0) return;
  const n = plural(plan.errors.length, 'error');
  room.some(
    [
      held
        ? `**Over the destroy budget** (${n}): after merge the daemon holds the changes above for approval rather than failing; \`poolsync plan\` and \`poolsync apply\` fail on it.`
        : `**Plan failed** with ${n}: nothing will be applied.`,
      '',
    ],
    plan.errors.map((e) => {
      const where = [e.address, e.location].flatMap((w) => (w ? [code(w)] : [])).join(' at ');
      const icon = held ? ':warning:' : ':x:';
      return [`- ${icon} **${e.code}**${where ? ` ${where}` : ''}: ${markdownText(errorText(e))}`];
    }),
    [''],
    (n) => `- … ${plural(n, 'more error')} not shown ${NOT_SHOWN}`,
  );
}

/**
 * Every delete, replace, drain and unverified change (what policy `safe` holds) and every blocked
 * one, before anything else the room may not hold: a line each, or when those do not all fit,
 * their addresses by action, which hold about twice as many.
 */
function destructiveSection(
  room: Room,
  plan: Plan,
  listed: ReadonlySet<string>,
  merge: MergeFacts | undefined,
): void {
  const destructive = destructiveChanges(plan).filter((d) => !listed.has(d.change.address));
  const blocked = plan.changes.filter((c) => c.action === 'blocked');
  const above = destructiveChanges(plan).length - destructive.length;
  const total = destructive.length + blocked.length;
  if (total === 0 && above === 0) return;
  const after = destructive.length + above > 0 ? afterMerge(merge) : null;
  const intro = [
    `### Destructive and blocked changes (${total + above})`,
    '',
    `They remove, replace or interrupt something${after ? ` (${after})` : ''}; nothing is sent for blocked ones.` +
      (above === 1 ? ' 1 of them is the held change above.' : '') +
      (above > 1 ? ` ${above} of them are the held changes above.` : ''),
    '',
  ];
  const more = (n: number) =>
    `- … ${plural(n, 'more destructive or blocked change')} not listed ${NOT_SHOWN}`;
  const lines = [
    ...destructive.map((d) => [destructiveLine(d.change, d.drained)]),
    ...blocked.map(blockedLines),
  ];
  if (room.fits([...intro, ...lines.flat(), ''])) return room.some(intro, lines, [''], more);
  const byAction = new Map<string, string[]>();
  for (const { change, drained } of destructive) {
    const action = drained ? 'drain' : change.action;
    byAction.set(action, [...(byAction.get(action) ?? []), change.address]);
  }
  if (blocked.length > 0)
    byAction.set(
      'blocked',
      blocked.map((c) => c.address),
    );
  const rows = [...byAction].flatMap(([action, addresses]) =>
    chunks(addresses, ADDRESSES_A_LINE).map((part) => ({
      lines: [`- **${action}** ${part.map(code).join(', ')}`],
      count: part.length,
    })),
  );
  const why =
    '_Too many to say why each: by action here, each with its reasons in `poolsync plan`._';
  room.some(
    [...intro, why, ''],
    rows.map((r) => r.lines),
    [''],
    more,
    rows.map((r) => r.count),
  );
}

/** What becomes of the destructive changes after merge: what holds them, as the daemon decides. */
function afterMerge(merge: MergeFacts | undefined): string | null {
  // `plan -o markdown` and CI's comment know no daemon: what its default policy does.
  if (!merge) return 'policy `safe` holds them for approval';
  if (merge.policy === 'none') return "the daemon's policy `none` applies none of them";
  if (merge.by !== null) return `held for approval by ${merge.by}`;
  return merge.policy === 'all' ? "the daemon's policy `all` applies them without approval" : null;
}

/** Addresses on one line of the short form of destructive changes. */
const ADDRESSES_A_LINE = 20;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function destructiveLine(c: Change, drained: boolean): string {
  const forcing = c.diff
    .filter((d) => d.forces_replacement)
    .map(
      (d) =>
        `${d.path} ${clipText(JSON.stringify(d.before) ?? 'null', 60)} → ${clipText(JSON.stringify(d.after) ?? 'null', 60)}`,
    );
  const why = [
    drained ? `drained first, then ${c.action === 'delete' ? 'deleted' : 'changed'}` : null,
    forcing.length > 0 ? `${forcing.join(', ')} forces it` : null,
    c.unverified ? `unverified: ${inWords(c.unverified) ?? ''}` : null,
    causeText(c),
  ].filter((w): w is string => w !== null);
  const action = drained ? 'drain' : c.action;
  return `- **${action}** ${code(c.address)}${why.length > 0 ? `: ${markdownText(why.join('; '))}` : ''}`;
}

function blockedLines(c: Change): string[] {
  // What another object's step does to it (not in the diff block, which lists what is sent).
  const cause = causeText(c);
  return [
    `- **blocked** ${code(c.address)}: ${markdownText(whyText(c) ?? '')}`,
    ...(cause ? [`  - ${markdownText(cause)}`] : []),
  ];
}

/**
 * A code's few warnings a line each (as the dashboard leaves them unfolded); more of one code
 * one line: how many, the first one's words, a few more of its objects.
 */
function warningsSection(room: Room, plan: Plan): void {
  const byCode = new Map<string, Plan['warnings']>();
  for (const w of plan.warnings) byCode.set(w.code, [...(byCode.get(w.code) ?? []), w]);
  const words = (w: Plan['warnings'][number]) =>
    markdownText(clipText(warningText(w), WARNING_CHARS));
  const items = [...byCode].map(([warningCode, ws]) => {
    if (ws.length <= UNGROUPED_WARNINGS)
      return ws.map((w) => `- :warning: **${warningCode}** ${code(w.address)}: ${words(w)}`);
    const examples = ws.slice(1, 1 + WARNING_EXAMPLES).map((w) => code(w.address));
    const more = ws.length - 1 - examples.length;
    return [
      `- :warning: **${warningCode}** ×${ws.length}: ${words(ws[0]!)} Also ${examples.join(', ')}${more > 0 ? ` and ${more} more` : ''}.`,
    ];
  });
  if (items.length === 0) return;
  room.some(
    [`### Warnings (${plan.warnings.length})`, ''],
    items,
    [''],
    (n) => `- … ${plural(n, 'more warning code')} not shown ${NOT_SHOWN}`,
  );
}

/** `### title`, its intro, its lines; nothing when it has no lines. */
function section(
  title: string,
  intro: string | null,
  lines: readonly string[],
  items: number,
): { lines: string[]; items: number } {
  if (lines.length === 0) return { lines: [], items: 0 };
  return {
    lines: [`### ${title}`, '', ...(intro === null ? [] : [intro, '']), ...lines, ''],
    items,
  };
}

function capabilitySection(plan: Plan) {
  const steps = capabilitySteps(plan);
  return section(
    'Capability steps',
    `The control plane supports ${capabilitiesOn(plan) ?? 'none'}; these steps run in this order:`,
    steps.map(
      (s) =>
        `- ${code(s.id)} **${s.op}** ${code(s.target)}${markdownText(s.detail)}: ${markdownText(s.why)}`,
    ),
    steps.length,
  );
}

function manualSection(plan: Plan) {
  const manual = manualSteps(plan);
  const runbook = runbookLines(plan.steps, { indent: '' }).map(escapeTerminal);
  const fence = fenceFor(runbook);
  return section(
    `Manual steps (${manual.length})`,
    'The control plane has no public API for these: `poolsync apply` runs every other step it can, ' +
      `then stops with exit code 2 and this runbook${waitingNote(plan)}; ` +
      'with `--flyte-cli PATH` it runs these commands itself.',
    manual.length === 0 ? [] : [`${fence}sh`, ...runbook, fence],
    manual.length,
  );
}

function unmanagedSection(changes: readonly Change[]) {
  const unmanaged = changes.filter((c) => c.action === 'unmanaged');
  if (unmanaged.length === 0) return { lines: [], items: 0 };
  const lines = [
    `<details><summary>Unmanaged (${unmanaged.some((c) => unmanagedReason(c)) ? 'reported, never touched' : 'not in the repository, prune is off'})</summary>`,
    '',
  ];
  for (const c of unmanaged) {
    const why = unmanagedReason(c);
    lines.push(`- ${code(c.address)}${why ? `: ${markdownText(why)}` : ''}`);
  }
  lines.push('', '</details>', '');
  return { lines, items: unmanaged.length };
}

/** The plan's changes in a diff block, folded: as many as the room holds, the rest counted. */
function diffSection(room: Room, applied: readonly Change[]): void {
  if (applied.length === 0) return;
  // Only the blocks the room may hold are made: a plan of 100,000 creates has ~800,000 lines.
  const blocks: string[][] = [];
  for (let used = 0, i = 0; i < applied.length && used <= room.space(); i++) {
    blocks.push(diffBlock(applied[i]!));
    used += size(blocks[i]!);
  }
  const unmade = applied.length - blocks.length;
  const fence = fenceFor(blocks.flat());
  const lines = blocks.reduce((n, b) => n + b.length, 0);
  const open = unmade === 0 && lines <= OPEN_DIFF_LINES ? ' open' : '';
  room.some(
    [
      `<details${open}><summary>The plan, change by change (${applied.length})</summary>`,
      '',
      `${fence}diff`,
    ],
    blocks,
    [
      fence,
      '<sub>`+` create · `!` update · `-/+` replace · `-` delete</sub>',
      '',
      '</details>',
      '',
    ],
    (n) => `# … ${plural(n + unmade, 'more change')} not shown ${NOT_SHOWN.replace(/`/g, '')}`,
  );
}

function diffBlock(change: Change): string[] {
  const prefix = change.action === 'update' ? UPDATE_IN_DIFF : SYMBOL[change.action];
  // Field lines take the change's marker, so the block takes its colour (a replace's: an update's).
  const marker = prefix === '-/+' ? UPDATE_IN_DIFF : prefix;
  // Names and values come from the repository and the control plane: one line each, escaped.
  const lines = [`${prefix} ${escapeTerminal(change.address)}`];
  for (const comment of [causeText(change), noteText(change)])
    if (comment) lines.push(`${marker}     # ${escapeTerminal(comment)}`);
  for (const f of fieldLines(change))
    lines.push(
      `${marker}     ${escapeTerminal(f.text)}${f.forces ? '  # forces replacement' : ''}`,
    );
  return lines;
}

function metaLine(plan: Plan): string {
  return `<sub>commit ${plan.commit ? `\`${plan.commit.slice(0, 12)}\`` : 'unknown (not a clean Git work tree)'} · desired \`${short(plan.desired_fingerprint)}\` · live \`${short(plan.live_fingerprint)}\`</sub>`;
}

/** The comment's last line, Atlantis' next step: what merging this pull request does. */
export function mergeLine(plan: Plan, merge?: MergeFacts, policies?: PolicyReport): string {
  const c = countPlan(plan);
  const n = c.create + c.update + c.replace + c.delete;
  if (plan.errors.some((e) => e.code === 'REPOSITORY_CHANGED'))
    return "**Merging** makes this repository another one (poolsync.yaml `repository:`), whose prune this plan does not show: revert that change, or leave it to the base branch's maintainers.";
  if (plan.errors.length > 0 && !heldByBudget(plan, merge))
    return '**Merging** applies nothing while the plan fails: fix the errors above and push again.';
  if (n === 0) {
    const adopts = adoptsOnly(plan, 'records');
    return `**Merging** changes nothing on the control plane${adopts === null ? '' : `, but ${adopts}`}.`;
  }
  // docs/policies.md: a denied run waits for an owner's approval; one not evaluated fails.
  const verdict = policies ? policyVerdict(policies) : 'pass';
  if (verdict === 'error')
    return '**Merging** applies nothing while the policies cannot be evaluated (above): fix them and push again.';
  if (verdict === 'deny')
    return '**Merging** applies nothing while the policies deny this plan (above): poolsync applies none of it after merge until an owner of the policies approves exactly these failures, or a push fixes them.';
  const these = n === 1 ? 'this change' : `these ${n} changes`;
  if (merge?.policy === 'none')
    return `**Merging** applies nothing: the daemon's policy is \`none\` (it plans only); ${these} ${n === 1 ? 'waits' : 'wait'} for \`poolsync apply\`.`;
  if (merge && merge.held > 0)
    return `**Merging**: the daemon applies the rest of ${these} on its next run and holds the ${plural(merge.held, 'change')} above until approved (unless applies are frozen).`;
  if (merge)
    return `**Merging**: the daemon applies ${these} on its next run (unless applies are frozen).`;
  return `**Merging** hands ${these} to poolsync's apply of the merged commit (the daemon's next run, under its policy, or \`poolsync apply\`); nothing is applied from the pull request.`;
}

/** At most `max` characters, the cut marked with an ellipsis. */
function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function short(fingerprint: string): string {
  return fingerprint.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * Plain text with HTML and link syntax neutralised (a name could add an image, a tracking pixel),
 * but its code spans as they are: Markdown shows them literally and reads no escape in them. A
 * span is found as CommonMark finds it (a run of backticks to the next run of as many), so a
 * value holding backticks only moves where spans start and end: all outside them is escaped.
 * Not for raw HTML (a `<summary>`), which reads no span: htmlText.
 */
export function markdownText(text: string): string {
  const flat = text.replace(/\r?\n/g, ' ');
  const runs = [...flat.matchAll(/`+/g)];
  // Longer than every run in the text: no backtick of it can close the span a URL is put in.
  const ticks = '`'.repeat(longestTicks(flat) + 1);
  const neutralised = (part: string): string =>
    // A backslash too: a value's own before a bracket would cancel ours and free the bracket.
    inert(
      part.replace(/[\\[\]]/g, (c) => `\\${c}`),
      (url) => `${ticks}${url}${ticks}`,
    );
  let out = '';
  let from = 0;
  for (let i = 0; i < runs.length; i++) {
    const open = runs[i]!;
    const close = runs.findIndex((r, j) => j > i && r[0].length === open[0].length);
    if (close < 0) continue;
    const end = runs[close]!.index + runs[close]![0].length;
    out += neutralised(flat.slice(from, open.index)) + flat.slice(open.index, end);
    from = end;
    i = close;
  }
  return escapeTerminal(out + neutralised(flat.slice(from)));
}

/** Text in raw HTML (a `<summary>`), where Markdown reads nothing: HTML and references escaped. */
export function htmlText(text: string): string {
  return escapeTerminal(
    inert(text.replace(/\r?\n/g, ' '), (url) => `<code>${url.replaceAll('&', '&amp;')}</code>`),
  );
}

/**
 * What the forges notify and cross-reference from a comment: GitHub's `@user`, `#12`, `GH-12`,
 * `owner/repo#12`
 * (https://docs.github.com/en/get-started/writing-on-github/working-with-advanced-formatting/autolinked-references-and-urls),
 * GitLab's `!12`, `~label`, `%milestone`, `$12`, `&12`, `^alert#12`, `*iteration:"…"`,
 * `[vulnerability:12]` (any `[kind:…]`), `[[wiki page]]` and `group/project>` (not in a URL)
 * (https://docs.gitlab.com/user/markdown/#gitlab-specific-references). Both find them in the
 * rendered text, where a backslash escape is gone, so a zero-width space follows the sigil (as
 * Renovate does): the same text shows, and no pattern matches. Commit SHAs are left as written:
 * a link to a commit notifies no one, and a digest the reader copies must stay whole.
 */
const REFERENCE =
  /(@|(?:[#!$&]|\bGH-)(?=\d)|[~%](?=[\w"?.&-])|\^(?=\d|alert#)|\*(?=iteration:)|\[(?=\\?\[|[a-z_]+:))|((?<=(?:^|[^\w.:/-])[\w.-]+(?:\/[\w.-]+)+)>)|([&<>])/gi;

/**
 * A URL of an issue, pull or merge request, epic, alert… (GitHub `/issues/12`, `/pull/12`,
 * GitLab `/-/issues/12`, `/-/merge_requests/12`, `/-/security/vulnerabilities/12`), which both
 * forges turn into a cross-reference: put in code, where neither links it, whole to copy.
 * Trailing punctuation is the sentence's, as the forges' autolinks read it; at most 20 path
 * segments before the item, so a hostile text costs no more than a long one.
 */
const ITEM_URL =
  /(?<![\w.])(?:https?:\/\/|www\.)[\w.-]+(?::\d+)?(?:\/[\w.~%+-]+){0,20}?\/(?:issues|pull|discussions|merge_requests|-\/[a-z_]+(?:\/[a-z_]+)?)\/\d+(?:[^\s<>`"\\]*[^\s<>`"\\.,:;!?'")*_~])?/;

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** A zero-width space as an entity: escapeTerminal would write the character as `\u…`. */
const ZERO_WIDTH = '&#8203;';

const INERT = new RegExp(`(${ITEM_URL.source})|${REFERENCE.source}`, 'gi');

/**
 * HTML and references in one pass, so no entity written is read again; `&` escaped, so no entity
 * (`&#64;`) makes one. A URL of a forge's item goes whole in `inCode`, nothing of it escaped.
 */
const inert = (text: string, inCode: (url: string) => string): string =>
  text.replace(INERT, (_, url?: string, sigil?: string, project?: string, html?: string) =>
    url
      ? inCode(url)
      : sigil
        ? `${ENTITY[sigil] ?? sigil}${ZERO_WIDTH}`
        : project
          ? `${ZERO_WIDTH}&gt;`
          : ENTITY[html!]!,
  );

const longestTicks = (text: string): number =>
  Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));

/** `text` as a code span nothing in it can end: more backticks than its longest run (CommonMark). */
export function code(text: string): string {
  const safe = escapeTerminal(text);
  const ticks = '`'.repeat(longestTicks(safe) + 1);
  const pad = safe.startsWith('`') || safe.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${safe}${pad}${ticks}`;
}

/** A code fence longer than any run of backticks in `lines`, so no line can close it. */
function fenceFor(lines: readonly string[]): string {
  return '`'.repeat(Math.max(2, ...lines.map(longestTicks)) + 1);
}
