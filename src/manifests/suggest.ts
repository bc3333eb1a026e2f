/** "Did you mean" hints: the closest known name, when it is close enough to be a typo. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_KINDS } from '../gen/manifests/kinds.js';

export function closest(input: string, candidates: readonly string[]): string | null {
  let best: { candidate: string; d: number; near: boolean } | null = null;
  for (const candidate of candidates) {
    const x = { candidate, ...distance(input, candidate) };
    if (best === null || x.d < best.d) best = x;
  }
  return best?.near ? best.candidate : null;
}

/** How far `candidate` is from `input`, and whether that is near enough to be a typo. */
function distance(input: string, candidate: string): { d: number; near: boolean } {
  const needle = input.toLowerCase();
  const c = candidate.toLowerCase();
  // Case or separator slips (clusterpool, Cluster_Pool, run-concurrency) are always typos.
  const d = squash(c) === squash(needle) ? 0 : editDistance(needle, c);
  return { d, near: d <= Math.max(1, Math.floor(Math.max(input.length, candidate.length) / 3)) };
}

/**
 * `closest`; with `prefixes`, else the one candidate that begins with `input` (2 letters or
 * more): names people shorten, as environments (`prod` → `production`).
 */
export function didYouMean(
  input: string,
  candidates: readonly string[],
  { prefixes = false }: { prefixes?: boolean } = {},
): string {
  const hit = meant(input, candidates, { prefixes });
  return hit === null ? '' : ` (did you mean '${hit}'?)`;
}

/** The candidate meant: the closest, or with `prefixes` the only one that `input` begins. */
export function meant(
  input: string,
  candidates: readonly string[],
  { prefixes = false }: { prefixes?: boolean } = {},
): string | null {
  return closest(input, candidates) ?? (prefixes ? onlyExtension(input, candidates) : null);
}

function onlyExtension(input: string, candidates: readonly string[]): string | null {
  const needle = input.toLowerCase();
  if (needle.length < 2) return null;
  const longer = candidates.filter((c) => c.toLowerCase().startsWith(needle));
  return longer.length === 1 ? longer[0]! : null;
}

function squash(s: string): string {
  return s.replace(/[-_\s]/g, '');
}

/** Damerau-Levenshtein (optimal string alignment); inputs are short field names. */
export function editDistance(a: string, b: string): number {
  if (a.length > 256 || b.length > 256) return Math.max(a.length, b.length);
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Up to 3 candidates closest to `input`, best first: those within the typo distance of
 * `closest`, else those that contain the input or its last segment (a partial name).
 */
export function closestNames(input: string, candidates: readonly string[]): string[] {
  const needle = input.toLowerCase();
  const tail = needle.slice(needle.lastIndexOf('/') + 1);
  const scored = candidates
    .map((candidate) => {
      const c = candidate.toLowerCase();
      const partial = tail !== '' && c.slice(c.lastIndexOf('/') + 1).includes(tail);
      return { candidate, ...distance(input, candidate), partial };
    })
    .filter((x) => x.near || x.partial)
    .sort(
      (a, b) =>
        Number(b.near) - Number(a.near) || a.d - b.d || (a.candidate < b.candidate ? -1 : 1),
    );
  // A clear typo (one far closer than the rest) is named alone.
  const best = scored[0]?.near ? scored[0].d : Infinity;
  return scored
    .filter((x) => !x.near || x.d <= best + 1)
    .slice(0, 3)
    .map((x) => x.candidate);
}

/**
 * ` (did you mean 'Queue/batch'?)` for an address whose kind is mistyped, in another case or a
 * folder's plural (`queues/batch`); '' otherwise. `--target`, `state`, `import`, `history`.
 */
export function kindTypoHint(addr: string): string {
  const slash = addr.indexOf('/');
  const rest = addr.slice(slash);
  if (slash <= 0 || rest === '/') return '';
  return didYouMean(
    addr,
    MANIFEST_KINDS.map((k) => `${k}${rest}`),
  );
}

/**
 * The address of `addresses` that `addr` (KIND/NAME) was meant as: the closest name of the same
 * kind, each name judged by itself (the kind's letters made `ClusterPool/default` near
 * `ClusterPool/nosuch`); null when none is near. `import`, `history ADDRESS`.
 */
export function closestAddress(addr: string, addresses: Iterable<string>): string | null {
  const slash = addr.indexOf('/');
  if (slash <= 0) return null;
  const kind = addr.slice(0, slash + 1);
  const names: string[] = [];
  for (const a of addresses) if (a.startsWith(kind) && a !== addr) names.push(a.slice(kind.length));
  const hit = closest(addr.slice(kind.length), names);
  return hit === null ? null : `${kind}${hit}`;
}

/**
 * ` (did you mean 'development'?)` when the folder holding the missing `parts[i]` has an entry of
 * its kind (a folder, or a YAML file) with a close name; '' otherwise.
 */
export async function nearName(
  dir: string,
  parts: string[],
  i: number,
  file: boolean,
): Promise<string> {
  const entries = await readdir(join(dir, ...parts.slice(0, i)), { withFileTypes: true }).catch(
    () => [],
  );
  const names = entries
    .filter((e) => !e.name.startsWith('.'))
    .filter((e) => (file ? e.isFile() && /\.ya?ml$/.test(e.name) : e.isDirectory()))
    .map((e) => e.name);
  const hit = meant(parts[i]!, names);
  if (hit === null) return '';
  return ` (did you mean '${[...parts.slice(0, i), hit, ...parts.slice(i + 1)].join('/')}'?)`;
}
