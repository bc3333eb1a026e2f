/**
 * An in-memory embedded control plane served over REST (src/controlplane/embedded/server.ts)
 * on 127.0.0.1, for a test of a client: the CLI, the daemon, a stand-in's callers.
 * `servedControlPlane` closes the server, then the plane, when the test ends (vitest's
 * onTestFinished: after the file's afterEach hooks and what the test gave
 * test/support/cleanup.ts); called in a beforeEach, when that test ends. Outside a test (a
 * beforeAll) it throws: `openServedControlPlane` leaves the closing to its caller, for a plane
 * a file shares (closed in afterAll) or one a helper hands out with its own close().
 */
import { onTestFinished } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import {
  startControlPlaneServer,
  type ControlPlaneServer,
  type ControlPlaneServerOptions,
} from '../../src/controlplane/embedded/server.js';
import type { EmbeddedOptions } from '../../src/controlplane/embedded/store.js';

/** How the plane is served: ControlPlaneServerOptions less the plane itself. */
export type ServeOptions = Omit<ControlPlaneServerOptions, 'controlPlane'>;
/** How the plane is opened: in memory, so EmbeddedOptions less its path. */
export type OpenOptions = Omit<EmbeddedOptions, 'path'>;

export interface ServedControlPlane {
  embedded: EmbeddedControlPlane;
  server: ControlPlaneServer;
  /** The server's URL, `http://127.0.0.1:PORT` by default. */
  url: string;
  /** Closes the server, then the plane; again (or after the test's end) it does nothing more. */
  close(): Promise<void>;
}

/** An in-memory embedded control plane served over REST; both closed when the test ends. */
export async function servedControlPlane(
  serve: ServeOptions = {},
  open: OpenOptions = {},
): Promise<ServedControlPlane> {
  let close = async () => {};
  // Registered first: outside a test (in a beforeAll) it throws before anything is opened.
  onTestFinished(() => close());
  const served = await openServedControlPlane(serve, open);
  close = served.close;
  return served;
}

/** As servedControlPlane, closed only by its `close()`. */
export async function openServedControlPlane(
  serve: ServeOptions = {},
  open: OpenOptions = {},
): Promise<ServedControlPlane> {
  const embedded = await EmbeddedControlPlane.open({ ...open, path: null });
  let server: ControlPlaneServer;
  try {
    server = await startControlPlaneServer({ ...serve, controlPlane: embedded });
  } catch (err) {
    // A server that did not start (its port taken) leaves no plane open behind the error.
    await embedded.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await server.close();
      await embedded.close();
    })());
  return { embedded, server, url: server.url, close };
}
