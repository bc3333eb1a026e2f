/**
 * The seal of a plan file (docs/plan.md, Sealed plan files): a digest over the whole plan as
 * written, so that `show` and `apply` refuse a file changed after `poolsync plan` wrote it.
 *
 * The digest is taken over the canonical text of the plan without its `seal` member:
 * `JSON.stringify(plan, null, 2)`, which is also how the file is written. A reader re-serialises
 * what it parsed, so whitespace and `\u` escapes may change (a file re-indented by a tool still
 * verifies); any value, key order or member that differs does not.
 *
 * Unkeyed (`sha256:…`), the seal catches a hand edit and a damaged file, but anyone can compute
 * it again. With a key (env `POOLSYNC_PLAN_KEY` or `POOLSYNC_PLAN_KEY_FILE`, the same in the job
 * that plans and the one that applies) it is an HMAC-SHA256 (`hmac-sha256:…`): only a holder of
 * the key can make a seal that verifies, and a reader that has the key accepts no other seal
 * (docs/security.md).
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { jsonParts } from '../util/json-parts.js';

/** A plan's seal: `sha256:<64 hex>` or `hmac-sha256:<64 hex>`. */
export type PlanSeal = string;

export const SEAL_PATTERN = /^(sha256|hmac-sha256):([0-9a-f]{64})$/;

/** The key, or null for an unkeyed seal. */
export type PlanKey = Buffer | null;

/** An incremental digest of the canonical text, fed part by part (a plan can run to 130 MB). */
export class SealDigest {
  private readonly hash: Hash | Hmac;
  constructor(private readonly key: PlanKey) {
    this.hash = key === null ? createHash('sha256') : createHmac('sha256', key);
  }
  update(part: string): void {
    this.hash.update(part, 'utf8');
  }
  seal(): PlanSeal {
    return `${this.key === null ? 'sha256' : 'hmac-sha256'}:${this.hash.digest('hex')}`;
  }
}

/** The seal of a plan document (its `seal` member left out), computed from its canonical text. */
export function sealOf(doc: Record<string, unknown>, key: PlanKey): PlanSeal {
  const digest = new SealDigest(key);
  for (const part of jsonParts(withoutSeal(doc), 2, 2)) digest.update(part);
  return digest.seal();
}

export function withoutSeal(doc: Record<string, unknown>): Record<string, unknown> {
  if (!('seal' in doc)) return doc;
  const { seal: _seal, ...rest } = doc;
  return rest;
}

/** Seals compared in time independent of where they differ. */
export function sameSeal(a: PlanSeal, b: PlanSeal): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `keyed` when the seal is an HMAC, `unkeyed` for a plain digest; null when it is not a seal. */
export function sealKind(seal: unknown): 'keyed' | 'unkeyed' | null {
  if (typeof seal !== 'string') return null;
  const m = SEAL_PATTERN.exec(seal);
  if (!m) return null;
  return m[1] === 'hmac-sha256' ? 'keyed' : 'unkeyed';
}
