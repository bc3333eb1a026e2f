/**
 * A vitest setup file (runs in every test file's context): after the file's own hooks, the
 * folders made through test/support/temp-folder.ts are removed, so a test that forgets its
 * cleanup leaves nothing behind.
 */
import { afterAll } from 'vitest';
import { removeTempFolders } from '../support/temp-folder.js';

// Registered before the file's hooks, so it runs after them (after-hooks run in stack order).
afterAll(() => removeTempFolders());
