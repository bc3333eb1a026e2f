import { PassThrough } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { batchedLines, type BatchedLines } from '../../src/util/batched-lines.js';
import {
  DEFAULT_PARALLELISM,
  FILE_PARALLELISM,
  defaultParallelism,
} from '../../src/apply/types.js';

function recorder() {
  const stream = new PassThrough();
  const writes: string[] = [];
  stream.on('data', (chunk: Buffer) => writes.push(chunk.toString()));
  return { stream, writes };
}

describe('batchedLines', () => {
  it('writes the lines of one turn of the event loop in one write, in order', async () => {
    const { stream, writes } = recorder();
    const lines = batchedLines(stream);
    for (let i = 0; i < 1000; i++) lines.line(`step ${i}`);
    expect(writes).toEqual([]);
    await nextTurn();
    await nextTurn();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.split('\n')).toHaveLength(1001);
    expect(writes[0]!.startsWith('step 0\nstep 1\n')).toBe(true);
    lines.line('later');
    await nextTurn();
    await nextTurn();
    expect(writes).toEqual([expect.any(String), 'later\n']);
  });

  it('flush writes at once, so a direct write after it keeps the order', async () => {
    const { stream, writes } = recorder();
    const lines = batchedLines(stream);
    lines.line('progress');
    lines.flush();
    stream.write('summary\n');
    lines.flush(); // nothing left: no empty write
    await nextTurn();
    await nextTurn();
    expect(writes.join('')).toBe('progress\nsummary\n');
  });
});

/** `test` on lines gathered for 50 ms into `writes`, under fake timers. */
function gatheringFor50ms(test: (lines: BatchedLines, writes: string[]) => void): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  try {
    const writes: string[] = [];
    const stream = { write: (text: string) => writes.push(text) > 0 };
    const lines = batchedLines(stream as unknown as NodeJS.WritableStream);
    lines.gather(50);
    test(lines, writes);
  } finally {
    vi.useRealTimers();
  }
}

describe('batchedLines with an interval (output into a pipe or a file)', () => {
  it('gathers the lines of the interval into one write; flush writes at once and cancels it', () => {
    gatheringFor50ms((lines, writes) => {
      lines.line('a');
      vi.advanceTimersByTime(30);
      lines.line('b');
      vi.advanceTimersByTime(19);
      expect(writes).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(writes).toEqual(['a\nb\n']);
      lines.line('c');
      lines.flush();
      expect(vi.getTimerCount()).toBe(0);
      expect(writes).toEqual(['a\nb\n', 'c\n']);
    });
  });
});

describe('batchedLines holds a bounded text', () => {
  it('writes once 64 KiB of lines are held, before the interval ends, in order', () => {
    gatheringFor50ms((lines, writes) => {
      const line = 'x'.repeat(1023); // 1 KiB with its newline
      for (let i = 0; i < 63; i++) lines.line(line);
      expect(writes).toEqual([]);
      lines.line(line);
      expect(writes).toEqual([`${line}\n`.repeat(64)]);
      // Nothing held: no timer left, and the next line waits for its own interval.
      expect(vi.getTimerCount()).toBe(0);
      lines.line('after');
      vi.advanceTimersByTime(50);
      expect(writes).toEqual([`${line}\n`.repeat(64), 'after\n']);
    });
  });
});

describe('default parallelism of apply', () => {
  it('is higher for a file: control plane, whose calls share fsyncs', () => {
    expect(defaultParallelism('file:.poolsync/control-plane.json')).toBe(FILE_PARALLELISM);
    expect(defaultParallelism('https://cp.example.com')).toBe(DEFAULT_PARALLELISM);
    expect(defaultParallelism('union+https://org.example.com')).toBe(DEFAULT_PARALLELISM);
    expect(FILE_PARALLELISM).toBeGreaterThan(DEFAULT_PARALLELISM);
  });
});
