/**
 * A node binary another user can run, for the tests that start poolsync as an unprivileged
 * user (root reads any folder): process.execPath, or a copy of it in `dir` when that one is
 * out of the user's reach, as a Node installed under /root (mode 700, scripts/install-node.sh,
 * which .ci/run uses) is. `dir` must be readable by the user.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export function nodeForUser(uid: number, dir: string): string {
  const runs = (node: string) => spawnSync(node, ['-e', '0'], { uid, gid: uid }).status === 0;
  if (runs(process.execPath)) return process.execPath;
  const copy = join(dir, 'node');
  if (!existsSync(copy)) {
    cpSync(process.execPath, copy);
    chmodSync(copy, 0o755);
  }
  return copy;
}
