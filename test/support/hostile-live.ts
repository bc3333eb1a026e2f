/**
 * A live state whose names a foreign control plane could send but the embedded one never
 * accepts (control characters, forged lines, bidi overrides): the clusters and their co-named
 * queues of the embedded control plane, renamed. Shared by the tests that check every
 * renderer and apply's output escape such names.
 */
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import type { LiveState } from '../../src/model/live.js';

/* eslint-disable no-control-regex -- the characters a terminal (or a comment) would obey */
export const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/* eslint-enable no-control-regex */

/** One cluster (and its co-named queue) per name of `hostile`, named so. */
export async function hostileLiveState(hostile: readonly string[]): Promise<LiveState> {
  const cp = await EmbeddedControlPlane.open({ path: null });
  const names = hostile.map((_, i) => `x${i}`);
  try {
    for (const n of names) await cp.registerCluster({ name: n });
    const live = await readLiveState(cp);
    const rename = (n: string) => hostile[names.indexOf(n)] ?? n;
    return {
      ...live,
      clusters: live.clusters.map((c) => ({ ...c, name: rename(c.name) })),
      queues: live.queues.map((q) => ({
        ...q,
        name: rename(q.name),
        clusters: q.clusters.map(rename),
      })),
    };
  } finally {
    await cp.close();
  }
}
