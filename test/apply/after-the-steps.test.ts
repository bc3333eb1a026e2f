/**
 * What apply does once its steps have ended (a hand-tester's find, docs/apply.md#failures): after
 * `Apply failed` against a control plane that had stopped answering, apply went on ~33 s with
 * nothing said (the inventory record and the lease's release each retried a whole --max-retries
 * budget), then printed `The apply lock was lost (…could not be renewed for 30000 ms): no new step
 * starts; run apply again.` below the report: the lock-lost listener of the steps outlived them.
 * In process, with the REST client of a served control plane whose calls the test holds: a held
 * call ends only when the client's signal ends it, as a call retrying against a gone server does.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apply } from '../../src/cli/commands/apply.js';
import type { Args } from '../../src/cli/define.js';
import { ControlPlaneError, unavailable } from '../../src/controlplane/errors.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

/** `poolsync apply REPO --auto-approve` in process, its control plane opened through `wrap`. */
async function applyWith(
  pools: string[],
  wrap: (cp: ControlPlane, calls: AbortSignal | undefined) => void,
) {
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), { pools });
  const { server } = await servedControlPlane();
  const args = {
    path: repo,
    'control-plane': server.url,
    'auto-approve': true,
    parallelism: 1,
    'state-dir': join(root, 'st'),
    color: false,
  } as unknown as Args<'apply'>;
  const io = memoryIo({ NO_COLOR: '1' });
  const code = await exitOf(
    io,
    apply(args, io, async (url, opts) => {
      const cp = await openControlPlane(url, opts);
      wrap(cp, opts?.http?.signal);
      return cp;
    }),
  );
  return { code, out: io.out(), err: io.err(), url: server.url };
}

/** A call to a control plane that no longer answers: retried until `calls` ends it. */
function unanswered(what: string, calls: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    const end = () =>
      reject(unavailable(`${what}: not retried (${(calls!.reason as Error).message})`));
    if (calls?.aborted) end();
    else calls?.addEventListener('abort', end, { once: true });
  });
}

describe('after the steps', () => {
  it('a step failed UNAVAILABLE: the record and the lease release that follow end within the bound, said in a warning each', async () => {
    let gone = false;
    const r = await applyWith(['a', 'b'], (cp, calls) => {
      const own = { ...cp.inventory!, ...cp.applyLock! };
      const createPool = cp.pools!.createPool.bind(cp.pools);
      Object.assign(cp.pools!, {
        createPool: (...a: Parameters<typeof createPool>) => {
          if (a[0] !== 'b') return createPool(...a);
          gone = true;
          return Promise.reject(unavailable('POST /v1/pools: nothing accepts connections'));
        },
      });
      Object.assign(cp.inventory!, {
        readInventory: () => (gone ? unanswered('GET /v1/inventory', calls) : own.readInventory()),
      });
      Object.assign(cp.applyLock!, {
        releaseApplyLock: (id: string) =>
          gone ? unanswered('DELETE /v1/apply-lock', calls) : own.releaseApplyLock(id),
      });
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('Apply failed: 1 of 2 steps done, 1 failed, 0 not run.');
    const why =
      'not retried (the control plane stopped answering during the steps: what follows them gets 5 s, docs/apply.md#failures)';
    expect(r.err).toBe(
      `Warning: could not record the inventory in ${r.url}/v1/inventory (what prune may delete): GET /v1/inventory: ${why}\n` +
        `warning: could not release the apply lock: DELETE /v1/apply-lock: ${why}\n`,
    );
  });

  it('the lock lost once the steps have ended stops nothing and says nothing below the report', async () => {
    let stepsDone = false;
    let renewalRefused: () => void = () => {};
    const refused = new Promise<void>((done) => (renewalRefused = done));
    const r = await applyWith(['a'], (cp) => {
      const own = { ...cp.inventory!, ...cp.applyLock! };
      const createPool = cp.pools!.createPool.bind(cp.pools);
      let takes = 0;
      Object.assign(cp.pools!, {
        createPool: async (...a: Parameters<typeof createPool>) => {
          const made = await createPool(...a);
          stepsDone = true;
          return made;
        },
      });
      Object.assign(cp.applyLock!, {
        // Taken, then taken over by another apply at the first renewal (a third of its 30 s TTL).
        acquireApplyLock: (request: Parameters<typeof own.acquireApplyLock>[0]) => {
          if (takes++ === 0) return own.acquireApplyLock(request);
          renewalRefused();
          return Promise.reject(
            new ControlPlaneError('FAILED_PRECONDITION', 'the apply lock is held by another apply'),
          );
        },
      });
      Object.assign(cp.inventory!, {
        // The record after the steps is written once the lock was lost.
        readInventory: async () => {
          if (stepsDone) await refused;
          return own.readInventory();
        },
      });
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Apply complete: 1 created.*\n$/);
    expect(r.err).toBe('');
  }, 60_000);
});
