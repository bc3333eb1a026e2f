/**
 * The one writer of the daemon's `/status` document during a run: each stage says what it
 * produced for it as a StatusUpdate (the top-level fields it sets, and the control plane's
 * fields it learnt), and only this function puts it in the document. A field keeps its place
 * in the document (the JSON's key order is that of `initialStatus`).
 */
import type { ControlPlaneStatus, DaemonStatus } from '../status.js';

export type StatusUpdate = Partial<
  Omit<DaemonStatus, 'controlPlane' | 'source' | 'policy' | 'approval' | 'leader' | 'environments'>
> & { controlPlane?: Partial<ControlPlaneStatus> };

export function applyStatusUpdate(state: DaemonStatus, update: StatusUpdate): void {
  const { controlPlane, ...fields } = update;
  Object.assign(state, fields);
  if (controlPlane !== undefined) Object.assign(state.controlPlane, controlPlane);
}
