/**
 * Child process for the lock race tests: says `ready`, tries the lock when it reads `go`,
 * says `won` or `refused: …`, and keeps a won lock until its stdin closes.
 */
import { createInterface } from 'node:readline';
import { acquireApplyLock } from '../../../src/apply/lock.js';

const path = process.argv[2]!;
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.once('line', async () => {
  try {
    const lock = await acquireApplyLock(path);
    process.stdout.write('won\n');
    lines.once('close', () => void lock.release());
  } catch (err) {
    process.stdout.write(`refused: ${(err as Error).message}\n`);
  }
});
