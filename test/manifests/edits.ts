/**
 * Seeded edits of a generated repository for the incremental-vs-cold tests (issue 25): a value
 * changed, a comment moving every position, a file renamed, deleted, broken (YAML, schema) and
 * put back, a document added; a document copied (V1), moved to another file, or naming an
 * undeclared cluster (V3) (issue 79: what recheck.ts re-checks).
 */
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const folder of ['pools', 'clusters', 'queues', 'assignments']) {
    for (const f of (await readdir(join(dir, folder)).catch(() => [])).sort())
      out.push(`${folder}/${f}`);
  }
  return out;
}

/** Files an edit broke or deleted, with the text to put back. */
const undo = new Map<string, string>();

export type Edit = (dir: string, pick: () => number) => Promise<string>;

const pickFile = async (dir: string, pick: () => number, folder?: string) => {
  const all = await files(dir);
  const some = all.filter((f) => !folder || f.startsWith(`${folder}/`));
  const from = some.length > 0 ? some : all;
  return from[Math.floor(pick() * from.length)]!;
};

/** Replaces a file's text, remembering the first text to put back. */
async function breakFile(dir: string, f: string, text: string | null): Promise<void> {
  const path = join(dir, f);
  if (!undo.has(path)) undo.set(path, await readFile(path, 'utf8'));
  if (text === null) await rm(path);
  else await writeFile(path, text);
}

/** The documents of a file, each with its `---` separator. */
const documentsOf = (text: string) => text.split(/^(?=---\n)/m);

export const EDITS: Edit[] = [
  async (dir, pick) => {
    const f = await pickFile(dir, pick, 'queues');
    const text = await readFile(join(dir, f), 'utf8');
    const n = 1 + Math.floor(pick() * 900);
    await writeFile(join(dir, f), text.replace(/run_concurrency: \d+/, `run_concurrency: ${n}`));
    return `run_concurrency ${n} in ${f}`;
  },
  async (dir, pick) => {
    const f = await pickFile(dir, pick);
    await writeFile(join(dir, f), `# a comment line\n${await readFile(join(dir, f), 'utf8')}`);
    return `comment at the top of ${f} (every position moves)`;
  },
  async (dir, pick) => {
    const f = await pickFile(dir, pick, 'queues');
    const to = f.replace('.yaml', '-renamed.yaml');
    await rename(join(dir, f), join(dir, to));
    const pending = undo.get(join(dir, f));
    if (pending !== undefined) {
      undo.delete(join(dir, f));
      undo.set(join(dir, to), pending);
    }
    return `renamed ${f}`;
  },
  async (dir, pick) => {
    const f = await pickFile(dir, pick);
    await breakFile(dir, f, null);
    return `deleted ${f}`;
  },
  async (dir, pick) => {
    const f = await pickFile(dir, pick, 'queues');
    await breakFile(
      dir,
      f,
      (await readFile(join(dir, f), 'utf8')).replace('spec:', 'spec: [unclosed'),
    );
    return `YAML error in ${f}`;
  },
  async (dir, pick) => {
    const f = await pickFile(dir, pick, 'clusters');
    await breakFile(
      dir,
      f,
      (await readFile(join(dir, f), 'utf8')).replace(/pool: /, 'pool_typo: '),
    );
    return `schema error in ${f}`;
  },
  async () => {
    for (const [path, text] of undo) await writeFile(path, text);
    const n = undo.size;
    undo.clear();
    return `put back ${n} broken or deleted file(s)`;
  },
  async (dir, pick) => {
    const f = await pickFile(dir, pick, 'queues');
    const name = `added-${Math.floor(pick() * 1e6)}`;
    const text = await readFile(join(dir, f), 'utf8');
    const pool = /pool: (\S+)/.exec(text)?.[1] ?? 'missing';
    await writeFile(
      join(dir, f),
      `${text}---\napiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: ${name}\nspec:\n  pool: ${pool}\n  clusters: ["*"]\n  run_concurrency: 3\n  action_concurrency: 30\n`,
    );
    return `queue ${name} added to ${f}`;
  },
  async (dir, pick) => {
    const [from, to] = [await pickFile(dir, pick, 'queues'), await pickFile(dir, pick, 'queues')];
    const docs = documentsOf(await readFile(join(dir, from), 'utf8'));
    const moved = docs[Math.floor(pick() * docs.length)]!;
    const copy = pick() < 0.5;
    if (!copy && from !== to) await breakFile(dir, from, docs.filter((d) => d !== moved).join(''));
    const target = await readFile(join(dir, to), 'utf8');
    await breakFile(dir, to, `${target}${moved.startsWith('---') ? '' : '---\n'}${moved}`);
    const name = /name: (\S+)/.exec(moved)?.[1];
    return `queue ${name} ${copy ? 'copied' : 'moved'} from ${from} to ${to}`;
  },
  async (dir, pick) => {
    const f = await pickFile(dir, pick, 'queues');
    const text = await readFile(join(dir, f), 'utf8');
    await breakFile(
      dir,
      f,
      text.replace(/clusters: \[(?!"\*")[^\]]*\]/, 'clusters: [undeclared-cluster]'),
    );
    return `a queue of ${f} names an undeclared cluster`;
  },
];
