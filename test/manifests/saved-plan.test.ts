/**
 * A plan saved into the config folder (`plan . --out plan.yaml`, a hand-tester's find) is JSON,
 * so YAML, and the next `validate` said `plan.yaml:1:1: SCHEMA missing required field 'kind'`.
 * The loader knows a saved plan by its format marker and says what it is and what to do. `plan
 * --out` refuses such a path now (test/cli/plan-out.test.ts): the plan is saved outside and
 * moved in, as a person may.
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/manifests/limits.js';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';

/** `poolsync plan . --out ../plan.json` moved into the folder as plan.yaml. */
async function savedInto(repo: string, cp: string[]): Promise<number> {
  const saved = await runInProcess(['plan', '.', ...cp, '--out', '../plan.json'], {}, repo);
  await rename(join(repo, '..', 'plan.json'), join(repo, 'plan.yaml'));
  return saved.code;
}

const said =
  'plan.yaml:1:1: SCHEMA a plan poolsync saved (`poolsync plan --out`), not a manifest: move it out of the config folder or list it under ignore in poolsync.yaml; a plan saved with a .json name is never read as a manifest\n';

describe('a saved plan in the config folder', () => {
  it('is named as a saved plan, with the way out; ignored, it is not read', async () => {
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), { pools: ['prod'] });
    const cp = ['--control-plane', `file:${join(root, 'cp.json')}`];
    expect(await savedInto(repo, cp)).toBe(0);
    const validate = await runInProcess(['validate', '.'], {}, repo);
    expect(validate.code).toBe(1);
    expect(validate.stdout + validate.stderr).toContain(said);
    expect(validate.stdout + validate.stderr).not.toContain("missing required field 'kind'");
    // The plan file itself is still applied as saved.
    const applied = await runInProcess(['apply', 'plan.yaml', ...cp], {}, repo);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    const config = join(repo, 'poolsync.yaml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace('ignore: []', 'ignore: [plan.yaml]'),
    );
    const ignored = await runInProcess(['validate', '.'], {}, repo);
    expect(ignored.stdout).toContain('Valid: 1 pool');
    expect(ignored.code).toBe(0);
  });

  it('over the size limit, is named as one all the same, by its first bytes', async () => {
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), { pools: ['prod'] });
    const cp = ['--control-plane', `file:${join(root, 'cp.json')}`];
    expect(await savedInto(repo, cp)).toBe(0);
    // A large organisation's plan: past the bytes a manifest file may hold.
    await appendFile(join(repo, 'plan.yaml'), ' '.repeat(LIMITS.maxFileBytes));
    const validate = await runInProcess(['validate', '.'], {}, repo);
    expect(validate.code).toBe(1);
    expect(validate.stdout + validate.stderr).toContain(said);
    expect(validate.stdout + validate.stderr).not.toContain('over the limit');
  });
});
