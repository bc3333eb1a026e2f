/**
 * DefaultQueue through flyteidl2.settings.SettingsService (run.default_queue at project scope)
 * and ProjectService.ListProjects, over both protocols: list/set/delete, and a write changes
 * run.default_queue only: settings poolsync does not know (unknown fields
 * to its minimal .proto) go back to Union unchanged.
 */
import type { Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { openUnion, startUnionServer, type UnionServer } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe.each(['connect', 'grpc'] as const)('default queues over %s', (protocol) => {
  it('set, list and delete run.default_queue per project/domain', async () => {
    s = await startUnionServer();
    await s.embedded.createQueue({ name: 'web', run_concurrency: 1, action_concurrency: 1 });
    const cp = await openUnion(s, protocol);
    expect(await cp.defaultQueues.listDefaultQueues()).toEqual([]);
    expect(await cp.defaultQueues.setDefaultQueue('ml', 'development', 'web')).toEqual({
      project: 'ml',
      domain: 'development',
      queue: 'web',
    });
    await cp.defaultQueues.setDefaultQueue('ml', 'production', 'default');
    await cp.defaultQueues.setDefaultQueue('ml', 'development', 'default'); // an update (version 1 → 2)
    expect(await cp.defaultQueues.listDefaultQueues()).toEqual([
      { project: 'ml', domain: 'development', queue: 'default' },
      { project: 'ml', domain: 'production', queue: 'default' },
    ]);
    await cp.defaultQueues.deleteDefaultQueue('ml', 'production');
    await cp.defaultQueues.deleteDefaultQueue('ml', 'staging'); // nothing set: nothing to do
    expect(s.api.settings.defaultQueues()).toEqual([
      { project: 'ml', domain: 'development', queue: 'default' },
    ]);
    await cp.close();
  });

  it('a write sends back the settings it does not know, unchanged', async () => {
    // Length-prefixed payload, as protobuf-es keeps a length-delimited unknown field.
    const labels = new Uint8Array([0x05, 0x0a, 0x03, 0x61, 0x62, 0x63]);
    let sent: unknown;
    // Union's level carries more than run.default_queue: add an unknown field 5 (labels) to
    // every level it answers (a read's, a write's).
    const richer: Interceptor = (next) => async (req) => {
      if (req.method.name === 'UpdateSettings') sent = req.message;
      const res = await next(req);
      if (!res.stream) {
        type Level = { settings?: { $unknown?: unknown[] } };
        const message = res.message as unknown as { levels?: Level[]; settingsRecord?: Level };
        const levels = message.levels ?? (message.settingsRecord ? [message.settingsRecord] : []);
        for (const level of levels) {
          if (level.settings) level.settings.$unknown = [{ no: 5, wireType: 2, data: labels }];
        }
      }
      return res;
    };
    s = await startUnionServer({ interceptors: [richer] });
    await s.embedded.createQueue({ name: 'web', run_concurrency: 1, action_concurrency: 1 });
    const cp = await openUnion(s, protocol);
    await cp.defaultQueues.setDefaultQueue('ml', 'development', 'default');
    await cp.defaultQueues.setDefaultQueue('ml', 'development', 'web');
    await cp.close();
    const update = sent as {
      version: bigint;
      settings: { run: { defaultQueue: { stringValue: string } }; $unknown: unknown[] };
    };
    expect(update.version).toBe(1n);
    expect(update.settings.run.defaultQueue.stringValue).toBe('web');
    expect(update.settings.$unknown).toEqual([{ no: 5, wireType: 2, data: labels }]);
  });
});
