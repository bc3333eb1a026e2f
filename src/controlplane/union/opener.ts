/** `union+https://HOST` (open.ts): Union's Connect API, loaded on demand (connect, protobuf). */
import type { BackendOpener } from '../opener.js';

declare module '../opener.js' {
  interface OpenOptions {
    /** `union+` URLs: file holding the Union API key (else env POOLSYNC_UNION_API_KEY). */
    apiKeyFile?: string;
  }
}

export const unionOpener: BackendOpener = {
  forms: 'union+https://HOST for a Union organisation',
  matches: (url) => /^union\+https?:\/\//.test(url),
  async open(url, opts) {
    const { openUnion } = await import('./union.js');
    return openUnion(url, opts.apiKeyFile, opts.env ?? {}, opts.http);
  },
};
