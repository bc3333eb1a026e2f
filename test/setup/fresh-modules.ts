/**
 * A vitest setup file, the first: the test files of a worker share its process (isolate: false
 * in vitest.config.ts, so node_modules and vitest are loaded once per worker, not once per
 * file), and this gives each file what a process of its own gave it: poolsync's and the test
 * support's modules evaluated afresh (their module state — remembered secrets, caches — never
 * carries from one file to the next), the environment and working folder the worker started
 * with.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';

const START = Symbol.for('poolsync.test.workerStart');
type Start = { env: Record<string, string | undefined>; cwd: string };
const holder = globalThis as { [START]?: Start };
const start = (holder[START] ??= { env: { ...process.env }, cwd: process.cwd() });

for (const name of Object.keys(process.env)) if (!(name in start.env)) delete process.env[name];
Object.assign(process.env, start.env);
if (process.cwd() !== start.cwd) process.chdir(start.cwd);
// And a state folder of its own, in the run's (test/setup/cache-folder.ts): inventories are kept
// by control-plane address, and a stand-in on a port another file's stand-in had is another
// control plane (two such files shared one inventory, and its repository conflicts).
if (start.env.XDG_STATE_HOME)
  process.env.XDG_STATE_HOME = mkdtempSync(join(start.env.XDG_STATE_HOME, 'file-'));

vi.resetModules();
