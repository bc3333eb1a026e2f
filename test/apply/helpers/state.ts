/** In-process access to an embedded control-plane state file, between CLI runs. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { EmbeddedControlPlane } from '../../../src/controlplane/embedded/embedded.js';
import { controlPlaneIdentity } from '../../../src/controlplane/identity.js';
import { readLiveState } from '../../../src/controlplane/types.js';
import { loadRepository } from '../../../src/manifests/index.js';
import type { LiveState } from '../../../src/model/live.js';
import type { Plan } from '../../../src/model/plan.js';
import { computePlan } from '../../../src/plan/index.js';
import { planFileParts } from '../../../src/render/plan-file.js';

export async function withState<T>(
  path: string,
  fn: (cp: EmbeddedControlPlane) => Promise<T>,
): Promise<T> {
  const cp = await EmbeddedControlPlane.open({ path });
  try {
    return await fn(cp);
  } finally {
    await cp.close();
  }
}

export const liveOf = (path: string): Promise<LiveState> =>
  withState(path, (cp) => readLiveState(cp));

export async function planAgainst(dir: string, statePath: string): Promise<Plan> {
  const loaded = await loadRepository(dir);
  if (!loaded.valid) throw new Error(`fixture repo invalid: ${JSON.stringify(loaded.errors)}`);
  const live = await liveOf(statePath);
  return computePlan(loaded.desired, live);
}

export async function savePlan(dir: string, statePath: string, out: string): Promise<Plan> {
  const plan = await planAgainst(dir, statePath);
  // A plan file as `plan --out` writes it: sealed, naming its control plane.
  const control_plane = controlPlaneIdentity(`file:${statePath}`, {
    backend: { name: 'embedded' },
  });
  await writeFile(out, [...planFileParts({ ...plan, control_plane }, null)].join(''));
  return plan;
}

/** Every file beside the state (snapshot, journal, locks) with its bytes: "no write at all" compares these. */
export async function snapshotFiles(statePath: string): Promise<Record<string, string>> {
  const dir = dirname(statePath);
  const prefix = basename(statePath);
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (!name.startsWith(prefix)) continue;
    out[name] = (await readFile(join(dir, name))).toString('base64');
  }
  return out;
}

/** The live state without what the simulation changes by itself (health, derived views). */
export function comparable(live: LiveState) {
  return {
    pools: live.pools.map((p) => ({ name: p.name, contract: p.contract })),
    clusters: live.clusters.map((c) => ({ name: c.name, pool: c.pool, enabled: c.enabled })),
    queues: live.queues.map(({ available_clusters: _a, ...q }) => q),
    assignments: live.assignments,
  };
}
