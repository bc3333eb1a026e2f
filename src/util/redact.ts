/**
 * Keeps secrets out of everything poolsync shows (quality.md, Security): the daemon's logs,
 * /status, errors and metrics, and all the CLI writes (src/cli/run.ts) go through
 * `Redactor.scrub`. The secrets: those of the environment, and every one read from a file.
 */
import type { Env } from './env.js';
import { UserError } from './user-error.js';

/** `https://user:token@host/x` → `https://***@host/x`; also `user@` alone, which may hold a token. */
export function scrubUrlUserinfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}

const BEARER = /\b(bearer)\s+(?=[\w.~+/=-]*[\d.~+/=_-])[\w.~+/-]{8,}=*/gi;

/**
 * Shorter secrets are refused where they are read (`rememberSecret`): hidden wherever they occur,
 * as every secret is, their letters would be hidden from unrelated words ("c***ter"). GitLab
 * refuses to mask a variable of fewer than 8 characters for the same reason (docs/security.md).
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * The forms a secret travels in, as a server may echo it: as written, base64 (Basic auth;
 * padded, unpadded and URL-safe), percent-encoded (a query string) and hex.
 */
function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const base64 = bytes.toString('base64');
  const hex = bytes.toString('hex');
  return [
    secret,
    base64,
    base64.replace(/=+$/, ''),
    bytes.toString('base64url'),
    encodeURIComponent(secret),
    hex,
    hex.toUpperCase(),
  ];
}

export class Redactor {
  /** Every form of every secret in one alternation, longest first so a secret holding another is replaced whole; null: none. */
  private readonly secrets: RegExp | null;

  constructor(secrets: Iterable<string | null | undefined>) {
    const list: string[] = [];
    for (const s of secrets) {
      // A shorter one was refused where it was read, so it was never sent anywhere to be echoed.
      if (!s || s.length < MIN_SECRET_LENGTH) continue;
      list.push(...encodedForms(s));
    }
    const forms = [...new Set(list)].sort((a, b) => b.length - a.length);
    this.secrets =
      forms.length === 0
        ? null
        : new RegExp(forms.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  }

  scrub(text: string): string {
    return this.scrubSecrets(scrubUrlUserinfo(text));
  }

  /**
   * The known secrets, Authorization values and echoed Bearer tokens only: for output that
   * legitimately holds URLs with a user part (a plan's `abfs://container@account` URIs).
   */
  scrubSecrets(text: string): string {
    let out = this.secrets ? text.replace(this.secrets, '***') : text;
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

/** What `value` is, never what it holds: for values read from a user's file (a secret may be one). */
export function typeWords(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
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

/**
 * Every secret poolsync reads passes here, from a file or a variable: `from` says where, for the
 * refusal of one shorter than MIN_SECRET_LENGTH.
 */
export function rememberSecret(value: string | null | undefined, from: string): void {
  const v = value?.trim();
  if (!v) return;
  if (v.length < MIN_SECRET_LENGTH)
    throw new UserError(
      `${from} holds a secret of ${v.length} character${v.length === 1 ? '' : 's'}: poolsync refuses secrets shorter than ${MIN_SECRET_LENGTH}, since hiding one from its output would hide those letters from every word (docs/security.md#short-secrets); use a longer one (e.g. \`openssl rand -hex 16\`)`,
    );
  remembered.add(v);
}

/** The daemon's SECRET_ENV, for its every answer and log line. */
export function rememberSecretsOf(env: Env): void {
  for (const name of SECRET_ENV) rememberSecret(env[name], name);
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
