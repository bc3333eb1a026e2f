/**
 * flyteidl2.settings.SettingsService of the Union stand-in: `run.default_queue` at every scope
 * Union's settings have (flyteidl2 settings_definition.proto `ScopeLevel`; flyte 2.12.1
 * `flyte/remote/_settings.py`): the organisation (key: org), a domain (org + domain) and a
 * project in a domain (org + domain + project). A project without its domain is no scope.
 *
 * Project/domain settings are the embedded control plane's DefaultQueue records (so its rules
 * apply: the queue must exist; a queue they name is never deleted, remote/_queue.py:1011-1012). Organisation and
 * domain settings are kept here, in memory, with the same rules: `inUse` is what the queue
 * service asks before a drain or delete. Only run.default_queue is kept (docs/union.md).
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import {
  ScopeLevel,
  SettingState,
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
import type { EmbeddedControlPlane } from '../../controlplane/embedded/embedded.js';
import { alreadyExists, failedPrecondition, invalidArgument } from './pb-views.js';

/** A settings level: the organisation, a domain, or a project in a domain. */
type Scope =
  | { level: ScopeLevel.ORG }
  | { level: ScopeLevel.DOMAIN; domain: string }
  | { level: ScopeLevel.PROJECT; domain: string; project: string };

/** `run.default_queue` at organisation and domain scope (project/domain: the embedded store). */
export class BroadScopeSettings {
  /** By '' (the organisation) or the domain; a cleared level keeps its version. */
  private readonly levels = new Map<string, { queue: string | null; version: bigint }>();

  get(id: string): { queue: string | null; version: bigint } | undefined {
    return this.levels.get(id);
  }

  set(id: string, queue: string | null): void {
    const version = (this.levels.get(id)?.version ?? 0n) + 1n;
    this.levels.set(id, { queue, version });
  }

  /** The scopes whose setting names `queue` ("the organisation", "domain D"), or []. */
  inUse(queue: string): string[] {
    const out: string[] = [];
    for (const [id, l] of [...this.levels].sort(([a], [b]) => (a < b ? -1 : 1)))
      if (l.queue === queue) out.push(id === '' ? 'the organisation' : `domain ${id}`);
    return out;
  }

  /** The FAILED_PRECONDITION Union answers a delete of a queue a setting names (remote/_queue.py:1011-1012). */
  refuse(queue: string, action: 'deleted'): void {
    const scopes = this.inUse(queue);
    if (scopes.length > 0)
      throw failedPrecondition(
        `queue "${queue}" is the default queue of ${scopes.join(', ')} (run.default_queue) and cannot be ${action}: point the setting at another queue first`,
      );
  }
}

interface SettingsContext {
  cp: EmbeddedControlPlane;
  org: string;
  broad: BroadScopeSettings;
  checkOrg: (given: string | undefined) => void;
}

/** The routes' state: the context, and versions of project/domain levels (in memory). */
type Levels = SettingsContext & { versions: Map<string, bigint> };

export function settingsRoutes(x: SettingsContext): (router: ConnectRouter) => void {
  const l: Levels = { ...x, versions: new Map<string, bigint>() };
  return (router) => {
    router.service(SettingsService, {
      getSettings: (req) => getSettings(l, req),
      getSettingsForEdit: (req) => getSettingsForEdit(l, req),
      createSettings: (req) => createSettings(l, req),
      updateSettings: (req) => updateSettings(l, req),
    });
  };
}

function scopeOf(x: SettingsContext, key: SettingsKey | undefined): Scope {
  x.checkOrg(key?.org);
  if (key?.project && !key.domain)
    throw invalidArgument('a project scope needs its domain (org, domain and project in the key)');
  if (!key?.domain) return { level: ScopeLevel.ORG };
  if (!key.project) return { level: ScopeLevel.DOMAIN, domain: key.domain };
  return { level: ScopeLevel.PROJECT, domain: key.domain, project: key.project };
}

const broadId = (s: Scope) => (s.level === ScopeLevel.ORG ? '' : s.domain);

async function record(l: Levels, s: Scope): Promise<SettingsRecord> {
  const { cp, org, broad, versions } = l;
  const key = {
    org,
    domain: s.level === ScopeLevel.ORG ? '' : s.domain,
    project: s.level === ScopeLevel.PROJECT ? s.project : '',
  };
  let level = broad.get(broadId(s));
  if (s.level === ScopeLevel.PROJECT) {
    const id = `${s.project}/${s.domain}`;
    const dq = (await cp.listDefaultQueues()).find(
      (d) => d.project === s.project && d.domain === s.domain,
    );
    if (dq && !versions.has(id)) versions.set(id, 1n);
    level = { queue: dq?.queue ?? null, version: versions.get(id) ?? 0n };
  }
  const { queue = null, version = 0n } = level ?? {};
  const defaultQueue = { state: SettingState.VALUE, stringValue: queue ?? '', scopeLevel: s.level };
  const settings = queue === null ? {} : { run: { defaultQueue } };
  return create(SettingsRecordSchema, { key, settings, version });
}

async function apply(l: Levels, s: Scope, settings: Settings | undefined) {
  const { cp, broad, versions } = l;
  const dq = settings?.run?.defaultQueue;
  const queue = dq?.state === SettingState.VALUE ? dq.stringValue : null;
  if (s.level === ScopeLevel.PROJECT) {
    if (queue !== null) await cp.setDefaultQueue(s.project, s.domain, queue);
    else if (
      (await cp.listDefaultQueues()).some((d) => d.project === s.project && d.domain === s.domain)
    )
      await cp.deleteDefaultQueue(s.project, s.domain);
    const id = `${s.project}/${s.domain}`;
    versions.set(id, (versions.get(id) ?? 0n) + 1n);
  } else {
    if (queue !== null) await cp.getQueue(queue); // NOT_FOUND, as for a project/domain setting
    broad.set(broadId(s), queue);
  }
  return record(l, s);
}

/** The requested level and the broader ones it inherits from, broadest first (those that exist). */
const chain = (s: Scope): Scope[] =>
  s.level === ScopeLevel.ORG
    ? [s]
    : s.level === ScopeLevel.DOMAIN
      ? [{ level: ScopeLevel.ORG }, s]
      : [{ level: ScopeLevel.ORG }, { level: ScopeLevel.DOMAIN, domain: s.domain }, s];

async function getSettings(l: Levels, req: GetSettingsRequest) {
  return { settingsRecord: await record(l, scopeOf(l, req.key)) };
}

async function getSettingsForEdit(l: Levels, req: GetSettingsForEditRequest) {
  const levels = await Promise.all(chain(scopeOf(l, req.key)).map((s) => record(l, s)));
  return { requestedKey: req.key, levels: levels.filter((r) => r.version > 0n) };
}

async function createSettings(l: Levels, req: CreateSettingsRequest) {
  const s = scopeOf(l, req.key);
  if ((await record(l, s)).version > 0n)
    throw alreadyExists('settings exist at this level: use UpdateSettings');
  return { settingsRecord: await apply(l, s, req.settings) };
}

async function updateSettings(l: Levels, req: UpdateSettingsRequest) {
  const s = scopeOf(l, req.key);
  const current = await record(l, s);
  if (current.version !== req.version)
    throw new ConnectError(
      `version ${req.version} is not the current version ${current.version} of these settings: read them again`,
      Code.Aborted,
    );
  return { settingsRecord: await apply(l, s, req.settings) };
}
