/**
 * How the catalog's words read a reason's parameters (src/plan/reasons.ts): words only, no
 * decision. Every module of src/plan/words/ is a part of the one catalog.
 */
import type { ReasonParams } from '../../model/plan.js';

/** The words of one code, made from its parameters. */
export type Words = (p: ReasonParams) => string;

/** A part of the catalog: code → words. */
export type WordsTable = Record<string, Words>;

/** A parameter as text: a string as it is, anything else as JSON. */
export function s(p: ReasonParams, key: string): string {
  const v = p[key];
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

/** A list parameter, each item as text (an empty list when absent). */
export function list(p: ReasonParams, key: string): string[] {
  const v = p[key];
  return Array.isArray(v) ? v.map(String) : [];
}

/** A list parameter, or null when it is not a list (absent, or null: "none"). */
export function listOrNull(p: ReasonParams, key: string): string[] | null {
  const v = p[key];
  return Array.isArray(v) ? v.map(String) : null;
}

/** Names shown in a message: the first few, then a count. */
export function listAddresses(addresses: readonly string[], max = 5): string {
  const shown = addresses.slice(0, max).join(', ');
  return addresses.length > max ? `${shown} and ${addresses.length - max} more` : shown;
}

/** `is`/`are` and `it`/`them` for a list of `n` things. */
export const isAre = (n: number): string => (n === 1 ? 'is' : 'are');
export const itThem = (n: number): string => (n === 1 ? 'it' : 'them');
