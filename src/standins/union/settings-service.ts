/**
 * flyteidl2.settings.SettingsService of the Union stand-in, at every scope Union's settings have
 * (flyteidl2 settings_definition.proto `ScopeLevel`; flyte 2.12.1 `flyte/remote/_settings.py:7-11`):
 * the organisation (key: org), a domain (org + domain) and a project in a domain (org + domain
 * + project); a project without its domain is no scope (`_settings.py:681`).
 *
 * Each level is kept whole, as it was written: every setting, run.default_queue beside
 * security.service_account, labels and the rest (`_settings.py:62-74`), the ones the stand-in's
 * .proto does not declare kept as protobuf unknown fields. A write replaces the level's
 * settings (`_settings.py:756`: "Replace the complete set of local overrides") and carries the
 * version it read (`_settings.py:761`: optimistic locking); the first write of a level is a
 * Create (`_settings.py:787-789`). The one rule another service asks here: a queue a
 * run.default_queue of any scope names is not deleted (`remote/_queue.py:1011-1012`).
 */
import { clone, create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import {
  ScopeLevel,
  SettingState,
  SettingsSchema,
  type Settings,
  type SettingsKey,
} from '../../gen/flyteidl2/settings/settings_definition_pb.js';
import {
  SettingsRecordSchema,
  SettingsService,
  type CreateSettingsRequest,
  type GetSettingsForEditRequest,
  type GetSettingsRequest,
  type SettingsRecord,
  type UpdateSettingsRequest,
} from '../../gen/flyteidl2/settings/settings_service_pb.js';
import { alreadyExists, failedPrecondition, invalidArgument, unmodelled } from './pb-views.js';

/** A settings level: the organisation, a domain, or a project in a domain. */
interface Scope {
  level: ScopeLevel;
  domain: string;
  project: string;
}

const idOf = (s: { domain: string; project: string }) => `${s.domain}/${s.project}`;

/** Every level's settings and version, in memory while the stand-in runs. */
export class SettingsLevels {
  /** By `domain/project` ('' for a broader level); a level once written keeps its version. */
  private readonly levels = new Map<
    string,
    { scope: Scope; settings: Settings; version: bigint }
  >();

  get(s: Scope): { settings: Settings; version: bigint } | undefined {
    return this.levels.get(idOf(s));
  }

  put(s: Scope, settings: Settings): void {
    const version = (this.get(s)?.version ?? 0n) + 1n;
    this.levels.set(idOf(s), { scope: s, settings: clone(SettingsSchema, settings), version });
  }

  /** The scopes whose run.default_queue names `queue` ("the organisation", "domain D", "P/D"). */
  naming(queue: string): string[] {
    const out: string[] = [];
    for (const [id, { scope, settings }] of [...this.levels].sort(([a], [b]) => (a < b ? -1 : 1)))
      if (defaultQueueOf(settings) === queue)
        out.push(
          scope.level === ScopeLevel.ORG
            ? 'the organisation'
            : scope.level === ScopeLevel.DOMAIN
              ? `domain ${scope.domain}`
              : id.split('/').reverse().join('/'),
        );
    return out;
  }

  /** Union's answer to deleting a queue a setting names (remote/_queue.py:1011-1012). */
  refuseDelete(queue: string): void {
    const scopes = this.naming(queue);
    if (scopes.length > 0)
      throw failedPrecondition(
        `queue "${queue}" is the default queue of ${scopes.join(', ')} (run.default_queue) and cannot be deleted: point the setting at another queue first`,
      );
  }

  /** The project levels' run.default_queue, by project then domain (a view for tests). */
  defaultQueues(): { project: string; domain: string; queue: string }[] {
    return [...this.levels.values()]
      .filter((l) => l.scope.level === ScopeLevel.PROJECT && defaultQueueOf(l.settings) !== null)
      .map((l) => ({
        project: l.scope.project,
        domain: l.scope.domain,
        queue: defaultQueueOf(l.settings)!,
      }))
      .sort((a, b) => (`${a.project}/${a.domain}` < `${b.project}/${b.domain}` ? -1 : 1));
  }
}

/** The queue a level's run.default_queue names, or null. */
function defaultQueueOf(settings: Settings): string | null {
  const dq = settings.run?.defaultQueue;
  return dq?.state === SettingState.VALUE && dq.stringValue !== '' ? dq.stringValue : null;
}

interface SettingsContext {
  org: string;
  settings: SettingsLevels;
  checkOrg: (given: string | undefined) => void;
  /** The organisation's projects (ListProjects lists them, archived ones too). */
  projects: ReadonlySet<string>;
}

export function settingsRoutes(x: SettingsContext): (router: ConnectRouter) => void {
  return (router) => {
    router.service(SettingsService, {
      getSettings: (req) => getSettings(x, req),
      getSettingsForEdit: (req) => getSettingsForEdit(x, req),
      createSettings: (req) => createSettings(x, req),
      updateSettings: (req) => updateSettings(x, req),
    });
  };
}

function scopeOf(x: SettingsContext, key: SettingsKey | undefined): Scope {
  x.checkOrg(key?.org);
  const domain = key?.domain ?? '';
  const project = key?.project ?? '';
  // "`project`: Requires `domain` to also be set" (flyte/remote/_settings.py:681).
  if (project && !domain)
    throw invalidArgument('a project scope needs its domain (org, domain and project in the key)');
  // Settings only of a project ListProjects lists (issue 73 item 8): one it does not list would
  // be a level no read of poolsync's (nor Union's CLI's) could find.
  if (project && !x.projects.has(project))
    throw unmodelled(`settings of project "${project}", which the organisation does not have`);
  const level = !domain ? ScopeLevel.ORG : !project ? ScopeLevel.DOMAIN : ScopeLevel.PROJECT;
  return { level, domain, project };
}

function record(x: SettingsContext, s: Scope): SettingsRecord {
  const level = x.settings.get(s);
  const settings = level ? clone(SettingsSchema, level.settings) : create(SettingsSchema);
  // A value answers with the level it is set at (StringSetting.scope_level).
  if (settings.run?.defaultQueue) settings.run.defaultQueue.scopeLevel = s.level;
  return create(SettingsRecordSchema, {
    key: { org: x.org, domain: s.domain, project: s.project },
    settings,
    version: level?.version ?? 0n,
  });
}

/** The requested level and the broader ones it inherits from, broadest first. */
const chain = (s: Scope): Scope[] => [
  { level: ScopeLevel.ORG, domain: '', project: '' },
  ...(s.level === ScopeLevel.ORG
    ? []
    : [{ level: ScopeLevel.DOMAIN, domain: s.domain, project: '' }]),
  ...(s.level === ScopeLevel.PROJECT ? [s] : []),
];

async function getSettings(x: SettingsContext, req: GetSettingsRequest) {
  return { settingsRecord: record(x, scopeOf(x, req.key)) };
}

/** The levels that have a record ("the server may omit a level when no record exists": _settings.py:733-734). */
async function getSettingsForEdit(x: SettingsContext, req: GetSettingsForEditRequest) {
  const levels = chain(scopeOf(x, req.key)).map((s) => record(x, s));
  return { requestedKey: req.key, levels: levels.filter((r) => r.version > 0n) };
}

async function createSettings(x: SettingsContext, req: CreateSettingsRequest) {
  const s = scopeOf(x, req.key);
  // A level that has a version is updated with it, under optimistic locking: a Create does not
  // overwrite a level written since it was read (flyte/remote/_settings.py:761-762, 787-796).
  if (x.settings.get(s)) throw alreadyExists('settings exist at this level: use UpdateSettings');
  x.settings.put(s, req.settings ?? create(SettingsSchema));
  return { settingsRecord: record(x, s) };
}

async function updateSettings(x: SettingsContext, req: UpdateSettingsRequest) {
  const s = scopeOf(x, req.key);
  const current = x.settings.get(s)?.version ?? 0n;
  // Optimistic locking with the version read (flyte/remote/_settings.py:761-762).
  if (current !== req.version)
    throw new ConnectError(
      `version ${req.version} is not the current version ${current} of these settings: read them again`,
      Code.Aborted,
    );
  x.settings.put(s, req.settings ?? create(SettingsSchema));
  return { settingsRecord: record(x, s) };
}
