/**
 * poolsync.yaml `environments:` (docs/environments.md): one repository, many control planes.
 * Read: what the schema cannot check (real folders inside the config folder, patch files that
 * are not manifests, one control plane per environment, a promotion chain that never loops),
 * each error at its node. Loaded (index.ts): its files, its patches; and its credentials.
 */
import { lstat, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Environment, EnvironmentEntry, RepoConfig } from '../model/desired.js';
import {
  addressReached,
  controlPlaneEndpoint,
  fileUrlPath,
  type HostResolver,
} from '../util/control-plane-endpoint.js';
import { MAX_DURATION_MS, parseDuration } from '../util/duration.js';
import { unusedUrlPart, urlCredentials } from '../util/url-credentials.js';
import type { InputLimits } from './limits.js';
import { didYouMean, nearName } from './suggest.js';
import type { AddError, ValidationError } from './types.js';
import { REPO_CONFIG_FILE, manifestReader, readManifestText } from './walk.js';
import { entry, toPlain, type Position, type YMap, type YMapEntry, type YNode } from './yaml.js';
import { parseYamlFile } from './yaml-simple.js';

/** A path relative to the config folder as the walk writes it, or null when it leaves the folder. */
export function relativeConfigPath(path: string): string | null {
  const p = path.replace(/\/+$/, '').replace(/^\.\//, '');
  if (p === '' || p === '.') return '.';
  if (p.startsWith('/') || p.split('/').some((s) => s === '..' || s === '')) return null;
  return p;
}

/** Whether `file` (relative, as the walk lists it) is under `folder` (relative, or `.`). */
export function underFolder(file: string, folder: string): boolean {
  return folder === '.' || file.startsWith(`${folder}/`);
}

/** The environment's URL, a `file:` path made absolute: one state file from any working folder. */
export function environmentUrl(dir: string, env: Pick<Environment, 'controlPlane'>): string {
  if (!env.controlPlane.startsWith('file:')) return env.controlPlane;
  const query = env.controlPlane.split('?')[1];
  return `file:${fileUrlPath(env.controlPlane, dir)}${query !== undefined ? `?${query}` : ''}`;
}

/** Names the command line gives a meaning where an environment is named. */
const RESERVED_NAMES = new Map([['all', '`--env all` means every environment']]);

/** Where an environment's control plane is named, for "the other line". */
interface Named {
  name: string;
  pos: Position;
}

const lineOf = ({ pos }: Named) => `${REPO_CONFIG_FILE}:${pos.line}:${pos.column}`;

/** `environments:` read and checked; undefined if none. `resolveHost`: see checkAddresses. */
export async function readEnvironments(
  dir: string,
  root: YNode,
  add: AddError,
  resolveHost?: HostResolver,
): Promise<Environment[] | undefined> {
  const node = entry(root, 'environments')?.value;
  if (node?.kind !== 'map') return undefined;
  if (node.entries.length === 0) {
    const message =
      'environments: declares none: list at least one, or leave it out for one environment';
    add('SCHEMA', message, node.pos);
    return undefined;
  }
  const envs: Environment[] = [];
  const byControlPlane = new Map<string, Named>();
  for (const e of node.entries) envs.push(await readEnvironment(dir, e, byControlPlane, add));
  if (resolveHost) await checkAddresses(envs, node, resolveHost, add);
  checkPromotion(envs, node, add);
  return envs;
}

const SHARED =
  'each environment has a control plane of its own (its own inventory and apply lock); two environments on one control plane would prune each other’s objects';

/**
 * Control planes reached at one address and port (`http://127.0.0.1:P` and `http://vm:P`, vm an
 * /etc/hosts alias) are one under two names: refused at the second's line. The loader itself
 * reaches no network: only given a `resolveHost`.
 */
async function checkAddresses(
  envs: Environment[],
  node: YNode,
  resolveHost: HostResolver,
  add: AddError,
): Promise<void> {
  const reached = await Promise.all(
    envs.map(async (env) => {
      const at = addressReached(env.controlPlane);
      const addresses = at ? await resolveHost(at.host) : [];
      // Keyed by backend too: one server may speak several, each a control plane of its own.
      return addresses.map((a) => [at!.backend, `${a.includes(':') ? `[${a}]` : a}:${at!.port}`]);
    }),
  );
  const first = new Map<string, { env: Environment; named: Named }>();
  for (const [i, env] of envs.entries()) {
    const pos = entry(entry(node, env.name)?.value, 'controlPlane')?.value.pos ?? node.pos;
    for (const [backend, address] of reached[i]!) {
      const other = first.get(`${backend}${address}`);
      if (other === undefined) {
        first.set(`${backend}${address}`, { env, named: { name: env.name, pos } });
        continue;
      }
      // One spelling: said already (readEnvironment).
      const same = (e: Environment) => controlPlaneEndpoint(e.controlPlane);
      if (other.env.name === env.name || same(other.env) === same(env)) continue;
      const message = `environments.${env.name}.controlPlane reaches environment ${other.env.name}'s control plane (${lineOf(other.named)}): ${env.controlPlane} and ${other.env.controlPlane} are both ${address}; ${SHARED}`;
      add('SCHEMA', message, pos);
      break;
    }
  }
}

async function readEnvironment(
  dir: string,
  { key: name, keyPos, value }: YMapEntry,
  byControlPlane: Map<string, Named>,
  add: AddError,
): Promise<Environment> {
  const raw = toPlain(value) as EnvironmentEntry; // the schema has checked its shape
  const where = `environments.${name}`;
  /** Where a field (its i-th item) is, else the entry's name. */
  const at = (field: string, i?: number): Position => {
    const n = entry(value, field)?.value;
    return (i === undefined ? n : n?.kind === 'seq' ? n.items[i] : undefined)?.pos ?? keyPos;
  };
  const reserved = RESERVED_NAMES.get(name);
  if (reserved !== undefined) {
    const message = `${where}: '${name}' cannot name an environment (${reserved}); name it otherwise`;
    add('SCHEMA', message, keyPos);
  }
  if (urlCredentials(raw.controlPlane) !== null) {
    const message = `${where}.controlPlane carries credentials in the URL: name them by reference (tokenFile, apiKeyFile), never in poolsync.yaml`;
    add('SCHEMA', message, at('controlPlane'));
  }
  const unused = unusedUrlPart(raw.controlPlane);
  if (unused !== null) {
    const message = `${where}.controlPlane carries ${unused}, which poolsync does not use and would print: remove it (credentials are named by reference: tokenFile, apiKeyFile)`;
    add('SCHEMA', message, at('controlPlane'));
  }
  const endpoint = controlPlaneEndpoint(raw.controlPlane, dir);
  const same = byControlPlane.get(endpoint);
  if (same !== undefined) {
    const message = `${where}.controlPlane is also environment ${same.name}'s (${lineOf(same)}; both name ${endpoint}): ${SHARED}`;
    add('SCHEMA', message, at('controlPlane'));
  } else byControlPlane.set(endpoint, { name, pos: at('controlPlane') });
  const folders: string[] = [];
  for (const [i, folder] of raw.folders.entries()) {
    const rel = relativeConfigPath(folder);
    const problem = rel === null ? null : await pathProblem(dir, rel, 'folder');
    if (rel === null) {
      const message = `${where}.folders: '${folder}' must be a folder inside the config folder (relative, no '..')`;
      add('SCHEMA', message, at('folders', i));
    } else if (problem !== null) add('IO', `${where}.folders: ${rel} ${problem}`, at('folders', i));
    else folders.push(rel);
  }
  const patches: string[] = [];
  for (const [i, patch] of (raw.patches ?? []).entries()) {
    const rel = relativeConfigPath(patch);
    if (rel === null || rel === '.' || !/\.ya?ml$/.test(rel)) {
      const message = `${where}.patches: '${patch}' must be a .yaml file inside the config folder (relative, no '..')`;
      add('SCHEMA', message, at('patches', i));
      continue;
    }
    // Here, not when the environment's files are read: a patch file missing is a typo in this line.
    const problem = await pathProblem(dir, rel, 'file');
    if (problem === null) patches.push(rel);
    else {
      const todo = problem.startsWith('does not exist')
        ? ': correct the path, or write the patch file there'
        : '';
      const message = `${where}.patches: ${rel} ${problem}${todo}`;
      add('IO', message, at('patches', i));
    }
  }
  let driftIntervalMs: number | undefined;
  if (raw.driftInterval !== undefined) {
    const ms = parseDuration(raw.driftInterval);
    if (ms !== null && !(ms < 1000)) driftIntervalMs = ms;
    else {
      const message = `${where}.driftInterval '${raw.driftInterval}' must be a duration from 1s to ${Math.floor(MAX_DURATION_MS / 3_600_000)}h (what a timer can wait), e.g. 5m`;
      add('SCHEMA', message, at('driftInterval'));
    }
  }
  return {
    name,
    controlPlane: raw.controlPlane,
    tokenFile: raw.tokenFile,
    apiKeyFile: raw.apiKeyFile,
    folders,
    patches,
    prune: raw.prune,
    policy: raw.policy,
    ...(raw.guardrails ? { guardrails: { ...raw.guardrails } } : {}),
    driftIntervalMs,
    promotesTo: raw.promotesTo,
  };
}

/** `promotesTo` names another environment, and following it never comes back. */
function checkPromotion(envs: Environment[], node: YNode, add: AddError): void {
  const names = new Set(envs.map((e) => e.name));
  for (const env of envs) {
    if (env.promotesTo === undefined) continue;
    const pos = entry(entry(node, env.name)?.value, 'promotesTo')?.value.pos ?? node.pos;
    if (!names.has(env.promotesTo) || env.promotesTo === env.name) {
      const message = `environments.${env.name}.promotesTo '${env.promotesTo}' is not another environment (${[...names].join(', ')})`;
      add('SCHEMA', message, pos);
      continue;
    }
    const seen = new Set([env.name]);
    for (let next = env.promotesTo; next !== undefined;) {
      if (seen.has(next)) {
        const message = `environments.${env.name}.promotesTo makes a loop (${[...seen, next].join(' → ')}): promotion runs one way`;
        add('SCHEMA', message, pos);
        break;
      }
      seen.add(next);
      next = envs.find((e) => e.name === next)?.promotesTo as string;
    }
  }
}

/**
 * Why `rel` is not a real folder (or regular file) under `dir`, reached through real folders (no
 * link on the way), or null. A part missing is named with the close name beside it, if any.
 */
async function pathProblem(
  dir: string,
  rel: string,
  want: 'folder' | 'file',
): Promise<string | null> {
  const parts = rel === '.' ? [] : rel.split('/');
  for (let i = 0; i < parts.length; i++) {
    const file = want === 'file' && i === parts.length - 1;
    const st = await lstat(join(dir, ...parts.slice(0, i + 1))).catch(() => null);
    if (st === null) return `does not exist${await nearName(dir, parts, i, file)}`;
    if (st.isSymbolicLink())
      return `is (or is under) a symbolic link: poolsync reads nothing outside the repository; name the real ${want}`;
    if (file ? !st.isFile() : !st.isDirectory()) return file ? 'is not a file' : 'is not a folder';
  }
  return null;
}

/**
 * A patch file is a patch of every environment that would read it as a manifest (docs/environments.md,
 * Patches): one another environment reads as a manifest (under its folders, not ignored) is refused
 * at its `patches` entry. Else that environment would plan the patch as an object of its own, and
 * skipping the file for every environment would drop that environment's manifests instead (with
 * `prune: true`, deleting their objects). `notManifests`: the `ignore` globs and rendered files.
 */
export function checkPatchPlaces(
  root: YNode,
  envs: readonly Environment[],
  notManifests: readonly string[],
  add: AddError,
): void {
  let readsAsManifest: ReturnType<typeof manifestReader>;
  try {
    readsAsManifest = manifestReader(notManifests);
  } catch {
    return; // an invalid ignore glob: reported already (config.ts), and what it skips is unknown
  }
  // Who reads each folder: a patch's readers are found from its own folders up (linear).
  const readersOf = new Map<string, Environment[]>();
  for (const e of envs)
    for (const f of e.folders) {
      const list = readersOf.get(f) ?? [];
      if (list.length === 0) readersOf.set(f, list);
      if (!list.includes(e)) list.push(e);
    }
  const node = entry(root, 'environments')?.value;
  for (const env of envs) {
    const list = entry(entry(node, env.name)?.value, 'patches')?.value;
    if (list?.kind !== 'seq') continue;
    for (const item of list.items) {
      const rel = relativeConfigPath(String(toPlain(item)));
      // Hidden or ignored: no environment reads it as a manifest.
      if (rel === null || !env.patches.includes(rel) || !readsAsManifest(rel, ['.'])) continue;
      // Its folders, deepest first: each reader named with the deepest it reads.
      const parts = rel.split('/');
      const folders = parts.map((_, i) => (i === 0 ? '.' : parts.slice(0, i).join('/'))).reverse();
      const readers = new Map<Environment, string>();
      for (const folder of folders)
        for (const e of readersOf.get(folder) ?? [])
          if (!readers.has(e) && !e.patches.includes(rel)) readers.set(e, folder);
      if (readers.size === 0) continue;
      const named = envs
        .filter((e) => readers.has(e))
        .map(
          (e) =>
            `${e.name} (${readers.get(e) === '.' ? 'folders: [.]' : `folder ${readers.get(e)}`})`,
        );
      const by =
        named.length === 1
          ? `environment ${named[0]}`
          : `environments ${named.slice(0, -1).join(', ')} and ${named.at(-1)}`;
      const message = `environments.${env.name}.patches: ${rel} is read as manifests by ${by}: there its documents would be objects of their own, while ${env.name} merges them as patches. Move the patch file out of every folder another environment reads: into a folder only ${env.name} reads, or one no environment reads (e.g. patches/${env.name}.yaml)`;
      add('SCHEMA', message, item.pos);
    }
  }
}

function configError(message: string): ValidationError {
  return { code: 'SCHEMA', message, file: REPO_CONFIG_FILE, line: 1, column: 1, address: null };
}

/** The environment a load is for (none without `environments:`), or an error listing them. */
export function selectEnvironment(
  config: RepoConfig,
  name: string | undefined,
): { env: Environment | null; error: ValidationError | null } {
  const envs = config.environments;
  const env = envs?.find((e) => e.name === name) ?? null;
  const names = (envs ?? []).map((e) => e.name);
  const why =
    env !== null || (!envs && name === undefined)
      ? null
      : !envs
        ? `environment '${name}' was asked for, but ${REPO_CONFIG_FILE} declares no environments: leave out --env, or declare environments (docs/environments.md)`
        : name === undefined
          ? `${REPO_CONFIG_FILE} declares environments (${names.join(', ')}): name one with --env NAME (or --env all where a command takes it)`
          : `no environment '${name}' in ${REPO_CONFIG_FILE}${didYouMean(name, names, { prefixes: true })}; its environments: ${names.join(', ')}`;
  return { env, error: why === null ? null : configError(why) };
}

/**
 * The walk's files under the environment's folders, in order. The walk is sorted: a folder's
 * files are one run, found by binary search (docs/environments.md, Speed).
 */
export function environmentFiles(files: string[], env: Environment): string[] {
  // Its patch files are not its manifests (checkPatchPlaces: nor any other environment's).
  const patch = env.patches.length > 0 ? new Set(env.patches) : null;
  const notPatch = (f: string) => patch === null || !patch.has(f);
  if (env.folders.includes('.')) return patch === null ? files : files.filter(notPatch);
  const picked = new Set<number>();
  for (const folder of env.folders) {
    const prefix = `${folder}/`;
    let lo = 0;
    for (let hi = files.length; lo < hi;) {
      const mid = (lo + hi) >>> 1;
      if (files[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < files.length && files[i]!.startsWith(prefix); i++) picked.add(i);
  }
  return [...picked]
    .sort((a, b) => a - b)
    .map((i) => files[i]!)
    .filter(notPatch);
}

/** The repository settings as the environment sees them: its own `prune`, its name. */
export function environmentConfig(config: RepoConfig, env: Environment): RepoConfig {
  const guardrails = env.guardrails && { ...config.guardrails, ...env.guardrails };
  return {
    ...config,
    prune: env.prune ?? config.prune,
    environment: env.name,
    ...(guardrails ? { guardrails } : {}),
  };
}

/**
 * The walk's files that no environment reads, as a manifest or as a patch (docs/environments.md):
 * never validated nor planned, so validate and plan name them.
 */
export function unreadFiles(files: readonly string[], envs: readonly Environment[]): string[] {
  const folders = new Set(envs.flatMap((e) => e.folders));
  if (folders.has('.')) return [];
  const patches = new Set(envs.flatMap((e) => e.patches));
  return files.filter((file) => {
    if (patches.has(file)) return false;
    for (let at = file.indexOf('/'); at > 0; at = file.indexOf('/', at + 1))
      if (folders.has(file.slice(0, at))) return false;
    return true;
  });
}

/**
 * What a load of the environment `config` was loaded for reads, relative to the config folder:
 * poolsync.yaml, its folders and patch files, the policies folder; null without environments
 * (every file). A commit changing none of them declares nothing new to it (Source.supersedes).
 */
export function environmentReads(config: RepoConfig): string[] | null {
  const env = config.environments?.find((e) => e.name === config.environment);
  if (!env) return null;
  const policies = config.policies ? relativeConfigPath(config.policies.path) : null;
  return [REPO_CONFIG_FILE, ...env.folders, ...env.patches, ...(policies ? [policies] : [])];
}

/** Whether a path the walk reports (a skipped entry, a folder not read) concerns the environment. */
export function concernsEnvironment(path: string, env: Environment): boolean {
  // A folder above one of its folders too: what is below it was not read either.
  return env.folders.some(
    (f) => f === '.' || path === '.' || path === f || underFolder(path, f) || underFolder(f, path),
  );
}

/**
 * A patch of an object no folder of the environment declares, at the patch; `declared`: the
 * addresses its folders declare (`Kind/name`), for a did-you-mean.
 */
export function unusedPatches(
  patches: PatchSet,
  used: Set<string>,
  env: Environment,
  declared: () => readonly string[],
): ValidationError[] {
  const unused = [...patches.byAddress].filter(([address]) => !used.has(address));
  const known = unused.length > 0 ? declared() : [];
  return unused.map(([address, p]) => ({
    code: 'SCHEMA' as const,
    message: `patches ${address}, which no folder of environment ${env.name} declares (${env.folders.join(', ')})${didYouMean(address, known)}: declare it there, or correct the kind or name`,
    file: p.file,
    line: p.at.line,
    column: p.at.column,
    address,
  }));
}

/**
 * A patch (docs/environments.md): a document naming an object by `kind` and `metadata.name`,
 * merged into its document as a JSON merge patch (RFC 7386) before it is read. The merge is on
 * the YAML trees, each node keeping its own file (`Position.file`): an invalid patched value is
 * reported at its line in the patch.
 */
export interface Patch {
  file: string;
  root: YMap;
  /** Where the patch names its object (`metadata.name`), for "patches nothing". */
  at: Position;
}

export interface PatchSet {
  /** `Kind/name` → the patch of that object. */
  byAddress: Map<string, Patch>;
  errors: ValidationError[];
  /** The patch files' text, part of what a load depends on. */
  texts: string[];
}

export function documentAddress(root: YNode): string | null {
  const kind = entry(root, 'kind')?.value;
  const name = entry(entry(root, 'metadata')?.value, 'name')?.value;
  if (kind?.kind !== 'scalar' || name?.kind !== 'scalar') return null;
  if (typeof kind.value !== 'string' || name.value === null) return null;
  return `${kind.value}/${String(name.value)}`;
}

export async function readPatches(
  dir: string,
  files: readonly string[],
  limits: Readonly<InputLimits>,
): Promise<PatchSet> {
  const set: PatchSet = { byAddress: new Map(), errors: [], texts: [] };
  const error = (
    file: string,
    { line, column }: Position,
    message: string,
    address: string | null = null,
  ) => set.errors.push({ code: 'SCHEMA', message, file, line, column, address });
  for (const file of files) {
    const read = await readManifestText(dir, file, limits);
    if (!read.ok) {
      set.errors.push(read.error);
      continue;
    }
    set.texts.push(read.text);
    const parsed = parseYamlFile(read.text, limits);
    for (const i of parsed.issues)
      set.errors.push({ ...i, file, address: null } as ValidationError);
    for (const { root } of parsed.documents) {
      const address = documentAddress(root);
      if (root.kind !== 'map' || address === null) {
        const message =
          'a patch names the object it changes: a mapping with kind and metadata.name, and the fields to merge into it';
        error(file, root.pos, message);
        continue;
      }
      const at = entry(entry(root, 'metadata')?.value, 'name')!.value.pos;
      const first = set.byAddress.get(address);
      if (first === undefined) set.byAddress.set(address, { file, root, at });
      else {
        const message = `${address} is patched twice in this environment: also at ${first.file}:${first.at.line}:${first.at.column}; merge the two patches`;
        error(file, at, message, address);
      }
    }
  }
  return set;
}

/** `base` with `patch` merged in (RFC 7386); nodes from the patch carry `file`. */
export function mergePatch(base: YNode, patch: YNode, file: string): YNode {
  if (patch.kind !== 'map' || base.kind !== 'map') return fromPatch(patch, file);
  const entries = [...base.entries];
  for (const e of patch.entries) {
    const i = entries.findIndex((b) => b.key === e.key);
    const removes = e.value.kind === 'scalar' && e.value.value === null;
    if (i < 0) {
      if (!removes)
        entries.push({
          key: e.key,
          keyPos: { ...e.keyPos, file },
          value: fromPatch(e.value, file),
        });
    } else if (removes) entries.splice(i, 1);
    else entries[i] = { ...entries[i]!, value: mergePatch(entries[i]!.value, e.value, file) };
  }
  return { kind: 'map', entries, pos: base.pos };
}

/** A copy of a patch's node whose every position names the patch file, without its nulls. */
function fromPatch(node: YNode, file: string): YNode {
  const pos = { ...node.pos, file };
  if (node.kind === 'scalar') return { ...node, pos };
  if (node.kind === 'seq')
    return { kind: 'seq', items: node.items.map((n) => fromPatch(n, file)), pos };
  return mergePatch({ kind: 'map', entries: [], pos }, node, file);
}

/**
 * An environment's credentials: the operator's variable (credentialVariable) over poolsync.yaml's
 * `tokenFile` / `apiKeyFile` (relative to the config folder); a variable's relative path is from
 * the working folder, as any path given to a command.
 */
export type CredentialField = 'tokenFile' | 'apiKeyFile';

export interface EnvironmentCredentials {
  tokenFile?: string;
  apiKeyFile?: string;
  /** Where each came from: the operator's variable (its name), or poolsync.yaml. */
  from: Partial<Record<CredentialField, { variable: string } | 'config'>>;
}

/** `POOLSYNC_ENV_STAGING_API_KEY_FILE` for environment `staging`'s `apiKeyFile`. */
export function credentialVariable(env: string, field: CredentialField): string {
  const name = env.toUpperCase().replace(/-/g, '_');
  return `POOLSYNC_ENV_${name}_${field === 'tokenFile' ? 'TOKEN_FILE' : 'API_KEY_FILE'}`;
}

export function environmentCredentials(
  dir: string,
  env: Pick<Environment, 'name' | CredentialField>,
  vars: Record<string, string | undefined>,
): EnvironmentCredentials {
  const out: EnvironmentCredentials = { from: {} };
  for (const field of ['tokenFile', 'apiKeyFile'] as const) {
    const variable = credentialVariable(env.name, field);
    const given = vars[variable]?.trim();
    if (given) {
      out[field] = resolve(given);
      out.from[field] = { variable };
    } else if (env[field] !== undefined) {
      out[field] = isAbsolute(env[field]) ? env[field] : resolve(dir, env[field]);
      out.from[field] = 'config';
    }
  }
  return out;
}

/** What names an environment's control plane and credentials, for its messages (namedSettings). */
export interface SettingPlaces {
  name: string;
  /** The line of each field in poolsync.yaml, where it reads. */
  lines: Partial<Record<'controlPlane' | CredentialField, number>>;
  /** Where each credential came from (EnvironmentCredentials); absent: a flag passed it. */
  from?: EnvironmentCredentials['from'];
  /** The token file's path, which its own messages name (controlplane/open.ts). */
  tokenFile?: string;
}

/** The places of environment `name`'s settings in DIR's poolsync.yaml (no line where it does not read). */
export async function settingPlaces(
  dir: string,
  name: string,
  credentials: Omit<SettingPlaces, 'name' | 'lines'>,
): Promise<SettingPlaces> {
  const lines: SettingPlaces['lines'] = {};
  try {
    const parsed = parseYamlFile(await readFile(join(dir, REPO_CONFIG_FILE), 'utf8'));
    const root = parsed.documents[0]?.root;
    const env = root && entry(entry(root, 'environments')?.value, name)?.value;
    for (const field of ['controlPlane', 'tokenFile', 'apiKeyFile'] as const) {
      const node = env && entry(env, field)?.value;
      if (node) lines[field] = node.pos.line;
    }
  } catch {
    // no line to name: the message names the field alone
  }
  return { name, lines, ...credentials };
}

/**
 * `message` with each flag it names that nobody passed (`--control-plane`, `--token-file`,
 * `--api-key-file`) replaced by where the environment's value came from: its line of
 * poolsync.yaml, or the operator's variable. The CLI and the daemon say an environment's errors so.
 */
export function namedSettings(message: string, p: SettingPlaces): string {
  const place = (field: keyof SettingPlaces['lines']) =>
    `environments.${p.name}.${field}${p.lines[field] !== undefined ? ` (${REPO_CONFIG_FILE}:${p.lines[field]})` : ''}`;
  const from = (field: CredentialField) => {
    const f = p.from?.[field];
    return f === undefined ? null : f === 'config' ? place(field) : f.variable;
  };
  let out = message.replace(
    /--control-plane \(env POOLSYNC_CONTROL_PLANE\)|--control-plane/g,
    place('controlPlane'),
  );
  const token = from('tokenFile');
  if (token !== null) out = out.replace(/--token-file/g, token);
  // The token file's own messages (controlplane/open.ts) name it by its path alone: said as
  // apiKeyFile's are, where it came from (its line, its variable, or --token-file).
  if (p.tokenFile)
    for (const said of [`the token file ${p.tokenFile}`, `token file ${p.tokenFile}`])
      out = out.replaceAll(said, `${token ?? '--token-file'} ${p.tokenFile}`);
  const key = from('apiKeyFile');
  if (key !== null) out = out.replace(/--api-key-file/g, key);
  return out;
}
