/**
 * Child process for the single-writer race test: says `ready`, opens the embedded control
 * plane at argv[2] when it reads `go`, says `won` or `refused: …`, and keeps a won state
 * open until its stdin closes.
 */
import { createInterface } from 'node:readline';
import { EmbeddedControlPlane } from '../../../src/controlplane/embedded/embedded.js';

const path = process.argv[2]!;
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.once('line', async () => {
  try {
    const cp = await EmbeddedControlPlane.open({ path });
    process.stdout.write('won\n');
    lines.once('close', () => void cp.close());
  } catch (err) {
    process.stdout.write(`refused: ${(err as Error).message}\n`);
  }
});
