/**
 * poolsync.yaml `environments:` (docs/environments.md): one repository, many control planes.
 * The schema has checked the shape; this reads each environment and checks what a schema
 * cannot: folders that exist as real folders inside the config folder, patch files that are
 * not also manifests, one control plane per environment (each keeps its own inventory and
 * lock), a promotion chain that names environments and never loops. Every error is at the
 * node of poolsync.yaml that caused it.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Environment } from '../model/desired.js';
import { controlPlaneEndpoint, fileUrlPath } from '../util/control-plane-endpoint.js';
import { parseDuration } from '../util/duration.js';
import { urlCredentials } from '../util/url-credentials.js';
import type { ValidationError } from './types.js';
import { entry, toPlain, type Position, type YNode } from './yaml.js';

type Add = (code: ValidationError['code'], message: string, line: number, column: number) => void;

interface RawEnvironment {
  controlPlane: string;
  tokenFile?: string;
  apiKeyFile?: string;
  folders: string[];
  patches?: string[];
  prune?: boolean;
  policy?: Environment['policy'];
  driftInterval?: string;
  promotesTo?: string;
}

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

/**
 * The URL a command opens for the environment: a `file:` path relative to the config folder
 * is made absolute, so the same environment is the same state file from any working folder.
 */
export function environmentUrl(dir: string, env: Pick<Environment, 'controlPlane'>): string {
  if (!env.controlPlane.startsWith('file:')) return env.controlPlane;
  const query = env.controlPlane.split('?')[1];
  return `file:${fileUrlPath(env.controlPlane, dir)}${query !== undefined ? `?${query}` : ''}`;
}

/** Names the command line gives a meaning of its own where an environment is named: never an environment's. */
const RESERVED_NAMES = new Map([['all', '`--env all` means every environment']]);

/** `environments:` read and checked; undefined when poolsync.yaml has none. */
export async function readEnvironments(
  dir: string,
  root: YNode,
  add: Add,
): Promise<Environment[] | undefined> {
  const node = entry(root, 'environments')?.value;
  if (node?.kind !== 'map') return undefined;
  if (node.entries.length === 0) {
    add(
      'SCHEMA',
      'environments: declares none: list at least one, or leave it out for one environment',
      node.pos.line,
      node.pos.column,
    );
    return undefined;
  }
  const envs: Environment[] = [];
  const byControlPlane = new Map<string, string>();
  for (const e of node.entries) {
    const raw = toPlain(e.value) as RawEnvironment;
    const env: EnvEntry = {
      raw,
      where: `environments.${e.key}`,
      keyPos: e.keyPos,
      field: (name) => entry(e.value, name)?.value,
    };
    const reserved = RESERVED_NAMES.get(e.key);
    if (reserved !== undefined)
      add(
        'SCHEMA',
        `environments.${e.key}: '${e.key}' cannot name an environment (${reserved}); name it otherwise`,
        e.keyPos.line,
        e.keyPos.column,
      );
    checkControlPlane(dir, env, e.key, byControlPlane, add);
    const folders = await readFolders(dir, env, add);
    const patches = readPatchPaths(env, add);
    const driftIntervalMs = readDriftInterval(env, add);
    envs.push({
      name: e.key,
      controlPlane: raw.controlPlane,
      ...(raw.tokenFile !== undefined ? { tokenFile: raw.tokenFile } : {}),
      ...(raw.apiKeyFile !== undefined ? { apiKeyFile: raw.apiKeyFile } : {}),
      folders,
      patches,
      ...(raw.prune !== undefined ? { prune: raw.prune } : {}),
      ...(raw.policy !== undefined ? { policy: raw.policy } : {}),
      ...(driftIntervalMs !== undefined ? { driftIntervalMs } : {}),
      ...(raw.promotesTo !== undefined ? { promotesTo: raw.promotesTo } : {}),
    });
  }
  checkPromotion(envs, node, add);
  return envs;
}

/** One entry of `environments:`, as its checks read it. */
interface EnvEntry {
  raw: RawEnvironment;
  /** `environments.<name>`, for messages. */
  where: string;
  keyPos: Position;
  field: (name: string) => YNode | undefined;
}

const at = (n: YNode | undefined, fallback: Position): Position => n?.pos ?? fallback;

/** No credentials in the URL; a control plane of its own (`byControlPlane`: key → environment). */
function checkControlPlane(
  dir: string,
  { raw, where, keyPos, field }: EnvEntry,
  name: string,
  byControlPlane: Map<string, string>,
  add: Add,
): void {
  const cpPos = at(field('controlPlane'), keyPos);
  if (urlCredentials(raw.controlPlane) !== null) {
    add(
      'SCHEMA',
      `${where}.controlPlane carries credentials in the URL: name them by reference (tokenFile, apiKeyFile), never in poolsync.yaml`,
      cpPos.line,
      cpPos.column,
    );
  }
  const endpoint = controlPlaneEndpoint(raw.controlPlane, dir);
  const same = byControlPlane.get(endpoint);
  if (same !== undefined) {
    add(
      'SCHEMA',
      `${where}.controlPlane is also environment ${same}'s (both name ${endpoint}): each environment has a control plane of its own (its own inventory and apply lock); two environments on one control plane would prune each other's objects`,
      cpPos.line,
      cpPos.column,
    );
  } else byControlPlane.set(endpoint, name);
}

async function readFolders(dir: string, env: EnvEntry, add: Add): Promise<string[]> {
  const { raw, where, keyPos, field } = env;
  const folders: string[] = [];
  const foldersNode = field('folders');
  for (const [i, folder] of raw.folders.entries()) {
    const pos = at(foldersNode?.kind === 'seq' ? foldersNode.items[i] : undefined, keyPos);
    const rel = relativeConfigPath(folder);
    if (rel === null) {
      add(
        'SCHEMA',
        `${where}.folders: '${folder}' must be a folder inside the config folder (relative, no '..')`,
        pos.line,
        pos.column,
      );
      continue;
    }
    const problem = await folderProblem(dir, rel);
    if (problem !== null) {
      add('IO', `${where}.folders: ${rel} ${problem}`, pos.line, pos.column);
      continue;
    }
    folders.push(rel);
  }
  return folders;
}

function readPatchPaths({ raw, where, keyPos, field }: EnvEntry, add: Add): string[] {
  const patches: string[] = [];
  const patchesNode = field('patches');
  for (const [i, patch] of (raw.patches ?? []).entries()) {
    const pos = at(patchesNode?.kind === 'seq' ? patchesNode.items[i] : undefined, keyPos);
    const rel = relativeConfigPath(patch);
    if (rel === null || rel === '.' || !/\.ya?ml$/.test(rel)) {
      add(
        'SCHEMA',
        `${where}.patches: '${patch}' must be a .yaml file inside the config folder (relative, no '..')`,
        pos.line,
        pos.column,
      );
      continue;
    }
    patches.push(rel);
  }
  return patches;
}

function readDriftInterval({ raw, where, keyPos, field }: EnvEntry, add: Add): number | undefined {
  if (raw.driftInterval === undefined) return undefined;
  const ms = parseDuration(raw.driftInterval);
  const pos = at(field('driftInterval'), keyPos);
  if (ms !== null && !(ms < 1000)) return ms;
  add(
    'SCHEMA',
    `${where}.driftInterval '${raw.driftInterval}' must be a duration of at least 1s, e.g. 5m`,
    pos.line,
    pos.column,
  );
  return undefined;
}

/** `promotesTo` names another environment, and following it never comes back. */
function checkPromotion(envs: Environment[], node: YNode, add: Add): void {
  const names = new Set(envs.map((e) => e.name));
  for (const env of envs) {
    if (env.promotesTo === undefined) continue;
    const pos = entry(entry(node, env.name)?.value, 'promotesTo')?.value.pos ?? node.pos;
    if (!names.has(env.promotesTo) || env.promotesTo === env.name) {
      add(
        'SCHEMA',
        `environments.${env.name}.promotesTo '${env.promotesTo}' is not another environment (${[...names].join(', ')})`,
        pos.line,
        pos.column,
      );
      continue;
    }
    const seen = new Set([env.name]);
    for (let next = env.promotesTo; next !== undefined;) {
      if (seen.has(next)) {
        add(
          'SCHEMA',
          `environments.${env.name}.promotesTo makes a loop (${[...seen, next].join(' → ')}): promotion runs one way`,
          pos.line,
          pos.column,
        );
        break;
      }
      seen.add(next);
      next = envs.find((e) => e.name === next)?.promotesTo as string;
    }
  }
}

/** Why `rel` is not a real folder under `dir` (no link on the way), or null. */
async function folderProblem(dir: string, rel: string): Promise<string | null> {
  if (rel === '.') return null;
  let at = dir;
  for (const part of rel.split('/')) {
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (st === null) return 'does not exist';
    if (st.isSymbolicLink())
      return 'is (or is under) a symbolic link: poolsync reads nothing outside the repository; name the real folder';
    if (!st.isDirectory()) return 'is not a folder';
  }
  return null;
}
