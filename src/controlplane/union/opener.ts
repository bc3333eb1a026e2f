/** `union+https://HOST` (open.ts): Union's Connect API, loaded on demand (connect, protobuf). */
import { DEFAULT_RETRY } from '../../util/backoff.js';
import type { BackendOpener } from '../opener.js';
import type { UnionOpenOptions } from './open.js';

declare module '../opener.js' {
  interface OpenOptions {
    /** `union+` URLs: file holding the Union API key (else env POOLSYNC_UNION_API_KEY). */
    apiKeyFile?: string;
    /** `union+` URLs: client tuning (retries, page size, deadline). */
    union?: Omit<UnionOpenOptions, 'apiKeyFile'>;
  }
}

export const unionOpener: BackendOpener = {
  forms: 'union+https://HOST for a Union organisation',
  matches: (url) => /^union\+https?:\/\//.test(url),
  async open(url, opts) {
    const { openUnion } = await import('./open.js');
    // --max-retries (opts.http) bounds every call, OAuth2 discovery and tokens included.
    const maxRetries = opts.http?.maxRetries;
    const retry =
      opts.union?.retry ??
      (maxRetries !== undefined ? { ...DEFAULT_RETRY, maxRetries } : undefined);
    return openUnion(url, {
      ...(opts.http?.connections ? { parallelism: opts.http.connections } : {}),
      ...(opts.http?.onPace ? { onPace: opts.http.onPace } : {}),
      ...opts.union,
      ...(retry ? { retry } : {}),
      ...(opts.apiKeyFile ? { apiKeyFile: opts.apiKeyFile } : {}),
    });
  },
};
