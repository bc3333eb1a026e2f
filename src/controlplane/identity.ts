/**
 * Which control plane a plan was made for (plan files record it, `apply PLANFILE` compares it),
 * so two whose live states happen to be equal (two new organisations) are still told apart.
 */
import { existsSync } from 'node:fs';
import { controlPlaneEndpoint } from '../util/control-plane-endpoint.js';
import { DEFAULT_CONTROL_PLANE_URL } from './default-url.js';
import { embeddedStatePath } from './embedded/opener.js';
import type { ControlPlane } from './types.js';
import type { PlanControlPlane } from '../model/plan.js';

/** The endpoint: one string for every spelling of the URL (controlPlaneEndpoint). */
export type ControlPlaneIdentity = Pick<PlanControlPlane, 'backend' | 'endpoint' | 'organization'>;

export function controlPlaneIdentity(
  url: string,
  cp: Pick<ControlPlane, 'backend' | 'organization'>,
): ControlPlaneIdentity {
  return {
    backend: cp.backend.name,
    endpoint: controlPlaneEndpoint(url || DEFAULT_CONTROL_PLANE_URL),
    organization: cp.organization ?? null,
  };
}

export function sameControlPlane(a: ControlPlaneIdentity, b: ControlPlaneIdentity): boolean {
  return (
    a.backend === b.backend &&
    controlPlaneEndpoint(a.endpoint) === controlPlaneEndpoint(b.endpoint) &&
    (a.organization ?? null) === (b.organization ?? null)
  );
}

/** `the embedded control plane file:/srv/cp.json`, `union https://x (organisation acme)`. */
export function describeControlPlane(id: ControlPlaneIdentity): string {
  return `${id.backend} ${id.endpoint}${id.organization ? ` (organisation ${id.organization})` : ''}`;
}

/**
 * Whether a `file:` URL names an embedded state with no snapshot or journal yet; asked before it
 * is opened (opening it for writing creates it). Null for any other URL.
 */
export function embeddedStateIsNew(url: string): boolean | null {
  if (!url.startsWith('file:')) return null;
  const path = embeddedStatePath(url);
  return !existsSync(path) && !existsSync(`${path}.journal`);
}

/**
 * The `control_plane` a plan records (docs/plan.md, The plan header): for an embedded state that
 * did not exist yet, `new_state`, and `default_state` when the working folder's default was used.
 */
export function planControlPlane(
  url: string,
  cp: Pick<ControlPlane, 'backend' | 'organization'>,
  stateWasNew: boolean | null,
): PlanControlPlane {
  const id = controlPlaneIdentity(url, cp);
  if (stateWasNew !== true) return id;
  return {
    ...id,
    new_state: true,
    ...(!url || url === DEFAULT_CONTROL_PLANE_URL ? { default_state: true } : {}),
  };
}
