/**
 * poolsync's version, from its package.json (found from this file: `src/util/` under tsx,
 * `dist/util/` when built, `dist/cli/` when bundled: two folders up each time). yargs is given
 * it too: its own look-up starts from where yargs is, which in the bundle is not under
 * node_modules.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * `poolsync --version`: the version, and the commit of the Git checkout poolsync runs from
 * (`0.1.0 (abc1234)`), which a version alone does not tell apart before a release is tagged.
 * Read from the .git beside package.json, never by running git (--version answers at once); an
 * installed package has none.
 */
export function versionLine(): string {
  const commit = checkoutCommit(fileURLToPath(new URL('../../.git', import.meta.url)));
  return commit === null ? packageVersion() : `${packageVersion()} (${commit.slice(0, 7)})`;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** A small file's text, trimmed; null when it cannot be read (missing, a folder). */
function readOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** HEAD's commit in the repository of `dotGit` (a folder, or a worktree's `gitdir:` file), or null. */
export function checkoutCommit(dotGit: string): string | null {
  const link = readOr(dotGit);
  const gitDir = link === null ? dotGit : resolve(dirname(dotGit), link.replace(/^gitdir:\s*/, ''));
  const head = readOr(join(gitDir, 'HEAD')) ?? '';
  const ref = /^ref:\s*(refs\/\S+)$/.exec(head)?.[1];
  if (ref === undefined) return SHA.test(head) ? head : null;
  // A worktree's branches are kept in its main repository's folder (`commondir`).
  const commonDir = readOr(join(gitDir, 'commondir'));
  const common = commonDir === null ? gitDir : resolve(gitDir, commonDir);
  // A branch `git gc` packed is a `SHA REF` line of packed-refs.
  const packed = () =>
    readOr(join(common, 'packed-refs'))
      ?.split('\n')
      .find((line) => line.endsWith(` ${ref}`))
      ?.split(' ')[0];
  const sha = readOr(join(common, ref)) ?? packed() ?? '';
  return SHA.test(sha) ? sha : null;
}
