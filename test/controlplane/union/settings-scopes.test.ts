/**
 * `run.default_queue` at every scope Union's settings have (ScopeLevel ORG, DOMAIN, PROJECT;
 * flyte 2.12.1 flyte/remote/_settings.py): the stand-in stores and serves the organisation's and
 * a domain's levels beside the project/domain ones, GetSettingsForEdit answers the level and
 * those it inherits from, and a queue any scope names is never drained or deleted; the union
 * backend reads those scopes into the live state (default_queue_scopes), over both protocols.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import {
  ScopeLevel,
  SettingState,
} from '../../../src/gen/flyteidl2/settings/settings_definition_pb.js';
import { SettingsService } from '../../../src/gen/flyteidl2/settings/settings_service_pb.js';
import {
  CLIENT,
  openUnion,
  rawClient,
  rejection,
  startUnionServer,
  type UnionServer,
} from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const queueSetting = (queue: string) => ({
  run: { defaultQueue: { state: SettingState.VALUE, stringValue: queue } },
});

describe.each(['connect', 'grpc'] as const)('settings at every scope over %s', (protocol) => {
  it('the stand-in keeps the organisation and domain levels, and serves the inherited chain', async () => {
    s = await startUnionServer();
    await s.embedded.createQueue({ name: 'web', run_concurrency: 1, action_concurrency: 1 });
    const { client, close } = await rawClient(s, SettingsService, protocol);
    try {
      const org = CLIENT.org;
      const made = await client.createSettings({ key: { org }, settings: queueSetting('web') });
      expect(made.settingsRecord?.version).toBe(1n);
      expect(made.settingsRecord?.settings?.run?.defaultQueue?.scopeLevel).toBe(ScopeLevel.ORG);
      await client.createSettings({
        key: { org, domain: 'production' },
        settings: queueSetting('default'),
      });
      const again = await client
        .createSettings({ key: { org }, settings: queueSetting('web') })
        .catch((e: unknown) => e);
      expect(String(again)).toMatch(/use UpdateSettings/);
      // A project's level inherits from its domain and the organisation: all three levels.
      const edit = await client.getSettingsForEdit({
        key: { org, domain: 'production', project: 'ml' },
      });
      expect(
        edit.levels.map((l) => [
          l.key?.domain,
          l.key?.project,
          l.settings?.run?.defaultQueue?.stringValue,
        ]),
      ).toEqual([
        ['', '', 'web'],
        ['production', '', 'default'],
      ]);
      expect(edit.levels.map((l) => l.settings?.run?.defaultQueue?.scopeLevel)).toEqual([
        ScopeLevel.ORG,
        ScopeLevel.DOMAIN,
      ]);
      // No scope without the domain (flyte/remote/_settings.py:681).
      const noDomain = await client
        .getSettings({ key: { org, project: 'ml' } })
        .catch((e: unknown) => e);
      expect(String(noDomain)).toMatch(/project scope needs its domain/);
      // A stale version is refused.
      const stale = await client
        .updateSettings({ key: { org, domain: 'production' }, settings: {}, version: 7n })
        .catch((e: unknown) => e);
      expect(String(stale)).toMatch(/not the current version 1/);
    } finally {
      close();
    }
  });

  it('a queue a broader scope names is drained but never deleted (remote/_queue.py:934-938, 1011-1012); the backend reads every scope', async () => {
    s = await startUnionServer();
    await s.embedded.createQueue({ name: 'web', run_concurrency: 1, action_concurrency: 1 });
    await s.embedded.createQueue({ name: 'spare', run_concurrency: 1, action_concurrency: 1 });
    const { client, close } = await rawClient(s, SettingsService, protocol);
    const cp = await openUnion(s, protocol);
    try {
      const org = CLIENT.org;
      await client.createSettings({ key: { org }, settings: queueSetting('web') });
      await client.createSettings({
        key: { org, domain: 'production' },
        settings: queueSetting('default'),
      });
      await cp.defaultQueues.setDefaultQueue('ml', 'production', 'spare');
      const live = await readLiveState(cp);
      expect(live.default_queues).toEqual([
        { project: 'ml', domain: 'production', queue: 'spare' },
      ]);
      expect(live.default_queue_scopes).toEqual([
        { queue: 'web' },
        { domain: 'production', queue: 'default' },
      ]);
      await cp.capabilityCalls.drainQueue('web');
      const refused = await rejection(cp.capabilityCalls.deleteQueue('web'));
      expect(refused.code).toBe('FAILED_PRECONDITION');
      expect(refused.message).toContain('default queue of the organisation');
      await cp.capabilityCalls.drainQueue('default');
      const del = await rejection(cp.capabilityCalls.deleteQueue('default'));
      expect(del.message).toContain('default queue of domain production');
      await cp.capabilityCalls.activateQueue('default');
      // The organisation's setting unset (INHERIT): web may go now.
      await client.updateSettings({ key: { org }, settings: {}, version: 1n });
      await cp.capabilityCalls.deleteQueue('web');
      const after = await readLiveState(cp);
      expect(after.default_queue_scopes).toEqual([{ domain: 'production', queue: 'default' }]);
    } finally {
      close();
      await cp.close();
    }
  });
});
