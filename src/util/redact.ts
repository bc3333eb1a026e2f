/**
 * Keeps secrets out of everything poolsync shows (quality.md, Security): the daemon's logs,
 * /status, errors and metrics, and everything the CLI writes (src/cli/redact-output.ts) go
 * through `Redactor.scrub` before they leave the process.
 */

/** `https://user:token@host/x` → `https://***@host/x`; also `user@` alone, which may hold a token. */
export function scrubUrlUserinfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}

const BEARER = /\b(bearer)\s+(?=[\w.~+/=-]*[\d.~+/=_-])[\w.~+/-]{8,}=*/gi;

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string | null | undefined>) {
    const list: string[] = [];
    for (const s of secrets) {
      if (!s) continue;
      list.push(s);
      // Tokens also travel base64-encoded in Basic auth headers; hide that form too.
      list.push(Buffer.from(s).toString('base64'));
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set(list)]
      .filter((s) => s.length >= 4)
      .sort((a, b) => b.length - a.length);
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
    out = out.replace(/(authorization:\s*(?:basic|bearer)\s+)\S+/gi, '$1***');
    // A bearer token a server echoes ("invalid token: Bearer eyJ..."), known or not: a word of
    // token characters holding a digit or punctuation, so "a bearer token" stays readable.
    out = out.replace(BEARER, (_m, word: string) => `${word} ***`);
    return out;
  }

  /** The message of any thrown value, scrubbed. */
  errorMessage(err: unknown): string {
    return this.scrub(err instanceof Error ? err.message : String(err));
  }
}
