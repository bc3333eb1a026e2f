/**
 * Secrets bound to their control plane (docs/security.md, "Environments"), as a Union API key
 * names its endpoint: `endpoint: URL` and `KEY: SECRET` lines (`token:`, `secret:`) in a file or
 * a variable; one line is the secret alone (unbound). A bound secret goes to that control plane
 * only (controlPlaneEndpoint, exact), so whoever chooses the URL (a pull request's poolsync.yaml)
 * cannot choose where the secret goes.
 */
import { controlPlaneEndpoint } from './control-plane-endpoint.js';
import { UserError } from './user-error.js';

export interface SecretFile {
  secret: string;
  /** The control plane the file names; null when it names none. */
  endpoint: string | null;
}

/**
 * `text` (read from `source`) as a secret file whose bound form holds the secret under `key`; ''
 * when it holds none. A `KEY:` line without `endpoint:` is the bound form missing its binding: the
 * secret is that line's, so callers say the binding is missing, not that `KEY: …` is no token.
 * The unbound form is one line: more is refused, not cut to the first (`--token-file /etc/passwd`).
 */
export function parseSecretFile(text: string, key: string, source: string): SecretFile {
  const lines = text.split(/\r?\n/);
  const field = (name: string) =>
    lines
      .find((l) => l.startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim() ?? null;
  const endpoint = field('endpoint');
  if (endpoint !== null) return { secret: field(key) ?? '', endpoint };
  const bound = field(key);
  if (bound === null && lines.filter((l) => l.trim() !== '').length > 1)
    throw new UserError(
      `${source} holds more than one line: give the ${key} alone, on one line (or \`endpoint:\` and \`${key}:\` lines: docs/security.md, "Environments")`,
    );
  return { secret: bound ?? lines[0]?.trim() ?? '', endpoint: null };
}

/** Refuses to send the secret `source` holds to `url` when it names another control plane. */
export function checkBound(source: string, endpoint: string | null, url: string): void {
  if (endpoint === null) return;
  // Exactly what it binds: `[::1]` is not the listener of `127.0.0.1`.
  const here = controlPlaneEndpoint(url, undefined, true);
  const named = controlPlaneEndpoint(endpoint, undefined, true);
  if (named !== here)
    throw new UserError(
      `${source} is for the control plane ${named}, not ${here}: nothing was sent. A secret goes only to the control plane it names (docs/security.md, "Environments")`,
    );
}

/**
 * A bearer token as a header carries it: visible ASCII only (RFC 9110 field values; a token is
 * letters, digits and `-._~+/=`). A pasted line break or non-ASCII letter was undici's
 * UND_ERR_INVALID_ARG, read as "cannot reach the control plane".
 */
export function headerToken(token: string, source: string): string {
  if (/^[\x21-\x7e]+$/.test(token)) return token;
  throw new UserError(
    `${source} holds a character an HTTP header cannot carry (a space, a line break or a non-ASCII letter): give the token alone`,
  );
}
