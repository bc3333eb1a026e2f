/**
 * A saved plan edited and its unkeyed seal made again, as anyone who can write the file can
 * (docs/plan.md, Sealed plan files): the saved-plan tests' one way to forge a file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Plan } from '../../src/model/plan.js';
import { sealOf } from '../../src/render/plan-file.js';

/** `file` with `edit` made and its unkeyed seal made again, written back. */
export function resealed(file: string, edit: (doc: Plan) => void): void {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Plan;
  delete doc.seal;
  edit(doc);
  doc.seal = sealOf(doc as never, null);
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
}
