/**
 * Which control plane a plan was made for (plan files record it, `apply PLANFILE` compares it):
 * the backend, its endpoint (`controlPlaneEndpoint`: one string for every spelling of the URL),
 * and the organisation where the backend has one (Union).
 * Two control planes whose live states happen to be equal (two new organisations) are still
 * told apart.
 */
import { existsSync } from 'node:fs';
import { controlPlaneEndpoint } from '../util/control-plane-endpoint.js';
import { DEFAULT_CONTROL_PLANE_URL } from './default-url.js';
import { embeddedStatePath } from './embedded/opener.js';
import type { ControlPlane } from './types.js';
import type { PlanControlPlane } from '../model/plan.js';

/** The backend (BackendInfo.name), its endpoint and its organisation (Union; else null). */
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
 * Whether a `file:` URL names an embedded state that does not exist yet (no snapshot, no
 * journal): a plan made now is against a new, empty control plane. Asked before it is opened
 * (opening it for writing creates it). Null for any other URL.
 */
export function embeddedStateIsNew(url: string): boolean | null {
  if (!url.startsWith('file:')) return null;
  const path = embeddedStatePath(url);
  return !existsSync(path) && !existsSync(`${path}.journal`);
}

/**
 * The `control_plane` a plan records and its header names (docs/plan.md, The plan header): the
 * identity, and for an embedded state that did not exist when the plan was made, `new_state`
 * (and `default_state` when no control plane was named, so the default of the working folder
 * was used).
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
