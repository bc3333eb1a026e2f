/** Shared pieces of the renderers: the words of reasons, counts, field lines, the header. */
import type {
  Change,
  FieldDiff,
  Plan,
  PlanControlPlane,
  PlanWarning,
  Reason,
  Step,
} from '../model/plan.js';
import { CAPABILITY_NAMES } from '../model/capabilities.js';
import { countPlan, heldByOtherRepository, type PlanCounts } from '../plan/counts.js';
import {
  describeScope,
  earlierNameWords,
  errorText,
  listAddresses,
  reasonText,
} from './reasons.js';
import { plural } from '../util/plural.js';

export { plural };
import { PRINTABLE_ASCII } from '../util/terminal-text.js';

/** The words of PRUNE_OFF: a plan saved without `why` says it only in words. */
const PRUNE_OFF_WORDS = reasonText({ code: 'PRUNE_OFF', params: {} });

/** The message of a warning as this poolsync words it (the JSON's `message`): as an error's. */
export const warningText: (w: PlanWarning) => string = errorText;

/** What another object's step does to a change (Change.cause: C2, C3, C7, C8, A3, cluster_move). */
export function causeText(change: { cause?: Reason | null }): string | null {
  return change.cause ? reasonText(change.cause) : null;
}

/** Data in words (else its code), words read from a plan file as they are: `unverified` so. */
export function inWords(r: Reason | string | null | undefined): string | null {
  return typeof r === 'object' && r ? (reasonText(r) ?? r.code) : (r ?? null);
}

/** A change's notes in words, `; ` between them (the JSON's `note`); null when it has none. */
export function noteText(change: Pick<Change, 'note'>): string | null {
  return Array.isArray(change.note) ? change.note.map(inWords).join('; ') : inWords(change.note);
}

/** A change's reason in words (the JSON's `reason`), else the words a plan file stored. */
export function whyText(change: { why?: Reason | null; reason?: string | null }): string | null {
  return (change.why && reasonText(change.why)) ?? change.reason ?? null;
}

export const SYMBOL: Record<Change['action'], string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
  blocked: '!',
  unmanaged: '?',
  noop: ' ',
};

/** plan.md's counts of the one count (src/plan/counts.ts), side effects left out. */
export function summaryCounts(s: Omit<PlanCounts, 'side_effects'>): string {
  return `${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete, ${s.blocked} blocked`;
}

/**
 * The one count in words, side effects included: what the daemon's messages say; `tally`: the
 * counts' words (apply/report.ts doneCounts: what an apply changed, not what a plan would).
 */
export function countsText(c: PlanCounts, tally = summaryCounts): string {
  return (
    tally(c) +
    (c.side_effects > 0
      ? `; ${plural(c.side_effects, 'side effect')} (made by the control plane)`
      : '')
  );
}

/** What poolsync does (countPlan; `plan.summary` in the JSON counts every change by action). */
export function closingLine(plan: Plan, counts = countPlan(plan)): string {
  return `Plan: ${summaryCounts(counts)}.`;
}

export function sideEffectLine(plan: Plan, counts = countPlan(plan)): string | null {
  const n = counts.side_effects;
  if (n === 0) return null;
  return `${n === 1 ? '1 more change follows' : `${n} more changes follow`} from these steps (marked #): the control plane makes ${n === 1 ? 'it' : 'them'} itself, nothing is sent.`;
}

export function hasNoChanges(plan: Plan): boolean {
  const s = plan.summary;
  return s.create + s.update + s.replace + s.delete + s.blocked === 0;
}

/**
 * Text built from pieces and joined once into one flat string: at 100,000 creates, building the
 * plan's text with `+=` made ~5 million intermediate (cons) strings, 114 MB of the render's 305
 * MB allocated. The one array serves every take: its length is cut to the pieces it holds.
 */
export class Pieces {
  private readonly pieces: string[] = [];
  private count = 0;
  /** Characters added since the last take. */
  length = 0;

  add(piece: string): void {
    this.pieces[this.count++] = piece;
    this.length += piece.length;
  }

  /** How many pieces it holds: a mark to cut back to. */
  get size(): number {
    return this.count;
  }

  /** Drops the pieces added since `size` was `mark`. */
  cutTo(mark: number): void {
    while (this.count > mark) this.length -= this.pieces[--this.count]!.length;
  }

  /** The pieces added since the last take, joined; the next piece starts a new text. */
  take(): string {
    this.pieces.length = this.count;
    this.count = 0;
    this.length = 0;
    return this.pieces.join('');
  }
}

/** Printable ASCII but `"` and `\\`: a string JSON.stringify only puts in quotes. */
const QUOTED_AS_IS = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * A value as JSON, an array's `, `-separated; whether what it added is printable ASCII (text
 * that needs no escaping). JSON.stringify is kept for what needs its escapes: at 100,000 creates
 * (~650,000 strings, numbers and booleans) it took ~0.3 µs and made a new string each; String()
 * of a number or boolean is the same text, from V8's cache.
 */
function addValue(out: Pieces, value: unknown): boolean {
  if (typeof value === 'string' && QUOTED_AS_IS.test(value)) {
    out.add('"');
    out.add(value);
    out.add('"');
    return true;
  }
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
    out.add(String(value));
    return true;
  }
  if (Array.isArray(value)) {
    let plain = true;
    out.add('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.add(', ');
      plain = addValue(out, value[i]) && plain;
    }
    out.add(']');
    return plain;
  }
  const json = value === undefined ? 'null' : JSON.stringify(value);
  out.add(json);
  return PRINTABLE_ASCII.test(json);
}

/** How a change's fields read: a blocked change of an object that does not exist as its create. */
export const fieldForm = (change: Pick<Change, 'action'> & { before?: unknown }) =>
  change.action === 'blocked' && change.before === null ? 'create' : change.action;

/** The field lines of a change: `path = value` for creates, `path: before → after` otherwise. */
export function fieldLines(
  change: Pick<Change, 'action' | 'diff'> & { before?: unknown },
): { text: string; forces: boolean }[] {
  if (change.action === 'delete') return [];
  const diff = change.diff; // read once (plan/forms.ts DIFF_OF_AFTER)
  const width = fieldWidth(diff);
  const form = fieldForm(change);
  return diff.map((d) => ({
    text: fieldText(form, d, width),
    forces: d.forces_replacement,
  }));
}

export function fieldWidth(diff: readonly FieldDiff[]): number {
  let width = 0;
  // By index: `for of` made an iterator result per field (~26 MB at 100,000 creates).
  for (let i = 0; i < diff.length; i++) width = Math.max(width, diff[i]!.path.length);
  return width;
}

export function fieldText(action: Change['action'], d: FieldDiff, width: number): string {
  const line = new Pieces();
  addFieldText(line, action, d, width);
  return line.take();
}

/**
 * fieldText, added to `out` piece by piece; whether the line is printable ASCII, which the text
 * renderer then need not escape (a plan of 100,000 creates has ~800,000 field lines).
 */
export function addFieldText(
  out: Pieces,
  action: Change['action'],
  d: FieldDiff,
  width: number,
): boolean {
  if (action === 'create') return addCreatedFieldText(out, d.path, d.after, width);
  // What follows the path is one of a few cached strings (its padding and separator).
  const pad = width - d.path.length;
  out.add(d.path);
  const plainPath = PRINTABLE_ASCII.test(d.path);
  out.add(padded(COLON, pad, ':', ' '));
  const plainBefore = addValue(out, d.before);
  out.add(' → ');
  return addValue(out, d.after) && plainBefore && plainPath;
}

/** A create's field line (`path = value`), as addFieldText adds it. */
export function addCreatedFieldText(
  out: Pieces,
  path: string,
  after: unknown,
  width: number,
): boolean {
  const pad = width - path.length;
  out.add(path);
  const plainPath = PRINTABLE_ASCII.test(path);
  if (typeof after === 'string' && QUOTED_AS_IS.test(after)) {
    // The opening quote in the padding's piece: one piece fewer, to keep and to join, on most
    // lines (100,000 creates: 128 → 114 scavenges a render).
    out.add(padded(ASSIGN_QUOTE, pad, '', ' = "'));
    out.add(after);
    out.add('"');
    return plainPath;
  }
  out.add(padded(ASSIGN, pad, '', ' = '));
  return addValue(out, after) && plainPath;
}

/**
 * A create's field line after its newline and indent (`lead`), as addCreatedFieldText adds it,
 * in two or three pieces: its start (the lead, path, padding and ` = `, for a string its quote),
 * made once a render for each path and width; whether it is printable ASCII. A plan of 100,000
 * creates has ~800,000 such lines: five pieces each, its path tested each time, cost the text
 * ~1.6 million more pieces to keep and join and as many regular-expression tests.
 */
export class CreatedLines {
  /** By width, then path: the start ('' for a path that needs escaping). */
  private readonly quoted: Map<string, string>[] = [];
  private readonly bare: Map<string, string>[] = [];

  constructor(private readonly lead: string) {}

  add(out: Pieces, path: string, after: unknown, width: number): boolean {
    const quoted = typeof after === 'string' && QUOTED_AS_IS.test(after);
    const start = this.start(path, width, quoted);
    if (start === '') return false;
    out.add(start);
    if (!quoted) return addValue(out, after);
    out.add(after as string);
    out.add('"');
    return true;
  }

  private start(path: string, width: number, quoted: boolean): string {
    const paths = ((quoted ? this.quoted : this.bare)[width] ??= new Map());
    let start = paths.get(path);
    if (start === undefined) {
      const pad = quoted
        ? padded(ASSIGN_QUOTE, width - path.length, '', ' = "')
        : padded(ASSIGN, width - path.length, '', ' = ');
      // Joined, not `+`: one flat string, not a rope copied piece by piece at every join.
      start = PRINTABLE_ASCII.test(path) ? [this.lead, path, pad].join('') : '';
      paths.set(path, start);
    }
    return start;
  }
}

/** By padding: `n` spaces and ` = ` (and `"`); `:`, `n` spaces and a space. */
const ASSIGN: string[] = [];
const ASSIGN_QUOTE: string[] = [];
const COLON: string[] = [];

function padded(cache: string[], n: number, head: string, tail: string): string {
  const spaces = Math.max(0, n);
  return (cache[spaces] ??= head + ' '.repeat(spaces) + tail);
}

/** The one wording of what policy safe holds back (the daemon's run messages). */
export function heldForApproval(
  held: readonly Pick<Change, 'action' | 'address'>[],
  fingerprint: string,
): string {
  const list = held.map((c) => `${c.action} ${c.address}`).join(', ');
  return `${plural(held.length, 'change')} held for approval (${list}); approve ${fingerprint}`;
}

/** Why each capability step is safe (domain.md, Capabilities). */
const CAPABILITY_STEP_WHY: Partial<Record<Step['op'], string>> = {
  drain_queue: 'the queue takes no new work; work in flight finishes (drain)',
  wait_drained:
    'waits until the queues are DRAINED (nothing in flight), at most --wait-timeout; on timeout nothing after it runs',
  activate_queue:
    'the queue takes work again, as it routes to clusters; it runs after any step that needs the queue drained (a move)',
  delete_queue: 'runs only after the queue is DRAINED: no run or action is lost (queue_delete)',
  undelete_queue:
    'the soft-deleted queue of this name comes back DRAINED with its old spec; its update and activation follow where the plan has them',
  undelete_pool:
    'the soft-deleted pool of this name comes back with its old contract; its update follows if it differs',
  undelete_cluster:
    'the soft-deleted cluster comes back DRAINED in its old pool, its co-named queue with it; activation follows',
  move_cluster:
    'the pool changes in place: no delete and re-register, so the co-named queue moves along (cluster_move)',
  move_queue:
    'runs only after the queue is DRAINED: it keeps its name and settings, no work is lost (queue_move)',
  update_pool:
    'the contract changes in place: no delete and re-create; member clusters match it (pool_update, C4)',
};

export function capabilitySteps(plan: Plan) {
  return plan.steps
    .filter((s) => CAPABILITY_STEP_WHY[s.op] !== undefined)
    .map((s) => ({
      id: s.id,
      op: s.op,
      target: s.target,
      detail:
        s.op === 'wait_drained'
          ? ` (${s.args.queues.join(', ')})`
          : s.op === 'move_cluster' || s.op === 'move_queue'
            ? ` → pool ${s.args.pool}`
            : '',
      why: CAPABILITY_STEP_WHY[s.op]!,
    }));
}

/** Every capability the plan's JSON has on (`drain, queue_delete`); null when none is. */
export function capabilitiesOn(plan: Plan): string | null {
  const caps = plan.capabilities;
  const on = caps ? CAPABILITY_NAMES.filter((n) => caps[n]) : [];
  return on.length > 0 ? on.join(', ') : null;
}

/**
 * The lines under the closing line, each only when it has something to say (docs/plan.md, Prune
 * scope). `saved`: a plan file `show` read, which names no repository only when an earlier build
 * made it (a plan made here in process may name none).
 */
export function footnotes(plan: Plan, counts = countPlan(plan), saved = false): string[] {
  const unmanaged = plan.summary.unmanaged;
  const scope = plan.prune_scope;
  const why = scope ? 'outside the prune scope, or not poolsync’s to change' : 'prune is off';
  const others =
    scope?.inventory === undefined ? 'live objects of other kinds' : 'other live objects';
  const fallback =
    scope?.inventory === false
      ? ' This control plane has no inventory of what poolsync applied yet (a first run here): nothing poolsync did not apply is deleted, unless adopted (`poolsync import ADDRESS`, or its kind in poolsync.yaml manage:); the apply records what the repository declares.'
      : '';
  const unnamed = saved && plan.inventory !== undefined && plan.inventory.repository === undefined;
  return [
    sideEffectLine(plan, counts),
    ...repositoryConflictLines(plan),
    unmanaged > 0
      ? `${plural(unmanaged, 'object')} unmanaged (${unmanagedWhys(plan, unmanaged, why)}).`
      : null,
    scope
      ? `Prune scope: ${describeScope(scope, unnamed)}; ${others} are never deleted.${fallback}`
      : null,
    unnamed ? unnamedDeletesLine(plan) : null,
    adoptionLine(plan),
    renamedLine(plan),
    plan.confirm_destroy?.length ? confirmDestroyLine(plan.confirm_destroy) : null,
    earlierUnprunedLine(plan),
  ].filter((l): l is string => l !== null);
}

/** Why an object an earlier poolsync applied is left unpruned (earlierUnpruned); /status's warning code. */
export const EARLIER_UNPRUNED = 'RECORDED_WITHOUT_REPOSITORY';

/** Why an unmanaged change is left alone, in the few words of the summary (its own line has all). */
function unmanagedWords(c: Change): string | null {
  const p = c.why?.params ?? {};
  switch (c.why?.code) {
    case 'PRUNE_OFF':
      return 'prune is off';
    case 'OTHER_REPOSITORY':
      return `applied by repository ${String(p.repository)}`;
    case 'FORGOTTEN':
      return 'taken out of management (`poolsync state forget`)';
    case 'NOT_IN_INVENTORY':
      return 'not applied by poolsync (not in the inventory)';
    case 'RECORDED_WITHOUT_REPOSITORY':
      return 'recorded by an earlier poolsync without its repository';
    case 'MADE_AGAIN':
      return 'made again by another client after a cut-short apply deleted it';
    case 'CONAMED_OF_DELETING_CLUSTER':
      return 'co-named queues of clusters Union is deleting';
    case 'OUTSIDE_PRUNE_SCOPE':
      return 'outside the prune scope';
    default:
      return null;
  }
}

/**
 * `prune is off`, or each reason with its count when they differ (`15: applied by repository
 * infra; 5: outside the prune scope`), most first; `fallback` for changes without a known reason.
 */
function unmanagedWhys(plan: Plan, total: number, fallback: string): string {
  const counts = new Map<string, number>();
  let known = 0;
  for (const c of plan.changes) {
    const words = c.action === 'unmanaged' ? unmanagedWords(c) : null;
    if (words === null) continue;
    counts.set(words, (counts.get(words) ?? 0) + 1);
    known++;
  }
  if (known < total) counts.set(fallback, (counts.get(fallback) ?? 0) + total - known);
  const whys = [...counts].sort((a, b) => b[1] - a[1]);
  return whys.length === 1 ? whys[0]![0] : whys.map(([words, n]) => `${n}: ${words}`).join('; ');
}

/**
 * Undeclared objects an earlier poolsync applied under prune: true, recorded without a
 * repository (inventory format 1): kept, since another repository may have applied them.
 */
export function earlierUnpruned(plan: Pick<Plan, 'changes'>): string[] {
  return plan.changes
    .filter((c) => c.action === 'unmanaged' && c.why?.code === EARLIER_UNPRUNED)
    .map((c) => c.address);
}

/** Their one warning (docs/plan.md, Prune scope); null when there are none. */
export function earlierUnprunedLine(plan: Pick<Plan, 'changes'>): string | null {
  const kept = earlierUnpruned(plan);
  return kept.length === 0 ? null : `Warning: ${earlierUnprunedWarning(kept)}`;
}

/** The warning naming `kept`, objects an earlier poolsync applied and left unpruned (/status too). */
export function earlierUnprunedWarning(kept: readonly string[]): string {
  const one = kept.length === 1;
  return (
    `${plural(kept.length, 'object')} not in the repository ${one ? 'was' : 'were'} applied by an earlier ` +
    `poolsync whose inventory recorded no repository, so prune leaves ${one ? 'it' : 'them'} (another repository ` +
    `may have applied ${one ? 'it' : 'them'}): ${listAddresses(kept, 20)}. If this repository applied ` +
    `${one ? 'it' : 'one'}, \`poolsync import ADDRESS\` adopts it and removing its manifest then deletes it; ` +
    '`poolsync state forget ADDRESS` leaves it alone for good (docs/versioning.md, Every format and its rule).'
  );
}

/**
 * What `apply` does with the deletes of a plan file that names no repository: refuses those of
 * what the inventory records (saved-plan.ts savedPlanInventory), which no repository prunes.
 */
function unnamedDeletesLine(plan: Pick<Plan, 'changes'>): string | null {
  const deletes = plan.changes
    .filter((c) => c.action === 'delete' || c.action === 'replace')
    .map((c) => c.address);
  if (deletes.length === 0) return null;
  return (
    `This plan names no repository (an earlier poolsync made it): \`poolsync apply\` refuses it if it deletes what ` +
    `the inventory records (${listAddresses(deletes, 20)}), since no repository prunes what was recorded without one ` +
    '(docs/plan.md, Prune scope). Run `poolsync plan` again to see what this repository prunes.'
  );
}

/** The line a plan without steps opens with, when undeclared objects are left unpruned (earlierUnpruned). */
export function notMatchingLine(plan: Pick<Plan, 'changes'>): string | null {
  const kept = earlierUnpruned(plan).length;
  return kept === 0
    ? null
    : `The control plane does not match the repository: ${plural(kept, 'object')} an earlier poolsync applied ${kept === 1 ? 'is' : 'are'} left unpruned (see the warning below).`;
}

/**
 * A plan that sends nothing but adopts (docs/plan.md, Exit status): what its apply records,
 * never "No changes", which CI reads as nothing to apply. Null when it adopts nothing.
 */
export function adoptsOnly(
  plan: Pick<Plan, 'inventory'>,
  tense: 'records' | 'recorded',
): string | null {
  const n = plan.inventory?.adopts?.length ?? 0;
  const from = plan.inventory?.renamed_from;
  const name = plan.inventory?.repository;
  // A plan's words have its footnotes below; an apply's and a daemon run's stand alone.
  const planned = tense === 'records';
  const parts = [
    n > 0
      ? `${plural(n, 'object')} as this repository's${planned ? ' (Adopts, below)' : ''}`
      : null,
    from === undefined
      ? null
      : planned
        ? `what was recorded under ${from} under its name now, ${name} (see the warning below)`
        : `what was recorded under ${from} (the folder's path, its name before a Git remote named it) under that remote's name, ${name}`,
  ].filter((p) => p !== null);
  return parts.length === 0 ? null : `the apply ${tense} ${parts.join(', and ')}`;
}

/**
 * A repository named by its folder's path until a Git remote was added: what it recorded under
 * the path is its own (docs/plan.md, Prune scope). Null when nothing was recorded under it. No
 * way to keep the path is offered: committed in poolsync.yaml, a machine path would name every
 * clone, CI and daemon checkout after one folder on one machine.
 */
export function renamedLine(plan: Pick<Plan, 'inventory'>): string | null {
  const from = plan.inventory?.renamed_from;
  if (from === undefined) return null;
  const name = plan.inventory!.repository;
  return (
    `Warning: the inventory records objects under ${from}, this folder's path, its name before its Git remote ` +
    `named it ${name}: they are this repository's, and the apply records them under ${name}, as every ` +
    `checkout of that remote (CI, the daemon's) is named (an inventory write, no call to the control plane; ` +
    `docs/plan.md, Prune scope).`
  );
}

/**
 * What an apply that sent nothing did when it adopted: the CLI apply's last line and the daemon's
 * in-sync run say it alike. Null when it adopted nothing.
 */
export function adoptedOnly(plan: Pick<Plan, 'inventory'>): string | null {
  const adopts = adoptsOnly(plan, 'recorded');
  return adopts === null ? null : `nothing was sent to the control plane, but ${adopts}`;
}

/**
 * What the apply takes over (docs/plan.md, Prune by inventory): said, as Terraform says "will be
 * imported", since no change shows it and prune later deletes what it adopts.
 */
export function adoptionLine(plan: Pick<Plan, 'inventory'>): string | null {
  const adopts = plan.inventory?.adopts ?? [];
  if (adopts.length === 0) return null;
  const one = adopts.length === 1;
  // Applied by an earlier poolsync, yet recorded without a repository: not "did not apply".
  const earlier = plan.inventory?.adopts_recorded_without_repository ?? [];
  const isEarlier = new Set(earlier);
  const unrecorded = adopts.filter((a) => !isEarlier.has(a));
  const parts = [
    unrecorded.length > 0
      ? `${plural(unrecorded.length, 'object')} poolsync did not apply: ${listAddresses(unrecorded)}`
      : null,
    earlier.length > 0
      ? `${plural(earlier.length, 'object')} an earlier poolsync recorded without a repository: ${listAddresses(earlier)}`
      : null,
  ].filter((p) => p !== null);
  return (
    `Adopts ${parts.join('; and ')}. ` +
    `The apply records ${one ? 'it' : 'them'} as this repository's; with prune: true, removing ` +
    `${one ? 'its manifest then deletes it' : 'a manifest then deletes its object'}.`
  );
}

/**
 * Once for each repository whose objects this one declares (REPOSITORY_CONFLICT, a warning an
 * object): how many, how many of them are blocked, and what settles it (earlierNameWords).
 */
export function repositoryConflictLines(plan: Pick<Plan, 'changes' | 'warnings'>): string[] {
  const declared = new Map<
    string,
    { here: unknown; hereIsPath: unknown; objects: number; blocked: number }
  >();
  for (const w of plan.warnings) {
    const other = w.params?.repository;
    if (w.code !== 'REPOSITORY_CONFLICT' || typeof other !== 'string') continue;
    const { here, here_is_path: hereIsPath } = w.params!;
    const seen = declared.get(other) ?? { here, hereIsPath, objects: 0, blocked: 0 };
    seen.objects++;
    declared.set(other, seen);
  }
  if (declared.size === 0) return [];
  for (const c of heldByOtherRepository(plan)) {
    const seen = declared.get(String(c.why!.params.repository));
    if (seen) seen.blocked++;
  }
  return [...declared].map(([other, { here, hereIsPath, objects, blocked }]) => {
    const [was, them] = objects === 1 ? (['was', 'it'] as const) : (['were', 'them'] as const);
    return (
      `${plural(objects, 'object')} this repository declares ${was} applied by repository ${other} ` +
      `(REPOSITORY_CONFLICT): nothing of ${them} is sent, recorded or pruned` +
      (blocked > 0
        ? `, so ${plural(blocked, 'change')} to ${them} ${blocked === 1 ? 'is' : 'are'} blocked`
        : '') +
      `. ${earlierNameWords(other, here, hereIsPath, them)}; else declare each in one repository only, or hand it over with ` +
      `\`poolsync import ADDRESS\` (docs/plan.md, Prune scope).`
    );
  });
}

/** docs/plan.md, Guardrails: what waits for a person whatever the policy or flags. */
export function confirmDestroyLine(addresses: readonly string[]): string {
  const them = addresses.length === 1 ? 'it' : 'them';
  return `Needs a person's approval (poolsync/confirm-destroy): ${listAddresses(addresses, 10)}. \`poolsync apply\` asks for ${them} at the terminal; --auto-approve and saved plans are refused, and the daemon holds ${them} for \`poolsync approve\`.`;
}

export function failedLine(plan: Plan): string {
  return `Plan failed with ${plural(plan.errors.length, 'error')}: nothing will be applied.`;
}

/** The reason of an unmanaged change when it says more than "prune is off"; else null. */
export function unmanagedReason(change: Change): string | null {
  if (change.action !== 'unmanaged') return null;
  const words = whyText(change);
  return words && change.why?.code !== 'PRUNE_OFF' && words !== PRUNE_OFF_WORDS ? words : null;
}

/** `embedded file:/srv/cp.json`, `union union+https://x (organisation acme)` (as apply's refusals name it). */
export function controlPlaneName(cp: PlanControlPlane): string {
  return `${cp.backend} ${cp.endpoint}${cp.organization ? ` (organisation ${cp.organization})` : ''}`;
}

/**
 * The environment and control plane of a plan made by `plan`, `apply DIR` or the daemon, and a
 * warning when its embedded state is missing (every object is a create); none in-process.
 */
export function headerLines(
  plan: Plan,
  name: (text: string) => string,
  warn: (text: string) => string,
): string[] {
  const cp = plan.control_plane;
  if (!cp) return [];
  const where = cp.endpoint.replace(/^file:/, '');
  const lines = cp.environment ? [`Environment: ${name(cp.environment)}`] : [];
  lines.push(`Control plane: ${name(controlPlaneName(cp))}`);
  if (cp.new_state)
    lines.push(
      warn(
        cp.default_state
          ? `no control plane was named (--control-plane, env POOLSYNC_CONTROL_PLANE), and the default embedded state ${where} does not exist: this plan is against a new, empty control plane that \`poolsync apply\` would create there. Name your control plane to plan against it.`
          : `the embedded state ${where} does not exist: this plan is against a new, empty control plane that \`poolsync apply\` would create there.`,
      ),
    );
  return lines;
}
