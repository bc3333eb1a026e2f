/**
 * Keeps secrets out of everything poolsync shows (quality.md, Security): the daemon's logs,
 * /status, errors and metrics, and all the CLI writes (src/cli/run.ts) go through
 * `Redactor.scrub`. The secrets: those of the environment, and every one read from a file.
 */
import type { Env } from './env.js';

/** `https://user:token@host/x` → `https://***@host/x`; also `user@` alone, which may hold a token. */
export function scrubUrlUserinfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}

const BEARER = /\b(bearer)\s+(?=[\w.~+/=-]*[\d.~+/=_-])[\w.~+/-]{8,}=*/gi;

/**
 * A secret that is a plain word (`changeme`), replaced everywhere, would eat that word from every
 * sentence ("missing or *** bearer token"); no generated token is one (they have digits,
 * punctuation or mixed case), so it is hidden only after bearer, basic, token, key, secret or
 * password.
 */
const WORD = /^[A-Za-z][a-z]{3,23}$|^[A-Z]{4,24}$/;
const CREDENTIAL_BEFORE = '(\\b(?:bearer|basic|token|key|secret|password)["\'\\s:=]+)';

export class Redactor {
  private readonly secrets: string[];
  private readonly words: RegExp | null;

  constructor(secrets: Iterable<string | null | undefined>) {
    const list: string[] = [];
    const words: string[] = [];
    for (const s of secrets) {
      if (!s) continue;
      (WORD.test(s) ? words : list).push(s);
      // Tokens also travel base64-encoded in Basic auth headers; hide that form too.
      list.push(Buffer.from(s).toString('base64'));
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set(list)]
      .filter((s) => s.length >= 4)
      .sort((a, b) => b.length - a.length);
    this.words =
      words.length === 0
        ? null
        : new RegExp(`${CREDENTIAL_BEFORE}(?:${[...new Set(words)].join('|')})\\b`, 'gi');
  }

  scrub(text: string): string {
    return this.scrubSecrets(scrubUrlUserinfo(text));
  }

  /**
   * The known secrets, Authorization values and echoed Bearer tokens only: for output that
   * legitimately holds URLs with a user part (a plan's `abfs://container@account` URIs).
   */
  scrubSecrets(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    if (this.words) out = out.replace(this.words, '$1***');
    // Not a placeholder: no token starts with `<`, and a server's "Authorization: Bearer <token>"
    // lost its words ("Bearer *** the token was refused").
    out = out.replace(/(authorization:\s*(?:basic|bearer)\s+)(?!<)\S+/gi, '$1***');
    // A bearer token a server echoes ("invalid token: Bearer eyJ..."), known or not: a word of
    // token characters holding a digit or punctuation, so "a bearer token" stays readable.
    out = out.replace(BEARER, (_m, word: string) => `${word} ***`);
    return out;
  }

  errorMessage(err: unknown): string {
    return this.scrub(err instanceof Error ? err.message : String(err));
  }
}

/** Also every secret the process knows at each use: the daemon's units read token files at every open. */
export class LiveRedactor extends Redactor {
  override scrubSecrets(text: string): string {
    return processRedactor().scrubSecrets(super.scrubSecrets(text));
  }
}

/** Environment variables whose value is a secret (docs/security.md). */
export const SECRET_ENV = [
  'POOLSYNC_TOKEN',
  'POOLSYNC_GIT_TOKEN',
  'POOLSYNC_ADMIN_TOKEN',
  'POOLSYNC_RECONCILE_TOKEN',
  'POOLSYNC_GITHUB_WEBHOOK_SECRET',
  'POOLSYNC_GITLAB_WEBHOOK_TOKEN',
  'POOLSYNC_UNION_API_KEY',
  'POOLSYNC_FLYTE_CLIENT_SECRET',
  'POOLSYNC_PLAN_KEY',
  'GITHUB_TOKEN',
  'GITLAB_TOKEN',
] as const;

const remembered = new Set<string>();
let cached: { size: number; env: string; redactor: Redactor } | null = null;

/** Adds a secret read from a file (or anywhere but SECRET_ENV). */
export function rememberSecret(value: string | null | undefined): void {
  const v = value?.trim();
  if (v) remembered.add(v);
}

/** The daemon's SECRET_ENV, for its every answer and log line. */
export function rememberSecretsOf(env: Env): void {
  for (const name of SECRET_ENV) rememberSecret(env[name]);
}

/** A Redactor of every secret known now, and `env`'s (rebuilt only when one was added). */
export function processRedactor(env: Env = {}): Redactor {
  const fromEnv = SECRET_ENV.map((k) => env[k]?.trim() ?? '');
  const envKey = fromEnv.join('\0');
  if (cached === null || cached.size !== remembered.size || cached.env !== envKey)
    cached = {
      size: remembered.size,
      env: envKey,
      redactor: new Redactor([...fromEnv, ...remembered]),
    };
  return cached.redactor;
}
