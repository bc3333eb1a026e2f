/**
 * poolsync.yaml and the walk of a config folder, read once for every environment a command
 * loads (`validate`, `plan --env all`): each load then reads only its own files, so the command
 * is linear in the number of environments (bench: "validate 1,000 environments vs 100 × 10").
 * Without it, every load reads poolsync.yaml (every environment's folders checked) and walks
 * the whole folder again. Only for one command's loads of one folder: the daemon, which loads
 * again as files change, never keeps one.
 */
import { readRepoConfig, type ConfigResult } from './config.js';
import { findManifestFiles, type WalkResult } from './walk.js';

export interface FolderRead {
  config: ConfigResult;
  /** The walk of the whole folder, made when first asked for. */
  walk(): Promise<WalkResult>;
}

export async function readFolderOnce(dir: string): Promise<FolderRead> {
  const config = await readRepoConfig(dir);
  let walk: Promise<WalkResult> | undefined;
  return { config, walk: () => (walk ??= findManifestFiles(dir, config.config.ignore)) };
}
