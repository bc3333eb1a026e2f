/**
 * Which control plane a plan was made for (plan files record it, `apply PLANFILE` compares it):
 * the backend, its endpoint (the absolute state file of an embedded control plane, else the
 * URL without credentials or query), and the organisation where the backend has one (Union).
 * Two control planes whose live states happen to be equal (two new organisations) are still
 * told apart.
 */
import { DEFAULT_CONTROL_PLANE_URL, embeddedStatePath } from './open.js';
import type { ControlPlane } from './types.js';

export interface ControlPlaneIdentity {
  /** `embedded`, `poolsync REST API`, `union`, `flyteadmin` (BackendInfo.name). */
  backend: string;
  /** `file:/abs/state.json`, `https://host/path`, `union+https://host`, `flyteadmin+https://host`. */
  endpoint: string;
  /** The organisation of the backend (Union), else null. */
  organization: string | null;
}

/** The endpoint part of a control-plane URL, normalised so spellings of one address agree. */
export function controlPlaneEndpoint(url: string, baseDir?: string): string {
  if (url.startsWith('file:')) return `file:${embeddedStatePath(url, baseDir)}`;
  const m = /^((?:union|flyteadmin)\+)?(.*)$/.exec(url.trim())!;
  try {
    const u = new URL(m[2]!);
    return `${m[1] ?? ''}${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url.trim();
  }
}

export function controlPlaneIdentity(
  url: string,
  cp: Pick<ControlPlane, 'backend' | 'organization'>,
  baseDir?: string,
): ControlPlaneIdentity {
  return {
    backend: cp.backend.name,
    endpoint: controlPlaneEndpoint(url || DEFAULT_CONTROL_PLANE_URL, baseDir),
    organization: cp.organization ?? null,
  };
}

export function sameControlPlane(a: ControlPlaneIdentity, b: ControlPlaneIdentity): boolean {
  return (
    a.backend === b.backend &&
    a.endpoint === b.endpoint &&
    (a.organization ?? null) === (b.organization ?? null)
  );
}

/** `the embedded control plane file:/srv/cp.json`, `union https://x (organisation acme)`. */
export function describeControlPlane(id: ControlPlaneIdentity): string {
  return `${id.backend} ${id.endpoint}${id.organization ? ` (organisation ${id.organization})` : ''}`;
}
