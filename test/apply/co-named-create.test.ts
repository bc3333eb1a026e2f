/**
 * C2: a cluster's co-named queue is the cluster's. A create_queue of its name that meets it is not
 * done even where every field is what the create sends (the REST client judged this alone).
 */
import { describe, expect, it } from 'vitest';
import { runCallStep, StepConflictError } from '../../src/apply/steps.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { queueSpecWithDefaults } from '../../src/model/common.js';

describe('create_queue meeting a cluster co-named queue', () => {
  it('every field as sent: CONFLICT naming cluster_managed (C2)', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    try {
      await cp.registerCluster({ name: 'x' });
      const { name, ...live } = await cp.getQueue('x');
      const args = { name, ...queueSpecWithDefaults(live) };
      const err = await runCallStep(cp, {
        id: 's1',
        target: 'Queue/x',
        depends_on: [],
        op: 'create_queue',
        args,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StepConflictError);
      expect((err as Error).message).toBe(
        'Queue/x already exists, made by another client, with a different cluster_managed (the co-named queue of a live cluster, C2): nothing was changed and poolsync does not record it as its own; run `poolsync plan` again',
      );
    } finally {
      await cp.close();
    }
  });
});
