/**
 * src/gen/ is the protoc-gen-es output of proto/ (npm run generate:proto). It must be current
 * with the .proto files and the installed generator, like src/gen/manifests/validators.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(relative(dir, path), await readFile(path, 'utf8'));
  }
  return out;
}

describe('generated protobuf code (proto/ -> src/gen/)', () => {
  it('is current: regenerating gives the committed files (run `npm run generate:proto`)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'poolsync-proto-'));
    dirs.push(out);
    const buf = join(root, 'node_modules', '.bin', 'buf');
    await run(buf, ['generate', 'proto', '--template', 'proto/buf.gen.yaml', '-o', out], {
      cwd: root,
    });
    const fresh = await files(join(out, 'src', 'gen'));
    // src/gen/manifests/ is the ajv output (npm run generate:validators), src/gen/union/ the
    // tables of Union's client (npm run generate:accelerators): each has its own test.
    const committed = await files(join(root, 'src', 'gen'));
    for (const name of [...committed.keys()])
      if (name.startsWith(`manifests${sep}`) || name.startsWith(`union${sep}`))
        committed.delete(name);
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [name, text] of fresh) expect(committed.get(name), name).toBe(text);
  });
});
