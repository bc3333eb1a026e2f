/**
 * `poolsync render flyte-core-values|union-cluster-pools [DIR] [--out FILE | --stdout] [--check]
 * [--base FILE]`: writes
 * a generated configuration file from the manifests (docs/flyte-oss.md,
 * docs/union-self-managed.md). Without --out it writes where poolsync.yaml `render` says, or to
 * stdout when it says nothing; --stdout forces stdout. --check writes nothing and exits 1 when
 * the file in the folder differs from what would be rendered (for CI). --base names the
 * operator's own flyte-core values, whose volume lists the rendered ones keep (Helm replaces
 * lists; docs/flyte-oss.md).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { readUserFile, writeRepoFile } from '../../util/safe-file.js';
import { basename, dirname, join, resolve } from 'node:path';
import { formatValidationText, loadRepository } from '../../manifests/index.js';
import { cleanCommit } from '../../ops/plan-run.js';
import {
  RenderInputError,
  compareTarget,
  readBaseValues,
  readTarget,
  renderKind,
  type RenderKind,
} from '../../render/values/targets.js';
import { credentialsSecretMessage } from '../../manifests/render-config.js';
import { CHART_CREDENTIALS_SECRET } from '../../manifests/rules-multicluster.js';
import { UserError } from '../../util/user-error.js';
import { requireFolder } from '../options.js';
import type { Io } from '../io.js';
import type { DesiredState } from '../../model/desired.js';

export interface RenderArgs {
  what: RenderKind;
  dir: string;
  env?: string;
  out?: string;
  stdout: boolean;
  check: boolean;
  'credentials-secret'?: string;
  base?: string;
}

/** What poolsync.yaml `render` says of the file asked for. */
interface Configured {
  path: string;
  credentialsSecret?: string;
  base?: string;
}

export async function render(args: RenderArgs, io: Io): Promise<number> {
  await requireFolder(args.dir);
  const commit = await cleanCommit(args.dir);
  const loaded = await loadRepository(args.dir, { commit, environment: args.env });
  if (!loaded.valid) {
    io.stdout.write(formatValidationText(loaded.errors, { baseDir: args.dir }));
    return 1;
  }
  const desired = loaded.desired;
  const configured = desired.config.render?.[args.what] as Configured | undefined;
  const secret = args['credentials-secret'] ?? configured?.credentialsSecret;
  if (secret !== undefined && secret !== CHART_CREDENTIALS_SECRET)
    throw new UserError(credentialsSecretMessage(secret));
  if (args.base !== undefined && args.what !== 'flyte-core-values')
    throw new UserError('--base is for flyte-core-values (the operator’s own Helm values)');
  const content = await renderContent(args, desired, commit, configured, secret);
  const target = targetOf(args, configured);
  if (args.check) return checkRendered(args, target, content, io);
  if (target.out === null) io.stdout.write(content);
  else await writeRendered(args, target, target.out, content, io);
  return 0;
}

async function renderContent(
  args: RenderArgs,
  desired: DesiredState,
  commit: string | null,
  configured: Configured | undefined,
  secret: string | undefined,
): Promise<string> {
  try {
    const base =
      args.base !== undefined
        ? await readBaseValues({ file: resolve(args.base), path: args.base })
        : configured?.base
          ? await readBaseValues({ root: resolve(args.dir), path: configured.base })
          : undefined;
    return renderKind(args.what, desired, commit, { credentialsSecret: secret, base });
  } catch (err) {
    if (err instanceof RenderInputError) throw new UserError(err.message);
    throw err;
  }
}

/** Where the rendered file goes: null for stdout; `inRepo` for the configured target. */
interface Target {
  out: string | null;
  inRepo: boolean;
  configured: Configured | undefined;
  readCurrent: (file: string) => Promise<string | null>;
}

function targetOf(args: RenderArgs, configured: Configured | undefined): Target {
  // --out names a file of the user's choosing; the configured target is a file of the
  // repository, read and written as one (never through a link, never outside the folder).
  // `--out -` is stdout, as for most tools (run.ts keeps yargs from reading `-` as an argument).
  const toStdout = args.stdout || args.out === '-';
  const inRepo = !toStdout && args.out === undefined && configured !== undefined;
  const out = toStdout
    ? null
    : args.out !== undefined
      ? resolve(args.out)
      : configured
        ? join(resolve(args.dir), configured.path)
        : null;
  const readCurrent = (file: string): Promise<string | null> =>
    inRepo
      ? readTarget(resolve(args.dir), configured!.path).catch((err: Error) => {
          throw new UserError(err.message);
        })
      : readUserFile(file, { maxBytes: 64 * 1024 * 1024, what: '--out' }).then(
          (b) => b.toString('utf8'),
          () => null,
        );
  return { out, inRepo, configured, readCurrent };
}

/** --check: writes nothing; exit 1 when the file differs from what would be rendered. */
async function checkRendered(
  args: RenderArgs,
  target: Target,
  content: string,
  io: Io,
): Promise<number> {
  const out = target.out;
  if (out === null)
    throw new UserError('--check needs a file: pass --out FILE or set render in poolsync.yaml');
  const current = await target.readCurrent(out);
  const cmp = compareTarget({ kind: args.what, path: out, content }, current);
  if (cmp.status === 'same') {
    io.stdout.write(`${out} is up to date\n`);
    return 0;
  }
  io.stdout.write(
    `${out} ${cmp.status === 'missing' ? 'does not exist' : 'differs from the manifests'}; run \`poolsync render ${args.what}\`\n${cmp.diff}`,
  );
  return 1;
}

async function writeRendered(
  args: RenderArgs,
  target: Target,
  out: string,
  content: string,
  io: Io,
): Promise<void> {
  if (target.inRepo) {
    const path = target.configured!.path;
    // Written only when it changes, and never over edits nobody committed.
    if ((await target.readCurrent(out)) === content) {
      io.stderr.write(`${out} is up to date\n`);
      return;
    }
    if (await hasUncommittedEdits(out, io.env))
      throw new UserError(
        `${out} has uncommitted edits: commit or discard them first (\`git diff -- ${path}\`), or write elsewhere with --out FILE or --out -`,
      );
    await writeRepoFile(resolve(args.dir), path, content).catch((err: Error) => {
      throw new UserError(err.message);
    });
  } else {
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, content);
  }
  io.stderr.write(`Wrote ${out}\n`);
}

/**
 * True when `file` is tracked and has staged or unstaged changes (`git status --porcelain`
 * says so); an untracked file (a render not committed yet) is not an edit. Outside a
 * repository, or without git, nothing is refused.
 */
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
