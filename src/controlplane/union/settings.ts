/**
 * Union v2's project/domain → default queue: the `run.default_queue` setting of
 * flyteidl2.settings.SettingsService at project scope (org + domain + project).
 *
 * There is no call that lists settings, so the list reads the org's projects and domains
 * (flyteidl2.project.ProjectService/ListProjects) and each project/domain's own level
 * (GetSettingsForEdit), a bounded number at a time. The same read takes the organisation's
 * level and each of those domains' (the scopes above project/domain, ScopeLevel ORG and
 * DOMAIN): poolsync never writes them, but Union refuses to drain or delete a queue a setting
 * of any scope names, so the planner must know them (`listScoped`). Writes read the level, change only
 * run.default_queue and write it back with its version (optimistic locking); every other
 * setting of the level, known to poolsync or not (kept by protobuf-es as unknown fields), is
 * sent back unchanged.
 */
import { create } from '@bufbuild/protobuf';
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { address } from '../../model/common.js';
import type { LiveDefaultQueue, LiveScopedDefaultQueue } from '../../model/live.js';
import type { ProjectService } from '../../gen/flyteidl2/project/project_service_pb.js';
import { ProjectState } from '../../gen/flyteidl2/project/project_service_pb.js';
import {
  ScopeLevel,
  SettingState,
  SettingsSchema,
  type Settings,
  type SettingsKey,
} from '../../gen/flyteidl2/settings/settings_definition_pb.js';
import {
  SettingsService,
  type SettingsRecord,
} from '../../gen/flyteidl2/settings/settings_service_pb.js';
import { withRetry, type UnionRetry } from './transport.js';
import { mapLimit } from '../../util/map-limit.js';

const SETTINGS = 'flyteidl2.settings.SettingsService';
const PROJECTS = 'flyteidl2.project.ProjectService';
/** Project/domain levels read at once by list(). */
const READ_CONCURRENCY = 16;
/** Writes retried after a version conflict (another writer between our read and write). */
const CONFLICT_RETRIES = 3;

export interface DefaultQueueSettingsOptions {
  org: string;
  transport: Transport;
  projects: Client<typeof ProjectService>;
  retry: UnionRetry;
  pageSize: number;
  /** Throws NOT_FOUND when the queue does not exist. */
  queueExists: (name: string) => Promise<void>;
}

export class DefaultQueueSettings {
  private readonly settings: Client<typeof SettingsService>;

  constructor(private readonly opts: DefaultQueueSettingsOptions) {
    this.settings = createClient(SettingsService, opts.transport);
  }

  /**
   * Writes are versioned read-modify-writes (`write`): one sent again after it landed meets a
   * version conflict or ALREADY_EXISTS, and the loop reads the level back. So every call here
   * may be sent again (transport.ts).
   */
  private call<T>(rpc: string, addr: string | null, fn: () => Promise<T>): Promise<T> {
    const info = { rpc, address: addr, org: this.opts.org, idempotent: true };
    return withRetry(info, this.opts.retry, fn);
  }

  /** One read of every scope's settings, shared by the calls of one live-state read. */
  private reading: Promise<{ own: LiveDefaultQueue[]; scoped: LiveScopedDefaultQueue[] }> | null =
    null;

  private key(project: string, domain: string): SettingsKey {
    return { $typeName: 'flyteidl2.settings.SettingsKey', org: this.opts.org, domain, project };
  }

  /**
   * The level's own record (undefined when it has none): a project/domain's, a domain's
   * (project ''), or the organisation's (both '').
   */
  private async level(project: string, domain: string): Promise<SettingsRecord | undefined> {
    const addr =
      project !== ''
        ? address('DefaultQueue', `${project}/${domain}`)
        : `settings of ${domain === '' ? 'the organisation' : `domain ${domain}`}`;
    const res = await this.call(`${SETTINGS}/GetSettingsForEdit`, addr, () =>
      this.settings.getSettingsForEdit({ key: this.key(project, domain) }),
    );
    return res.levels.find(
      (l) => l.key?.project === project && l.key?.domain === domain && l.key.org === this.opts.org,
    );
  }

  /** Project/domain settings. */
  async list(): Promise<LiveDefaultQueue[]> {
    return (await this.readAll()).own;
  }

  /** Organisation and domain settings (of the domains the org's projects have). */
  async listScoped(): Promise<LiveScopedDefaultQueue[]> {
    return (await this.readAll()).scoped;
  }

  /** Both lists of one read: calls made while a read runs (readLiveState's) share it. */
  private readAll(): Promise<{ own: LiveDefaultQueue[]; scoped: LiveScopedDefaultQueue[] }> {
    this.reading ??= this.read().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async read(): Promise<{ own: LiveDefaultQueue[]; scoped: LiveScopedDefaultQueue[] }> {
    const pairs: { project: string; domain: string }[] = [];
    let token = '';
    do {
      const res = await this.call(`${PROJECTS}/ListProjects`, null, () =>
        this.opts.projects.listProjects({ org: this.opts.org, limit: this.opts.pageSize, token }),
      );
      for (const p of res.projects?.projects ?? []) {
        if (p.state === ProjectState.ARCHIVED || p.state === ProjectState.SYSTEM_ARCHIVED) continue;
        for (const d of p.domains) pairs.push({ project: p.id, domain: d.id });
      }
      token = res.projects?.token ?? '';
    } while (token !== '');
    const domains = [...new Set(pairs.map((p) => p.domain))].sort();
    const scopes = [
      { project: '', domain: '' },
      ...domains.map((domain) => ({ project: '', domain })),
    ];
    const [own, scoped] = await Promise.all([
      mapLimit(pairs, READ_CONCURRENCY, async ({ project, domain }) => {
        const queue = defaultQueueOf(await this.level(project, domain));
        return queue === null ? null : { project, domain, queue };
      }),
      mapLimit(scopes, READ_CONCURRENCY, async ({ domain }) => {
        const queue = defaultQueueOf(await this.level('', domain));
        return queue === null ? null : domain === '' ? { queue } : { domain, queue };
      }),
    ]);
    return {
      own: own.filter((x): x is LiveDefaultQueue => x !== null),
      scoped: scoped.filter((x): x is LiveScopedDefaultQueue => x !== null),
    };
  }

  async set(project: string, domain: string, queue: string): Promise<LiveDefaultQueue> {
    await this.opts.queueExists(queue);
    await this.write(project, domain, {
      state: SettingState.VALUE,
      stringValue: queue,
      scopeLevel: ScopeLevel.PROJECT,
    });
    return { project, domain, queue };
  }

  async delete(project: string, domain: string): Promise<void> {
    // INHERIT: the project/domain no longer sets its own default queue.
    await this.write(project, domain, null);
  }

  /** Read-modify-write of run.default_queue at project scope; null removes it. */
  private async write(
    project: string,
    domain: string,
    value: { state: SettingState; stringValue: string; scopeLevel: ScopeLevel } | null,
  ): Promise<void> {
    const addr = address('DefaultQueue', `${project}/${domain}`);
    for (let attempt = 0; ; attempt++) {
      const record = await this.level(project, domain);
      const exists = record !== undefined && record.version > 0n;
      if (!value && !exists) return;
      const settings: Settings = record?.settings ?? create(SettingsSchema);
      settings.run ??= { $typeName: 'flyteidl2.settings.RunSettings' };
      if (value)
        settings.run.defaultQueue = { $typeName: 'flyteidl2.settings.StringSetting', ...value };
      else if (settings.run.defaultQueue?.state === SettingState.VALUE)
        delete settings.run.defaultQueue;
      else return;
      try {
        if (exists) {
          await this.call(`${SETTINGS}/UpdateSettings`, addr, () =>
            this.settings.updateSettings({
              key: this.key(project, domain),
              settings,
              version: record.version,
            }),
          );
        } else {
          await this.call(`${SETTINGS}/CreateSettings`, addr, () =>
            this.settings.createSettings({ key: this.key(project, domain), settings }),
          );
        }
        return;
      } catch (err) {
        // Another writer changed the level between our read and write: read it again.
        const conflict =
          err instanceof Error &&
          'code' in err &&
          (err.code === 'FAILED_PRECONDITION' || err.code === 'ALREADY_EXISTS') &&
          /version|exists|conflict/i.test(err.message);
        if (!conflict || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }
}

/** The level's run.default_queue when it sets a queue, else null. */
function defaultQueueOf(record: SettingsRecord | undefined): string | null {
  const dq = record?.settings?.run?.defaultQueue;
  return dq?.state === SettingState.VALUE && dq.stringValue !== '' ? dq.stringValue : null;
}
