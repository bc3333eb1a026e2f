/**
 * A merged commit's `policy` (of its environment) and `approvers:` beside those of the commit last
 * applied (docs/daemon.md#a-merged-commit-does-not-loosen-its-own-rules): as with the policies, a
 * commit's rules judge the commits after it, and a tighter one judges itself too, so a merged pull
 * request neither turns off the approval of its own deletes nor names who approves them.
 */
import { posix, relative, sep } from 'node:path';
import type { ApproverRules, RepoConfig } from '../../model/desired.js';
import type { BaseRepository } from '../../plan/index.js';
import { committedConfig } from '../../policy/source.js';
import { APPLY_POLICIES, type ApplyPolicy } from '../config-options.js';
import type { SourceSnapshot } from '../git-source.js';
import type { DaemonConfig } from '../config.js';
import type { AppliedRules, ReconcilerOptions, RunContext, RunPolicy } from './context.js';

/** What reading a commit's rules needs of its unit: its settings, its clone, its words. */
type RulesReader = Pick<ReconcilerOptions, 'config' | 'source' | 'redactor' | 'logger'>;

/**
 * `all` is looser than `safe` and `none`: it alone applies deletes and replaces unasked. So a
 * loaded `all` after a last applied `safe` or `none` holds as `safe` (its destructive changes wait
 * for a person, who may approve them); a loaded `safe` after `none` starts applying, as `none`
 * holds nothing a person could approve.
 */
export function runPolicy(loaded: ApplyPolicy, applied: AppliedRules | null): RunPolicy {
  const older = applied?.policy ?? null;
  if (loaded !== 'all' || older === null || older === 'all')
    return { policy: loaded, lastApplied: null };
  return { policy: 'safe', lastApplied: { commit: applied!.commit, policy: older } };
}

/**
 * The rules of the commit last applied (the run history's `appliedCommit`) when it is not `at`'s
 * commit, read with Git from the daemon's clone as the policies' are (stages/policies.ts); null
 * when there is none (the first run), when it is `at`'s, or when it cannot be read (a rewritten
 * branch: a force-push, which a merged pull request cannot make), which is logged.
 */
export async function appliedRulesOf(
  ctx: RunContext,
  at: SourceSnapshot,
): Promise<AppliedRules | null> {
  const commit = ctx.state.appliedCommit;
  if (commit === null || at.root === undefined || at.commit === null || commit === at.commit)
    return null;
  const kept = ctx.memory.appliedRules;
  if (kept?.commit === commit) return kept;
  return rulesOfCommit(ctx.o, { ...at, root: at.root }, commit);
}

/** `commit`'s poolsync.yaml read with Git in the clone of `at`, or why it cannot be. */
async function configOfCommit(
  o: RulesReader,
  at: SourceSnapshot & { root: string },
  commit: string,
): Promise<{ doc: unknown } | string> {
  const config = relative(at.root, at.dir).split(sep).join('/');
  return (o.source.reach?.(commit) ?? Promise.resolve()).then(
    () => committedConfig(at.root, posix.normalize(config || '.').replace(/^\.$/, ''), commit),
    (err: unknown) => o.redactor.errorMessage(err),
  );
}

/** `commit`'s rules read with Git in the clone of `at`; null, logged, when they cannot be read. */
async function rulesOfCommit(
  o: RulesReader,
  at: SourceSnapshot & { root: string },
  commit: string,
): Promise<AppliedRules | null> {
  const read = await configOfCommit(o, at, commit);
  if (typeof read === 'string') {
    o.logger.warn(
      { commit },
      `the rules of the last applied commit ${commit.slice(0, 12)} cannot be read (${read}): the loaded commit's policy and approvers judge alone`,
    );
    return null;
  }
  const doc = read.doc as { approvers?: unknown; environments?: unknown } | null;
  const approvers =
    doc?.approvers && typeof doc.approvers === 'object' ? (doc.approvers as ApproverRules) : null;
  return { commit, approvers, policy: environmentPolicy(o.config, doc?.environments) };
}

/**
 * The policy a merge of a pull request will hold by (its plan comment): the run's (runPolicy),
 * `config` (the pull request's head) loaded after `applied`, the commit last applied. Before the
 * clone is fetched that commit's rules are not known: its policy shows as null and holds as
 * `safe` would, never less than the run will hold.
 */
export async function mergePolicy(
  o: RulesReader,
  config: RepoConfig,
  applied: string | null,
): Promise<{
  policy: ApplyPolicy;
  lastApplied: { commit: string; policy: ApplyPolicy | null } | null;
}> {
  const loaded = loadedPolicy(o.config, config);
  const at = o.source.last;
  if (applied === null || loaded !== 'all') return runPolicy(loaded, null);
  if (at?.root === undefined)
    return { policy: 'safe', lastApplied: { commit: applied, policy: null } };
  return runPolicy(loaded, await rulesOfCommit(o, { ...at, root: at.root }, applied));
}

/**
 * The repository identity a pull request's plan keeps (docs/plan.md, Prune scope): the
 * `repository:` of the commit last applied, else of the followed branch's head; a pull request's
 * own is never taken, so one that cannot be read sets none (the followed repository's name).
 */
export async function mergeRepository(
  o: RulesReader,
  applied: string | null,
): Promise<BaseRepository> {
  const at = o.source.last;
  const commit = applied ?? at?.commit ?? null;
  if (at?.root === undefined || commit === null)
    return { set: null, unread: 'the followed branch is not fetched yet' };
  const read = await configOfCommit(o, { ...at, root: at.root }, commit);
  if (typeof read === 'string') return { set: null, unread: read };
  const set = (read.doc as { repository?: unknown } | null)?.repository;
  return { set: typeof set === 'string' ? set : null };
}

/**
 * The policy the loaded commit sets: its environment's `policy` (else the daemon's `--policy`),
 * read at each run; without environments the daemon's, which no commit sets.
 */
export function loadedPolicy(daemon: DaemonConfig, config: RepoConfig): ApplyPolicy {
  const { environment } = daemon.controlPlane;
  const own = config.environments?.find((e) => e.name === environment)?.policy;
  return own ?? daemon.defaultPolicy ?? daemon.policy;
}

/** The unit's environment's `policy` in `environments` as written; null without environments. */
function environmentPolicy(daemon: DaemonConfig, environments: unknown): ApplyPolicy | null {
  const name = daemon.controlPlane.environment;
  if (name === undefined || !environments || typeof environments !== 'object') return null;
  if (!Object.hasOwn(environments, name)) return null;
  const entry = (environments as Record<string, { policy?: unknown } | null>)[name];
  if (!entry || typeof entry !== 'object') return null;
  const policy = entry.policy;
  if (APPLY_POLICIES.includes(policy as ApplyPolicy)) return policy as ApplyPolicy;
  return policy === undefined ? (daemon.defaultPolicy ?? daemon.policy) : null;
}
