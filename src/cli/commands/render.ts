/**
 * `poolsync render`: a generated configuration file from the manifests (docs/flyte-oss.md,
 * docs/union-self-managed.md), to --out, else where poolsync.yaml `render` says, else stdout;
 * --check (CI) writes nothing; --base's volume lists are kept (Helm replaces lists).
 */
import { writeFile } from 'node:fs/promises';
import { makeUserFolder, readUserFile, writeRepoFile, writeWords } from '../../util/safe-file.js';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { loadRepository } from '../../manifests/index.js';
import { formatValidationText } from '../../manifests/report.js';
import {
  RENDERERS,
  RenderInputError,
  body,
  compareTarget,
  readBaseValues,
  readTarget,
  renderCommand,
  renderedOwnership,
  type RenderKind,
} from '../../render/values.js';
import {
  GENERATED_MARK,
  NOT_GENERATED,
  credentialsSecretMessage,
  renderPathFor,
  renderTargetProblem,
} from '../../manifests/config.js';
import { CHART_CREDENTIALS_SECRET } from '../../manifests/rules.js';
import { UserError } from '../../util/user-error.js';
import { gitAnswer } from '../../util/git.js';
import { requireFolder } from '../config-folder.js';
import type { Args } from '../define.js';
import type { Io } from '../io.js';
import type { RenderConfig, RepoConfig } from '../../model/desired.js';
import { readAsManifest } from '../../manifests/walk.js';
import { resolveTargets } from '../options.js';

export async function render(args: Args<'render'>, io: Io): Promise<number> {
  await requireFolder(args.dir, `render ${args.what}`);
  // Which environment, as every command says it (`--env` missing, misspelt, `all`), before any
  // manifest is read: without it the folders of every environment would be read as one.
  const [target] = await resolveTargets(
    args.dir,
    { env: args.env },
    { allowAll: false, command: 'render', env: io.env },
  );
  const loaded = await loadRepository(args.dir, {
    environment: args.env,
    ...(target?.shared ? { shared: target.shared } : {}),
  });
  if (!loaded.valid) {
    // stderr: stdout is the rendered file (`--out -`), never an error report.
    io.stderr.write(formatValidationText(loaded.errors, { baseDir: args.dir }));
    return 1;
  }
  const { config } = loaded.desired;
  const configured: RenderConfig['flyte-core-values'] = config.render?.[args.what];
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
    content = RENDERERS[args.what](loaded.desired, { credentialsSecret: secret, base });
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
  if (inRepo === undefined) {
    const repoRender = target?.shared?.config.config.render ?? config.render;
    const others = otherTargets(repoRender, config, args.what);
    await refuseOutPath(args.out ?? out, out, root, config, others, args.what, current);
  }
  // Written only when what follows the header changes (the header never says more than the
  // body: same manifests, same bytes), and never over edits nobody committed.
  const existing = await current(out);
  if (existing !== null && existing !== '' && body(existing) === body(content)) {
    io.stderr.write(`${out} is up to date\n`);
    return 0;
  }
  if (existing !== null && existing !== '')
    await refuseOverwritingEdits(out, existing, inRepo ?? args.out ?? out, io.env);
  if (inRepo !== undefined) {
    await writeRepoFile(root, inRepo, content).catch((err: Error) => {
      throw new UserError(err.message);
    });
  } else {
    await makeUserFolder(dirname(out));
    await writeFile(out, content).catch((err: unknown) => {
      throw new UserError(`cannot write ${out}: ${writeWords(err)}`);
    });
  }
  io.stderr.write(`Wrote ${out}\n`);
  return 0;
}

/**
 * The files poolsync.yaml `render` names that this render does not write: the other kind's, and
 * with environments every other environment's (`{env}` filled in). `--out` may name none of them.
 */
function otherTargets(
  render: RenderConfig | undefined,
  config: RepoConfig,
  what: RenderKind,
): Map<string, string> {
  const envs = config.environments?.map((e) => e.name) ?? [undefined];
  const others = new Map<string, string>();
  for (const [kind, t] of Object.entries(render ?? {}) as [string, { path: string }][])
    for (const env of envs) {
      const path = renderPathFor(t.path, env);
      if (kind === what && env === config.environment) continue;
      if (!others.has(path))
        others.set(
          path,
          `${kind}${env === undefined ? '' : ` for environment ${env}`} (render.${kind}.path)`,
        );
    }
  return others;
}

/**
 * A file poolsync rendered and nobody changed since (its body matches the digest in its header)
 * is replaced. Otherwise edits Git does not hold are kept: a tracked file with uncommitted
 * changes, and a file whose body was changed since poolsync wrote it (its digest says so) unless
 * Git holds it as committed. A file without a digest (an older poolsync's) is refused only with
 * uncommitted changes, as before digests.
 */
async function refuseOverwritingEdits(
  file: string,
  existing: string,
  shown: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const owner = renderedOwnership(existing);
  if (owner === 'own') return;
  const git = await gitState(file, env);
  if (git === 'modified')
    throw new UserError(
      `${file} has uncommitted edits: commit or discard them first (\`git diff -- ${shown}\`), or write elsewhere with --out FILE or --out -`,
    );
  if (owner === 'edited' && git !== 'clean')
    throw new UserError(
      `${file} was edited after poolsync rendered it (what follows its header no longer matches the sha256 in it), and Git holds no copy of it: ` +
        'move the edits into the manifests (or --base), or delete the file, then render again; or write elsewhere with --out FILE or --out -',
    );
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
  others: ReadonlyMap<string, string>,
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
  const other = others.get(path);
  if (other !== undefined)
    throw new UserError(
      `--out ${given} is where poolsync.yaml renders ${other}: writing ${what} there would replace that file; choose another path`,
    );
  const problem = await renderTargetProblem(root, path);
  if (problem !== null) throw new UserError(`--out ${given} ${problem}`);
  const folders = config.environments?.flatMap((e) => e.folders);
  if (!readAsManifest(path, config.ignore, folders)) return;
  throw new UserError(
    `--out ${path} is in the config folder ${root}, where every YAML file is read as a manifest: the next validate would fail on it. ` +
      `Name it in poolsync.yaml (render: {${what}: {path: ${path}}}: poolsync then writes it there and skips it), add it to ignore:, or write it outside the folder`,
  );
}

/**
 * What Git says of an existing file: `clean` (tracked, committed as it is), `modified` (staged or
 * unstaged changes), `untracked` (new or ignored), `none` (not in a work tree, or no git).
 */
async function gitState(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<'clean' | 'modified' | 'untracked' | 'none'> {
  const stdout = await gitAnswer(['status', '--porcelain', '--ignored', '--', basename(file)], {
    cwd: dirname(file),
    env: { ...env, GIT_OPTIONAL_LOCKS: '0' },
  });
  if (stdout === null) return 'none';
  const lines = stdout.split('\n').filter((l) => l !== '');
  if (lines.length === 0) return 'clean';
  const untracked = lines.every((l) => l.startsWith('??') || l.startsWith('!!'));
  return untracked ? 'untracked' : 'modified';
}
