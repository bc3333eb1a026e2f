/**
 * Requests a browser sends on behalf of another site (CSRF). The daemon's state-changing
 * endpoints take a bearer token, which a browser never adds by itself, and answer no CORS
 * preflight, so another site's script cannot send one; this check refuses what a browser marks
 * as coming from elsewhere even so: `Sec-Fetch-Site` other than same-origin/none, or an
 * `Origin` whose host is not the one the request was sent to. Clients that are not browsers
 * (curl, `poolsync approve`) send neither header and are not affected.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Why the request comes from another site, or null when it does not. */
export function crossSiteRequest(headers: IncomingHttpHeaders): string | null {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    return `the browser marks it ${site} (Sec-Fetch-Site)`;
  }
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== '') {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {
      // `null` (a sandboxed or file: page) or garbage: not this daemon's page
    }
    if (host === null || host !== headers.host) return `it comes from the page at ${origin}`;
  }
  return null;
}
