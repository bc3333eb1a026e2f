/**
 * A vitest setup file, the first: the test files of a worker share its process (isolate: false
 * in vitest.config.ts, so node_modules and vitest are loaded once per worker, not once per
 * file), and this gives each file what a process of its own gave it: poolsync's and the test
 * support's modules evaluated afresh (their module state — remembered secrets, caches — never
 * carries from one file to the next), the environment and working folder the worker started
 * with.
 */
import { vi } from 'vitest';

const START = Symbol.for('poolsync.test.workerStart');
type Start = { env: Record<string, string | undefined>; cwd: string };
const holder = globalThis as { [START]?: Start };
const start = (holder[START] ??= { env: { ...process.env }, cwd: process.cwd() });

for (const name of Object.keys(process.env)) if (!(name in start.env)) delete process.env[name];
Object.assign(process.env, start.env);
if (process.cwd() !== start.cwd) process.chdir(start.cwd);

vi.resetModules();
