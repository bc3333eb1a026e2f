/**
 * One check for credentials written into a URL (docs/security.md): a secret in a URL ends up in
 * `.git/config`, process lists, shell history and logs; poolsync takes secrets from files and
 * the environment only. Refused: anything before `@` in an http(s)/git/ftp URL
 * (`https://TOKEN@host`, `https://user:pass@host`, `https://:pass@host`), and a password in any
 * URL. Allowed: the login name of an SSH URL (`ssh://git@host/x`, `git@host:x`), no secret.
 * Refused too: a query string or fragment the URL's reader does not use (`?token=…`), which
 * would be printed, logged and kept as the rest of the URL is.
 */
import { UserError } from './user-error.js';

export type UrlCredentials = 'user' | 'password' | null;

const SSH_SCHEMES = new Set(['ssh', 'git+ssh', 'ssh+git']);

/** What credentials `url` carries in its user part, if any. Never throws. */
export function urlCredentials(url: string): UrlCredentials {
  // A user part ends at `@` in every reading, the regex's and the WHATWG parser's (which sets
  // username and password only on seeing one): without `@`, nothing to find. Most URLs checked
  // have none (10,000 object-store URIs of a large repository took ~15 ms through new URL()).
  if (!url.includes('@')) return null;
  const m = /^\s*([a-z][a-z0-9+.-]*):\/*([^/?#]*)/i.exec(url);
  let found: UrlCredentials = null;
  if (m) {
    const scheme = m[1]!.toLowerCase();
    const authority = m[2]!;
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (userinfo.includes(':')) found = 'password';
      else if (!SSH_SCHEMES.has(scheme)) found = 'user';
    }
  }
  // WHATWG URL parsing is more lenient than the regex (`https:\\TOKEN@host`, tabs, ...);
  // whatever it would read as a user or password is refused too.
  if (found === null && /^\s*[a-z][a-z0-9+.-]*:/i.test(url)) {
    try {
      const parsed = new URL(url);
      if (parsed.password !== '') found = 'password';
      else if (parsed.username !== '' && !SSH_SCHEMES.has(parsed.protocol.slice(0, -1)))
        found = 'user';
    } catch {
      // not a URL: nothing more to find
    }
  }
  return found;
}

/** The query parameters poolsync reads, by URL scheme: control planes' settings (docs/control-plane.md). */
const URL_PARAMS: readonly (readonly [RegExp, readonly string[]])[] = [
  [/^union\+/i, ['protocol']],
  [/^flyteadmin\+/i, ['org', 'clusters-configmap']],
  [/^file:/i, ['capabilities']],
];

/** `url` without its query string and fragment: what a message may show of a URL refused for them. */
export function withoutQuery(url: string): string {
  return url.replace(/[?#][^]*$/, '');
}

/**
 * What of `url`'s query string and fragment poolsync does not use ('a fragment', 'a query
 * parameter other than protocol'), or null. Never throws; a text that is no URL has none.
 */
export function unusedUrlPart(url: string): string | null {
  if (!/[?#]/.test(url) || !URL.canParse(url.trim())) return null;
  const parsed = new URL(url.trim());
  if (parsed.hash !== '') return 'a fragment (#…)';
  const params = URL_PARAMS.find(([scheme]) => scheme.test(url.trim()))?.[1] ?? [];
  const keys = [...parsed.searchParams.keys()];
  // A parameter given twice would be read once, the other silently dropped.
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined && params.includes(twice)) return `${twice}= twice (only one is read)`;
  if (keys.every((k) => params.includes(k))) return null;
  return params.length === 0
    ? 'a query string (?…)'
    : `a query parameter other than ${params.join(', ')}`;
}

/**
 * Refuses a URL that carries credentials, or a query string or fragment poolsync does not use
 * (`?token=…`); the message never repeats what it carries (it holds the secret).
 */
export function refuseUrlCredentials(url: string, what: string, instead: string): void {
  const unused = unusedUrlPart(url);
  if (unused?.endsWith('(only one is read)'))
    throw new UserError(`${what} ${withoutQuery(url)} carries ${unused}: give it once.`);
  if (unused !== null)
    throw new UserError(
      `${what} ${withoutQuery(url)} carries ${unused}, which poolsync does not use and would print; remove it from the URL (a secret belongs in a file or variable: ${instead}).`,
    );
  const found = urlCredentials(url);
  if (found === null) return;
  const part =
    found === 'password'
      ? 'a password or token (user:secret@)'
      : 'a user part (TOKEN@), which git and HTTP clients send as a credential';
  throw new UserError(`${what} carries ${part}; remove it from the URL and ${instead}.`);
}
