/**
 * A daemon run records the inventory only within its leadership term (docs/daemon.md, Nothing
 * runs twice): a write is not started once the term ended, however long reading the inventory
 * first took (a ConfigMap's API server answering late); the failure is logged, never thrown.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { InventoryStore } from '../../src/apply/inventory.js';
import type { InventoryRecord } from '../../src/model/inventory.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { RunContext, type ReconcilerOptions } from '../../src/daemon/stages/context.js';
import { recording } from '../../src/daemon/stages/apply.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import type { Plan } from '../../src/model/plan.js';
import { recordApply } from '../../src/ops/apply-run.js';
import { Redactor } from '../../src/util/redact.js';

/** A run in a term, its inventory kept in memory; `endTermOnRead`: the term ends while read. */
async function record(endTermOnRead: boolean) {
  const written: InventoryRecord[] = [];
  const term = new AbortController();
  const store: InventoryStore = {
    where: 'ConfigMap poolsync/poolsync-inventory',
    controlPlane: { backend: 'union', endpoint: 'https://union.example', organization: 'acme' },
    read: async () => {
      if (endTermOnRead) term.abort(new Error('stopped leading: the lease is held by replica-b'));
      return null;
    },
    write: async (r) => void written.push(r),
  };
  const logged: string[] = [];
  const logger = pino(
    new Writable({ write: (chunk: Buffer, _enc, done) => done(void logged.push(`${chunk}`)) }),
  );
  const o = {
    pipeline: { inventoryOf: () => store },
    logger,
    redactor: new Redactor([]),
  } as unknown as ReconcilerOptions;
  const ctx = new RunContext(
    o,
    {} as DaemonStatus,
    () => ({}) as never,
    new Set(),
    new AbortController().signal,
    { signal: term.signal, id: 'term-1' },
  );
  const plan = {
    commit: 'c0ffee',
    changes: [],
    steps: [],
    warnings: [],
    inventory: { found: false, declared: ['Cluster/prod-1'], gone: [] },
  } as unknown as Plan;
  await recordApply(recording(ctx, {} as ControlPlane), null, plan, null);
  return { written, logged: logged.join('') };
}

describe("a daemon run's inventory and its leadership term", () => {
  it('is written while the term lasts', async () => {
    const { written, logged } = await record(false);
    expect(written.map((r) => r.addresses)).toEqual([['Cluster/prod-1']]);
    expect(logged).toContain('inventory recorded');
  });

  it('is not written once the term ended during the read; the log says why', async () => {
    const { written, logged } = await record(true);
    expect(written).toEqual([]);
    expect(logged).toContain('could not record the inventory');
    expect(logged).toContain('stopped leading: the lease is held by replica-b');
  });
});
