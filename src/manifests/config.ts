/** poolsync.yaml: the optional RepoConfig at the root of the config folder (manifests.md). */
import { posix } from 'node:path';
import type { HostResolver } from '../util/control-plane-endpoint.js';
import picomatch from 'picomatch';
import type { ApproverRules, Environment, RenderConfig, RepoConfig } from '../model/desired.js';
import { checkParentFolders, readRepoFile, relativeParts } from '../util/safe-file.js';
import { CHART_CREDENTIALS_SECRET } from './rules.js';
import type { RepoConfigFile } from '../gen/manifests/kinds.js';
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
import { entry, toPlain, type YNode } from './yaml.js';
import { parseYamlFile } from './yaml-simple.js';
import { REPO_CONFIG_FILE, findManifestFiles, readManifestText, type WalkResult } from './walk.js';
import { checkPatchPlaces, readEnvironments } from './environments.js';
import { checkPolicyPath } from './policy-folder.js';

const EMPTY_CONFIG = `${REPO_CONFIG_FILE} is empty (no YAML document, comments at most): a ${REPO_CONFIG_FILE} needs apiVersion: poolsync/v1 and kind: RepoConfig (\`poolsync init\` writes a commented one); remove the file to use the defaults`;

export interface ConfigResult {
  config: RepoConfig;
  errors: ValidationError[];
  limits: Readonly<InputLimits>;
  /**
   * `environments:` is declared (true), valid or not, or not (false); absent when poolsync.yaml
   * cannot be read or parsed. With errors, unless false, the loader reads no manifest.
   */
  declaresEnvironments?: boolean;
  /** The folder has no poolsync.yaml (its defaults apply). */
  absent?: true;
}

export async function readRepoConfig(
  root: string,
  resolveHost?: HostResolver,
): Promise<ConfigResult> {
  const errors: ValidationError[] = [];
  const defaults = (declaresEnvironments?: boolean): ConfigResult => ({
    config: { prune: false, ignore: [] },
    errors,
    limits: LIMITS,
    declaresEnvironments,
  });
  // No `access` first: a link to a file outside the repository "exists" for it, refused here.
  const read = await readManifestText(root, REPO_CONFIG_FILE);
  if (!read.ok) {
    if (!read.missing) errors.push(read.error);
    return read.missing ? { ...defaults(false), absent: true } : defaults();
  }
  const add: AddError = (code, message, { line, column }) =>
    errors.push({ code, message, file: REPO_CONFIG_FILE, line, column, address: null });
  const doc = readConfigDocument(read.text, add);
  if (doc === null) return defaults();
  const declared = entry(doc.root, 'environments') !== undefined;
  if (errors.length > 0) return defaults(declared);
  const raw = doc.value as RepoConfigFile;
  const ignore = raw.ignore ?? [];
  checkIgnoreGlobs(doc.root, ignore, add);
  const limits = readLimits(doc.root, add);
  const environments = await readEnvironments(root, doc.root, add, resolveHost);
  const envNames = environments?.map((e) => e.name) ?? (declared ? null : []);
  const render = await checkRenderConfig(root, doc.value, doc.root, add, envNames);
  checkApprovers(doc.root, environments, add);
  const policiesAt = await checkPolicyPath(root, doc.root, raw.policies, add);
  // Rendered files (every environment's) and the values they merge with are not manifests: the
  // loader skips them, and the policy folder (its .yaml files are OPA's data, docs/policies.md).
  // A patch file is skipped only by the environments it patches (environmentFiles).
  const skip = [...renderFiles(render, envNames ?? []), ...policyFolderGlob(raw.policies)];
  if (environments) checkPatchPlaces(doc.root, environments, [...ignore, ...skip], add);
  return {
    config: {
      prune: raw.prune ?? false,
      ignore: [...ignore, ...skip],
      ...(raw.repository ? { repository: raw.repository } : {}),
      ...(raw.manage ? { manage: [...new Set(raw.manage)] } : {}),
      ...(raw.acceptCascade ? { accept_cascade: [...new Set(raw.acceptCascade)] } : {}),
      ...(raw.absent?.length ? { absent: [...raw.absent] } : {}),
      ...(raw.guardrails ? { guardrails: { ...raw.guardrails } } : {}),
      ...(render ? { render } : {}),
      ...(environments ? { environments } : {}),
      ...(raw.approvers ? { approvers: raw.approvers as ApproverRules } : {}),
      ...(raw.policies
        ? {
            policies: {
              path: raw.policies.path,
              owners: raw.policies.owners ?? [],
              ...(policiesAt ? { line: policiesAt.line } : {}),
            },
          }
        : {}),
    },
    errors,
    limits,
    declaresEnvironments: declared,
  };
}

/** The one document, checked against its schema (told to `add`); null if empty or not YAML. */
function readConfigDocument(text: string, add: AddError): { root: YNode; value: unknown } | null {
  const parsed = parseYamlFile(text);
  for (const i of parsed.issues) add(i.code, i.message, i);
  if (parsed.issues.length > 0) return null;
  // Read as the defaults, an emptied file would drop its ignore: and plan what that kept out.
  if (parsed.documents.length === 0) {
    add('SCHEMA', EMPTY_CONFIG, { line: 1, column: 1 });
    return null;
  }
  if (parsed.documents.length > 1) {
    const message = `${REPO_CONFIG_FILE} holds one RepoConfig document, found ${parsed.documents.length}`;
    add('SCHEMA', message, parsed.documents[1]!.root.pos);
  }
  const root = parsed.documents[0]!.root;
  const value = toPlain(root);
  for (const issue of validateAgainstSchema('RepoConfig', value, root))
    add('SCHEMA', issue.message, issue.pos);
  return { root, value };
}

function checkIgnoreGlobs(root: YNode, ignore: string[], add: AddError): void {
  const ignoreNode = entry(root, 'ignore')?.value;
  ignore.forEach((glob, i) => {
    const pos = (ignoreNode?.kind === 'seq' ? ignoreNode.items[i]?.pos : undefined) ?? root.pos;
    if (glob.startsWith('/') || glob.split('/').includes('..')) {
      const message = `ignore glob '${glob}' must be relative to the folder (no leading '/' or '..')`;
      return add('SCHEMA', message, pos);
    }
    try {
      picomatch.makeRe(glob);
    } catch (err) {
      add('SCHEMA', `ignore glob '${glob}' is invalid: ${(err as Error).message}`, pos);
    }
  });
}

/**
 * `approvers:` names environments poolsync.yaml declares (or `*`): a rule for a misspelt one
 * would guard nothing, silently (docs/daemon.md#approvers).
 */
function checkApprovers(root: YNode, environments: Environment[] | undefined, add: AddError): void {
  const node = entry(root, 'approvers')?.value;
  // Environments declared with errors: those are reported, and what they name is unknown.
  if (node?.kind !== 'map' || (!environments && entry(root, 'environments'))) return;
  const names = (environments ?? []).map((e) => e.name);
  for (const e of node.entries) {
    if (e.key === '*' || names.includes(e.key)) continue;
    const message =
      names.length === 0
        ? `approvers.${e.key} names an environment, and poolsync.yaml declares none: use '*' for the one control plane`
        : `approvers.${e.key} names no environment of poolsync.yaml (environments: ${names.join(', ')}); use '*' for every one`;
    add('SCHEMA', message, e.keyPos);
  }
}

/**
 * `limits:` (docs/security.md): each replaces its default, up to a ceiling that keeps the
 * protection; one over it is an error, and its default stays.
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
      const message = `limits.${e.key} is ${show(value)}, over its ceiling of ${show(setting.ceiling)}: the limits protect poolsync's memory and can be raised only so far`;
      add('LIMIT', message, e.value.pos);
      continue;
    }
    limits[setting.limit] = value;
  }
  return limits;
}

/**
 * poolsync.yaml and the walk, read once for a command's environments (`plan --env all`): linear
 * in them (bench "validate 1,000 environments vs 100 × 10"). The daemon, loading again, keeps none.
 */
export interface FolderRead {
  config: ConfigResult;
  /** Of the whole folder, made when first asked for. */
  walk(): Promise<WalkResult>;
}

/** `resolveHost`: environments reaching one address are refused too (readEnvironments). */
export async function readFolderOnce(dir: string, resolveHost?: HostResolver): Promise<FolderRead> {
  const config = await readRepoConfig(dir, resolveHost);
  let walk: Promise<WalkResult> | undefined;
  return { config, walk: () => (walk ??= findManifestFiles(dir, config.config.ignore)) };
}

/** The first line of every generated file (src/render/values.ts writes it). */
export const GENERATED_MARK = '# Generated by poolsync';

/** In a render path (and base), the environment's name: one file per environment. */
export const ENV_PLACEHOLDER = '{env}';

/** `path` for environment `env` (`{env}` filled in); as written without environments. */
export function renderPathFor(path: string, env: string | undefined): string {
  return env === undefined ? path : path.replaceAll(ENV_PLACEHOLDER, env);
}

/** poolsync.yaml `render` as one environment (a loaded one: `--env NAME`) reads it. */
export function environmentRender(render: RenderConfig, env: string): RenderConfig {
  const out: Record<string, { path: string; base?: string }> = {};
  for (const [kind, t] of Object.entries(render) as [string, { path: string; base?: string }][])
    out[kind] = {
      ...t,
      path: renderPathFor(t.path, env),
      ...(t.base !== undefined ? { base: renderPathFor(t.base, env) } : {}),
    };
  return out as RenderConfig;
}

/**
 * Every file `render` names, for every environment (`envs`; none: the paths as written): the
 * loader skips them all, and `render --out` refuses the other targets (docs/flyte-oss.md).
 */
export function renderFiles(render: RenderConfig | undefined, envs: readonly string[]): string[] {
  const targets = Object.values(render ?? {}) as { path: string; base?: string }[];
  const files = targets.flatMap((t) => (t.base ? [t.path, t.base] : [t.path]));
  return envs.length === 0
    ? files
    : [...new Set(envs.flatMap((env) => files.map((f) => renderPathFor(f, env))))];
}

/** The glob of poolsync.yaml's policy folder, unless it is the config folder itself. */
function policyFolderGlob(policies: RepoConfigFile['policies']): string[] {
  const folder = policies ? posix.normalize(policies.path).replace(/\/+$/, '') : '.';
  return folder === '.' ? [] : [`${folder}/**`];
}

/**
 * poolsync.yaml `render`. A target is written by `poolsync render` and the daemon and skipped by
 * validation, so it names a file poolsync generated (or none yet), never a manifest, a link or a
 * path outside the folder; its `base` (the operator's values, merged) is skipped too: no manifest.
 * With environments (`envs`: their names; null when `environments:` has errors) each renders its
 * own desired state, so a path names `{env}` (one file each: a shared one would hold whichever
 * environment rendered last) and each environment's file is checked; without, `{env}` is refused.
 */
export async function checkRenderConfig(
  dir: string,
  value: unknown,
  root: YNode,
  add: AddError,
  envs: readonly string[] | null = [],
): Promise<RenderConfig | undefined> {
  const render = (value as { render?: RenderConfig }).render;
  if (!render) return undefined;
  const renderNode = entry(root, 'render')?.value;
  const seen = new Map<string, string>();
  // Every target has a path; flyte-core's also a base and a Secret.
  type Target = NonNullable<RenderConfig['flyte-core-values']>;
  for (const [target, settings] of Object.entries(render) as [string, Target][]) {
    const node = renderNode ? entry(renderNode, target)?.value : undefined;
    const posOf = (field: string) => (node ? entry(node, field)?.value.pos : undefined) ?? root.pos;
    const refuse = (field: 'path' | 'base', why: string): void =>
      add('SCHEMA', `render.${target}.${field} '${settings[field]}' ${why}`, posOf(field));
    /** The field's problem: its placeholder, else the first environment's file that cannot be used. */
    const problemOf = async (field: 'path' | 'base'): Promise<string | null> => {
      const written = settings[field]!;
      const named = written.includes(ENV_PLACEHOLDER);
      if (envs === null) return named ? null : fileProblem(dir, written, field === 'base');
      if (envs.length === 0)
        return named
          ? `names ${ENV_PLACEHOLDER}, but poolsync.yaml declares no environments to fill it in: write the file's name out`
          : fileProblem(dir, written, field === 'base');
      if (field === 'path' && !named)
        return `is one file for every environment (${envs.join(', ')}), and each renders its own: the last render would replace another environment's. Put ${ENV_PLACEHOLDER} in it (e.g. '${withEnvFolder(written)}'): each environment then renders its own file`;
      for (const env of envs) {
        const file = renderPathFor(written, env);
        const problem = await fileProblem(dir, file, field === 'base');
        if (problem !== null) return named ? `(environment ${env}: '${file}') ${problem}` : problem;
      }
      return null;
    };
    const problem = await problemOf('path');
    if (problem !== null) refuse('path', problem);
    else {
      const other = seen.get(settings.path);
      if (other !== undefined) refuse('path', `is also ${other}: give each file one use`);
      seen.set(settings.path, `render.${target}.path`);
    }
    if (settings.base !== undefined) {
      const baseProblem = await problemOf('base');
      if (baseProblem !== null) refuse('base', baseProblem);
      else if (seen.has(settings.base))
        refuse('base', `is also ${seen.get(settings.base)}: give each file one use`);
      else seen.set(settings.base, `render.${target}.base`);
    }
    const secret = settings.credentialsSecret;
    if (secret !== undefined && secret !== CHART_CREDENTIALS_SECRET)
      add('V14', credentialsSecretMessage(secret), posOf('credentialsSecret'));
  }
  return render;
}

/** `deploy/values.yaml` → `deploy/{env}/values.yaml`: a suggestion. */
function withEnvFolder(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}${ENV_PLACEHOLDER}/${path.slice(slash + 1)}`;
}

/** Why `path` cannot be a render target of `dir`, or null: `render --out` in the folder checks it too. */
export function renderTargetProblem(dir: string, path: string): Promise<string | null> {
  return fileProblem(dir, path, false);
}

/** An existing file that is not poolsync's: a manifest, poolsync.yaml or the user's own file. */
export const NOT_GENERATED = `names an existing file that poolsync did not generate (its first line is not '${GENERATED_MARK}'), which writing would overwrite: choose another path, or delete the file first`;

const NOT_A_PATH =
  "must be a file path inside the folder (relative, forward slashes, no '.' or '..' parts, not the folder itself)";

/** A manifest's first line: base values that hold one would take it out of validation. */
const MANIFEST = /^apiVersion:\s*["']?poolsync\//m;

/** Why `path` cannot be a render target of `dir`, or (`base`) the base values of one; or null. */
async function fileProblem(dir: string, path: string, base: boolean): Promise<string | null> {
  if (relativeParts(path) === null || path.includes('\\')) return NOT_A_PATH;
  if (path === REPO_CONFIG_FILE) return 'names the repository config: choose another file';
  if (!base) {
    const parents = await checkParentFolders(dir, path);
    if (parents?.reason === 'outside')
      return `cannot be written: ${parents.detail} (poolsync writes nothing outside the folder)`;
    if (parents !== null) return null; // a folder on the way does not exist yet: created on write
  }
  const prefix = base ? 64 * 1024 : GENERATED_MARK.length;
  const read = await readRepoFile(dir, path, { maxBytes: 0, prefix });
  const text = read.ok ? read.bytes.toString('utf8') : '';
  if (read.ok && base)
    return MANIFEST.test(text)
      ? 'holds poolsync manifests: base values are Helm values, and a manifest named here would leave validation'
      : null;
  if (read.ok) return text === GENERATED_MARK ? null : NOT_GENERATED;
  if (read.reason === 'missing') return null;
  if (read.reason === 'not-regular')
    return `names a ${read.kind}: it must be a file (poolsync ${base ? 'reads' : 'writes'} nothing through links)`;
  if (base && read.reason === 'outside')
    return `cannot be read: ${read.detail} (poolsync reads nothing outside the folder)`;
  return `cannot be checked: ${read.reason === 'io' ? read.code : read.reason}`;
}

/** Why another Secret than cluster-credentials leaves syncresources without credentials. */
export function credentialsSecretMessage(secret: string): string {
  return (
    `credentials Secret '${secret}': the flyte-core chart's syncresources Deployment mounts Secret ${CHART_CREDENTIALS_SECRET} ` +
    `whatever the values say (templates/clusterresourcesync/deployment.yaml:86-90), so it would run without credentials; ` +
    `keep the credentials in Secret ${CHART_CREDENTIALS_SECRET}`
  );
}
