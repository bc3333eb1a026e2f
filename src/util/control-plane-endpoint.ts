import { lookup } from 'node:dns/promises';
import { realpathSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';

/** The absolute path of a `file:PATH` or `file:///abs/path` URL (from `baseDir`); '' for none. */
export function fileUrlPath(url: string, baseDir: string = process.cwd()): string {
  const bare = url.slice('file:'.length).split('?')[0]!;
  const path = bare.startsWith('//') ? new URL(`file:${bare}`).pathname : bare;
  return path === '' ? '' : resolve(baseDir, path);
}

/**
 * The endpoint of a control-plane URL: one string for every spelling of one control plane
 * (docs/security.md, "One name per control plane"). Everything that names a control plane (the
 * inventory, the apply lock, sealed plans…) names it by this (in util/: the loader and the
 * control planes both need it), so two spellings never prune each other's objects:
 *   - the scheme and the backend prefix in lower case (`UNION+HTTPS:` is `union+https:`);
 *   - the host as the WHATWG URL parser reads it (lower case, IPv4 in any form: `127.1`,
 *     `0x7f.1`, `2130706433` are `127.0.0.1`), without a trailing dot, an IPv4-mapped IPv6
 *     address as its IPv4 address, and every name of this machine (`localhost`, `[::1]`,
 *     `0.0.0.0`, `[::]`) as `127.0.0.1`;
 *   - no port where it is the scheme's default (`:80`, `:443`);
 *   - the path with dot segments resolved (`/.`, `/a/..`), runs of `/` as one, no trailing `/`,
 *     percent-escapes of unreserved characters decoded and the others in upper case; no query,
 *     fragment or credentials;
 *   - `file:` as the absolute real path of the state file (relative to `baseDir`, through every
 *     symbolic link of the folders that exist).
 * `exact` keeps this machine's names apart (`[::1]` and `[::]` are not `127.0.0.1`: two
 * listeners may hold them): what a secret file binds is compared so (util/bound-secret.ts).
 */
export function controlPlaneEndpoint(url: string, baseDir?: string, exact = false): string {
  const text = url.trim();
  if (/^file:/i.test(text)) {
    const path = fileUrlPath(text, baseDir);
    return `file:${path === '' ? '' : realPathOf(path)}`;
  }
  const m = /^((?:union|flyteadmin)\+)?(.*)$/is.exec(text)!;
  let u: URL;
  try {
    u = new URL(m[2]!);
  } catch {
    return text;
  }
  const path = u.pathname
    .replace(/%([0-9a-f]{2})/gi, (e, hex: string) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      return /[A-Za-z0-9\-._~]/.test(c) ? c : e.toUpperCase();
    })
    .replace(/\/{2,}/g, '/')
    .replace(/\/+$/, '');
  return `${(m[1] ?? '').toLowerCase()}${u.protocol}//${hostOf(u.hostname, exact)}${u.port ? `:${u.port}` : ''}${path}`;
}

/** This machine's names (unless `exact`); an IPv4-mapped IPv6 address as IPv4; no trailing dot. */
function hostOf(hostname: string, exact: boolean): string {
  const host = hostname.replace(/\.$/, '');
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  const v4 = mapped
    ? [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)]
        .flatMap((n) => [n >> 8, n & 255])
        .join('.')
    : host;
  return !exact && ['localhost', '[::1]', '[::]', '0.0.0.0'].includes(v4) ? '127.0.0.1' : v4;
}

/**
 * The host, port and backend (one server may speak several) of a plain-HTTP URL, whose server
 * is whatever listens there, whatever the name; null for the others (over TLS the certificate
 * and virtual hosts tell names apart; `file:` is its real path).
 */
export function addressReached(
  url: string,
): { backend: string; host: string; port: number } | null {
  const m = /^((?:union|flyteadmin)\+)?(http:\/\/.*)$/is.exec(url.trim());
  if (!m || !URL.canParse(m[2]!)) return null;
  const u = new URL(m[2]!);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { backend: (m[1] ?? '').toLowerCase(), host, port: Number(u.port || 80) };
}

/** The addresses a host name resolves to (the system's resolver: /etc/hosts, DNS). */
export type HostResolver = (host: string) => Promise<string[]>;

/** Every address of `host` within `timeoutMs`; none when it does not resolve (nothing compared). */
export const lookupHost =
  (timeoutMs = 3_000): HostResolver =>
  async (host) => {
    if (isIP(host)) return [host];
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string[]>((r) => (timer = setTimeout(() => r([]), timeoutMs)));
    const found = lookup(host, { all: true }).then(
      (all) => all.map((a) => a.address),
      () => [],
    );
    try {
      return await Promise.race([found, late]);
    } finally {
      clearTimeout(timer);
    }
  };

/** The real path of `path`: its deepest folder that exists resolved through links, the rest as written. */
function realPathOf(path: string): string {
  for (let at = path, rest = ''; ;) {
    try {
      return join(realpathSync.native(at), rest);
    } catch {
      const up = dirname(at);
      if (up === at) return path;
      rest = join(basename(at), rest);
      at = up;
    }
  }
}
