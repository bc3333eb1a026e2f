/**
 * `poolsync plan` (exit 2 with --detailed-exitcode when there are changes: plan.md), `show`
 * (a saved plan once its seal verifies) and `promote FROM` (docs/environments.md, Promotion):
 * the next environment's own folder made to hold FROM's own manifests (patch files, each
 * environment's own values, never), in a temporary copy planned against the next environment's
 * control plane; `--write` makes the change in DIR, for a commit and a pull request.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { formatUnread, formatValidationText, unreadOf } from '../../manifests/report.js';
import { readRepoConfig } from '../../manifests/config.js';
import { underFolder } from '../../manifests/environments.js';
import { LIMITS } from '../../manifests/limits.js';
import { findManifestFiles, readAsManifest } from '../../manifests/walk.js';
import type { Environment } from '../../model/desired.js';
import { describeFailure, readRepoFile, writeRepoFile, writeWords } from '../../util/safe-file.js';
import { cleanCommit, planRun, refreshRun, type PlanOutcome } from '../../ops/plan-run.js';
import {
  PlanFileError,
  refusePlanOut,
  planFileParts,
  writePlanFile,
  type PlanKey,
} from '../../render/plan-file.js';
import {
  adoptionText,
  describePromotion,
  nothingDeclared,
  renderedFileChanges,
  renderParts,
  savedPlanLine,
} from '../../render/cli-output.js';
import { plural } from '../../render/common.js';
import { readSavedPlan, resolvePlanKey } from '../saved-plan.js';
import type { EnvironmentOutcome, PublishOutcome } from '../../vcs/types.js';
import { paceLine } from '../../util/pacer.js';
import { UserError } from '../../util/user-error.js';
import {
  networkOf,
  durationFlag,
  environmentTarget,
  forEnvironment,
  nextCommand,
  noSuchEnvironment,
  planShape,
  SHAPE_FLAGS,
  resolveTargets,
  sharedInventoryOf,
  unusedInventoryNote,
  useColor,
  type EnvTarget,
  type Shown,
} from '../options.js';
import { reportError, writeParts, type Io } from '../io.js';
import { requireConfigFolder, requireFolder, stateInFolderNote } from '../config-folder.js';
import { declaresNothing } from '../../plan/inventory.js';
import { heldByOtherRepository } from '../../plan/counts.js';
import type { Args } from '../define.js';
import { checkPolicies } from '../policies.js';
import { policyAllows } from '../../model/policy.js';
import { MARKDOWN_MAX_CHARS } from '../../render/markdown.js';
import { policyText } from '../../render/policy.js';

/** Each environment in turn (docs/environments.md); exit 1 when any failed, else 2 with changes. */
export async function plan(args: Args<'plan'> & Shown, io: Io): Promise<number> {
  if (args.at !== undefined) {
    if (args.commit !== undefined || args['refresh-only'])
      throw new UserError(
        `--at plans a commit's files: it cannot be combined with --${args.commit !== undefined ? 'commit' : 'refresh-only'}`,
      );
    const { atCommit } = await import('../at-commit.js');
    // The commit's files are read from a temporary checkout; messages name DIR.
    const shown = args.shown ?? args.dir;
    return atCommit(args.dir, args.at, io.env, (dir, commit) =>
      plan({ ...args, dir, commit, at: undefined, shown, atCommit: commit }, io),
    );
  }
  // Only the folder: --refresh-only reads no manifests, and planFor checks the rest.
  await requireFolder(args.dir, 'plan');
  const targets = await resolveTargets(args.dir, args, {
    allowAll: true,
    command: 'plan',
    env: io.env,
  });
  if (targets[0]!.name === null) return planFor(args, targets[0]!, io);
  // Once for the command: what no environment's plan reads (--refresh-only reads no manifest).
  if (!args['refresh-only'] && targets[0]!.shared)
    io.stderr.write(
      formatUnread(await unreadOf(targets[0]!.shared), { baseDir: args.shown ?? args.dir }),
    );
  // Said once, not as each environment's failure: a comment's pull request is every one's.
  if (args.comment !== undefined && !args['refresh-only']) {
    const { resolveCommentTarget } = await import('../../vcs/cli-options.js');
    await resolveCommentTarget(args, io.env);
  }
  if (targets.length > 1 && (args.out !== undefined || args.output === 'json'))
    throw new UserError(
      `--env all plans ${targets.length} environments: ${args.out !== undefined ? '--out' : '--output json'} takes one plan; name one environment with --env NAME`,
    );
  const sections: { name: string; outcome: EnvironmentOutcome }[] = [];
  const failed: string[] = [];
  let code = 0;
  for (const [i, t] of targets.entries()) {
    if (i > 0) io.stdout.write('\n');
    const collect = (outcome: EnvironmentOutcome) => sections.push({ name: t.name!, outcome });
    let c: number;
    try {
      c = await forEnvironment(args.dir, t, () => planFor(args, t, io, collect));
    } catch (named) {
      if (targets.length === 1) throw named;
      // One environment's failure is its own: the others are planned and reported.
      io.stdout.write(`Environment: ${t.name}\n`);
      c = reportError(named, io);
      collect({
        kind: 'error',
        message: (named as Error).message.replace(/^environment [^:]+: /, ''),
      });
    }
    if (c === 1) failed.push(t.name!);
    code = code === 1 || c === 1 ? 1 : Math.max(code, c);
  }
  if (failed.length > 0 && targets.length > 1)
    io.stderr.write(
      `${failed.length} of ${targets.length} environments failed: ${failed.join(', ')} (each one's error is above; the others were planned).\n`,
    );
  if (args.comment !== undefined)
    await publishComment(args, { kind: 'environments', environments: sections }, io);
  return code;
}

export async function show(args: Args<'show'>, io: Io): Promise<number> {
  const plan = await readSavedPlan(args.planfile, io.env);
  // JSON: the plan as read, its seal included, so the output is again a plan file.
  await writeParts(
    io.stdout,
    renderParts(plan, args.output, useColor(args.color, io), undefined, true),
  );
  return 0;
}

/** What the plan of one target reads: plan's arguments, or promote's (no parallelism of theirs). */
type PlanOptions = Omit<Args<'plan'>, 'parallelism'> & { parallelism?: number } & Shown;

/**
 * The comment is posted (or handed to `collect`) once the plan is printed, so a CI log shows the
 * plan whatever happens to the comment; one that cannot be posted fails the command
 * (docs/pull-request-comments.md, CI usage).
 */
async function planFor(
  args: PlanOptions,
  target: EnvTarget,
  io: Io,
  collect: (outcome: EnvironmentOutcome) => unknown = (o) => publishComment(args, o, io),
): Promise<number> {
  let outcome: EnvironmentOutcome | undefined;
  try {
    return await planShown(args, target, io, (o) => (outcome = o));
  } finally {
    if (outcome) await collect(outcome);
  }
}

async function planShown(
  args: PlanOptions,
  target: EnvTarget,
  io: Io,
  publish: (outcome: EnvironmentOutcome) => void,
): Promise<number> {
  durationFlag('lock-timeout', args['lock-timeout'], '0s, 30s or 5m');
  if (args['refresh-only']) {
    const other = (['out', 'comment', ...Object.values(SHAPE_FLAGS)] as const).find(
      (k) => args[k] !== undefined,
    );
    if (other)
      throw new UserError(`--refresh-only shows drift only: it cannot be combined with --${other}`);
    return refreshOnly(args, target, io);
  }
  if (args.out !== undefined) {
    await refusePlanOut(args.out).catch((err: unknown) => {
      throw err instanceof PlanFileError ? new UserError(err.message) : err;
    });
    await refuseOutAsManifest(args.out, args.dir, args.shown ?? args.dir);
  }
  const { result, key } = await planOf(args, target, io);
  if (result.kind === 'unreadable') throw result.error;
  const outcomes = args.comment === undefined ? null : await import('../../vcs/publish.js');
  // What is said beside the plan: on stderr for json/markdown, so stdout stays parseable.
  const notes = args.output === 'text' ? io.stdout : io.stderr;
  const shown = args.shown ?? args.dir;
  if (result.kind === 'invalid') {
    const markdown = args.output === 'markdown';
    if (outcomes || markdown) {
      const outcome = (outcomes ?? (await import('../../vcs/publish.js'))).outcomeForInvalid(
        result.errors,
      );
      if (outcomes) publish(outcome);
      // The comment's body (docs/pull-request-comments.md): stdout is the document either way.
      if (markdown) {
        const { invalidBody } = await import('../../vcs/comment.js');
        io.stdout.write(`${invalidBody(outcome, MARKDOWN_MAX_CHARS)}\n`);
      }
    }
    notes.write(formatValidationText(result.errors, { baseDir: shown }));
    io.stderr.write(
      `${target.name !== null ? `Environment ${target.name}: the` : 'The'} repository is invalid: nothing was planned.\n`,
    );
    return 1;
  }
  const { plan } = result;
  // docs/policies.md: checked before anything is published, so the comment carries the result.
  const policies = await checkPolicies(plan, {
    args,
    dir: args.dir,
    shown: args.shown,
    config: result.desired.config.policies,
    opening: { vars: io.env, commenting: args.comment !== undefined },
    desired: result.desired,
    approvals: args.comment !== undefined ? args : undefined,
  });
  // Generated files (poolsync.yaml render) are not control-plane changes: shown apart, and
  // counted by --detailed-exitcode (something is to do); the plan's first line names them, so it
  // never says the control plane matches without them, nor without configuration-only objects no
  // file is named for, and the comment says what the text does. A file that cannot be read fails
  // the command once the comment is posted, as before (planFor).
  const where = { dir: shown, env: args.env };
  const configKinds = result.configKinds ?? [];
  const rendered = await renderedFileChanges(args.dir, result.desired, where, configKinds).catch(
    (err: unknown) => ({ failed: err }),
  );
  const note = 'failed' in rendered ? undefined : { ...where, files: rendered.changed };
  if (outcomes)
    publish({ ...outcomes.outcomeForPlan(plan, note), ...(policies ? { policies } : {}) });
  if ('failed' in rendered) throw rendered.failed;
  if (declaresNothing(result.desired))
    notes.write(nothingDeclared(shown, result.desired.config.prune));
  await writeParts(
    io.stdout,
    key !== undefined && args.output === 'json'
      ? planFileParts(plan, key)
      : renderParts(plan, args.output, useColor(args.color, io), note),
  );
  if (rendered.text !== '') notes.write(rendered.text);
  // Text and Markdown say it under the plan; beside JSON's `adopts`, the reader is told too.
  if (args.output === 'json') notes.write(adoptionText(plan));
  if (policies) notes.write(policyText(policies));
  if (!policyAllows(policies)) {
    if (args.out) io.stderr.write(`The policies fail: the plan is not saved to ${args.out}.\n`);
    return 1;
  }
  if (result.kind === 'errors') {
    if (args.out) io.stderr.write(`The plan has errors: not saved to ${args.out}.\n`);
    return 1;
  }
  if (args.out) {
    const out = args.out;
    // Part by part: a plan of 100,000 changes is written without its whole text in memory.
    await writePlanFile(out, plan, key ?? null).catch((err: NodeJS.ErrnoException) => {
      if (err instanceof PlanFileError) throw new UserError(err.message);
      throw new UserError(`cannot save the plan to ${out}: ${err.code ? writeWords(err) : err}`);
    });
    // The plan file names no control plane it may choose: apply is given the one planned against.
    const apply = nextCommand(['apply', out], args);
    if (args.output === 'text') io.stdout.write(savedPlanLine(out, plan, apply));
  }
  // A file that would change is to do; objects no file is named for are unknown, not a change
  // (a plan right after an apply exits 0 until a file is named). So is a change another
  // repository's record holds back: a person's to settle, and an adoption or a folder's records
  // taken under its remote's name, which only an apply records (docs/plan.md, Exit status).
  const todo =
    result.kind === 'changes' ||
    heldByOtherRepository(plan).length > 0 ||
    (plan.inventory?.adopts?.length ?? 0) > 0 ||
    plan.inventory?.renamed_from !== undefined ||
    rendered.changed.some((f) => f.status !== 'unnamed');
  return args['detailed-exitcode'] && todo ? 2 : 0;
}

/**
 * An --out the next plan would read as a manifest (a YAML file in the config folder, not ignored:
 * manifests.md) is refused before planning, as render's --out is: every later plan would fail on
 * it. `shown` is the folder as the user named it (a temporary checkout for --at is not).
 */
async function refuseOutAsManifest(out: string, dir: string, shown: string): Promise<void> {
  const path = relative(resolve(shown), resolve(out)).split(sep).join('/');
  if (path === '..' || path.startsWith('../') || isAbsolute(path)) return;
  const { config, errors } = await readRepoConfig(dir);
  // An invalid poolsync.yaml is the plan's to report.
  const folders = config.environments?.flatMap((e) => e.folders);
  if (errors.length > 0 || !readAsManifest(path, config.ignore, folders)) return;
  throw new UserError(
    `--out ${out} is in the config folder ${shown}, where every YAML file is read as a manifest: the next plan would fail on it. ` +
      'Save the plan outside the folder, or under a .json name (plan.json is never read as a manifest), or add it to ignore: in poolsync.yaml',
  );
}

async function planOf(
  args: PlanOptions,
  target: EnvTarget,
  io: Io,
): Promise<{ result: PlanOutcome; key: PlanKey | undefined }> {
  const note = await requireConfigFolder(args.dir, 'plan', args.shown);
  if (note !== null) io.stderr.write(note);
  const state = await stateInFolderNote(args.shown ?? args.dir, target.url, 'plan');
  if (state !== null) io.stderr.write(state);
  const unused = unusedInventoryNote(args, io.env, target.url);
  if (unused !== null) io.stderr.write(unused);
  const source = acquire(args, target, io);
  // The JSON plan is a plan file: sealed (render/plan-file.ts), with the key when one is set.
  const key: PlanKey | undefined =
    args.out !== undefined || args.output === 'json' ? await resolvePlanKey(io.env) : undefined;
  const commit = await planCommit(args, io);
  const result = await planRun({
    source: {
      ...source,
      sharedInventory: sharedInventoryOf(args, io.env),
      parallelism: args.parallelism,
      onPace: (e) => io.stderr.write(`${paceLine(e)}\n`),
    },
    desired: { kind: 'folder', dir: args.dir, shared: target.shared, shown: args.shown },
    environment: target.name,
    commit,
    shape: planShape(args),
  });
  return { result, key };
}

function acquire(args: PlanOptions, target: EnvTarget, io: Io) {
  const { 'state-dir': stateDir, 'max-retries': maxRetries } = args;
  const { limits, onWait } = networkOf(args, io);
  const opening = { vars: io.env, commenting: args.comment !== undefined };
  const kind = 'acquire' as const;
  return { kind, target, opening, stateDir, sharedInventory: null, maxRetries, limits, onWait };
}

async function refreshOnly(args: PlanOptions, target: EnvTarget, io: Io): Promise<number> {
  const { lastAppliedPathFor, readLastApplied } = await import('../../apply/last-applied.js');
  const { renderRefresh } = await import('../../render/refresh.js');
  const { last, unfinished } = await readLastApplied(
    lastAppliedPathFor(target.url, args['state-dir']),
  );
  const drift = await refreshRun(acquire(args, target, io), last);
  const report = unfinished
    ? {
        ...drift,
        unfinished_apply: { started_at: unfinished.started_at, commit: unfinished.commit },
      }
    : drift;
  io.stdout.write(renderRefresh[args.output](report));
  return args['detailed-exitcode'] && report.drift.length > 0 ? 2 : 0;
}

/** `--commit`, else with `--comment` the pull request's (as its status), else clean HEAD. */
async function planCommit(args: PlanOptions, io: Io): Promise<string | null> {
  if (args.commit !== undefined) return args.commit;
  if (args.comment !== undefined) {
    const { resolveCommentTarget } = await import('../../vcs/cli-options.js');
    return (await resolveCommentTarget(args, io.env)).commit;
  }
  return cleanCommit(args.dir);
}

/** The sticky pull-request comment and commit status (src/vcs), before any exit. */
async function publishComment(args: PlanOptions, outcome: PublishOutcome, io: Io): Promise<void> {
  const { describePublish, publishFromCliArgs } = await import('../../vcs/cli-options.js');
  const posted = await publishFromCliArgs(args, outcome, io.env);
  if (posted) io.stderr.write(`${describePublish(posted)}\n`);
}

export async function promote(args: Args<'promote'>, io: Io): Promise<number> {
  await requireFolder(args.dir, `promote ${args.from}`);
  const { config, errors } = await readRepoConfig(args.dir);
  const envs = config.environments ?? [];
  if (errors.length > 0)
    throw new UserError(`poolsync.yaml in ${args.dir} is invalid: run \`poolsync validate\``);
  const names = envs.map((e) => e.name);
  if (envs.length === 0)
    throw new UserError(
      `promote moves a change between environments, and poolsync.yaml in ${args.dir} declares none (docs/environments.md)`,
    );
  const from = envs.find((e) => e.name === args.from);
  if (!from) throw noSuchEnvironment(args.from, names);
  const toName = args.to ?? from.promotesTo;
  if (toName === undefined)
    throw new UserError(
      `environment ${from.name} promotes to no environment: set its promotesTo in poolsync.yaml, or pass --to NAME`,
    );
  const to = envs.find((e) => e.name === toName);
  if (!to || to === from)
    throw new UserError(
      `--to ${toName}: not another environment of poolsync.yaml (${names.join(', ')})`,
    );
  const fromFolder = ownFolder(from, to);
  const toFolder = ownFolder(to, from);
  // Patch files stay each environment's own (they are no manifest of any).
  const notManifests = [...config.ignore, ...envs.flatMap((e) => e.patches)];
  const changes = await promotionChanges(args.dir, fromFolder, toFolder, notManifests);
  io.stderr.write(describePromotion(from.name, to.name, changes));
  let code: number;
  const copy = await mkdtemp(join(tmpdir(), 'poolsync-promote-'));
  try {
    const folder = join(copy, basename(args.dir) || 'repo');
    // Manifests and poolsync.yaml only: dot-entries (.git, .poolsync state) are never read.
    await cp(args.dir, folder, {
      recursive: true,
      filter: (src) => !basename(src).startsWith('.') || src === args.dir,
    });
    await applyChanges(folder, changes);
    // The control plane and credentials are the real folder's (a file: path is relative to it).
    const target = environmentTarget(args.dir, to, args, io.env);
    const planArgs = {
      ...args,
      dir: folder,
      shown: args.dir,
      env: to.name,
      'refresh-only': false,
      'lock-timeout': '0s',
    };
    code = await forEnvironment(args.dir, target, () => planFor(planArgs, target, io));
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
  if (args.write && code !== 1 && changes.length > 0) {
    await applyChanges(args.dir, changes);
    io.stderr.write(
      `Wrote ${plural(changes.length, 'file change')} into ${toFolder}: commit ${changes.length === 1 ? 'it' : 'them'} and open a pull request.\n`,
    );
  }
  return code;
}

async function applyChanges(dir: string, changes: FileChange[]): Promise<void> {
  for (const c of changes) {
    if (c.action === 'remove') await rm(join(dir, c.path), { force: true });
    else
      await writeRepoFile(dir, c.path, c.content!).catch((err: Error) => {
        throw new UserError(`cannot write ${c.path}: ${err.message}`);
      });
  }
}

interface FileChange {
  path: string;
  action: 'add' | 'change' | 'remove';
  content?: string;
}

/** The first of `env`'s folders `other` does not read; later ones are its own only. */
function ownFolder(env: Environment, other: Environment): string {
  const own = env.folders.filter((f) => !other.folders.includes(f));
  if (own.length > 0) return own[0]!;
  throw new UserError(
    `environment ${env.name} reads no folder that ${other.name} does not: promotion copies the first folder of its own to the other's first (docs/environments.md, Promotion)`,
  );
}

async function manifestsIn(
  dir: string,
  folder: string,
  skip: readonly string[],
): Promise<Map<string, string>> {
  const walk = await findManifestFiles(dir, skip);
  const out = new Map<string, string>();
  for (const file of walk.files) {
    if (!underFolder(file, folder)) continue;
    const read = await readRepoFile(dir, file, { maxBytes: LIMITS.maxFileBytes });
    if (!read.ok) throw new UserError(`${file}: ${describeFailure(read)}`);
    out.set(file.slice(folder.length + 1), read.bytes.toString('utf8'));
  }
  return out;
}

async function promotionChanges(
  dir: string,
  fromFolder: string,
  toFolder: string,
  ignore: readonly string[],
): Promise<FileChange[]> {
  const source = await manifestsIn(dir, fromFolder, ignore);
  const target = await manifestsIn(dir, toFolder, ignore);
  const changes: FileChange[] = [];
  for (const rel of [...new Set([...source.keys(), ...target.keys()])].sort()) {
    const [content, now] = [source.get(rel), target.get(rel)];
    const path = `${toFolder}/${rel}`;
    if (content === undefined) changes.push({ path, action: 'remove' });
    else if (content !== now)
      changes.push({ path, action: now === undefined ? 'add' : 'change', content });
  }
  return changes;
}
