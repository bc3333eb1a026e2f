/**
 * Union v2's project/domain → default queue: the `run.default_queue` setting of
 * flyteidl2.settings.SettingsService at project scope (org + domain + project).
 *
 * No call lists settings (settings_service.proto: Get, GetForEdit, Create, Update), so a read
 * asks GetSettingsForEdit of each project/domain it needs: the ones a plan names
 * (src/plan/fingerprint.ts), or every one of the org's projects when the plan drains, deletes or
 * moves a queue. Each answer holds every level the key covers, broadest first: poolsync never
 * writes the organisation's and the domains' settings, but Union refuses to drain or delete a
 * queue a setting of any scope names, so the planner must know them (`listScoped`).
 *
 * Writes change only run.default_queue and send the level back with its version (optimistic
 * locking), every other setting (protobuf-es keeps unknown fields) unchanged: one call per write,
 * from the level last read or answered (`known`); a version conflict reads it again.
 */
import { clone, create } from '@bufbuild/protobuf';
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { address, defaultQueueKeyString } from '../../model/common.js';
import type {
  DefaultQueueScope,
  LiveDefaultQueue,
  LiveScopedDefaultQueue,
} from '../../model/live.js';
import {
  type ProjectService,
  ProjectState,
} from '../../gen/flyteidl2/project/project_service_pb.js';
import {
  ScopeLevel,
  SettingState,
  SettingsSchema,
  type SettingsKey,
} from '../../gen/flyteidl2/settings/settings_definition_pb.js';
import {
  SettingsService,
  type SettingsRecord,
} from '../../gen/flyteidl2/settings/settings_service_pb.js';
import { mapLimit } from '../../util/map-limit.js';
import type { Lane } from '../../util/pacer.js';
import type { DefaultQueueCalls } from '../types.js';
import type { Call } from './transport.js';
import { ControlPlaneError } from '../errors.js';
import { SharedReads } from '../shared-reads.js';
import { sweep } from './sweeps.js';

/** Writes retried after a version conflict (another writer between our read and write). */
const CONFLICT_RETRIES = 3;

export interface DefaultQueueSettingsOptions {
  org: string;
  transport: Transport;
  projects: Client<typeof ProjectService>;
  /** Every call here may be sent again: a write conflicting with itself reads again. */
  call: Call;
  pageSize: number;
  parallelism: number;
}

type Read = { own: LiveDefaultQueue[]; scoped: LiveScopedDefaultQueue[] };

export class DefaultQueueSettings implements DefaultQueueCalls {
  readonly settingsByKey = true;
  private readonly settings: Client<typeof SettingsService>;
  /** readLiveState's two calls share one read. */
  private readonly reads = new SharedReads();
  /** Each project/domain level as last read or written: what a write starts from. */
  private readonly known = new Map<string, SettingsRecord | null>();

  constructor(private readonly opts: DefaultQueueSettingsOptions) {
    this.settings = createClient(SettingsService, opts.transport);
  }

  private key(project: string, domain: string): SettingsKey {
    return { $typeName: 'flyteidl2.settings.SettingsKey', org: this.opts.org, domain, project };
  }

  /** Broadest first (a level without a record may be left out). */
  private async levels(project: string, domain: string, lane?: Lane): Promise<SettingsRecord[]> {
    const addr =
      project !== ''
        ? address('DefaultQueue', `${project}/${domain}`)
        : `settings of ${domain === '' ? 'the organisation' : `domain ${domain}`}`;
    const res = await this.opts.call(
      'getSettingsForEdit',
      addr,
      () => this.settings.getSettingsForEdit({ key: this.key(project, domain) }),
      lane,
    );
    const mine = res.levels.filter((l) => l.key?.org === this.opts.org);
    if (project !== '') {
      const own = mine.find((l) => l.key?.project === project && l.key.domain === domain);
      this.known.set(defaultQueueKeyString({ project, domain }), own ?? null);
    }
    return mine;
  }

  async listDefaultQueues(scope: DefaultQueueScope = 'all'): Promise<LiveDefaultQueue[]> {
    return (await this.readShared(scope)).own;
  }

  async listScopedDefaultQueues(
    scope: DefaultQueueScope = 'all',
  ): Promise<LiveScopedDefaultQueue[]> {
    return (await this.readShared(scope)).scoped;
  }

  private readShared(scope: DefaultQueueScope): Promise<Read> {
    const id = scope === 'all' ? 'all' : scope.map(defaultQueueKeyString).join('\u0000');
    return this.reads.get(id, () => this.read(scope));
  }

  private async read(scope: DefaultQueueScope): Promise<Read> {
    const pairs: readonly { project: string; domain: string; archived?: boolean }[] =
      scope === 'all' ? await this.projectPairs() : scope;
    // Without a project/domain to ask, the organisation's own level (all of an org without projects).
    const keys = pairs.length === 0 && scope === 'all' ? [{ project: '', domain: '' }] : pairs;
    // A level Union refuses to show is not a level without settings (issue 73 item 7): it is
    // recorded unreadable, and the planner deletes no queue while one is. Bulk reads: the lists'
    // pages, the plan's critical path, go before them (issue 79 item 3).
    const answers = await mapLimit(keys, this.opts.parallelism, (p) =>
      this.levels(p.project, p.domain, 'bulk').catch((err: unknown) => {
        if (!(err instanceof ControlPlaneError) || err.code === 'UNAVAILABLE') throw err;
        return { unreadable: p };
      }),
    );
    const own: LiveDefaultQueue[] = [];
    const broad = new Map<string, LiveScopedDefaultQueue | null>();
    const archived = new Set(pairs.filter((p) => p.archived).map(defaultQueueKeyString));
    for (const levels of answers) {
      if (!Array.isArray(levels)) {
        const { project, domain } = levels.unreadable;
        broad.set(`${project}/${domain}`, { project, domain, queue: '', unreadable: true });
        continue;
      }
      for (const l of levels) {
        const { project = '', domain = '' } = l.key ?? {};
        const queue = defaultQueueOf(l);
        if (project !== '' && archived.has(defaultQueueKeyString({ project, domain }))) {
          if (queue !== null) broad.set(`${project}/${domain}`, { project, domain, queue });
        } else if (project !== '') {
          if (queue !== null) own.push({ project, domain, queue });
        } else if (!broad.has(domain))
          broad.set(domain, queue === null ? null : domain === '' ? { queue } : { domain, queue });
      }
    }
    const scoped = [...broad.values()].filter((x): x is LiveScopedDefaultQueue => x !== null);
    return { own, scoped };
  }

  /**
   * Every project's domains, archived ones flagged: an archived project's settings are not
   * managed, but a queue they name cannot be deleted (remote/_queue.py:1011-1014).
   */
  private async projectPairs() {
    const { call, pageSize, org, projects } = this.opts;
    const all = await sweep(call, 'listProjects', pageSize, false, async ({ limit, token }) => {
      const res = await projects.listProjects({ org, limit, token });
      return { items: res.projects?.projects ?? [], token: res.projects?.token ?? '' };
    });
    return all.flatMap((p) => {
      const archived =
        p.state === ProjectState.ARCHIVED || p.state === ProjectState.SYSTEM_ARCHIVED;
      return p.domains.map((d) => ({ project: p.id, domain: d.id, archived }));
    });
  }

  async setDefaultQueue(project: string, domain: string, queue: string): Promise<LiveDefaultQueue> {
    await this.write(project, domain, {
      state: SettingState.VALUE,
      stringValue: queue,
      scopeLevel: ScopeLevel.PROJECT,
    });
    return { project, domain, queue };
  }

  async deleteDefaultQueue(project: string, domain: string): Promise<void> {
    // INHERIT: the project/domain no longer sets its own default queue.
    await this.write(project, domain, null);
  }

  private async base(project: string, domain: string): Promise<SettingsRecord | null> {
    const k = defaultQueueKeyString({ project, domain });
    if (!this.known.has(k)) await this.levels(project, domain);
    return this.known.get(k) ?? null;
  }

  /** Null removes it. */
  private async write(
    project: string,
    domain: string,
    value: { state: SettingState; stringValue: string; scopeLevel: ScopeLevel } | null,
  ): Promise<void> {
    const k = defaultQueueKeyString({ project, domain });
    const addr = address('DefaultQueue', k);
    let record = await this.base(project, domain);
    for (let attempt = 0; ; attempt++) {
      const exists = record !== null && record.version > 0n;
      const settings = record?.settings
        ? clone(SettingsSchema, record.settings)
        : create(SettingsSchema);
      settings.run ??= { $typeName: 'flyteidl2.settings.RunSettings' };
      if (value)
        settings.run.defaultQueue = { $typeName: 'flyteidl2.settings.StringSetting', ...value };
      else if (exists && settings.run.defaultQueue?.state === SettingState.VALUE)
        delete settings.run.defaultQueue;
      else return;
      try {
        const key = this.key(project, domain);
        const res = exists
          ? await this.opts.call('updateSettings', addr, () =>
              this.settings.updateSettings({ key, settings, version: record!.version }),
            )
          : await this.opts.call('createSettings', addr, () =>
              this.settings.createSettings({ key, settings }),
            );
        if (res.settingsRecord) this.known.set(k, res.settingsRecord);
        else this.known.delete(k);
        return;
      } catch (err) {
        const conflict =
          err instanceof Error &&
          'code' in err &&
          (err.code === 'FAILED_PRECONDITION' || err.code === 'ALREADY_EXISTS') &&
          /version|exists|conflict/i.test(err.message);
        if (!conflict || attempt >= CONFLICT_RETRIES) throw err;
        this.known.delete(k);
        record = await this.base(project, domain);
      }
    }
  }
}

function defaultQueueOf(record: SettingsRecord | undefined): string | null {
  const dq = record?.settings?.run?.defaultQueue;
  return dq?.state === SettingState.VALUE && dq.stringValue !== '' ? dq.stringValue : null;
}
