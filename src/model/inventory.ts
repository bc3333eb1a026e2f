/**
 * The inventory (docs/plan.md, Prune by inventory): per control plane, the addresses poolsync
 * applied from the repository, which `prune: true` deletes once undeclared (as the kinds
 * `manage:` claims). Kept where every reader of that control plane finds it (src/apply/inventory.ts).
 */
import { refuseNewer } from '../util/format-version.js';

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
  return {
    format: INVENTORY_FORMAT,
    addresses: [...new Set(addresses as string[])].sort(),
    updated_at: r.updated_at,
    commit: (r.commit as string | null) ?? null,
    control_plane: (r.control_plane as InventoryRecord['control_plane']) ?? null,
    ...(forgotten.length > 0 ? { forgotten: [...new Set(forgotten as string[])].sort() } : {}),
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
