/** poolsync.yaml: the optional RepoConfig at the root of the config folder (manifests.md). */
import picomatch from 'picomatch';
import type { RepoConfig } from '../model/desired.js';
import type { ObjectKind } from '../model/common.js';
import { readManifestText } from './files.js';
import { validateAgainstSchema } from './schema.js';
import type { ValidationError } from './types.js';
import {
  LIMITS,
  LIMIT_SETTINGS,
  formatBytes,
  parseLimitValue,
  type InputLimits,
  type LimitSetting,
} from './limits.js';
import { entry, parseYamlFile, toPlain, type YNode } from './yaml.js';
import { REPO_CONFIG_FILE } from './walk.js';
import { checkRenderConfig } from './render-config.js';
import { readEnvironments } from './environments.js';

export const DEFAULT_REPO_CONFIG: RepoConfig = { prune: false, ignore: [] };

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

type Add = (code: ValidationError['code'], message: string, line: number, column: number) => void;

export async function readRepoConfig(root: string): Promise<ConfigResult> {
  const file = REPO_CONFIG_FILE;
  // One read, no `access` first: whether it exists is what the safe read says (a link to a
  // file outside the repository "exists" for `access`, and is refused here).
  const read = await readManifestText(root, file);
  if (!read.ok && read.missing) {
    return {
      config: { ...DEFAULT_REPO_CONFIG, ignore: [] },
      errors: [],
      present: false,
      limits: LIMITS,
    };
  }
  const errors: ValidationError[] = [];
  const add: Add = (code, message, line, column) => {
    errors.push({ code, message, file, line, column, address: null });
  };
  if (!read.ok)
    return { config: DEFAULT_REPO_CONFIG, errors: [read.error], present: true, limits: LIMITS };
  const doc = readConfigDocument(read.text, add);
  if (doc === 'unreadable')
    return { config: DEFAULT_REPO_CONFIG, errors, present: true, limits: LIMITS };
  if (doc === 'empty')
    return {
      config: { ...DEFAULT_REPO_CONFIG, ignore: [] },
      errors,
      present: true,
      limits: LIMITS,
    };
  if (errors.length > 0)
    return {
      config: DEFAULT_REPO_CONFIG,
      errors,
      present: true,
      limits: LIMITS,
      ...(entry(doc.root, 'environments') ? { declaresEnvironments: true } : {}),
    };
  return readValidConfig(root, doc, errors, add);
}

/** The one document, checked against the RepoConfig schema (its problems told to `add`). */
function readConfigDocument(
  text: string,
  add: Add,
): { root: YNode; value: unknown } | 'unreadable' | 'empty' {
  const parsed = parseYamlFile(text);
  for (const i of parsed.issues) add(i.code, i.message, i.line, i.column);
  if (parsed.issues.length > 0) return 'unreadable';
  if (parsed.documents.length === 0) return 'empty';
  if (parsed.documents.length > 1) {
    const second = parsed.documents[1]!.root.pos;
    add(
      'SCHEMA',
      `${REPO_CONFIG_FILE} holds one RepoConfig document, found ${parsed.documents.length}`,
      second.line,
      second.column,
    );
  }
  const root = parsed.documents[0]!.root;
  const value = toPlain(root);
  for (const issue of validateAgainstSchema('RepoConfig', value, root)) {
    add('SCHEMA', issue.message, issue.pos.line, issue.pos.column);
  }
  return { root, value };
}

/** A schema-valid document: its globs, limits, render targets and environments. */
async function readValidConfig(
  dir: string,
  doc: { root: YNode; value: unknown },
  errors: ValidationError[],
  add: Add,
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
    ...(render
      ? Object.values(render).flatMap((t: { path: string; base?: string }) =>
          t.base ? [t.path, t.base] : [t.path],
        )
      : []),
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

function checkIgnoreGlobs(root: YNode, ignore: string[], add: Add): void {
  const ignoreNode = entry(root, 'ignore')?.value;
  ignore.forEach((glob, i) => {
    const pos = (ignoreNode?.kind === 'seq' ? ignoreNode.items[i]?.pos : undefined) ?? root.pos;
    if (glob.startsWith('/') || glob.split('/').includes('..')) {
      add(
        'SCHEMA',
        `ignore glob '${glob}' must be relative to the folder (no leading '/' or '..')`,
        pos.line,
        pos.column,
      );
      return;
    }
    try {
      picomatch.makeRe(glob);
    } catch (err) {
      add(
        'SCHEMA',
        `ignore glob '${glob}' is invalid: ${(err as Error).message}`,
        pos.line,
        pos.column,
      );
    }
  });
}

/**
 * `limits:` (docs/security.md): each setting replaces its default, up to a ceiling that keeps
 * the protection. An invalid one is an error at its value; the run then uses the defaults.
 */
function readLimits(root: YNode, add: Add): Readonly<InputLimits> {
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
        e.value.pos.line,
        e.value.pos.column,
      );
      continue;
    }
    limits[setting.limit] = value;
  }
  return limits;
}
