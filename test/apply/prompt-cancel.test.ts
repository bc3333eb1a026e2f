/**
 * Ctrl-C or Ctrl-D at `apply`'s `Enter a value:` (a hand-tester's find): it printed `Internal
 * error (please report it): AbortError: Aborted with Ctrl+C` and readline's frames, exit 1. Now a
 * declined apply: one line, nothing applied, 130 for Ctrl-C (docs/apply.md#exit-status). In
 * process, with a terminal's stdin and stdout as readline sees them (raw mode: Ctrl-C is a byte).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { exitOf, memoryIo, terminalIo } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { until } from '../support/until.js';
import { liveOf } from './helpers/state.js';

/**
 * `apply DIR` at a fake terminal; `answer` is typed once the question is asked. The state is
 * `state` in a new folder, once `before` has run there.
 */
async function applyAtTerminal(
  answer: (stdin: PassThrough, signal: (name?: NodeJS.Signals) => void) => void,
  { state: file = 'cp.json', before = async (_root: string) => {} } = {},
) {
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), {
    pools: ['prod'],
    clusters: { 'prod-1': 'prod' },
  });
  const state = join(root, file);
  await before(root);
  const { io, stdin, signal } = terminalIo({ NO_COLOR: '1' });
  const argv = ['apply', repo, '--control-plane', `file:${state}`, '--no-color'];
  const running = exitOf(io, main(argv, io));
  await until('the question', () => io.out().includes('Enter a value: '));
  answer(stdin, (name = 'SIGINT') => signal(name));
  const code = await running;
  return { code, out: io.out(), err: io.err(), root, state, live: () => liveOf(state) };
}

describe('apply: the confirmation question left without `yes`', () => {
  it.each([
    ['Ctrl-C', (stdin: PassThrough) => stdin.write('\u0003'), 130, '(Ctrl-C)'],
    ['a SIGINT', (_: PassThrough, signal: () => void) => signal(), 130, '(Ctrl-C)'],
    [
      'a SIGTERM',
      (_: PassThrough, signal: (name: NodeJS.Signals) => void) => signal('SIGTERM'),
      130,
      '(SIGTERM)',
    ],
    ['Ctrl-D', (stdin: PassThrough) => stdin.write('\u0004'), 1, '(no answer, end of input)'],
    ['the end of stdin', (stdin: PassThrough) => stdin.end(), 1, '(no answer, end of input)'],
  ] as const)('%s: one line, nothing applied', async (_what, answer, status, why) => {
    const r = await applyAtTerminal(answer);
    expect(r.err).toBe(`Error: Apply cancelled ${why}: nothing was applied.\n`);
    expect(r.code).toBe(status);
    // The message starts a line of its own after the question; no step ran.
    // eslint-disable-next-line no-control-regex -- readline moves the cursor after the prompt
    expect(r.out).toMatch(/Enter a value: (\u001b\[\d+G)?\n$/);
    expect((await r.live()).pools.map((p) => p.name)).not.toContain('prod');
  });

  it('`no` is declined as before, with its own line', async () => {
    const r = await applyAtTerminal((stdin) => stdin.write('no\r'));
    expect(r.err).toBe('Error: Apply cancelled: only `yes` is accepted as approval.\n');
    expect(r.code).toBe(1);
    expect((await r.live()).pools.map((p) => p.name)).not.toContain('prod');
  });
});

describe('apply declined on a state it created: nothing is left behind', () => {
  it('the new .poolsync/ and its state go: a later command may ask other capabilities', async () => {
    const r = await applyAtTerminal((stdin) => stdin.write('no\r'), {
      state: '.poolsync/control-plane.json',
    });
    expect(r.code).toBe(1);
    expect(await readdir(r.root)).toEqual(['repo']);
    const io = memoryIo();
    const url = `file:${r.state}?capabilities=drain`;
    expect(await exitOf(io, main(['plan', join(r.root, 'repo'), '--control-plane', url], io))).toBe(
      0,
    );
  });

  it('in a Git work tree too, where the new folder holds the .gitignore that ignores it', async () => {
    const r = await applyAtTerminal((stdin) => stdin.write('no\r'), {
      state: '.poolsync/control-plane.json',
      before: async (root) => void execFileSync('git', ['init', '-q', root]),
    });
    expect(r.code).toBe(1);
    expect((await readdir(r.root)).sort()).toEqual(['.git', 'repo']);
  });

  it('a folder that was there stays, with what else it holds', async () => {
    const r = await applyAtTerminal((stdin) => stdin.end(), {
      state: 'state/cp.json',
      before: async (root) => {
        await mkdir(join(root, 'state'));
        await writeFile(join(root, 'state', 'notes.txt'), 'mine\n');
      },
    });
    expect(r.code).toBe(1);
    expect(await readdir(join(r.root, 'state'))).toEqual(['notes.txt']);
  });

  it('a state that existed is kept', async () => {
    const r = await applyAtTerminal((stdin) => stdin.write('no\r'), {
      before: (root) => liveOf(join(root, 'cp.json')).then(() => {}),
    });
    expect(r.code).toBe(1);
    expect(existsSync(r.state)).toBe(true);
  });
});
