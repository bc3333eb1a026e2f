/**
 * The code fingerprint of the plan memory (src/incremental/plan-memory.ts): from source,
 * every code file's stamps; a built CLI, the build id `npm run build` writes (scripts/bundle.mjs)
 * with the stamps of it and of dist/cli/main.js, and no walk.
 */
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../src/incremental/plan-memory.js';
import { tempDir } from '../support/repo.js';

let root: string;
let dist: string;

beforeEach(async () => {
  root = await tempDir('poolsync-code-');
  dist = join(root, 'dist');
  await mkdir(join(dist, 'cli'), { recursive: true });
  await writeFile(join(root, 'package.json'), '{"version":"1.0.0"}\n');
  await writeFile(join(dist, 'cli', 'main.js'), 'main\n');
  await writeFile(join(dist, 'plan.js'), 'plan\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A new modification time, the content as it was (a build writing the same bytes again). */
const touch = (path: string, seconds: number) => utimes(path, seconds, seconds);

describe('code fingerprint', () => {
  it('without a build id: changes with any code file and with package.json', async () => {
    const first = fingerprintOf(dist);
    expect(fingerprintOf(dist)).toBe(first);
    await touch(join(dist, 'plan.js'), 1_000_000);
    const touched = fingerprintOf(dist);
    expect(touched).not.toBe(first);
    await writeFile(join(root, 'package.json'), '{"version":"1.0.1"}\n');
    expect(fingerprintOf(dist)).not.toBe(touched);
  });

  it('with a build id: its content and the stamps of it and of cli/main.js, no other file', async () => {
    await writeFile(join(dist, 'build-id'), 'aaaa\n');
    const first = fingerprintOf(dist);
    // Other files are not walked: the build id stands for them.
    await touch(join(dist, 'plan.js'), 1_000_000);
    expect(fingerprintOf(dist)).toBe(first);
    // A build writes main.js again (tsc alone too, without a new build id).
    await touch(join(dist, 'cli', 'main.js'), 2_000_000);
    const rebuilt = fingerprintOf(dist);
    expect(rebuilt).not.toBe(first);
    await writeFile(join(dist, 'build-id'), 'bbbb\n');
    await touch(join(dist, 'build-id'), 2_000_000);
    const other = fingerprintOf(dist);
    expect(other).not.toBe(rebuilt);
    // The same id, stamps and main.js: the same fingerprint.
    expect(fingerprintOf(dist)).toBe(other);
    // A build id without cli/main.js is not one: the walk.
    await rm(join(dist, 'cli', 'main.js'));
    const walked = fingerprintOf(dist);
    await touch(join(dist, 'plan.js'), 3_000_000);
    expect(fingerprintOf(dist)).not.toBe(walked);
  });
});
