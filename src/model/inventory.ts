/**
 * The inventory (docs/plan.md, Prune by inventory): per control plane, the addresses poolsync
 * applied from the repository, which `prune: true` deletes once undeclared (as the kinds
 * `manage:` claims). Kept where every reader of that control plane finds it (src/apply/inventory.ts).
 */
import { refuseNewer } from '../util/format-version.js';
import { ascending } from '../util/sorted.js';

import {
  CONFIRM_DESTROY_ANNOTATION,
  PREVENT_DESTROY_ANNOTATION,
  type Guardrails,
} from './desired.js';

export const INVENTORY_FORMAT = 1;

export interface InventoryRecord {
  format: typeof INVENTORY_FORMAT;
  /** `Kind/name` addresses, sorted, unique. */
  addresses: string[];
  /** ISO 8601. */
  updated_at: string;
  commit: string | null;
  /** As plans name it. */
  control_plane: { backend: string; endpoint: string; organization: string | null } | null;
  /**
   * Addresses `poolsync state forget` took out of management, sorted: prune never deletes them,
   * whatever `manage:` claims, until `poolsync import` adopts one again. Absent: none.
   */
  forgotten?: string[];
  /**
   * Addresses applied with `poolsync/prevent-destroy: "true"`, sorted: a plan that deletes or
   * replaces one is an error even once its manifest is gone (docs/plan.md, Protection), until a
   * commit declaring it without the annotation is applied. Absent: none.
   */
  prevent_destroy?: string[];
  /** Likewise `poolsync/confirm-destroy: "true"`: deleted or replaced only once a person approves. */
  confirm_destroy?: string[];
  /**
   * poolsync.yaml `guardrails:` of the last commit applied: the next plans keep within it as well
   * as within their own, so a commit raising the budget spends it only once applied (docs/plan.md,
   * Guardrails). Absent: none recorded.
   */
  guardrails?: Guardrails;
}

/** The protection marks an inventory keeps (docs/plan.md, Protection). */
export const PROTECTION_MARKS = ['prevent_destroy', 'confirm_destroy'] as const;
export type ProtectionMark = (typeof PROTECTION_MARKS)[number];
export type Protection = Partial<Record<ProtectionMark, readonly string[]>>;

/** The annotation of each mark: a manifest declares it, `import` and `export` write it back. */
export const MARK_ANNOTATION: Record<ProtectionMark, string> = {
  prevent_destroy: PREVENT_DESTROY_ANNOTATION,
  confirm_destroy: CONFIRM_DESTROY_ANNOTATION,
};

/** The record's marks, each sorted and unique, empty ones left out (an old record has none). */
export function protectionOf(r: Protection | null | undefined): Record<ProtectionMark, string[]> {
  const out = {} as Record<ProtectionMark, string[]>;
  for (const m of PROTECTION_MARKS) out[m] = [...new Set(r?.[m] ?? [])].sort();
  return out;
}

/** The marks as optional record members: absent when empty, so unprotected records stay as they were. */
export function protectionFields(p: Protection): Partial<Record<ProtectionMark, string[]>> {
  const out: Partial<Record<ProtectionMark, string[]>> = {};
  for (const m of PROTECTION_MARKS) if (p[m]?.length) out[m] = [...p[m]];
  return out;
}

/** A recorded budget: each bound a whole number ≥ 0; absent or empty: none. */
function guardrailsOf(g: unknown): Guardrails | null | string {
  if (g === undefined || g === null) return null;
  const bad = 'guardrails must be an object of max_destroy and max_replace, whole numbers ≥ 0';
  if (typeof g !== 'object' || Array.isArray(g)) return bad;
  const out: Guardrails = {};
  for (const [k, v] of Object.entries(g)) {
    if ((k !== 'max_destroy' && k !== 'max_replace') || !Number.isInteger(v) || (v as number) < 0)
      return bad;
    out[k] = v as number;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * A record read from anywhere (a file, a REST body): the addresses, or why it is not one; one
 * of a newer format is refused, naming `where` (util/format-version.ts).
 */
export function parseInventory(data: unknown, where = 'the inventory'): InventoryRecord | string {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return 'expected a JSON object';
  const r = data as Record<string, unknown>;
  refuseNewer(where, r.format, INVENTORY_FORMAT);
  if (r.format !== INVENTORY_FORMAT)
    return `format is ${JSON.stringify(r.format)}, this poolsync reads format ${INVENTORY_FORMAT}`;
  const addresses = r.addresses;
  if (
    !Array.isArray(addresses) ||
    !addresses.every((a) => typeof a === 'string' && a.includes('/'))
  )
    return 'addresses must be a list of Kind/name addresses';
  if (typeof r.updated_at !== 'string') return 'updated_at must be a string';
  if (r.commit !== null && typeof r.commit !== 'string') return 'commit must be a string or null';
  const forgotten = r.forgotten ?? [];
  if (!Array.isArray(forgotten) || !forgotten.every((a) => typeof a === 'string'))
    return 'forgotten must be a list of Kind/name addresses';
  const guardrails = guardrailsOf(r.guardrails);
  if (typeof guardrails === 'string') return guardrails;
  for (const m of PROTECTION_MARKS) {
    const marked = r[m] ?? [];
    if (!Array.isArray(marked) || !marked.every((a) => typeof a === 'string' && a.includes('/')))
      return `${m} must be a list of Kind/name addresses`;
  }
  return {
    format: INVENTORY_FORMAT,
    // As poolsync writes it (sorted, unique), the parsed list itself: no set nor sort of
    // 10,000 addresses on each of a daemon run's reads.
    addresses: ascending(addresses as string[]) as string[],
    updated_at: r.updated_at,
    commit: (r.commit as string | null) ?? null,
    control_plane: (r.control_plane as InventoryRecord['control_plane']) ?? null,
    ...(forgotten.length > 0 ? { forgotten: [...new Set(forgotten as string[])].sort() } : {}),
    ...protectionFields(protectionOf(r as Protection)),
    ...(guardrails ? { guardrails } : {}),
  };
}

/** A record from its JSON text, or why it is not one (never the parser's message: it quotes the text). */
export function parseInventoryText(text: string, where?: string): InventoryRecord | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  return parseInventory(data, where);
}
