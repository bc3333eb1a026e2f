/**
 * A request body read within a limit, for poolsync's servers: a declared Content-Length over it
 * is refused before anything is read, a body that grows past it when it does. What is refused
 * is drained, never stored, so the answer can be sent.
 */
import type { IncomingMessage } from 'node:http';

/**
 * How often poolsync's servers check their headersTimeout and requestTimeout (Node's default,
 * 30 s, let a client trickle on for up to 30 s past them): a bound is met within a second of it.
 */
export const BOUNDS_CHECKED_EVERY_MS = 1_000;

/** `tooLarge(message)` makes each server's own error (its status and code) from the message. */
export function readLimitedBody(
  req: IncomingMessage,
  limit: number,
  tooLarge: (message: string) => Error,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const refuse = (message: string) => {
      req.removeAllListeners('data');
      req.resume();
      reject(tooLarge(message));
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      refuse(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) refuse(`request body exceeds the limit of ${limit} bytes`);
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
