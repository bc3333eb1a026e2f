/** test/support/cleanup.ts with the setup file of vitest.config.ts: undone after each test. */
import { describe, expect, it } from 'vitest';
import { cleanup } from './cleanup.js';

describe('cleanup.add', () => {
  const undone: string[] = [];

  it('registers undos while a test runs', () => {
    cleanup.add(() => undone.push('first'));
    cleanup.add(async () => {
      await Promise.resolve();
      undone.push('second');
    });
    expect(undone).toEqual([]);
  });

  it('ran them after that test, last added first, each awaited', () => {
    expect(undone).toEqual(['second', 'first']);
  });
});
