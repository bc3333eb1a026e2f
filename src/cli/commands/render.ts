/**
 * `poolsync render`: a generated configuration file from the manifests (docs/flyte-oss.md,
 * docs/union-self-managed.md), to --out, else where poolsync.yaml `render` says, else stdout;
 * --check (CI) writes nothing; --base's volume lists are kept (Helm replaces lists).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { makeUserFolder, readUserFile, writeRepoFile, writeWords } from '../../util/safe-file.js';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { loadRepository } from '../../manifests/index.js';
import { formatValidationText } from '../../manifests/report.js';
import { cleanCommit } from '../../ops/plan-run.js';
import {
  RENDERERS,
  RenderInputError,
  compareTarget,
  readBaseValues,
  readTarget,
  renderCommand,
} from '../../render/values.js';
import {
  GENERATED_MARK,
  NOT_GENERATED,
  credentialsSecretMessage,
  renderTargetProblem,
} from '../../manifests/config.js';
import { CHART_CREDENTIALS_SECRET } from '../../manifests/rules.js';
import { UserError } from '../../util/user-error.js';
import { requireFolder } from '../config-folder.js';
import type { Args } from '../define.js';
import type { Io } from '../io.js';
import type { RenderConfig, RepoConfig } from '../../model/desired.js';
import { readAsManifest } from '../../manifests/walk.js';

export async function render(args: Args<'render'>, io: Io): Promise<number> {
  await requireFolder(args.dir);
  const commit = await cleanCommit(args.dir);
  const loaded = await loadRepository(args.dir, { commit, environment: args.env });
  if (!loaded.valid) {
    io.stdout.write(formatValidationText(loaded.errors, { baseDir: args.dir }));
    return 1;
  }
  const configured: RenderConfig['flyte-core-values'] = loaded.desired.config.render?.[args.what];
  const secret = args['credentials-secret'] ?? configured?.credentialsSecret;
  if (secret !== undefined && secret !== CHART_CREDENTIALS_SECRET)
    throw new UserError(credentialsSecretMessage(secret));
  if (args.base !== undefined && args.what !== 'flyte-core-values')
    throw new UserError('--base is for flyte-core-values (the operator’s own Helm values)');
  const root = resolve(args.dir);
  let content: string;
  try {
    const base =
      args.base !== undefined
        ? await readBaseValues({ file: resolve(args.base), path: args.base })
        : configured?.base
          ? await readBaseValues({ root, path: configured.base })
          : undefined;
    content = RENDERERS[args.what](loaded.desired, { commit, credentialsSecret: secret, base });
  } catch (err) {
    if (err instanceof RenderInputError) throw new UserError(err.message);
    throw err;
  }
  // --out names a file of the user's choosing; the configured target (`inRepo`) is a file of
  // the repository, read and written as one (never through a link, never outside the folder).
  // `--out -` is stdout, as for most tools (run.ts keeps yargs from reading `-` as an argument).
  const toStdout = args.stdout || args.out === '-';
  const inRepo = toStdout || args.out !== undefined ? undefined : configured?.path;
  const out = toStdout
    ? null
    : args.out !== undefined
      ? resolve(args.out)
      : configured
        ? join(root, configured.path)
        : null;
  const current = (file: string): Promise<string | null> =>
    inRepo !== undefined
      ? readTarget(root, inRepo).catch((err: Error) => {
          throw new UserError(err.message);
        })
      : readUserFile(file, { maxBytes: 64 * 1024 * 1024, what: '--out' }).then(
          (b) => b.toString('utf8'),
          () => null,
        );
  if (args.check) {
    if (out === null)
      throw new UserError('--check needs a file: pass --out FILE or set render in poolsync.yaml');
    const cmp = compareTarget({ kind: args.what, path: out, content }, await current(out));
    io.stdout.write(
      cmp.status === 'same'
        ? `${out} is up to date\n`
        : `${out} ${cmp.status === 'missing' ? 'does not exist' : 'differs from the manifests'}; run \`${renderCommand(args.what, args.dir, args)}\`\n${cmp.diff}`,
    );
    return cmp.status === 'same' ? 0 : 1;
  }
  if (out === null) {
    io.stdout.write(content);
    return 0;
  }
  if (inRepo !== undefined) {
    // Written only when it changes, and never over edits nobody committed.
    if ((await current(out)) === content) {
      io.stderr.write(`${out} is up to date\n`);
      return 0;
    }
    if (await hasUncommittedEdits(out, io.env))
      throw new UserError(
        `${out} has uncommitted edits: commit or discard them first (\`git diff -- ${inRepo}\`), or write elsewhere with --out FILE or --out -`,
      );
    await writeRepoFile(root, inRepo, content).catch((err: Error) => {
      throw new UserError(err.message);
    });
  } else {
    await refuseOutPath(args.out ?? out, out, root, loaded.desired.config, args.what, current);
    await makeUserFolder(dirname(out));
    await writeFile(out, content).catch((err: unknown) => {
      throw new UserError(`cannot write ${out}: ${writeWords(err)}`);
    });
  }
  io.stderr.write(`Wrote ${out}\n`);
  return 0;
}

/**
 * An --out that is not a file poolsync generated (or none yet) is refused, as a configured target
 * is (docs/flyte-oss.md, "Where the file goes"): overwritten, poolsync.yaml or a manifest would
 * break the folder and any other file would be lost. So is one the next load would read as a
 * manifest (a YAML file in the config folder, not ignored and not the configured target).
 */
async function refuseOutPath(
  given: string,
  out: string,
  root: string,
  config: RepoConfig,
  what: string,
  current: (file: string) => Promise<string | null>,
): Promise<void> {
  const path = relative(root, out).split(sep).join('/');
  if (path === '..' || path.startsWith('../') || isAbsolute(path)) {
    const existing = await current(out);
    if (existing === null || existing === '' || existing.startsWith(GENERATED_MARK)) return;
    throw new UserError(`--out ${given} ${NOT_GENERATED}`);
  }
  if (path === '') throw new UserError(`--out ${given} is the config folder itself: name a file`);
  const problem = await renderTargetProblem(root, path);
  if (problem !== null) throw new UserError(`--out ${given} ${problem}`);
  const folders = config.environments?.flatMap((e) => e.folders);
  if (!readAsManifest(path, config.ignore, folders)) return;
  throw new UserError(
    `--out ${path} is in the config folder ${root}, where every YAML file is read as a manifest: the next validate would fail on it. ` +
      `Name it in poolsync.yaml (render: {${what}: {path: ${path}}}: poolsync then writes it there and skips it), add it to ignore:, or write it outside the folder`,
  );
}

/** Tracked with staged or unstaged changes; untracked (a new render) or no git: false. */
function hasUncommittedEdits(file: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((done) => {
    execFile(
      'git',
      ['-c', 'core.fsmonitor=false', 'status', '--porcelain', '--', basename(file)],
      { cwd: dirname(file), env: { ...env, GIT_OPTIONAL_LOCKS: '0' } },
      (err, stdout) =>
        done(err === null && stdout.split('\n').some((l) => l !== '' && !l.startsWith('??'))),
    );
  });
}
