/** How the daemon reaches its control plane across runs (stages/context.ts ControlPlaneAccess). */
import { openControlPlane, resolveToken } from '../controlplane/open.js';
import type { ControlPlane } from '../controlplane/types.js';
import { createEmbeddedStateCache } from '../incremental/state-cache.js';
import type { PaceListener } from '../util/pacer.js';
import type { DaemonConfig } from './config.js';
import type { ControlPlaneAccess } from './stages/context.js';
import { off } from '../incremental/off.js';

/**
 * An injected control plane (tests) or a remote API is opened once and kept; an embedded
 * state file (`file:`) is opened per run so `poolsync apply` can use it between runs.
 */
export function controlPlaneAccess(
  config: DaemonConfig,
  injected: ControlPlane | undefined,
  onPace?: PaceListener,
): ControlPlaneAccess {
  if (injected) {
    return {
      use: (fn) => fn(injected),
      read: (fn) => fn(injected),
      separateReads: false,
      close: async () => {},
    };
  }
  const { tokenFile, apiKeyFile, environment } = config.controlPlane;
  // Opened for every run: an unchanged state is neither read again nor copied.
  const stateCache = createEmbeddedStateCache();
  const open = async (readOnly: boolean) =>
    openControlPlane(config.controlPlane.url, {
      ...(config.controlPlane.token ? { token: config.controlPlane.token } : {}),
      // An environment's token file, read again at every open (a rotated token is used from the
      // next run); it must name this control plane (resolveToken, docs/security.md).
      ...(tokenFile
        ? { token: await resolveToken(tokenFile, config.controlPlane.url, environment ?? null) }
        : {}),
      ...(apiKeyFile ? { apiKeyFile } : {}),
      // One connection per step in flight, as `apply` sizes its pool.
      http: {
        connections: Math.max(config.parallelism, 8),
        maxRetries: config.maxRetries,
        ...(onPace ? { onPace } : {}),
      },
      ...(readOnly ? { readOnly } : {}),
      ...(off('state-cache') ? {} : { stateCache }),
    });
  if (config.controlPlane.url.startsWith('file:')) {
    const opened =
      (readOnly: boolean) =>
      async <T>(fn: (cp: ControlPlane) => Promise<T>): Promise<T> => {
        const cp = await open(readOnly);
        try {
          return await fn(cp);
        } finally {
          await cp.close();
        }
      };
    return { use: opened(false), read: opened(true), separateReads: true, close: async () => {} };
  }
  let shared: Promise<ControlPlane> | null = null;
  const use = async <T>(fn: (cp: ControlPlane) => Promise<T>): Promise<T> => {
    shared ??= open(false).catch((err: unknown) => {
      shared = null;
      throw err;
    });
    return fn(await shared);
  };
  return {
    use,
    read: use,
    separateReads: false,
    close: async () => {
      if (shared) await (await shared.catch(() => null))?.close();
      shared = null;
    },
  };
}
