/**
 * The one way a command opens a control plane with credentials (docs/security.md,
 * "Environments"), so pull-request mode is decided once for every command. A pull request
 * cannot steer credentials: an environment's `controlPlane`, `tokenFile` and `apiKeyFile` must
 * be the base branch's (read from Git), else it is refused before any credential is read or
 * connection made. Pull-request mode: `plan --comment`, a GitHub `pull_request[_target]` run, a
 * GitLab merge-request pipeline, or POOLSYNC_BASE_REF. Outside it, a secret that names its
 * control plane (util/bound-secret.ts) goes nowhere else.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { openControlPlane, resolveToken } from '../controlplane/open.js';
import type { OpenOptions } from '../controlplane/opener.js';
import type { ControlPlane } from '../controlplane/types.js';
import type { Environment } from '../model/desired.js';
import { CORE_SCHEMA, load } from '../util/js-yaml.js';
import { UserError } from '../util/user-error.js';
import type { Env } from '../util/env.js';

/** What a command runs against: one environment of poolsync.yaml (name null without one). */
export interface Target {
  name: string | null;
  url: string;
  tokenFile?: string;
  apiKeyFile?: string;
  env: Environment | null;
  /** The folder whose poolsync.yaml declares the environment: its base is read there. */
  dir?: string;
}

/** Where a command runs: the process's variables, and whether it comments on a pull request. */
export interface Opening {
  vars: Env;
  /** `plan --comment`: pull-request mode even where no CI system says so. */
  commenting?: boolean;
}

/** With T's credentials, once pull-request mode allows it (tests wrap `open`). */
export async function openTarget(
  t: Target,
  opening: Opening,
  options: OpenOptions = {},
  open: typeof openControlPlane = openControlPlane,
): Promise<ControlPlane> {
  await refuseInPullRequest(t, opening);
  const token = await resolveToken(t.tokenFile, t.url, t.name, opening.vars);
  return open(t.url, { ...options, token, apiKeyFile: t.apiKeyFile, env: opening.vars });
}

/** In pull-request mode, a UserError when the base branch does not pin T's environment as it is. */
export async function refuseInPullRequest(t: Target, opening: Opening): Promise<void> {
  if (t.env === null) return;
  const base = pullRequestBase(opening.vars, opening.commenting ?? false);
  if (!base) return;
  const refusal = baseRefusal(t.env, await baseEnvironments(t.dir ?? '.', base));
  if (refusal !== null) throw new UserError(refusal);
}

/** What only the base branch (the operator) decides of an environment. */
const PINNED = ['controlPlane', 'tokenFile', 'apiKeyFile'] as const;

export interface PullRequestBase {
  /** Merged into; null when the run does not say. */
  commit: string | null;
  /** Where pull-request mode and the commit come from, for messages. */
  from: string;
}

/** The base of the pull request this run is for; null when the run is not for one. */
export function pullRequestBase(env: Env, commenting: boolean): PullRequestBase | null {
  const value = (name: string) => env[name]?.trim() || undefined;
  const explicit = value('POOLSYNC_BASE_REF');
  if (explicit) return { commit: explicit, from: 'POOLSYNC_BASE_REF' };
  if (env.GITHUB_ACTIONS === 'true' && env.GITHUB_EVENT_NAME?.startsWith('pull_request')) {
    const sha = githubEventPullRequest(env)?.base?.sha;
    return {
      commit: typeof sha === 'string' ? sha : null,
      from: `the GitHub ${env.GITHUB_EVENT_NAME} event`,
    };
  }
  if (env.GITLAB_CI === 'true' && value('CI_MERGE_REQUEST_IID'))
    return {
      commit: value('CI_MERGE_REQUEST_DIFF_BASE_SHA') ?? null,
      from: 'the GitLab merge request pipeline (CI_MERGE_REQUEST_DIFF_BASE_SHA)',
    };
  return commenting ? { commit: null, from: '--comment' } : null;
}

type EventPullRequest = { number?: number; head?: { sha?: unknown }; base?: { sha?: unknown } };

/** The pull request of the GitHub Actions event being run (GITHUB_EVENT_PATH), or null. */
export function githubEventPullRequest(env: Env): EventPullRequest | null {
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH?.trim() ?? '', 'utf8')) as {
      pull_request?: EventPullRequest;
    };
    return event.pull_request ?? null;
  } catch {
    return null;
  }
}

/** The pinned values of each environment of DIR's poolsync.yaml on the base commit, or why they cannot be read. */
type BaseEnvironments = Map<string, Partial<Record<(typeof PINNED)[number], unknown>>>;

async function baseEnvironments(
  dir: string,
  base: PullRequestBase,
): Promise<BaseEnvironments | string> {
  if (base.commit === null)
    return `${base.from} names no base commit: set POOLSYNC_BASE_REF to the commit the pull request is merged into`;
  let text: string;
  try {
    // `REV:./PATH` is relative to the working folder: DIR's poolsync.yaml as the base has it.
    text = (
      await promisify(execFile)('git', ['show', `${base.commit}:./poolsync.yaml`], {
        cwd: dir,
        maxBuffer: 4 * 1024 * 1024,
      })
    ).stdout;
  } catch {
    return `poolsync.yaml of the base commit ${base.commit} (${base.from}) cannot be read with Git in ${dir}: check out with its history (actions/checkout fetch-depth: 0, or git fetch origin ${base.commit})`;
  }
  let doc: unknown;
  try {
    doc = load(text, { schema: CORE_SCHEMA });
  } catch {
    doc = null;
  }
  const envs = (doc as { environments?: unknown } | null)?.environments;
  const out: BaseEnvironments = new Map();
  if (envs && typeof envs === 'object')
    for (const [name, e] of Object.entries(envs))
      if (e && typeof e === 'object') out.set(name, e as Record<string, unknown>);
  return out;
}

/** Why `env` of the pull request is not opened, or null when the base branch pins it as it is. */
function baseRefusal(env: Environment, base: BaseEnvironments | string): string | null {
  const not = `environment ${env.name} is refused in pull-request mode: no credential was read and nothing was sent`;
  if (typeof base === 'string')
    return `${not}. In pull-request mode an environment's controlPlane, tokenFile and apiKeyFile must be the base branch's, and ${base}`;
  const was = base.get(env.name);
  if (was === undefined)
    return `${not}: the base branch has no environment ${env.name}, and a pull request may not choose where an environment's credentials go (controlPlane, tokenFile, apiKeyFile); it can be used once the change is merged`;
  for (const field of PINNED) {
    if (env[field] === was[field]) continue;
    const show = (v: unknown) => (v === undefined ? 'not set' : JSON.stringify(v));
    return `${not}: environments.${env.name}.${field} is ${show(env[field])} in this pull request and ${show(was[field])} on the base branch. A pull request may not change where an environment's credentials go; it can be used once the change is merged`;
  }
  return null;
}
