/** The embedded one in the working folder; its own module, so the CLI loads no backend for it. */
export const DEFAULT_CONTROL_PLANE_URL = 'file:.poolsync/control-plane.json';
