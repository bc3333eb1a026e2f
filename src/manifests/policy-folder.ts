/**
 * A policy folder (docs/policies.md; docs/security.md, "What is read"): the folder of Rego and
 * data files OPA evaluates, checked as every file of a repository is. OPA's `-d FOLDER` follows
 * symbolic links, so a policy folder that is a link, sits under one, or holds one at any depth
 * (`policies/data.json -> /run/secrets/x.json`) would hand OPA files from outside the repository,
 * and a policy can print their content: such a folder is refused whole, naming the entry. So is
 * one holding a FIFO, a socket or a device. OPA is then given copies of the regular files listed
 * here (policy/evaluate.ts), never the folder. `validate` reports the same problems at
 * poolsync.yaml's `policies.path` (checkPolicyPath).
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { entryKind, ioWords, type EntryKind } from '../util/safe-file.js';
import { nearName } from './suggest.js';
import type { AddError } from './types.js';
import { MAX_FOLDER_DEPTH, comparePaths } from './walk.js';
import { entry, type Position, type YNode } from './yaml.js';

/** The files of a policy folder OPA reads (as `opa eval -d` loads a folder): Rego and data. */
export const POLICY_FILE = /\.(rego|json|ya?ml)$/;

export type PolicyFolderProblem =
  /** `at` (the folder, or a folder on the way to it) does not exist. */
  | { reason: 'missing'; at: string }
  /** `at` is a link (the folder itself, or a folder on the way to it). */
  | { reason: 'link'; at: string }
  /** `at` is a file, FIFO, socket or device where a folder is wanted. */
  | { reason: 'not-folder'; at: string; kind: EntryKind | 'file' }
  /** An entry inside the folder (relative to it) that is neither a regular file nor a folder. */
  | { reason: 'entry'; entry: string; kind: EntryKind }
  | { reason: 'too-deep'; entry: string }
  | { reason: 'io'; at: string; code: string };

export type PolicyFolder = { ok: true; files: string[] } | ({ ok: false } & PolicyFolderProblem);

const kindOf = (st: Stats | Dirent): EntryKind | 'file' => entryKind(st) ?? 'file';

/**
 * The policy files of the folder `rel` below `root` (relative to it, forward slashes, sorted), or
 * the first problem. Every folder from `root` down to it must be a real one: `root` is the config
 * folder for poolsync.yaml's `policies.path`; for a folder the user named (`--policies DIR`), its
 * parent (the folders above are the user's own, as /tmp on macOS is a link). `rel` is `.` for
 * `root` itself.
 */
export async function policyFolder(root: string, rel: string): Promise<PolicyFolder> {
  const parts = folderParts(rel);
  let dir = root;
  for (const [i, part] of parts.entries()) {
    dir = join(dir, part);
    const at = parts.slice(0, i + 1).join('/');
    let st: Stats;
    try {
      st = await lstat(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: 'missing', at };
      return { ok: false, reason: 'io', at, code };
    }
    if (st.isSymbolicLink()) return { ok: false, reason: 'link', at };
    if (!st.isDirectory()) return { ok: false, reason: 'not-folder', at, kind: kindOf(st) };
  }
  const files: string[] = [];
  const visit = async (sub: string, depth: number): Promise<PolicyFolderProblem | null> => {
    let entries: Dirent[];
    try {
      entries = await readdir(sub === '' ? dir : join(dir, sub), { withFileTypes: true });
    } catch (err) {
      const at = [parts.join('/') || '.', sub].filter((p) => p !== '').join('/');
      return { reason: 'io', at, code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
    }
    entries.sort((a, b) => comparePaths(a.name, b.name));
    for (const e of entries) {
      const path = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory()) {
        if (depth >= MAX_FOLDER_DEPTH) return { reason: 'too-deep', entry: path };
        const problem = await visit(path, depth + 1);
        if (problem !== null) return problem;
      } else if (!e.isFile()) return { reason: 'entry', entry: path, kind: entryKind(e)! };
      else if (POLICY_FILE.test(e.name)) files.push(path);
    }
    return null;
  };
  const problem = await visit('', 1);
  return problem === null ? { ok: true, files } : { ok: false, ...problem };
}

export const LINK_WHY =
  'poolsync never follows a link to read policies (it could lead outside the repository, and a policy can print what it reads)';

/**
 * The words after the folder's name (`the policy folder policies …`, `policies.path 'policies'
 * …`): what is wrong and what to do, one line.
 */
export function policyFolderWords(p: PolicyFolderProblem, rel: string): string {
  const self = p.reason !== 'entry' && p.reason !== 'too-deep' && sameFolder(p.at, rel);
  switch (p.reason) {
    case 'missing':
      return self ? 'does not exist' : `does not exist (${p.at} does not)`;
    case 'link':
      return self
        ? `is a symbolic link: ${LINK_WHY}; name the real folder, or put the folder itself there`
        : `is under ${p.at}, a symbolic link: ${LINK_WHY}; name the real folder`;
    case 'not-folder':
      if (!self) return `is under ${p.at}, a ${p.kind}, not a folder`;
      return p.kind === 'file'
        ? 'is a file, not a folder: name the folder that holds it (every .rego file of the folder is read)'
        : `is a ${p.kind}, not a folder: name a folder of .rego files`;
    case 'entry':
      return p.kind === 'symbolic link'
        ? `holds ${p.entry}, a symbolic link: ${LINK_WHY}; replace it with the file or folder itself, or remove it`
        : `holds ${p.entry}, a ${p.kind}: a policy folder holds regular files and folders only; remove it`;
    case 'too-deep':
      return `holds ${p.entry}, a folder nested more than ${MAX_FOLDER_DEPTH} levels deep: not read; move its files up`;
    case 'io':
      return `cannot be read (${sameFolder(p.at, rel) ? '' : `${p.at}: `}${ioWords(p.code)})`;
  }
}

/** A relative folder's names (`./a//b/` → a, b). */
const folderParts = (rel: string) => rel.split('/').filter((p) => p !== '' && p !== '.');

const sameFolder = (at: string, rel: string) => at === folderParts(rel).join('/');

/**
 * poolsync.yaml's `policies.path` (`dir`: the config folder), told to `add` at its value: it must
 * be a real folder of the repository holding no link, FIFO, socket or device; a missing one is
 * named with the closest folder there (`polices` → `policies`). Returns where the path is written.
 */
export async function checkPolicyPath(
  dir: string,
  root: YNode,
  policies: { path: string } | undefined,
  add: AddError,
): Promise<Position | undefined> {
  if (!policies) return;
  const node = entry(root, 'policies')?.value;
  const pos = (node ? entry(node, 'path')?.value.pos : undefined) ?? root.pos;
  const { path } = policies;
  const parts = folderParts(path);
  if (parts.includes('..')) return pos; // the schema refuses it
  const found = await policyFolder(dir, path);
  if (found.ok) return pos;
  const depth = found.reason === 'missing' ? found.at.split('/').length - 1 : -1;
  const hint = depth < 0 ? '' : await nearName(dir, parts, depth, false);
  const what = policyFolderWords(found, path);
  const fix =
    found.reason === 'missing'
      ? ': name the folder of .rego files, relative to the folder of poolsync.yaml'
      : '';
  add('IO', `policies.path '${path}' ${what}${hint}${fix}`, pos);
  return pos;
}
