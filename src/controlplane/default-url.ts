/** The embedded one in the working folder; its own module, so the CLI loads no backend for it. */
export const DEFAULT_STATE_FILE = '.poolsync/control-plane.json';
export const DEFAULT_CONTROL_PLANE_URL = `file:${DEFAULT_STATE_FILE}`;
