import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Equality of two secrets (tokens, signatures) in time that depends on neither: both are
 * hashed first, so strings of any lengths compare as equal-length digests and the length
 * leaks nothing either.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
