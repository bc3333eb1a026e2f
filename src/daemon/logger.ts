/**
 * JSON lines (one per run, plus warnings), pretty on a terminal. Secrets are never put in log
 * fields; the usual places they could hide are redacted as a second line of defence, and every
 * line is scrubbed of the secrets the process knows (util/redact.ts).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat } from './config-options.js';
import { escapeLogValue } from '../util/terminal-text.js';
import { processRedactor } from '../util/redact.js';

export const REDACT_PATHS = [
  ...['token', 'secret', 'password', 'authorization'].flatMap((key) => [key, `*.${key}`]),
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-gitlab-token"]',
  'req.headers["x-hub-signature-256"]',
];

export async function createLogger(options: {
  level: string;
  format: LogFormat;
  destination?: DestinationStream;
}): Promise<Logger> {
  const base = {
    level: options.level,
    base: { name: 'poolsync-daemon' },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: {
      // Log injection: messages and fields carry file names, YAML values and server text;
      // control and bidi characters are escaped before JSON or the pretty printer see them.
      logMethod(args: unknown[], method: (...a: unknown[]) => void): void {
        const escaped = args.map((a) => escapeLogValue(a));
        method.apply(this, escaped);
      },
      streamWrite: (line: string): string => processRedactor().scrubSecrets(line),
    },
  };
  if (options.destination) return pino(base, options.destination);
  const pretty =
    options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  if (pretty) {
    try {
      // A dev dependency: absent from production images, where JSON is what we want anyway.
      const { default: prettyStream } = await import('pino-pretty');
      return pino(
        base,
        prettyStream({ colorize: process.stdout.isTTY === true, ignore: 'pid,hostname,name' }),
      );
    } catch {
      // fall through to JSON
    }
  }
  return pino(base, pino.destination({ dest: 1, sync: true }));
}

/**
 * A destination that words each record for people (the quickstart's terminal): `lineOf` turns
 * a record into its line(s), or null for one said another way. What is not a record passes as is.
 */
export function recordLines(
  out: { write(text: string): unknown },
  lineOf: (record: Record<string, unknown>) => string | null,
): DestinationStream {
  return {
    write(line: string): void {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        out.write(line);
        return;
      }
      const text =
        typeof record === 'object' && record !== null
          ? lineOf(record as Record<string, unknown>)
          : line;
      if (text !== null) out.write(text);
    },
  };
}
