/**
 * `poolsync export`, `import` (Terraform's), `init` (docs/getting-started.md) and `state
 * list|show|forget` (docs/plan.md#what-poolsync-manages: `forget` sends nothing, and marks the
 * object so no later prune deletes it).
 *
 * Manifests are written never outside `--dir`, whatever a live object's name (docs/security.md,
 * "What is written"): export leaves out invalid names (N1), and this refuses any path that is
 * not a plain relative path of file-name characters, and writes through no link. What import
 * writes joins the inventory (src/apply/inventory.ts), so `prune: true` deletes it once it
 * leaves the repository, as what apply created (docs/plan.md, Prune by inventory). Export only
 * reads: its folder may be any (a scratch copy), so adopting what it wrote would let prune delete
 * objects the repository never declared; the first apply records what the repository declares.
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  adoptIntoInventory,
  forgetInInventory,
  inventoryStore,
  readLiveWithInventory,
  withInventory,
  type InventoryStore,
} from '../../apply/inventory.js';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  exportExecutionClusterLabels,
  exportManifests,
  otherRowWarnings,
  unservedPoolWarnings,
  type ExportedFile,
  type ExportResult,
} from '../../controlplane/export.js';
import { controlPlaneIdentity, embeddedStateIsNew } from '../../controlplane/identity.js';
import { embeddedStatePath } from '../../controlplane/embedded/opener.js';
import { scrubUrlUserinfo } from '../../util/redact.js';
import { readLiveState, type ControlPlane } from '../../controlplane/types.js';
import { loadRepository } from '../../manifests/index.js';
import { positionOf } from '../../manifests/documents.js';
import type { SourceLocation } from '../../model/desired.js';
import { readRepoConfig, type FolderRead } from '../../manifests/config.js';
import { environmentFiles } from '../../manifests/environments.js';
import { REPO_CONFIG_FILE, readAsManifest } from '../../manifests/walk.js';
import type { ValidationError } from '../../manifests/types.js';
import { relocated } from '../../manifests/report.js';
import {
  assignmentKeyString,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  defaultQueueKeyString,
  isValidName,
  WILDCARD,
  type DefaultQueueSetting,
  type ObjectKind,
} from '../../model/common.js';
import { recordedBy, type InventoryRecord } from '../../model/inventory.js';
import { folderRepository, repositoryNames } from '../../ops/repository.js';
import type { LiveQueue, LiveState } from '../../model/live.js';
import {
  declaredObjects,
  liveObjects,
  managedObjects,
  OBJECT_KINDS,
} from '../../plan/inventory.js';
import { ownership } from '../../plan/prune-scope.js';
import { checkAddressSyntax } from '../../plan/target.js';
import { earlierNameWords, listAddresses } from '../../render/reasons.js';
import { controlPlaneName, plural } from '../../render/common.js';
import { liveStatusWords, protectionWords } from '../../render/live-status.js';
import { lastChangeWords } from '../../render/daemon-words.js';
import { adoptionNote } from '../../render/cli-output.js';
import {
  exists,
  makeUserFolder,
  readUserFile,
  relativeParts,
  writeRepoFiles,
} from '../../util/safe-file.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { UserError } from '../../util/user-error.js';
import { closestAddress, didYouMean, kindTypoHint } from '../../manifests/suggest.js';
import {
  refuseCodeProject,
  containingRepository,
  requireConfigFolder,
  requireFolder,
  stateAboveNote,
} from '../config-folder.js';
import { DEFAULT_CONTROL_PLANE_URL } from '../../controlplane/default-url.js';
import type { Args, StateArgs } from '../define.js';
import {
  durationFlag,
  leaseOf,
  networkOf,
  nextPlan,
  oneTarget,
  openToRead,
  sharedInventoryOf,
  type EnvTarget,
} from '../options.js';
import { commandLine, shellQuote } from '../../util/shell-quote.js';
import type { Io } from '../io.js';
import { isFolder } from '../usage-error.js';
import type { RecordWrite } from '../../ops/apply-run.js';

export async function exportTo(args: Args<'export'>, io: Io): Promise<number> {
  // The config folder's environments, as plan and import read them: without --env in a
  // repository that declares some, the command says to name one (not the default control plane).
  const from = await readExport(args, io, args['config-dir'] ?? '.');
  const read = await withoutDeclared(from, resolve(args.dir), args.dir);
  const replaced = await clashes(resolve(args.dir), read.files, args.force);
  return writeExport(args, read, io, replaced);
}

/** What export writes, read whole before anything is written. */
interface ExportRead {
  target: EnvTarget;
  files: ExportedFile[];
  warnings: string[];
  counts: ExportResult['counts'] & { labels: number };
  /** Why nothing is written, when nothing is. */
  nothing: string | null;
  /** The objects left out as declared already (withoutDeclared), said in a line. */
  skipped?: string;
  /** Of the objects read, those the inventory records: address → who applied it ('': unsaid). */
  appliedBy: ReadonlyMap<string, string>;
}

/** `configDir`: the folder whose poolsync.yaml may declare environments (null: init's new one). */
async function readExport(
  args: Args<'export'>,
  io: Io,
  configDir: string | null = null,
): Promise<ExportRead> {
  const target = await oneTarget(configDir, args, 'export', io.env);
  const cp = await openToRead(target, io, networkOf(args, io));
  try {
    // With the inventory: the protection marks it keeps are written as annotations.
    const live = await readLiveWithInventory(cp, storeOf(cp, target.url, args, io));
    const { files, warnings, counts } = exportManifests(live);
    const labels = exportExecutionClusterLabels(live);
    files.push(...labels.files);
    warnings.push(...unservedPoolWarnings(live), ...labels.warnings, ...otherRowWarnings(live));
    for (const f of files) checkExportedPath(f.path);
    const { other } = ownership(live, null);
    const appliedBy = new Map(
      files.flatMap((f) => {
        const by = f.address === undefined ? undefined : other(f.address);
        return by !== undefined ? [[f.address!, by] as const] : [];
      }),
    );
    // Nothing but what every control plane holds in its defaults: no empty folder made.
    const defaults = live.pools.length + live.queues.length > 0;
    const nothing =
      files.length === 0 ? nothingToExport(cp.backend.name, target.url, defaults) : null;
    const all = { ...counts, labels: labels.files.length };
    return { target, files, warnings, counts: all, nothing, appliedBy };
  } finally {
    await cp.close();
  }
}

/** The files export would write over: refused without --force, said with it (init has none). */
async function clashes(out: string, files: ExportedFile[], force?: boolean): Promise<number> {
  const found: string[] = [];
  for (const f of files) if (await exists(join(out, f.path))) found.push(f.path);
  if (found.length > 0 && !force)
    throw new UserError(
      `${plural(found.length, 'file already exists', 'files already exist')} in ${out} (first: ${found[0]}); write into an empty folder` +
        (force === undefined ? '' : ', or pass --force to replace them whole (their comments too)'),
    );
  return found.length;
}

async function writeExport(
  args: Args<'export'>,
  read: ExportRead,
  io: Io,
  replaced = 0,
): Promise<number> {
  const { target, files, warnings, counts: c, nothing, skipped } = read;
  const out = resolve(args.dir);
  if (nothing !== null || files.length === 0) {
    for (const w of warnings) io.stderr.write(`Warning: ${escapeTerminal(w)}\n`);
    io.stdout.write(
      nothing !== null ? `${nothing}\n` : `${escapeTerminal(skipped!)} No manifest was written.\n`,
    );
    return 0;
  }
  await makeUserFolder(out);
  await writeExported(out, files, 'no manifest was written');
  warnings.push(...(await othersObjects(args, read)));
  warnings.push(...outsideEnvironment(target, out, files));
  warnings.push(...(await brokenRules(target, args.dir, files, warnings)));
  for (const w of warnings) io.stderr.write(`Warning: ${escapeTerminal(w)}\n`);
  // The kinds it found: a flyteadmin has no pools, clusters or queues to count.
  const parts = [
    plural(c.pools, 'pool'),
    plural(c.clusters, 'cluster'),
    plural(c.queues, 'queue'),
    plural(c.assignments, 'assignment'),
    plural(c.default_queues ?? 0, 'default-queue setting'),
    plural(c.labels, 'execution cluster label'),
  ].filter((part) => !part.startsWith('0 '));
  const last = parts.pop();
  io.stdout.write(`Exported ${parts.length ? `${parts.join(', ')} and ` : ''}${last} to ${out}\n`);
  if (skipped !== undefined) io.stdout.write(`${escapeTerminal(skipped)}\n`);
  // Written whole from the live state: what a person added to a replaced file is gone.
  if (replaced > 0)
    io.stdout.write(
      `${plural(replaced, 'existing file')} replaced whole (--force): comments and layout in them are gone; \`git diff\` shows what changed.\n`,
    );
  return 0;
}

/**
 * The objects written that another repository applied (docs/plan.md, Prune scope), a warning for
 * each such repository: the next plan here leaves them to it (REPOSITORY_CONFLICT). Written all
 * the same: a manifest takes nothing over, and one of this folder's may name them (V2, V3, V8).
 * Those recorded without a repository, one warning too: the next apply here adopts them.
 */
async function othersObjects(args: Args<'export'>, read: ExportRead): Promise<string[]> {
  if (read.appliedBy.size === 0) return [];
  // The repository that plans the files, named as its plans name it (after init made it).
  const { env, dir } = read.target;
  const whole = env ? (dir ?? '.') : ((await containingRepository(args.dir)) ?? args.dir);
  const [here, { folder }] = await Promise.all([folderRepository(whole), repositoryNames(whole)]);
  // As the plan says it (plan/index.ts here_is_path): no machine path offered to a folder a remote names.
  const hereIsPath = here === folder;
  const by = new Map<string, string[]>();
  for (const f of read.files) {
    const other = read.appliedBy.get(f.address!);
    if (other !== undefined && other !== here)
      by.set(other, [...(by.get(other) ?? []), f.address!]);
  }
  const flags = { dir: whole, env: env?.name };
  return [...by].map(([other, addresses]) => {
    // An earlier build's record (inventory format 1) names no repository: this one's apply adopts them.
    if (other === '') return adoptionNote(addresses, here);
    const one = addresses.length === 1;
    const them = one ? 'it' : 'them';
    // One command for them all: beyond the 20 a line shows, the inventory names the rest.
    const listed = addresses.length <= HANDED_OVER;
    const handOver = listed
      ? commandLine(['poolsync', 'import', ...addresses], flags)
      : `${commandLine(['poolsync', 'state', 'list', whole, '--output', 'json'], { env: flags.env })} | ` +
        `${commandLine(['jq', '-r', '--arg', 'r', other, '.objects[] | select(.repository == $r and .status) | .address'])} | ` +
        commandLine(['poolsync', 'import', '--from', '-'], flags);
    return (
      `${plural(addresses.length, 'object')} written ${one ? 'was' : 'were'} applied by another repository, ${other} (the inventory says so), not by ${here}, which plans these files: ${listAddresses(addresses, HANDED_OVER)}. ` +
      `${one ? 'Its manifest takes' : 'Their manifests take'} nothing over: the next plan leaves ${them} as ${other} applied ${them}, with the warning REPOSITORY_CONFLICT. ` +
      `Remove ${one ? 'its file' : 'their files'} unless another manifest here names ${them} (V2, V3, V8), or hand ${them} over: \`${handOver}\`${listed ? '' : ` (with jq: every live object ${other} applied)`}, with this command's --control-plane and inventory flags${listed ? '' : ' on both poolsync commands'} (${other} then no longer prunes ${them}). ` +
      `If the files are for ${other} itself, nothing is wrong. ${earlierNameWords(other, here, hereIsPath, them)} (docs/plan.md, Prune scope).`
    );
  });
}

/** How many addresses export's hand-over command names (the ones its warning lists). */
const HANDED_OVER = 20;

/** The count export says for a kind (ExportRead's counts). */
const COUNTED: Record<string, keyof ExportRead['counts']> = {
  ClusterPool: 'pools',
  Cluster: 'clusters',
  Queue: 'queues',
  PoolAssignment: 'assignments',
  DefaultQueue: 'default_queues',
  ExecutionClusterLabel: 'labels',
};

/**
 * The export less each object declared already in another file of the repository it writes into
 * (docs/environments.md, step 7; docs/getting-started.md, Export): written again it would be
 * declared twice (V1), and the repository would not validate. With --env, the repository is each
 * environment reading the files (`export -e prod --dir base` beside base/'s own files); without,
 * the nearest poolsync.yaml at or above the folder, as other commands find it. Said in one line,
 * with where each is declared. A repository part of which was not read is refused: what it
 * declares is not known (one that only does not validate declares what its documents name).
 */
async function withoutDeclared(read: ExportRead, out: string, dir: string): Promise<ExportRead> {
  const { target } = read;
  if (read.nothing !== null) return read;
  const env = target.env !== null;
  const root = env
    ? (target.dir ?? '.')
    : (await exists(join(out, REPO_CONFIG_FILE)))
      ? dir
      : await containingRepository(dir);
  if (root === null) return read;
  const config = resolve(root);
  const at = relative(config, out).split(sep).join('/');
  const pathOf = (f: ExportedFile) => (at === '' ? f.path : `${at}/${f.path}`);
  const readers = read.files.map((f) => (env ? readersOf(target, pathOf(f)) : ['']));
  const declared = new Map<string, Declarations>();
  for (const name of new Set(readers.flat())) {
    // An unfinished repository still declares what its documents name (declaredIn); one part of
    // which was not read may declare anything.
    const found = await declaredIn(config, env ? name : undefined, env ? target.shared : undefined);
    if (found.unread.length > 0) {
      const e = found.unread[0]!;
      const what = env
        ? `environment ${name} reads ${at || '.'}, where export would write, but`
        : `repository ${root}, which holds ${dir} where export would write,`;
      throw new UserError(
        `${what} was not read whole (${e.file}:${e.line}:${e.column}: ${e.message}${found.unread.length > 1 ? `, and ${plural(found.unread.length - 1, 'more error')}` : ''}), so which objects it declares already is not known: written again they would be declared twice. Fix it first (\`${commandLine(['poolsync', 'validate', root], { env: name || undefined })}\`), or export into a folder ${env ? 'no environment reads' : 'outside it'} and move what is missing into place. Nothing was written`,
      );
    }
    declared.set(name, found);
  }
  const files: ExportedFile[] = [];
  const skipped: string[] = [];
  const by = new Set<string>();
  const counts = { ...read.counts };
  for (const [i, f] of read.files.entries()) {
    const declaring = readers[i]!.flatMap((name) => {
      const source =
        f.address === undefined ? undefined : declared.get(name)!.declared.get(f.address)?.source;
      // Declared in the very file written (export again, --force): replaced, not declared twice.
      return source && source.file !== pathOf(f) ? [{ name, source }] : [];
    });
    if (declaring.length === 0) {
      files.push(f);
      continue;
    }
    // Where its name is, as V1 would place the duplicate, not the document's first line.
    const first = declaring[0]!;
    const { file, line, column } = declared.get(first.name)!.nameOf(first.source);
    skipped.push(`${f.address!} at ${file}:${line}:${column}`);
    for (const d of declaring) by.add(d.name);
    const key = COUNTED[f.address!.slice(0, f.address!.indexOf('/'))];
    if (key !== undefined) counts[key] = (counts[key] ?? 1) - 1;
  }
  if (skipped.length === 0) return read;
  const own = target.env?.name;
  // The exported environment first, then the others reading the folder.
  const envs = [...by].sort((a, b) => Number(b === own) - Number(a === own)).join(' and ');
  const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? ', …' : '');
  const [they, them] = skipped.length === 1 ? ['it', 'it'] : ['they', 'them'];
  const plan = commandLine(['poolsync', 'plan', root], { env: own });
  const where = env ? `for environment ${envs}` : `in repository ${root}`;
  const line =
    `Not written again: ${plural(skipped.length, 'object')} declared already ${where} (${shown}); written again, ${they} would be declared twice. ` +
    `\`${plan}\` shows where the control plane differs from ${them}.`;
  return { ...read, files, counts, skipped: line };
}

/**
 * With --env: the files written where the environment's plans do not read them, or where another
 * environment's do (its next apply would create them on its own control plane).
 */
function outsideEnvironment(target: EnvTarget, out: string, files: ExportedFile[]): string[] {
  if (target.env === null) return [];
  const { name, folders } = target.env;
  const readers = configPaths(target, out, files).map((f) => readersOf(target, f));
  const unread = readers.filter((r) => !r.includes(name)).length;
  const others = [...new Set(readers.flat())].filter((n) => n !== name);
  return [
    ...(unread > 0
      ? [
          `environment ${name} reads ${folders.join(', ')}: ${unread} of the ${files.length} files written are outside them, so its plans do not read them; export into one of its folders, or move them there`,
        ]
      : []),
    ...(others.length > 0
      ? [
          `these files are also read by environment ${others.join(', environment ')}: an apply there creates what its control plane lacks of them; move them into a folder only ${name} reads`,
        ]
      : []),
  ];
}

/**
 * What `poolsync validate` says of the folder written (with --env, of the environments reading
 * the files; in a part of a repository, of that repository), as warnings: the control plane enforces not every rule poolsync's validation holds
 * its objects to (P7, V13). A rule an earlier warning ends citing (V8, V11) is left to it: that
 * one says what to add.
 */
async function brokenRules(
  target: EnvTarget,
  dir: string,
  files: ExportedFile[],
  earlier: string[],
): Promise<string[]> {
  const config = target.dir ?? '.';
  const envs =
    target.env === null
      ? []
      : [...new Set(configPaths(target, resolve(dir), files).flatMap((f) => readersOf(target, f)))];
  // Without --env, the whole repository the folder is a part of, as its next validate reads it.
  const base = envs.length === 0 ? ((await containingRepository(dir)) ?? dir) : config;
  const loads = await Promise.all(
    envs.length === 0
      ? [loadRepository(base)]
      : envs.map((environment) => loadRepository(config, { environment })),
  );
  const cited = new Set(earlier.map((w) => /\((V\d+)\)$/.exec(w)?.[1]));
  const lines = new Set<string>();
  const codes = new Set<string>();
  for (const e of loads.flatMap((l) => l.errors)) {
    if (!/^V\d+$/.test(e.code) || cited.has(e.code)) continue;
    const { file, line, column, message } = relocated(e, (f) => join(base, f));
    codes.add(e.code);
    lines.add(`${file}:${line}:${column}: ${e.code} ${message}`);
  }
  if (lines.size === 0) return [];
  const validate = commandLine(['poolsync', 'validate', base], {
    env: envs.length === 1 ? envs[0] : undefined,
  });
  return [
    `the exported folder does not validate (${[...codes].join(', ')}): the control plane holds what poolsync's validation refuses (docs/rules.md); edit the manifests named below, or take them out with what names them, until \`${validate}\` passes (\`poolsync plan\` then shows what that takes: a pool's contract changes only by replacement, P4)`,
    ...lines,
  ];
}

/** Each file's path relative to the config folder, as environments' folders name it. */
function configPaths(target: EnvTarget, out: string, files: readonly ExportedFile[]): string[] {
  const at = relative(resolve(target.dir ?? '.'), out)
    .split(sep)
    .join('/');
  return files.map((f) => (at === '' ? f.path : `${at}/${f.path}`));
}

/** The environments whose plans read FILE (a path relative to the config folder). */
function readersOf(target: EnvTarget, file: string): string[] {
  if (file.startsWith('../')) return [];
  const envs = target.shared?.config.config.environments ?? [];
  return envs.filter((e) => environmentFiles([file], e).length > 0).map((e) => e.name);
}

/**
 * With --env, FILE in the last of the environment's folders that no other environment reads
 * (docs/environments.md: what is one environment's alone comes last), so that its plans read it
 * and no other environment's.
 */
function inOwnFolder(target: EnvTarget, file: ExportedFile, address: string): ExportedFile {
  if (target.env === null) return file;
  const { name, folders } = target.env;
  const path = (folder: string) => (folder === '.' ? file.path : `${folder}/${file.path}`);
  const own = folders.findLast((f) => readersOf(target, path(f)).every((n) => n === name));
  if (own === undefined)
    throw new UserError(
      `environment ${name} reads only folders another environment reads too (${folders.join(', ')}): ${address} written there would be created on that environment's control plane as well. Add a folder of ${name}'s own to environments.${name}.folders in poolsync.yaml, then import again`,
    );
  return { ...file, path: path(own) };
}

/** An export that found nothing to write, and why that may be a wrong --control-plane. */
function nothingToExport(backend: string, url: string, defaults: boolean): string {
  const only = defaults ? ', only its own `default` pool and queue at their defaults' : '';
  const missing = embeddedStateIsNew(url)
    ? `: the embedded state ${embeddedStatePath(url)} does not exist (check --control-plane)`
    : '';
  return `Nothing to export from ${backend} ${scrubUrlUserinfo(url)}: it holds nothing to write as a manifest${only}${missing}. No manifest was written.`;
}

const KEYED = ['PoolAssignment', 'DefaultQueue', 'ExecutionClusterLabel'];
const IMPORTABLE = ['ClusterPool', 'Cluster', 'Queue', ...KEYED];

export async function importObject(args: Args<'import'>, io: Io): Promise<number> {
  // `import ADDRESS DIR`: the folder is no address, and --dir is how to give it.
  const folder = (args.address ?? []).find((a) => !/^[A-Za-z]+\//.test(a) && isFolder(a));
  if (folder !== undefined)
    throw new UserError(
      `Unexpected argument "${folder}": give the folder with --dir (\`--dir ${shellQuote(folder)}\`).\nRun \`poolsync import --help\` for the options.`,
    );
  const given = await givenAddresses(args, io);
  const addresses = [...given.keys()];
  const problems = new Problems(addresses, given);
  for (const a of addresses) await problems.check(a, () => checkImportable(a));
  // Nothing to read for: refused before the control plane is opened.
  const readable = addresses.filter((a) => !problems.has(a));
  if (readable.length === 0) problems.refuse();
  const lockTimeoutMs = lockTimeoutOf(args);
  // As validate and plan: what import writes and records into a folder that is no config
  // repository, the real one's prune would delete once it plans.
  const note = await requireConfigFolder(args.dir, 'import');
  if (note !== null) io.stderr.write(note);
  // A folder with environments needs --env: no other control plane's plans read where it writes.
  const target = await oneTarget(args.dir, args, 'import', io.env);
  // A part of a config repository is checked as the whole one plans: an object declared anywhere
  // in it is declared (written again under DIR, it would be a V1 and V11 duplicate).
  const whole = (await containingRepository(args.dir)) ?? args.dir;
  const { declared, validates: valid, unread } = await declaredIn(whole, args.env);
  // The first 20 named: a --from list can hold thousands.
  refuseUnread(whole, listAddresses(addresses, 20), unread, args.env);
  // Read only: import sends nothing, and an apply holding an embedded state open is waited for
  // at the apply lock (--lock-timeout), not refused at the open.
  const cp = await openToRead(target, io, networkOf(args, io));
  try {
    const store = storeOf(cp, target.url, args, io);
    const [record, repository] = await Promise.all([store.read(), folderRepository(whole)]);
    const live = withInventory(await readLiveState(cp), record);
    const checked: Checked[] = [];
    for (const address of readable)
      await problems.check(address, async () => {
        const at = placeOf(whole, declared, address);
        const ctx = { args: { ...args, dir: whole }, live, record, repository, valid };
        checked.push(
          at ? checkDeclared(address, at, ctx) : await checkWrite(address, target, args, live),
        );
      });
    problems.refuse();
    const toWrite = checked.filter((c) => 'file' in c);
    // All or nothing on disk too: a write failing part-way leaves every file as it was.
    await writeExported(
      resolve(args.dir),
      toWrite.map((c) => c.file),
      'nothing was imported',
    );
    for (const c of toWrite)
      for (const w of c.warnings) io.stderr.write(`Warning: ${escapeTerminal(w)}\n`);
    const validates =
      toWrite.length === 0 || (await loadRepository(whole, { environment: args.env })).valid;
    // What this run declares counts as declared: importing a queue with its pool names nothing missing.
    const known = { has: (a: string) => declared.has(a) || addresses.includes(a) };
    for (const c of toWrite) {
      const names = referencedBy(live, c.address);
      const words = importedWords(
        args,
        c.address,
        whole,
        target,
        c.file.path,
        names,
        known,
        validates,
      );
      io.stdout.write(`${words}\n`);
    }
    const here = toWrite.length > 0 ? await folderRepository(args.dir) : repository;
    // Only into a folder that plans: one that does not may be no repository of this control plane.
    if (!validates)
      for (const c of toWrite)
        io.stdout.write(
          `Nothing was recorded in the inventory (${store.where}) while the folder does not validate: ${toRecord(c.address, c.forgotten, c.from === here ? undefined : c.from, ' once it validates')}.\n`,
        );
    const records = checked
      .filter((c) => 'at' in c || validates)
      .map((c) => ({ ...c, repository: 'at' in c ? repository : here }));
    if (records.length > 0) {
      const how = recordWrite(target, args, io, lockTimeoutMs, 'poolsync import');
      await recordImported(store, how, records, toWrite.length > 0, io);
    }
  } finally {
    await cp.close();
  }
  return 0;
}

/**
 * The addresses given, each once (docs/plan.md, Import several objects): the arguments, then the
 * lines of `--from FILE` (`-`: stdin; `#` starts a comment), each with its `FILE:line`.
 */
async function givenAddresses(args: Args<'import'>, io: Io): Promise<Map<string, string | null>> {
  const given = new Map<string, string | null>();
  for (const a of args.address ?? []) if (!given.has(a)) given.set(a, null);
  const from = args.from;
  if (from !== undefined) {
    const name = from === '-' ? 'stdin' : from;
    const text =
      from === '-'
        ? await readStdin(io)
        : (
            await readUserFile(from, {
              maxBytes: LIST_BYTES,
              what: '--from file',
              missing: 'name a file of addresses, one a line, or - to read them from stdin',
            })
          ).toString();
    text.split('\n').forEach((line, i) => {
      const a = line.replace(/#.*/, '').trim();
      if (a !== '' && !given.has(a)) given.set(a, `${name}:${i + 1}`);
    });
    if (given.size === 0)
      throw new UserError(
        `${name} names no address to import: write one Kind/name a line (e.g. Cluster/legacy-1; \`#\` starts a comment)`,
      );
  }
  if (given.size === 0)
    throw new UserError(
      'name what to import: one or more addresses (Kind/name, e.g. Cluster/legacy-1), or --from FILE with one a line (- for stdin)',
    );
  return given;
}

/** What `--from -` reads: all of stdin, at most LIST_BYTES. */
async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    if ((size += bytes.length) > LIST_BYTES)
      throw new UserError(
        `--from -: stdin holds more than ${LIST_BYTES} bytes of addresses; import them in parts`,
      );
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString();
}

/** A list of addresses at most: ~20,000 of them. */
const LIST_BYTES = 1024 * 1024;

/** An address import takes, checked before anything is read: its syntax, kind and name (N1). */
function checkImportable(address: string): void {
  checkAddressSyntax('import', address);
  const kind = address.slice(0, address.indexOf('/'));
  if (!IMPORTABLE.includes(kind))
    throw new UserError(
      `import writes ${IMPORTABLE.join(', ')} objects; ${kind} objects are not read back from the control plane one by one: declare it in the repository (see docs/manifests.md)`,
    );
  const name = address.slice(kind.length + 1);
  if (!KEYED.includes(kind) && !isValidName(name))
    throw new UserError(
      `import ${escapeTerminal(address)}: ${escapeTerminal(name)} is not a valid manifest name (N1: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit); an object with such a name cannot be a manifest: rename it on the control plane`,
    );
}

/**
 * What is wrong with the addresses given, all said before anything is written (import is all or
 * nothing); one address's problem is said as it always was, several each on a line naming its address.
 */
class Problems {
  private readonly found: { address: string; err: UserError }[] = [];
  /** `where`: the `FILE:line` of each address a --from file gave. */
  constructor(
    private readonly addresses: readonly string[],
    private readonly where: ReadonlyMap<string, string | null>,
  ) {}

  async check(address: string, step: () => unknown): Promise<void> {
    try {
      await step();
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      this.found.push({ address, err });
    }
  }

  has(address: string): boolean {
    return this.found.some((f) => f.address === address);
  }

  refuse(): void {
    if (this.found.length === 0) return;
    const at = (address: string) => {
      const where = this.where.get(address);
      return where ? `${escapeTerminal(where)}: ` : '';
    };
    if (this.addresses.length === 1) {
      const { address, err } = this.found[0]!;
      throw at(address) ? new UserError(`${at(address)}${err.message}`) : err;
    }
    const them = this.found.length === 1 ? 'it' : 'them';
    const given = this.found.toSorted(
      (a, b) => this.addresses.indexOf(a.address) - this.addresses.indexOf(b.address),
    );
    const lines = given.map(
      ({ address, err }) =>
        at(address) +
        (err.message.includes(address)
          ? err.message
          : `${escapeTerminal(address)}: ${err.message}`),
    );
    throw new UserError(
      `nothing was imported: ${plural(lines.length, 'address', 'addresses')} of the ${this.addresses.length} given cannot be imported:\n${lines.map((l) => `  - ${l}`).join('\n')}\nFix ${them} or leave ${them} out, then run the import again`,
    );
  }
}

/** An address checked: declared already (`at`), or a manifest to write; who recorded it, if any. */
type Checked = { address: string; forgotten: boolean; from?: string } & (
  { at: string } | { file: ExportedFile; warnings: string[] }
);

/**
 * A declared object: refused when managed (as Terraform's import), else (forgotten, or live but
 * never recorded) managed again: back in the inventory, the mark gone; only from a repository
 * that validates (`valid`), as import records nothing into one that does not.
 */
function checkDeclared(
  addr: string,
  at: string,
  ctx: {
    args: Args<'import'>;
    live: LiveState;
    record: InventoryRecord | null;
    repository: string;
    valid: boolean;
  },
): Checked {
  const { args, live, record, repository, valid } = ctx;
  const forgotten = record?.forgotten?.includes(addr) ?? false;
  const was = recordedBy(record, addr);
  if (was === repository && !forgotten)
    throw new UserError(
      `${addr} is already in the repository at ${at}, and poolsync manages it: nothing to import`,
    );
  if (!liveObjects(live).has(addr))
    throw new UserError(
      `${addr} is declared at ${at} but not on the control plane yet: \`poolsync apply\` creates it and manages it from then on`,
    );
  if (!valid)
    throw new UserError(
      `${addr} is declared at ${at}, but ${args.dir} does not validate (\`${commandLine(['poolsync', 'validate', args.dir], { env: args.env })}\` says why): nothing was written or recorded, as a folder poolsync cannot plan may be no repository of this control plane. Fix it, then import ${addr} again`,
    );
  return { address: addr, at, forgotten, from: was ?? undefined };
}

/** An undeclared live object: its manifest, where it goes, refused over a file without --force. */
async function checkWrite(
  addr: string,
  target: EnvTarget,
  args: Args<'import'>,
  live: LiveState,
): Promise<Checked> {
  const written = manifestOf(live, addr);
  const file = inOwnFolder(target, written.file, addr);
  checkExportedPath(file.path);
  const path = join(resolve(args.dir), file.path);
  if (!args.force && (await exists(path)))
    throw new UserError(
      `${path} already exists: move it away, or pass --force to overwrite it with ${addr}`,
    );
  const forgotten = live.forgotten?.includes(addr) ?? false;
  const from = Object.entries(live.inventory_owners ?? {}).find(([, l]) => l.includes(addr))?.[0];
  return { address: addr, file, warnings: written.warnings, forgotten, from };
}

/**
 * The objects imported recorded in the inventory under apply's locks, in one write (as forget: an
 * apply recording the inventory meanwhile would drop them), said in lines. Once manifests are
 * written a failure is a warning, and says what records each: the files stay.
 */
async function recordImported(
  store: InventoryStore,
  how: RecordWrite,
  records: (Checked & { repository: string })[],
  written: boolean,
  io: Io,
): Promise<void> {
  const { underApplyLocks } = await import('../../ops/apply-run.js');
  const undone = records
    .map((r) => `${r.address} was not ${r.forgotten ? 'adopted again' : 'recorded'}`)
    .join(', ');
  let before: InventoryRecord | null;
  try {
    before = await underApplyLocks(
      { ...how, ...(written ? {} : { undone }) },
      async (inventory) => {
        const was = await inventory.read();
        const repositories = new Set(records.map((r) => r.repository));
        for (const repository of repositories) {
          const mine = records.filter((r) => r.repository === repository).map((r) => r.address);
          await adoptIntoInventory(inventory, mine, repository);
        }
        return was;
      },
    );
  } catch (err) {
    if (!written) throw err;
    for (const r of records) {
      const next = toRecord(
        r.address,
        r.forgotten,
        r.from === r.repository ? undefined : r.from,
        '',
      );
      io.stderr.write(
        `Warning: could not record ${r.address} in the inventory (${store.where}): ${(err as Error).message}. ${next[0]!.toUpperCase()}${next.slice(1)}.\n`,
      );
    }
    return;
  }
  for (const r of records) {
    if (!('at' in r)) continue;
    // Taken over from another repository: its prune no longer deletes it (docs/plan.md, Prune scope).
    const from = r.from
      ? ` for repository ${r.repository}, taken from repository ${r.from}, which no longer prunes it`
      : '';
    io.stdout.write(
      `${r.forgotten ? 'Adopted' : 'Recorded'} ${r.address} ${r.forgotten ? 'again ' : ''}in the inventory (${store.where})${from}: poolsync manages it from now on as its manifest at ${r.at} declares it, and with prune: true deletes it once that leaves the repository.\n`,
    );
  }
  const files = records.filter((r) => !('at' in r));
  if (files.length > 0) io.stdout.write(`${recordedWords(store.where, files, before)}\n`);
}

/** What recording the written objects did: those the inventory did not list before for their repository are counted. */
function recordedWords(
  where: string,
  files: (Checked & { repository: string })[],
  before: InventoryRecord | null,
): string {
  const added = files.filter(
    (r) =>
      recordedBy(before, r.address) !== r.repository ||
      (before?.forgotten?.includes(r.address) ?? false),
  );
  if (added.length === 0)
    return `The inventory (${where}) already lists ${files.length === 1 ? 'it' : 'them'}.`;
  const taken = added.filter((r) => r.from);
  const one = added.length === 1;
  const from = one
    ? taken.map(
        (r) =>
          ` for repository ${r.repository}, taken from repository ${r.from}, which no longer prunes it`,
      )
    : taken.length > 0
      ? [
          ` for repository ${added[0]!.repository}, taken from the repositories that no longer prune them: ${taken.map((r) => `${r.address} from ${r.from}`).join(', ')}`,
        ]
      : [];
  return `Recorded ${plural(added.length, 'adopted object')} in the inventory (${where})${from.join('')}: with prune: true, poolsync deletes ${one ? 'it once it leaves' : 'each once it leaves'} the repository.`;
}

/**
 * The manifest `export` writes for this one object, and its warnings about it; a UserError when it
 * is not live or not declarable.
 */
function manifestOf(live: LiveState, addr: string): { file: ExportedFile; warnings: string[] } {
  const kind = addr.slice(0, addr.indexOf('/'));
  const name = addr.slice(addr.indexOf('/') + 1);
  const one: LiveState = {
    ...live,
    pools: live.pools.filter((p) => kind === 'ClusterPool' && p.name === name),
    clusters:
      kind === 'Queue'
        ? live.clusters
        : live.clusters.filter((c) => kind === 'Cluster' && c.name === name),
    queues: live.queues.filter((q) => kind === 'Queue' && q.name === name),
    assignments: live.assignments.filter(
      (a) => kind === 'PoolAssignment' && assignmentKeyString(a) === name,
    ),
    default_queues: live.default_queues?.filter(
      (d) => kind === 'DefaultQueue' && defaultQueueKeyString(d) === name,
    ),
    execution_cluster_labels: live.execution_cluster_labels?.filter(
      (l) => kind === 'ExecutionClusterLabel' && assignmentKeyString(l) === name,
    ),
  };
  if (!liveObjects(live).has(addr)) {
    const all = [...liveObjects(live).keys()].filter((a) => a.startsWith(`${kind}/`));
    const hit = closestAddress(addr, all);
    throw new UserError(
      `${escapeTerminal(addr)} is not on the control plane` +
        (hit !== null ? `: did you mean ${escapeTerminal(hit)}?` : '') +
        (all.length > 0
          ? ` (its ${kind} objects: ${all.slice(0, 8).map(escapeTerminal).join(', ')}${all.length > 8 ? ', …' : ''})`
          : ''),
    );
  }
  if (kind === 'ClusterPool' && name === DEFAULT_POOL)
    throw new UserError(
      `${addr} is the system pool: it exists on every control plane and its contract is set at provisioning (P1); there is nothing to import`,
    );
  const result = exportManifests(one);
  const labels = exportExecutionClusterLabels(one).files;
  const file = [...result.files, ...labels].find((f) => f.address === addr);
  if (!file)
    throw new UserError(
      `${addr} needs no manifest: ${result.warnings.find((w) => w.includes(': left out:')) ?? "it is a system queue (the default queue, or a cluster's co-named queue) at its default settings; its pool and selector follow its owner (Q4, Q5)"}`,
    );
  return { file, warnings: result.warnings };
}

/**
 * What import says it wrote: the promise that the next plan shows no change, only when the folder
 * validates with the manifest; else what the manifest names that the folder lacks (`before`: what
 * it declared), or that it does not validate.
 */
function importedWords(
  args: Args<'import'>,
  address: string,
  /** The folder plans read: DIR, or the config repository DIR is a part of. */
  whole: string,
  target: EnvTarget,
  file: string,
  names: string[],
  before: { has: (address: string) => boolean },
  validates: boolean,
): string {
  const written = `Imported ${address} into ${join(resolve(args.dir), file)}`;
  const plan = `\`${commandLine(['poolsync', 'plan'], { env: args.env })}\``;
  if (validates) return `${written}. Commit it; ${plan} now shows no change for it.`;
  const where = target.env ? `environment ${target.env.name}'s folders` : whole;
  const missing = names.filter((a) => !before.has(a));
  if (missing.length === 0)
    return `${written}, but ${where} does not validate (\`${commandLine(['poolsync', 'validate', whole], { env: args.env })}\` says why): ${plan} refuses the folder until it does.`;
  const them = missing.length === 1 ? 'it' : 'them';
  return `${written}. It names ${missing.join(', ')}, which ${where} does not declare, so ${plan} refuses the folder until ${missing.length === 1 ? 'it is' : 'they are'}: import ${them} as you imported this one (${missing.map((a) => `\`poolsync import ${a}\``).join(', ')}, with the same flags), or declare ${them}.`;
}

type Declared = ReturnType<typeof declaredObjects>;

interface Declarations {
  declared: Declared;
  /** Where the document at a declaration's source names itself (metadata.name), as V1 places a duplicate. */
  nameOf: (source: SourceLocation) => SourceLocation;
  validates: boolean;
  /** The errors of what was not read (poolsync.yaml, a file, its YAML): what it declares is not known. */
  unread: ValidationError[];
}

/**
 * What DIR declares, as environment `env` reads it. An unfinished repository may still take an
 * import, so one that does not validate declares what its documents read name (schema errors
 * included: the planner would see them once fixed).
 */
async function declaredIn(dir: string, env?: string, shared?: FolderRead): Promise<Declarations> {
  const read: Declared = new Map();
  const names = new Map<string, SourceLocation>();
  const key = (s: SourceLocation) => `${s.file}:${s.line}:${s.column}`;
  const loaded = await loadRepository(dir, { environment: env, shared }, (_, analysis) => {
    for (const { manifest: m } of analysis.documents) {
      if (!m?.address) continue;
      read.set(m.address, { source: m.source });
      // Found while the documents are parsed: the file is not read again.
      const at = positionOf(m.root, 'metadata', 'name');
      names.set(key(m.source), {
        file: at.file ?? m.source.file,
        line: at.line,
        column: at.column,
      });
    }
  });
  const nameOf = (s: SourceLocation) => names.get(key(s)) ?? s;
  if (loaded.valid)
    return { declared: declaredObjects(loaded.desired), nameOf, validates: true, unread: [] };
  const unread = loaded.errors.filter(
    (e) => ['IO', 'YAML', 'LIMIT'].includes(e.code) || e.file === REPO_CONFIG_FILE,
  );
  return { declared: read, nameOf, validates: false, unread };
}

/** Where DECLARED has `addr`, as `file:line:column`; null when not. */
function placeOf(dir: string, declared: Declared, addr: string): string | null {
  const s = declared.get(addr)?.source;
  return s ? `${join(dir, s.file)}:${s.line}:${s.column}` : null;
}

/** Where DIR (as environment `env` reads it) declares `addr`, as `file:line:column`; null when not. */
async function declaredAt(dir: string, addr: string, env?: string): Promise<string | null> {
  return placeOf(dir, (await declaredIn(dir, env)).declared, addr);
}

/**
 * Import into a repository part of which was not read is refused, as Terraform's import refuses
 * an invalid configuration: the object may be declared there, and written again it would be
 * declared twice (V1).
 */
function refuseUnread(dir: string, addr: string, unread: ValidationError[], env?: string): void {
  if (unread.length === 0) return;
  const e = relocated(unread[0]!, (f) => join(dir, f));
  const more = unread.length > 1 ? `, and ${plural(unread.length - 1, 'more')}` : '';
  throw new UserError(
    `nothing was imported: ${dir} was not read whole (${e.file}:${e.line}:${e.column}: ${e.message}${more}), so whether it declares ${addr} already is not known, and written again it would be declared twice. Fix that first (\`${commandLine(['poolsync', 'validate', dir], { env })}\` lists every error), then import ${addr} again`,
  );
}

/**
 * The objects the manifest of `addr` names, which the folders a plan reads must declare too (V2,
 * V3, V8, V12): its pool, its clusters, its queue; a co-named queue names its cluster.
 */
function referencedBy(live: LiveState, addr: string): string[] {
  const o = liveObjects(live).get(addr) as Partial<LiveQueue & DefaultQueueSetting>;
  const conamed = (q: string) =>
    live.queues.some((l) => l.name === q && l.cluster_managed) &&
    live.clusters.some((c) => c.name === q);
  const queue = (q: string) =>
    conamed(q) ? [`Cluster/${q}`] : q === DEFAULT_QUEUE ? [] : [`Queue/${q}`];
  if (addr.startsWith('DefaultQueue/')) return queue(o.queue!);
  if (addr.startsWith('Queue/') && (o.name === DEFAULT_QUEUE || conamed(o.name!)))
    return queue(o.name!);
  const pool = o.pool !== undefined && o.pool !== DEFAULT_POOL ? [`ClusterPool/${o.pool}`] : [];
  const clusters = (o.clusters ?? []).filter((c) => c !== WILDCARD).map((c) => `Cluster/${c}`);
  return [...pool, ...clusters];
}

const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

/** Refuses a path that could leave `--dir` or carry control characters. */
export function checkExportedPath(path: string): void {
  if (relativeParts(path) === null || !SAFE_PATH.test(path))
    throw new UserError(
      `refusing to write ${escapeTerminal(JSON.stringify(path))}: not a plain file path inside --dir (a live object's name is not a valid manifest name)`,
    );
}

/** Writes the files under `out`, all or none (writeRepoFiles); `none` says what a failure left. */
async function writeExported(
  out: string,
  files: readonly ExportedFile[],
  none: string,
): Promise<void> {
  for (const f of files) checkExportedPath(f.path);
  try {
    await writeRepoFiles(out, files);
  } catch (err) {
    throw new UserError(`${(err as Error).message} (under ${out}); ${none}`);
  }
}

/** The inventory of the control plane, where `--state-dir` and `--inventory` say. */
function storeOf(
  cp: ControlPlane,
  url: string,
  args: { 'state-dir': string; inventory?: string } & Parameters<typeof networkOf>[0],
  io: Io,
): InventoryStore {
  const shared = sharedInventoryOf(args, io.env);
  const { limits } = networkOf(args, io);
  return inventoryStore(cp, url, { stateDir: args['state-dir'], shared, env: io.env, limits });
}

/**
 * What records ADDRESS when import could not: the first apply of its manifest adopts an object no
 * repository applied, but never takes one over from another repository (REPOSITORY_CONFLICT) nor
 * one forgotten (an apply keeps that mark), so those need import run again (docs/plan.md, Prune scope).
 */
function toRecord(
  address: string,
  forgotten: boolean,
  from: string | undefined,
  /** When the folder may be applied: ` once it validates`, or '' now. */
  when: string,
): string {
  const again = `run \`poolsync import ${address}\` again${when}`;
  if (forgotten) return `it stays forgotten (an apply keeps that mark): ${again}`;
  if (from)
    return `repository ${from} applied it, and an apply never takes it over (it leaves it as ${from} applied it: REPOSITORY_CONFLICT), so ${again} to hand it over`;
  return `the first apply of its manifest records it${when}`;
}

/** `--lock-timeout`, refused before anything is read as apply refuses it. */
function lockTimeoutOf(args: { 'lock-timeout'?: string }): number {
  return durationFlag('lock-timeout', args['lock-timeout'], '0s, 30s or 5m');
}

/**
 * How `state forget` and `import` write the inventory: under the locks an apply against the same
 * control plane takes, into the inventory it records (src/ops/apply-run.ts underApplyLocks), with
 * the control plane, credentials, `--state-dir`, `--lock` and `--inventory` as apply takes them;
 * the locks waited for as apply waits.
 */
function recordWrite(
  target: EnvTarget,
  args: {
    'state-dir': string;
    inventory?: string;
    lock?: string;
    'max-retries'?: number;
  } & Parameters<typeof networkOf>[0],
  io: Io,
  lockTimeoutMs: number,
  who: string,
): RecordWrite {
  const lease = leaseOf(args, io.env);
  return {
    target,
    opening: { vars: io.env },
    stateDir: args['state-dir'],
    sharedInventory: sharedInventoryOf(args, io.env, lease),
    lease,
    lockTimeoutMs,
    maxRetries: args['max-retries'] ?? 0,
    limits: networkOf(args, io).limits,
    who,
    stderr: (text: string) => void io.stderr.write(text),
  };
}

const REPO_CONFIG_TEMPLATE = `# poolsync configuration of this config repository (docs/manifests.md).
# Every other YAML file under this folder is a manifest: ClusterPool, Cluster, Queue,
# PoolAssignment, DefaultQueue (examples/config-repo has one of each).
# Its schema: schemas/repo-config.schema.json of the poolsync package.
apiVersion: poolsync/v1
kind: RepoConfig

# false: live objects the repository does not declare are listed as unmanaged, never deleted.
# true: those poolsync applied or imported (its inventory) are deleted once undeclared, and so
# is every undeclared object of a kind manage: lists; any other stays unmanaged.
prune: false

# Kinds this repository owns whole, hand-made objects included (docs/plan.md, Prune by inventory).
# manage: [ClusterPool, Cluster, Queue, PoolAssignment]

# Files to skip (globs relative to this folder): drafts, CI files, anything not a manifest.
ignore:
  - drafts/**
  - .github/**
  - .gitlab-ci.yml
`;

export async function init(args: Args<'init'>, io: Io): Promise<number> {
  const dir = resolve(args.dir);
  if (await exists(join(dir, 'poolsync.yaml')))
    throw new UserError(
      `${join(dir, 'poolsync.yaml')} already exists: this is a config repository already (\`poolsync validate ${shellQuote(args.dir)}\` checks it` +
        (args['from-live']
          ? `; \`poolsync export --dir ${shellQuote(args.dir)}\` writes what the control plane holds into it)`
          : ')'),
    );
  try {
    await refuseCodeProject(dir);
  } catch {
    throw new UserError(
      `${dir} is a code project's root (package.json, go.mod, …): start the config repository in a folder of its own, e.g. \`poolsync init ${shellQuote(join(args.dir, 'pools'))}\``,
    );
  }
  await refuseInsideRepository(dir, args.dir);
  // The control plane read (and the files checked) first: a failure leaves no half-made repository.
  const exportArgs = { ...args, dir, force: false, 'config-dir': '.' };
  const live = args['from-live'] ? await readExport(exportArgs, io) : null;
  if (live) await clashes(dir, live.files);
  await makeUserFolder(dir);
  await writeExported(
    dir,
    [{ path: 'poolsync.yaml', content: REPO_CONFIG_TEMPLATE }],
    'nothing was written',
  );
  io.stdout.write(`Wrote ${join(dir, 'poolsync.yaml')}\n`);
  if (await ignoreStateFolder(dir))
    io.stdout.write(
      `Added .poolsync/ to ${join(dir, '.gitignore')}: poolsync's state, never part of a commit.\n`,
    );
  if (live) await writeExport(exportArgs, live, io);
  io.stdout.write(
    `Next: \`poolsync validate ${shellQuote(args.dir)}\`, then \`${nextPlan(args.dir, args)}\` (docs/getting-started.md).\n`,
  );
  return 0;
}

/**
 * DIR inside a config repository that reads it: its poolsync.yaml would be read there as a
 * manifest, an error in every validate and plan of that repository (manifests.md).
 */
async function refuseInsideRepository(dir: string, shown: string): Promise<void> {
  let folder = dirname(dir);
  while (!(await exists(join(folder, 'poolsync.yaml')))) {
    if (folder === dirname(folder)) return;
    folder = dirname(folder);
  }
  const { config } = await readRepoConfig(folder);
  const path = relative(folder, dir).split(sep).join('/');
  const folders = config.environments?.flatMap((e) => e.folders);
  if (!readAsManifest(`${path}/poolsync.yaml`, config.ignore, folders)) return;
  const above = isAbsolute(shown) ? folder : relative(process.cwd(), folder) || '.';
  const file = join(above, 'poolsync.yaml');
  throw new UserError(
    `${file} exists: ${shown} is inside the config repository ${above}, which would read ${join(shown, 'poolsync.yaml')} as a manifest (an error). ` +
      `Put ${shown}'s manifests in that repository as they are (no init needed), or keep ${shown} a repository of its own: add \`${path}/**\` to ignore: in ${file} first (docs/manifests.md).`,
  );
}

/** `.poolsync/` in DIR's .gitignore (made or appended to), so `git add .` never commits the state. */
async function ignoreStateFolder(dir: string): Promise<boolean> {
  const path = join(dir, '.gitignore');
  const text = await readFile(path, 'utf8').catch(() => '');
  if (/^\/?\.poolsync(\/|\/\*\*)?[ \t]*$/m.test(text)) return false;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFile(
    path,
    `${text}${sep}# poolsync's state: the embedded control plane, locks, records\n.poolsync/\n`,
  );
  return true;
}

interface Read {
  target: EnvTarget;
  cp: ControlPlane;
  store: InventoryStore;
  record: InventoryRecord | null;
  live: LiveState;
}

export async function list(args: StateArgs, io: Io): Promise<number> {
  const { dir, patterns } = await listArguments(args);
  const matches = addressMatcher(patterns);
  return withState({ ...args, dir }, io, async ({ target, cp, store, record, live }) => {
    // The name this folder's plans record under, as import names it (docs/plan.md, Prune scope).
    const repository = await folderRepository((await containingRepository(dir)) ?? dir);
    const managed = managedObjects(live);
    const objects = managed.objects.filter((o) => matches(o.address));
    const forgotten = managed.forgotten.filter(matches);
    const words = liveStatusWords(live);
    if (args.output === 'json') {
      const inventory = record && {
        where: store.where,
        updated_at: record.updated_at,
        commit: record.commit,
      };
      const json = {
        environment: target.name,
        control_plane: controlPlaneIdentity(target.url, cp),
        inventory,
        objects: objects.map((o) => ({
          address: o.address,
          status: o.live && words(o),
          ...(o.protection ? { protection: o.protection } : {}),
          ...(o.repository !== undefined ? { repository: o.repository } : {}),
        })),
        forgotten,
        repository,
        ...(managed.repositories ? { repositories: managed.repositories } : {}),
      };
      io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    io.stdout.write(header(target, cp));
    if (!managed.recorded) {
      // Run in a part of a config repository, the state read is that folder's (config-folder.ts).
      if (target.url === DEFAULT_CONTROL_PLANE_URL)
        io.stderr.write((await stateAboveNote(dir)) ?? '');
      io.stdout.write(
        `No inventory yet (${store.where}): poolsync has applied nothing here. \`poolsync apply\` records what it applies; \`poolsync import ADDRESS\` adopts what exists.\n` +
          // docs/plan.md#prune-by-inventory: Union and flyteadmin keep it where the apply said.
          (store.local
            ? 'This is the inventory of this machine: applies that passed --lock or --inventory k8s:NAMESPACE/NAME (CI, the daemon) keep theirs in that ConfigMap; pass the same to read it.\n'
            : ''),
      );
      return 0;
    }
    io.stdout.write(
      `Inventory: ${store.where} (updated ${record!.updated_at}${record!.commit ? `, commit ${record!.commit.slice(0, 12)}` : ''})\n` +
        `Repository: ${escapeTerminal(repository)} (this folder's; an object another repository applied says which)\n\n`,
    );
    // Aligned to the longest address but the very long (a workflow's label), which run past.
    const width = Math.max(0, ...objects.map((o) => o.address.length).filter((n) => n <= 60));
    for (const o of objects)
      io.stdout.write(
        `${escapeTerminal(o.address.padEnd(width))}  ${escapeTerminal(words(o) + protectionWords(o.protection) + appliedByWords(o.repository, repository))}\n`,
      );
    const missing = objects.filter((o) => o.live === null).length;
    const counted =
      patterns.length === 0
        ? plural(managed.count, 'managed object')
        : `${objects.length} of ${plural(managed.count, 'managed object')} ${objects.length === 1 ? 'matches' : 'match'} ${patterns.map(escapeTerminal).join(' ')}`;
    io.stdout.write(
      `\n${counted}${missing > 0 ? ` (${missing} missing from the control plane: the next apply creates ${missing === 1 ? 'it' : 'them'} again if declared)` : ''}.\n`,
    );
    const others = (managed.repositories ?? []).filter((r) => r.repository !== repository);
    if (others.length > 0)
      io.stdout.write(
        `Applied by this repository: ${managed.count - others.reduce((n, r) => n + r.count, 0)}; ${others
          .map((r) =>
            r.repository === null
              ? `recorded without a repository: ${r.count}`
              : `by ${escapeTerminal(r.repository)}: ${r.count}`,
          )
          .join('; ')} (docs/plan.md, Prune scope).\n`,
      );
    if (forgotten.length > 0)
      io.stdout.write(
        `Forgotten (never pruned; \`poolsync state show ADDRESS\` says how to manage one again): ${forgotten.map(escapeTerminal).join(', ')}\n`,
      );
    return 0;
  });
}

/** The end of a `state list` line: who applied it, when not `here` (its line says nothing then). */
function appliedByWords(repository: string | null | undefined, here: string): string {
  if (repository === undefined || repository === here) return '';
  return repository === null
    ? '; recorded without its repository (an earlier poolsync): no repository prunes it'
    : `; applied by repository ${repository}: only it changes or prunes it`;
}

/** As Terraform's `state list [ADDRESS...]`: a kind-led or `*` word is a filter, also as DIR. */
async function listArguments(args: StateArgs): Promise<{ dir: string; patterns: string[] }> {
  const patterns = (args.filter ?? []).map(String);
  const first = args.dir;
  const isKind = (a: string) => (OBJECT_KINDS as string[]).includes(a.split('/', 1)[0]!);
  const isPattern = (a: string) => a.includes('*') || isKind(a);
  // A pattern led by a word that is no kind matched nothing, said as `0 of N match`.
  const misnamed = [first ?? '', ...patterns].find(
    (a) => a.includes('*') && /^[^/*]+\//.test(a) && !isKind(a),
  );
  if (misnamed !== undefined)
    throw new UserError(
      `state list: ${escapeTerminal(JSON.stringify(misnamed))} names no kind${kindTypoHint(misnamed)}: Kind is one of ${OBJECT_KINDS.join(', ')}`,
    );
  if (first !== undefined && isPattern(first)) return { dir: '.', patterns: [first, ...patterns] };
  // No folder, and a kind misspelt (`Qeue`, `queue/batch`): the filter meant, not a missing folder.
  const meant = first === undefined || (await exists(first)) ? '' : kindMeant(first);
  if (meant !== '')
    throw new UserError(
      `state list: ${escapeTerminal(JSON.stringify(first))} is neither a folder nor a kind${meant}: a filter is Kind, Kind/name or a pattern with *, with Kind one of ${OBJECT_KINDS.join(', ')}`,
    );
  const bad = patterns.find((p) => !isPattern(p));
  if (bad !== undefined)
    throw new UserError(
      `state list: ${escapeTerminal(JSON.stringify(bad))} is not an address filter${kindMeant(bad)}: write Kind (every object of it), Kind/name, or a pattern with * (e.g. Queue/team-*), with Kind one of ${OBJECT_KINDS.join(', ')}`,
    );
  return { dir: first ?? '.', patterns };
}

/** The kind a filter misspells (`Qeue`, `Clustr/x`), as ` (did you mean …)`, or ''. */
function kindMeant(filter: string): string {
  return filter.includes('/') ? kindTypoHint(filter) : didYouMean(filter, OBJECT_KINDS);
}

/** Whether an address matches one of the patterns (none: every address); `*` matches any run of characters. */
function addressMatcher(patterns: readonly string[]): (address: string) => boolean {
  if (patterns.length === 0) return () => true;
  const res = patterns.map((p) => {
    const glob = p.includes('/') || p.includes('*') ? p : `${p}/*`;
    const body = glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${body}$`);
  });
  return (address) => res.some((re) => re.test(address));
}

export async function show(args: StateArgs, io: Io): Promise<number> {
  const address = checkedAddress('state show', args.address);
  return withState(args, io, async ({ target, cp, live }) => {
    const managed = managedObjects(live);
    const object = managed.objects.find((o) => o.address === address);
    if (!object) throw await notManaged(args, address, managed.forgotten, live);
    const words = liveStatusWords(live)(object);
    const last = await lastChangeOf(args.daemon, io, address, target);
    if (args.output === 'json') {
      const status = object.live && words;
      const lastChange = last === undefined ? {} : { lastChange: last };
      io.stdout.write(
        `${JSON.stringify({ environment: target.name, address, status, protection: object.protection ?? [], live: object.live, ...lastChange }, null, 2)}\n`,
      );
      return 0;
    }
    io.stdout.write(header(target, cp));
    io.stdout.write(
      `${escapeTerminal(address)}: ${escapeTerminal(words + protectionWords(object.protection))}\n`,
    );
    if (last !== undefined) io.stdout.write(`${escapeTerminal(lastChangeWords(last))}\n`);
    if (object.live) {
      const fields = Object.entries(object.live);
      const width = Math.max(...fields.map(([k]) => k.length));
      for (const [k, v] of fields)
        io.stdout.write(`  ${k.padEnd(width)} = ${escapeTerminal(JSON.stringify(v))}\n`);
    }
    return 0;
  });
}

export async function forget(args: StateArgs, io: Io): Promise<number> {
  const address = checkedAddress('state forget', args.address);
  const lockTimeoutMs = lockTimeoutOf(args);
  return withState(args, io, async ({ target, store, record, live }) => {
    if (record?.forgotten?.includes(address)) {
      io.stdout.write(`${address} is already forgotten: poolsync leaves it alone.\n`);
      return 0;
    }
    const recorded = recordedBy(record, address) !== undefined;
    if (!recorded && !liveObjects(live).has(address))
      throw new UserError(
        `${address} is neither in the inventory (${store.where}) nor on the control plane: nothing to forget (\`poolsync state list\` lists what is managed)`,
      );
    // Outside the inventory only manage: can prune it, and forgetting is what keeps that away.
    const kind = address.slice(0, address.indexOf('/')) as ObjectKind;
    const claimed = (await readRepoConfig(args.dir)).config.manage?.includes(kind) ?? false;
    if (!recorded && !claimed)
      throw new UserError(
        `${address} is not in the inventory (${store.where}): poolsync never applied nor adopted it, and poolsync.yaml manage: does not claim ${kind}, so no prune deletes it: there is nothing to forget`,
      );
    // Under apply's locks: an apply recording the inventory meanwhile would undo this. Loaded
    // here: it brings the planner, which export, import, init and the other state commands skip.
    const { underApplyLocks } = await import('../../ops/apply-run.js');
    const how = recordWrite(target, args, io, lockTimeoutMs, 'poolsync state forget');
    await underApplyLocks({ ...how, undone: `${address} was not forgotten` }, (inventory) =>
      forgetInInventory(inventory, address),
    );
    io.stdout.write(
      `Forgot ${address}: it left the inventory (${store.where}), and no later prune deletes it. Nothing was sent to the control plane about it.\n`,
    );
    if ((await declaredAt(args.dir, address, args.env)) !== null)
      io.stdout.write(
        `${address} is still declared in ${args.dir}: the next apply keeps updating it as declared (never deleting it); remove its manifest to leave it entirely alone.\n`,
      );
    return 0;
  });
}

/**
 * Which kept run of the daemon named (docs/daemon.md#rollback) last changed `address`; undefined
 * when none is named, or it cannot answer: that costs the line (said on stderr), not the command.
 */
async function lastChangeOf(
  daemon: string | undefined,
  io: Io,
  address: string,
  target: EnvTarget,
) {
  if (daemon === undefined && io.env.POOLSYNC_DAEMON_URL === undefined) return undefined;
  const { lastChange } = await import('./daemon-client.js');
  return lastChange(daemon, io.env, address, target.name).catch((err: unknown) => {
    io.stderr.write(
      `${escapeTerminal((err as Error).message)}: not saying which run last changed ${address}\n`,
    );
    return undefined;
  });
}

function checkedAddress(command: string, address: string | undefined): string {
  if (address === undefined)
    throw new UserError(`${command} needs an address, e.g. Queue/training`);
  checkAddressSyntax(command, address);
  return address;
}

/** `fn` on the control plane `plan` would use (read only), its inventory and live state read. */
async function withState(
  args: StateArgs,
  io: Io,
  fn: (read: Read) => Promise<number>,
): Promise<number> {
  await requireFolder(args.dir, 'state list');
  const target = await oneTarget(args.dir, args, 'state', io.env);
  const network = networkOf(args, io);
  const cp = await openToRead(target, io, network);
  try {
    const shared = sharedInventoryOf(args, io.env);
    const stateDir = args['state-dir'];
    const { limits } = network;
    const store = inventoryStore(cp, target.url, { stateDir, shared, env: io.env, limits });
    const [live, record] = await Promise.all([readLiveState(cp), store.read()]);
    return await fn({ target, cp, store, record, live: withInventory(live, record) });
  } finally {
    await cp.close();
  }
}

function header({ name, url }: EnvTarget, cp: ControlPlane): string {
  const id = controlPlaneIdentity(url, cp);
  return `${name !== null ? `Environment: ${name}\n` : ''}Control plane: ${escapeTerminal(controlPlaneName(id))}\n`;
}

async function notManaged(
  args: StateArgs,
  address: string,
  forgotten: readonly string[],
  live: LiveState,
): Promise<UserError> {
  if (forgotten.includes(address))
    return new UserError(
      `${address} was forgotten (\`poolsync state forget\`): poolsync does not manage it; ${await adoption(args, live, address, ' again')}`,
    );
  return new UserError(
    liveObjects(live).has(address)
      ? `${address} is on the control plane, but poolsync does not manage it (it is not in the inventory): ${await adoption(args, live, address)}`
      : `${address} is not managed by poolsync and not on the control plane (\`poolsync state list\` lists what is managed)`,
  );
}

/**
 * The import that brings `address` under management (one declared in DIR, or one import can write),
 * else why import has nothing to take: advice only of a command that works.
 */
async function adoption(args: StateArgs, live: LiveState, address: string, again = '') {
  const flags = { dir: args.dir === '.' ? undefined : args.dir, env: args.env };
  const adopts = `\`${commandLine(['poolsync', 'import', address], flags)}\` adopts it${again}`;
  if ((await declaredAt(args.dir, address, args.env)) !== null) return adopts;
  try {
    manifestOf(live, address);
    return adopts;
  } catch (err) {
    if (err instanceof UserError) return err.message;
    throw err;
  }
}
