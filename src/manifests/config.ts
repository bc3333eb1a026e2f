/** poolsync.yaml: the optional RepoConfig at the root of the config folder (manifests.md). */
import picomatch from 'picomatch';
import type { RepoConfig } from '../model/desired.js';
import type { ObjectKind } from '../model/common.js';
import { readManifestText } from './files.js';
import { validateAgainstSchema } from './schema.js';
import type { AddError, ValidationError } from './types.js';
import {
  LIMITS,
  LIMIT_SETTINGS,
  formatBytes,
  parseLimitValue,
  type InputLimits,
  type LimitSetting,
} from './limits.js';
import { entry, parseYamlFile, toPlain, type YNode } from './yaml.js';
import { REPO_CONFIG_FILE, findManifestFiles, type WalkResult } from './walk.js';
import { checkRenderConfig } from './render-config.js';
import { readEnvironments } from './environments.js';

export interface ConfigResult {
  config: RepoConfig;
  errors: ValidationError[];
  /** Whether poolsync.yaml exists. */
  present: boolean;
  /** Input limits for the manifests: the defaults, or what `limits:` sets. */
  limits: Readonly<InputLimits>;
  /**
   * The file declares `environments:`, valid or not: with errors, no environment's files are
   * known, so the loader reads none (docs/environments.md).
   */
  declaresEnvironments?: boolean;
}

export async function readRepoConfig(root: string): Promise<ConfigResult> {
  const file = REPO_CONFIG_FILE;
  const errors: ValidationError[] = [];
  const defaults = (present: boolean, declaresEnvironments?: true): ConfigResult => ({
    config: { prune: false, ignore: [] },
    errors,
    present,
    limits: LIMITS,
    declaresEnvironments,
  });
  // One read, no `access` first: whether it exists is what the safe read says (a link to a
  // file outside the repository "exists" for `access`, and is refused here).
  const read = await readManifestText(root, file);
  if (!read.ok && read.missing) return defaults(false);
  if (!read.ok) {
    errors.push(read.error);
    return defaults(true);
  }
  const add: AddError = (code, message, { line, column }) => {
    errors.push({ code, message, file, line, column, address: null });
  };
  const doc = readConfigDocument(read.text, add);
  if (doc === null) return defaults(true);
  if (errors.length > 0) return defaults(true, entry(doc.root, 'environments') ? true : undefined);
  return readValidConfig(root, doc, errors, add);
}

/**
 * The one document, checked against the RepoConfig schema (its problems told to `add`); null
 * when the file is empty or not YAML.
 */
function readConfigDocument(text: string, add: AddError): { root: YNode; value: unknown } | null {
  const parsed = parseYamlFile(text);
  for (const i of parsed.issues) add(i.code, i.message, i);
  if (parsed.issues.length > 0 || parsed.documents.length === 0) return null;
  if (parsed.documents.length > 1)
    add(
      'SCHEMA',
      `${REPO_CONFIG_FILE} holds one RepoConfig document, found ${parsed.documents.length}`,
      parsed.documents[1]!.root.pos,
    );
  const root = parsed.documents[0]!.root;
  const value = toPlain(root);
  for (const issue of validateAgainstSchema('RepoConfig', value, root))
    add('SCHEMA', issue.message, issue.pos);
  return { root, value };
}

/** A schema-valid document: its globs, limits, render targets and environments. */
async function readValidConfig(
  dir: string,
  doc: { root: YNode; value: unknown },
  errors: ValidationError[],
  add: AddError,
): Promise<ConfigResult> {
  const { root: root0, value } = doc;
  const raw = value as {
    prune?: boolean;
    ignore?: string[];
    manage?: ObjectKind[];
    acceptCascade?: string[];
    absent?: string[];
  };
  const ignore = raw.ignore ?? [];
  checkIgnoreGlobs(root0, ignore, add);
  const limits = readLimits(root0, add);
  const render = await checkRenderConfig(dir, value, root0, add);
  const environments = await readEnvironments(dir, root0, add);
  // Rendered files and the values they merge with are not manifests: the loader skips them;
  // so are the environments' patch files (environments.ts).
  const skip = [
    ...Object.values(render ?? {}).flatMap((t: { path: string; base?: string }) =>
      t.base ? [t.path, t.base] : [t.path],
    ),
    ...(environments ?? []).flatMap((e) => e.patches),
  ];
  return {
    config: {
      prune: raw.prune ?? false,
      ignore: [...ignore, ...skip],
      ...(raw.manage ? { manage: [...new Set(raw.manage)] } : {}),
      ...(raw.acceptCascade ? { accept_cascade: [...new Set(raw.acceptCascade)] } : {}),
      ...(raw.absent?.length ? { absent: [...raw.absent] } : {}),
      ...(render ? { render } : {}),
      ...(environments ? { environments } : {}),
    },
    errors,
    present: true,
    limits,
    ...(environments ? { declaresEnvironments: true } : {}),
  };
}

function checkIgnoreGlobs(root: YNode, ignore: string[], add: AddError): void {
  const ignoreNode = entry(root, 'ignore')?.value;
  ignore.forEach((glob, i) => {
    const pos = (ignoreNode?.kind === 'seq' ? ignoreNode.items[i]?.pos : undefined) ?? root.pos;
    const relative = !glob.startsWith('/') && !glob.split('/').includes('..');
    if (!relative)
      return add(
        'SCHEMA',
        `ignore glob '${glob}' must be relative to the folder (no leading '/' or '..')`,
        pos,
      );
    try {
      picomatch.makeRe(glob);
    } catch (err) {
      add('SCHEMA', `ignore glob '${glob}' is invalid: ${(err as Error).message}`, pos);
    }
  });
}

/**
 * `limits:` (docs/security.md): each setting replaces its default, up to a ceiling that keeps
 * the protection. An invalid one is an error at its value; the run then uses the defaults.
 */
function readLimits(root: YNode, add: AddError): Readonly<InputLimits> {
  const node = entry(root, 'limits')?.value;
  if (node?.kind !== 'map') return LIMITS;
  const limits: InputLimits = { ...LIMITS };
  for (const e of node.entries) {
    const setting = LIMIT_SETTINGS[e.key as LimitSetting];
    const value = parseLimitValue(toPlain(e.value));
    if (value === null) continue; // the schema has reported it
    if (value > setting.ceiling) {
      const show = (n: number): string =>
        setting.unit === 'bytes' ? formatBytes(n) : `${n.toLocaleString('en-US')} documents`;
      add(
        'LIMIT',
        `limits.${e.key} is ${show(value)}, over its ceiling of ${show(setting.ceiling)}: the limits protect poolsync's memory and can be raised only so far`,
        e.value.pos,
      );
      continue;
    }
    limits[setting.limit] = value;
  }
  return limits;
}

/**
 * poolsync.yaml and the walk of a config folder, read once for every environment a command
 * loads (`validate`, `plan --env all`): each load then reads only its own files, so the command
 * is linear in the number of environments (bench: "validate 1,000 environments vs 100 × 10").
 * Only for one command's loads of one folder: the daemon, which loads again as files change,
 * never keeps one.
 */
export interface FolderRead {
  config: ConfigResult;
  /** The walk of the whole folder, made when first asked for. */
  walk(): Promise<WalkResult>;
}

export async function readFolderOnce(dir: string): Promise<FolderRead> {
  const config = await readRepoConfig(dir);
  let walk: Promise<WalkResult> | undefined;
  return { config, walk: () => (walk ??= findManifestFiles(dir, config.config.ignore)) };
}
