/**
 * The bytes of a plan memory record (plan-memory.ts) and back: two JSON texts on two lines.
 *
 * - the head: the record with its plan's `changes` left out (null), and the plan's visible
 *   changes (every change but noop) with their places in it;
 * - the rest: the noop changes, in order: about nine tenths of a converged plan's bytes.
 *
 * A record read back parses its head only; its plan's `changes` is an accessor that parses the
 * rest, and merges the visible changes back in their places, when first asked for (JSON output,
 * `--out`, a pull-request comment). Text and Markdown output read the visible changes alone
 * (model/plan.ts VISIBLE_CHANGES): a one-file replan of 10,000 objects no longer parses and
 * collects 4 MB of noops it never shows. Either way the plan is the one remembered, byte for
 * byte (JSON.stringify calls the accessor; its place among the keys is the one `changes` had).
 *
 * In both parts, a change whose `after` is `before` byte for byte (every noop) keeps `after`
 * as a marker, never a value of the plan format.
 */
import { VISIBLE_CHANGES, type Change, type Plan } from '../model/plan.js';
import { off } from './off.js';

const SAME = '=before' as unknown as Change['after'];

/** What the record keeps of a plan's changes, beside the rest of its head. */
interface ChangesHead {
  total: number;
  /** The visible changes' places in `changes`, ascending. */
  at: number[];
  visible: Change[];
}

export interface RecordWithPlan {
  result: { plan: Plan };
}

/** RECORD as the two lines of its entry. */
export function encodeRecord(record: RecordWithPlan): string {
  const { plan } = record.result;
  const at: number[] = [];
  const visible: Change[] = [];
  const noops: Change[] = [];
  plan.changes.forEach((c, i) => {
    const kept = sameAfter(c);
    if (c.action === 'noop') noops.push(kept);
    else {
      at.push(i);
      visible.push(kept);
    }
  });
  const changes: ChangesHead = { total: plan.changes.length, at, visible };
  const head = { ...record, result: { ...record.result, plan: { ...plan, changes: null } } };
  return `${JSON.stringify({ head, changes })}\n${JSON.stringify(noops)}`;
}

/**
 * The record of BODY (encodeRecord's), its plan's noops parsed when first asked for; null when
 * BODY is not one. BODY is a verified cache entry (DiskCache): the rest parses as written.
 */
export function decodeRecord<R extends RecordWithPlan>(body: string): R | null {
  const newline = body.indexOf('\n');
  if (newline < 0) return null;
  const { head, changes } = JSON.parse(body.slice(0, newline)) as { head: R; changes: ChangesHead };
  const plan = head?.result?.plan;
  if (!plan || plan.changes !== null || !changes || changes.at.length !== changes.visible.length)
    return null;
  const visible = changes.visible.map(afterSame);
  const rest = body.slice(newline + 1);
  let all: Change[] | null = null;
  const materialise = (): Change[] => (all ??= merge(changes.total, changes.at, visible, rest));
  Object.defineProperty(plan, 'changes', {
    get: materialise,
    set(value: Change[]) {
      all = value;
    },
    enumerable: true,
    configurable: true,
  });
  Object.defineProperty(plan, VISIBLE_CHANGES, { value: visible, enumerable: false });
  if (off('lazy-record')) void plan.changes;
  return head;
}

function merge(total: number, at: number[], visible: Change[], rest: string): Change[] {
  const noops = (JSON.parse(rest) as Change[]).map(afterSame);
  if (noops.length + visible.length !== total)
    throw new Error(`plan record: ${noops.length} + ${visible.length} changes, not ${total}`);
  const out: Change[] = new Array<Change>(total);
  let v = 0;
  let n = 0;
  for (let i = 0; i < total; i++) out[i] = at[v] === i ? visible[v++]! : noops[n++]!;
  return out;
}

function sameAfter(c: Change): Change {
  return c.before !== null && JSON.stringify(c.before) === JSON.stringify(c.after)
    ? { ...c, after: SAME }
    : c;
}

function afterSame(c: Change): Change {
  if (c.after === SAME) c.after = c.before;
  return c;
}
