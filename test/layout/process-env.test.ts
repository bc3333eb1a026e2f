/**
 * The environment is passed explicitly below the entry points (issue 62; src/util/env.ts): only
 * src/cli/ (the CLI and the daemon's command) reads `process.env`, so two in-process runs with
 * different environments never see each other's variables. One module more, with its reason.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC } from './imports.js';

/** Module → why it reads the process's own environment. */
const ALLOWED: Record<string, string> = {
  'util/tracked.ts':
    'the PATH git is found on and the HOME it runs in, for a safety check of files poolsync writes: the process, not a setting',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

describe('process.env', () => {
  it('is read in src/cli/ only (and the allowed module, with its reason)', () => {
    const readers = sources(SRC)
      .map((path) => relative(SRC, path))
      .filter((rel) => !rel.startsWith('cli/') && !(rel in ALLOWED))
      .filter((rel) => /\bprocess\.env\b/.test(readFileSync(join(SRC, rel), 'utf8')));
    expect(readers).toEqual([]);
  });
});
