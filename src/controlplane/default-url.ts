/**
 * The control plane a command uses when none is named: the embedded one in the working
 * folder. Its own module, so the CLI's option definitions read it without loading a backend.
 */
export const DEFAULT_CONTROL_PLANE_URL = 'file:.poolsync/control-plane.json';
