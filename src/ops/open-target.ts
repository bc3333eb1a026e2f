/**
 * The one way a command opens a control plane with credentials (docs/security.md,
 * "Environments"), so pull-request mode is decided once for every command. A pull request
 * cannot steer credentials: an environment's `controlPlane`, `tokenFile` and `apiKeyFile` must
 * be the base branch's (read from Git), else it is refused before any credential is read or
 * connection made. Pull-request mode: wherever a pull request's files may run (pullRequestBase):
 * `plan --comment`, POOLSYNC_BASE_REF, a GitHub `pull_request*`, `issue_comment` (on a pull
 * request) or `merge_group` run, a GitLab merge-request pipeline (merged results and merge
 * trains included), a branch pipeline of a merge request's branch, or an external pull request
 * pipeline. Outside it, a secret that names its control plane (util/bound-secret.ts) goes
 * nowhere else.
 */
import { readFileSync } from 'node:fs';
import { openControlPlane, resolveToken } from '../controlplane/open.js';
import type { OpenOptions } from '../controlplane/opener.js';
import type { ControlPlane } from '../controlplane/types.js';
import type { Environment, Guardrails } from '../model/desired.js';
import type { BaseRepository } from '../plan/index.js';
import { CORE_SCHEMA, load } from '../util/js-yaml.js';
import { gitAnswer } from '../util/git.js';
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
  /** Merged into (a commit, or a ref Git resolves); null when the run does not say. */
  commit: string | null;
  /** Where pull-request mode and the commit come from, for messages. */
  from: string;
  /** What `git fetch origin` needs to read the base, when not the commit itself. */
  fetch?: string;
}

/**
 * The base of the pull request whose files this run may run; null when it runs none. Each CI
 * system's own word for it: GitHub's event payloads (GITHUB_EVENT_PATH; docs.github.com "Events
 * that trigger workflows", recorded in @octokit/webhooks-examples), GitLab's predefined
 * variables (docs.gitlab.com "Predefined CI/CD variables").
 */
export function pullRequestBase(env: Env, commenting: boolean): PullRequestBase | null {
  const value = (name: string) => env[name]?.trim() || undefined;
  const explicit = value('POOLSYNC_BASE_REF');
  if (explicit) return { commit: explicit, from: 'POOLSYNC_BASE_REF' };
  if (env.GITHUB_ACTIONS === 'true') {
    const name = env.GITHUB_EVENT_NAME ?? '';
    const from = `the GitHub ${name} event`;
    const sha = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    if (name.startsWith('pull_request'))
      return { commit: sha(githubEventPullRequest(env)?.base?.sha), from };
    // A comment on a pull request: its payload names no base; the workflow runs on the default
    // branch, whose head is GITHUB_SHA (the operator's poolsync.yaml, whatever is checked out).
    // An event that cannot be read may be a pull request's: taken as one (fail closed).
    const event = name === 'issue_comment' ? githubEvent(env) : undefined;
    if (event === null || event?.issue?.pull_request)
      return {
        commit: value('GITHUB_SHA') ?? null,
        from: `${from} on a pull request (GITHUB_SHA)${event === null ? ' (its GITHUB_EVENT_PATH could not be read: taken as a pull request’s)' : ''}`,
      };
    // The merge queue's temporary branch: the pull requests' files over `merge_group.base_sha`.
    if (name === 'merge_group')
      return { commit: sha(githubEvent(env)?.merge_group?.base_sha), from: `${from} (base_sha)` };
  }
  if (env.GITLAB_CI === 'true') {
    // Merge request pipelines, merged results and merge trains alike.
    if (value('CI_MERGE_REQUEST_IID'))
      return {
        commit: value('CI_MERGE_REQUEST_DIFF_BASE_SHA') ?? null,
        from: 'the GitLab merge request pipeline (CI_MERGE_REQUEST_DIFF_BASE_SHA)',
      };
    // A GitHub pull request built by GitLab CI (CI/CD for external repositories).
    if (value('CI_EXTERNAL_PULL_REQUEST_IID'))
      return {
        commit: value('CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA') ?? null,
        from: 'the GitLab external pull request pipeline (CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA)',
      };
    // A branch pipeline of a merge request's source branch names no base: the default branch's
    // head is the operator's, fetched into origin/NAME.
    const branch = value('CI_DEFAULT_BRANCH');
    if (value('CI_OPEN_MERGE_REQUESTS'))
      return {
        commit: branch ? `refs/remotes/origin/${branch}` : null,
        from: `the GitLab branch pipeline of a merge request's branch (CI_OPEN_MERGE_REQUESTS; the base read is origin/${branch ?? 'CI_DEFAULT_BRANCH'})`,
        ...(branch ? { fetch: `${branch}:refs/remotes/origin/${branch}` } : {}),
      };
  }
  return commenting ? { commit: null, from: '--comment' } : null;
}

/** A CI run of a branch's commit outside pull-request mode: the commit before it (docs/policies.md). */
export interface PushBefore {
  /** The branch's head before this push; null: the run names none (a new branch, no push). */
  commit: string | null;
  /** Where the commit comes from, or why there is none. */
  from: string;
  /** How to check out with it. */
  depth: string;
}

/**
 * The commit before this push in CI (GitHub's push payload `before`, GitLab's
 * CI_COMMIT_BEFORE_SHA; all zeros for a new branch); null outside CI. Only for a run that
 * pullRequestBase does not take as a pull request's.
 */
export function pushBefore(env: Env): PushBefore | null {
  const named = (sha: unknown, from: string, depth: string): PushBefore =>
    typeof sha === 'string' && /^[0-9a-f]{40,64}$/.test(sha) && !/^0+$/.test(sha)
      ? { commit: sha, from, depth }
      : { commit: null, from: `${from} names none (a new branch)`, depth };
  if (env.GITHUB_ACTIONS === 'true') {
    const name = env.GITHUB_EVENT_NAME?.trim() || 'unnamed';
    const depth =
      'set fetch-depth: 0 in actions/checkout (2 is enough when every push to the branch is one merge or squashed commit)';
    if (name !== 'push')
      return { commit: null, from: `a GitHub ${name} run names no commit before it`, depth };
    const event = readGitHubEvent(env);
    if (typeof event === 'string')
      throw new UserError(
        `the commit before this push is not known, so the policies cannot judge it: ${event}; run poolsync in the push event's own job, where GitHub writes it`,
      );
    return named(event.before, "the GitHub push event's before", depth);
  }
  if (env.GITLAB_CI === 'true') {
    const source = env.CI_PIPELINE_SOURCE?.trim() || 'unnamed';
    const depth = 'set the variable GIT_DEPTH to 0 (or deep enough to reach it) for this job';
    if (source !== 'push')
      return { commit: null, from: `a GitLab ${source} pipeline names no commit before it`, depth };
    return named(env.CI_COMMIT_BEFORE_SHA?.trim(), 'CI_COMMIT_BEFORE_SHA', depth);
  }
  return null;
}

type EventPullRequest = { number?: number; head?: { sha?: unknown }; base?: { sha?: unknown } };

interface GitHubEvent {
  pull_request?: EventPullRequest;
  issue?: { pull_request?: unknown };
  merge_group?: { base_sha?: unknown };
  before?: unknown;
}

/** The GitHub Actions event being run (GITHUB_EVENT_PATH), the fields read here, or why unread. */
function readGitHubEvent(env: Env): GitHubEvent | string {
  const path = env.GITHUB_EVENT_PATH?.trim();
  if (!path) return 'GITHUB_EVENT_PATH is not set';
  const file = `the event file ${path} (GITHUB_EVENT_PATH)`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `${file} ${e.code === 'ENOENT' ? 'does not exist' : `cannot be read (${e.code ?? e.message})`}`;
  }
  try {
    const event: unknown = JSON.parse(text);
    if (typeof event === 'object' && event !== null) return event;
  } catch {
    // Said below.
  }
  return `${file} is not a JSON object`;
}

/** The GitHub Actions event being run, or null if unread (githubEventUnread says why). */
function githubEvent(env: Env): GitHubEvent | null {
  const event = readGitHubEvent(env);
  return typeof event === 'string' ? null : event;
}

/** Why the GitHub Actions event being run cannot be read (GITHUB_EVENT_PATH), or null. */
export function githubEventUnread(env: Env): string | null {
  const event = readGitHubEvent(env);
  return typeof event === 'string' ? event : null;
}

/** The pull request of the GitHub Actions event being run (GITHUB_EVENT_PATH), or null. */
export function githubEventPullRequest(env: Env): EventPullRequest | null {
  return githubEvent(env)?.pull_request ?? null;
}

/** The pinned values of each environment of DIR's poolsync.yaml on the base commit, or why they cannot be read. */
type BaseEnvironments = Map<string, Partial<Record<(typeof PINNED)[number], unknown>>>;

async function baseEnvironments(
  dir: string,
  base: PullRequestBase,
): Promise<BaseEnvironments | string> {
  const read = await baseConfig(dir, base);
  if (typeof read === 'string') return read;
  const { doc } = read;
  const envs = (doc as { environments?: unknown } | null)?.environments;
  const out: BaseEnvironments = new Map();
  if (envs && typeof envs === 'object')
    for (const [name, e] of Object.entries(envs))
      if (e && typeof e === 'object') out.set(name, e as Record<string, unknown>);
  return out;
}

/**
 * The base branch's guardrails for `environment` (its own over the top level's, docs/plan.md,
 * Guardrails), from its poolsync.yaml `doc`: a bound the pull request's plan keeps whatever its
 * own poolsync.yaml says. None when the base has none or cannot be read: the pull request's own
 * bound can only lower the one recorded at the last apply, never raise it.
 */
function baseGuardrails(doc: unknown, environment: string | null): Guardrails | undefined {
  if (doc === null || typeof doc !== 'object') return undefined;
  const top = bounds((doc as { guardrails?: unknown }).guardrails);
  const envs = (doc as { environments?: Record<string, { guardrails?: unknown } | null> })
    .environments;
  const own = environment === null ? {} : bounds(envs?.[environment]?.guardrails);
  const merged = { ...top, ...own };
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/** What the base branch decides of a pull request's plan: its destroy budget and its repository. */
export interface PullRequestPins {
  baseGuardrails?: Guardrails;
  baseRepository: BaseRepository;
}

/**
 * In pull-request mode, what the base branch pins of a plan of DIR (docs/plan.md, Guardrails
 * and Prune scope); else none. A base that cannot be read sets no `repository:`: the pull
 * request's own is never taken.
 */
export async function pullRequestPins(
  opening: Opening,
  dir: string | null,
  environment: string | null,
): Promise<PullRequestPins | undefined> {
  const base = pullRequestBase(opening.vars, opening.commenting ?? false);
  if (!base || dir === null) return undefined;
  const read = await baseConfig(dir, base);
  if (typeof read === 'string') return { baseRepository: { set: null, unread: read } };
  const set = (read.doc as { repository?: unknown } | null)?.repository;
  return {
    baseGuardrails: baseGuardrails(read.doc, environment),
    baseRepository: { set: typeof set === 'string' ? set : null },
  };
}

/** Whole numbers ≥ 0 of max_destroy and max_replace; anything else is not a bound. */
function bounds(g: unknown): Guardrails {
  const out: Guardrails = {};
  if (!g || typeof g !== 'object') return out;
  for (const k of ['max_destroy', 'max_replace'] as const) {
    const v = (g as Record<string, unknown>)[k];
    if (Number.isInteger(v) && (v as number) >= 0) out[k] = v as number;
  }
  return out;
}

/** DIR's poolsync.yaml as the base commit has it, parsed (null: not YAML), or why it cannot be read. */
export async function baseConfig(
  dir: string,
  base: PullRequestBase,
): Promise<{ doc: unknown } | string> {
  if (base.commit === null)
    return `${base.from} names no base commit: set POOLSYNC_BASE_REF to the commit the pull request is merged into`;
  // `REV:./PATH` is relative to the working folder: DIR's poolsync.yaml as the base has it.
  const text = await gitAnswer(['show', `${base.commit}:./poolsync.yaml`], {
    cwd: dir,
    maxOutput: 4 * 1024 * 1024,
  });
  if (text === null)
    return `poolsync.yaml of the base commit ${base.commit} (${base.from}) cannot be read with Git in ${dir}: check out with its history (actions/checkout fetch-depth: 0, or git fetch origin ${base.fetch ?? base.commit})`;
  try {
    return { doc: load(text, { schema: CORE_SCHEMA }) };
  } catch {
    return { doc: null };
  }
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
