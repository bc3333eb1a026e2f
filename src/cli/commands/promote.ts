/**
 * `poolsync promote FROM [DIR]` (docs/environments.md, Promotion): what promoting FROM's own
 * manifests to the next environment would plan there, before the change is made: the folder
 * is copied to a temporary one, the next environment's own folder made to hold FROM's
 * manifests, and that planned against the next environment's control plane. `--write` then
 * makes the change in DIR, for a commit and a pull request (whose comment plans every
 * environment). Exit 0, 1 on error, 2 with --detailed-exitcode when the plan has changes.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readRepoConfig } from '../../manifests/config.js';
import { writeRepoFile } from '../../util/repo-file.js';
import { UserError } from '../../util/user-error.js';
import type { PlanArgs } from '../define/plan.js';
import type { PromoteArgs } from '../define/promote.js';
import { environmentTarget, inEnvironment } from '../environment.js';
import { requireFolder } from '../options.js';
import { describeChanges, ownFolder, promotionChanges, type FileChange } from '../promotion.js';
import { runPlanFor } from './plan.js';
import { plural } from '../../render/index.js';

export async function promote(args: PromoteArgs): Promise<void> {
  process.exitCode = await runPromote(args);
}

async function runPromote(args: PromoteArgs): Promise<number> {
  await requireFolder(args.dir);
  const { config, errors } = await readRepoConfig(args.dir);
  const envs = config.environments ?? [];
  if (errors.length > 0)
    throw new UserError(`poolsync.yaml in ${args.dir} is invalid: run \`poolsync validate\``);
  const names = envs.map((e) => e.name).join(', ');
  if (envs.length === 0)
    throw new UserError(
      `promote moves a change between environments, and poolsync.yaml in ${args.dir} declares none (docs/environments.md)`,
    );
  const from = envs.find((e) => e.name === args.from);
  if (!from)
    throw new UserError(
      `no environment '${args.from}' in poolsync.yaml; its environments: ${names}`,
    );
  const toName = args.to ?? from.promotesTo;
  if (toName === undefined)
    throw new UserError(
      `environment ${from.name} promotes to no environment: set its promotesTo in poolsync.yaml, or pass --to NAME`,
    );
  const to = envs.find((e) => e.name === toName);
  if (!to || to === from)
    throw new UserError(`--to ${toName}: not another environment of poolsync.yaml (${names})`);
  const fromFolder = ownFolder(from, to);
  const toFolder = ownFolder(to, from);
  const changes = await promotionChanges(
    args.dir,
    { env: from, folder: fromFolder },
    { env: to, folder: toFolder },
    config.ignore,
  );
  process.stderr.write(describeChanges(from.name, to.name, changes));
  const code = await planPromoted(args, to.name, changes);
  if (args.write && code !== 1 && changes.length > 0) {
    await applyChanges(args.dir, changes);
    process.stderr.write(
      `Wrote the ${plural(changes.length, 'file change')} into ${toFolder}: commit them and open a pull request.\n`,
    );
  }
  return code;
}

/** The plan of `to` with the changes made in a copy of the folder. */
async function planPromoted(args: PromoteArgs, to: string, changes: FileChange[]): Promise<number> {
  const { config } = await readRepoConfig(args.dir);
  const env = config.environments!.find((e) => e.name === to)!;
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
    const target = environmentTarget(args.dir, env);
    // A credential on the command line wins over the environment's, as for `plan --env`.
    if (args['token-file'] !== undefined) {
      target.tokenFile = args['token-file'];
      delete target.from?.tokenFile;
    }
    if (args['api-key-file'] !== undefined) {
      target.apiKeyFile = args['api-key-file'];
      delete target.from?.apiKeyFile;
    }
    const planArgs: PlanArgs = {
      dir: folder,
      env: to,
      'control-plane': target.url,
      ...(target.tokenFile !== undefined ? { 'token-file': target.tokenFile } : {}),
      ...(target.apiKeyFile !== undefined ? { 'api-key-file': target.apiKeyFile } : {}),
      'max-retries': args['max-retries'],
      output: args.output,
      'detailed-exitcode': args['detailed-exitcode'],
      ...(args.color !== undefined ? { color: args.color } : {}),
      'refresh-only': false,
      'state-dir': args['state-dir'],
      'lock-timeout': '0s',
    };
    return await runPlanFor(planArgs, target).catch(async (err: unknown) => {
      throw await inEnvironment(err, args.dir, target);
    });
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
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
