/**
 * `echo yes | poolsync apply .` (a hand-tester's find): it was refused, "stdin is not a terminal".
 * Terraform reads the answer from a piped stdin too: its first line, only `yes` approves; any
 * other line, or the end of input, cancels in one line that still says how to approve without a
 * terminal, nothing applied, exit 1. In process, stdin a stream that is no terminal.
 */
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { liveOf } from '../apply/helpers/state.js';

async function pipedApply(input: string[]) {
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), { pools: ['prod'], clusters: {} });
  const state = join(root, 'cp.json');
  const io = { ...memoryIo({ NO_COLOR: '1' }), stdin: Readable.from(input) };
  const argv = ['apply', repo, '--control-plane', `file:${state}`, '--no-color'];
  const code = await exitOf(io, main(argv, io));
  const pools = (await liveOf(state)).pools.map((p) => p.name);
  return { code, out: io.out(), err: io.err(), pools };
}

const HINT =
  ' stdin is not a terminal: pipe `yes` into apply, or review the plan above, then run `poolsync apply --auto-approve` (or save it with `poolsync plan --out plan.json` and apply that file)\n';

describe('apply with a stdin that is no terminal', () => {
  it.each([
    ['`yes` and a newline', ['yes\n']],
    ['`yes` without one, as stdin ends', ['yes']],
  ])('%s applies', async (_what, input) => {
    const r = await pipedApply(input);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/Enter a value: \nClusterPool\/prod: Creating\.\.\./);
    expect(r.out).toMatch(/^Apply complete: 1 created/m);
    expect(r.code).toBe(0);
    expect(r.pools).toContain('prod');
  });

  it.each([
    [
      'another line',
      ['no\n', 'yes\n'],
      'Error: Apply cancelled: only `yes` is accepted as approval.',
    ],
    [
      'nothing (end of input)',
      [],
      'Error: Apply cancelled (no answer, end of input): nothing was applied.',
    ],
  ])(
    '%s cancels in one line saying how to approve, nothing applied',
    async (_what, input, said) => {
      const r = await pipedApply(input);
      expect(r.err).toBe(`${said}${HINT}`);
      expect(r.code).toBe(1);
      expect(r.pools).not.toContain('prod');
    },
  );
});
