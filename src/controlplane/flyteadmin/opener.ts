/** `flyteadmin+https://HOST` (open.ts): Flyte's flyteadmin, its client loaded on demand. */
import type { BackendOpener } from '../opener.js';

export const flyteadminOpener: BackendOpener = {
  forms: "flyteadmin+https://HOST for Flyte's flyteadmin",
  matches: (url) => url.startsWith('flyteadmin+'),
  async open(url, opts) {
    const { openFlyteadmin } = await import('./client.js');
    return openFlyteadmin(url, opts);
  },
};
