/**
 * What the cross-document rules (rules.ts, rules-multicluster.ts) share: an error at a
 * manifest's position, its `file:line:col`, and V1 (first declaration of each name).
 */
import type { Manifest } from './documents.js';
import { positionOf } from './documents.js';
import type { ValidationCode, ValidationError } from './types.js';
import type { Position } from './yaml.js';

export function where(m: Manifest): string {
  return `${m.source.file}:${m.source.line}:${m.source.column}`;
}

export function err(
  code: ValidationCode,
  m: Manifest,
  pos: Position,
  message: string,
  addr?: string,
): ValidationError {
  return {
    code,
    message,
    file: pos.file ?? m.source.file,
    line: pos.line,
    column: pos.column,
    address: addr ?? m.address,
  };
}

/** First declaration of each name; later ones are V1 errors. */
export function firstByName<T extends Manifest>(
  list: readonly T[],
  errors: ValidationError[],
): Map<string, T> {
  const byName = new Map<string, T>();
  for (const m of list) {
    const first = byName.get(m.name);
    if (!first) {
      byName.set(m.name, m);
      continue;
    }
    // V1: both locations are reported, each naming the other.
    const namePos = (x: Manifest): Position => positionOf(x.root, 'metadata', 'name');
    errors.push(
      err('V1', m, namePos(m), `duplicate ${m.kind} '${m.name}': also declared at ${where(first)}`),
    );
    errors.push(
      err(
        'V1',
        first,
        namePos(first),
        `duplicate ${m.kind} '${m.name}': also declared at ${where(m)}`,
      ),
    );
  }
  return byName;
}
