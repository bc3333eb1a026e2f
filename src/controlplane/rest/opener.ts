/** `http(s)://HOST` (open.ts): poolsync's own REST API (docs/api.md) through HttpControlPlane. */
import { UserError } from '../../util/user-error.js';
import { refuseUrlCredentials } from '../../util/url-credentials.js';
import type { BackendOpener } from '../opener.js';

declare module '../opener.js' {
  interface OpenOptions {
    /** Bearer token for http(s) control planes (resolveToken in open.ts: never read here). */
    token?: string;
  }
}

export const restOpener: BackendOpener = {
  forms: 'an http:// or https:// URL of a poolsync control-plane API',
  matches: (url) => /^https?:\/\//.test(url),
  async open(url, opts) {
    refuseUrlCredentials(
      url,
      'the control plane URL',
      'put the token in POOLSYNC_TOKEN or a --token-file',
    );
    if (!URL.canParse(url)) throw new UserError(`control plane "${url}" is not a valid URL`);
    // Loaded on demand: undici costs ~90 ms at start-up that file: control planes never need.
    const { HttpControlPlane } = await import('./http-client.js');
    return new HttpControlPlane(new URL(url).toString(), { ...opts.http, token: opts.token });
  },
};
