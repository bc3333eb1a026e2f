/**
 * A vitest setup file (runs in every test file's context): after each test, what it added with
 * `cleanup.add` (test/support/cleanup.ts) is undone. Registered before the file's hooks, so it
 * runs after the file's own afterEach hooks (after-hooks run in stack order).
 */
import { afterEach } from 'vitest';
import { cleanup } from '../support/cleanup.js';

afterEach(() => cleanup.run());
