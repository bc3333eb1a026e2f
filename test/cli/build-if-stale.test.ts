/**
 * `npm start` builds only when the sources changed (issue 61: 39-49 s on every start):
 * `prestart` is scripts/build-if-stale.mjs, which compares the sources' hash with the one the
 * last build of dist/ started from. Checked on a temporary folder shaped like this repository;
 * the script itself runs there as `npm start` runs it, when nothing needs a build.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of scripts/, without types
import { sourceHash, staleness } from '../../scripts/build-if-stale.mjs';
import { REPO_ROOT } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';

const stale = staleness as (root: string) => string | null;
const hashOf = sourceHash as (root: string) => string;

function project(): string {
  const root = tempFolder('poolsync-prestart-');
  for (const [path, text] of Object.entries({
    'src/cli/main.ts': 'export {};\n',
    'src/util/a.ts': 'export const a = 1;\n',
    'tsconfig.json': '{}\n',
    'tsconfig.build.json': '{}\n',
    'scripts/bundle.mjs': '\n',
    'package.json': '{"name": "x"}\n',
    'package-lock.json': '{}\n',
  })) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** dist/ as a build leaves it, stamped with the sources it was built from. */
function built(root: string): void {
  mkdirSync(join(root, 'dist/cli'), { recursive: true });
  writeFileSync(join(root, 'dist/cli/main.js'), '\n');
  writeFileSync(join(root, 'dist/source-hash'), `${hashOf(root)}\n`);
}

describe('npm start: prestart builds only when the sources changed', () => {
  it('package.json runs the check before start', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.prestart).toBe('node scripts/build-if-stale.mjs');
  });

  it('stale without dist/, without a stamp, after an edit, a new or a removed file; fresh otherwise', () => {
    const root = project();
    expect(stale(root)).toBe('dist/ has not been built');
    built(root);
    expect(stale(root)).toBeNull();
    rmSync(join(root, 'dist/source-hash'));
    expect(stale(root)).toBe('dist/ has no record of the sources it was built from');
    built(root);
    for (const change of [
      () => writeFileSync(join(root, 'src/util/a.ts'), 'export const a = 2;\n'),
      () => writeFileSync(join(root, 'src/util/b.ts'), 'export {};\n'),
      () => rmSync(join(root, 'src/util/b.ts')),
      () => writeFileSync(join(root, 'package-lock.json'), '{"v": 2}\n'),
      () => writeFileSync(join(root, 'scripts/bundle.mjs'), '// changed\n'),
    ]) {
      change();
      expect(stale(root)).toBe('the sources changed since dist/ was built');
      built(root);
    }
    // Not a source: a test, a doc, dist itself.
    mkdirSync(join(root, 'test'));
    writeFileSync(join(root, 'test/x.test.ts'), '\n');
    writeFileSync(join(root, 'dist/cli/main.js'), '// rebuilt by hand\n');
    expect(stale(root)).toBeNull();
    // An edit undone needs no build: content, not time.
    writeFileSync(join(root, 'src/util/a.ts'), 'export const a = 3;\n');
    writeFileSync(join(root, 'src/util/a.ts'), 'export const a = 2;\n');
    expect(stale(root)).toBeNull();
  });

  it('an up-to-date dist/ starts without a build', () => {
    const root = project();
    mkdirSync(join(root, 'scripts'), { recursive: true });
    cpSync(join(REPO_ROOT, 'scripts/build-if-stale.mjs'), join(root, 'scripts/build-if-stale.mjs'));
    built(root);
    const out = execFileSync(process.execPath, [join(root, 'scripts/build-if-stale.mjs')], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toBe('dist/ is up to date with the sources: no build.\n');
  });

  it('npm run build stamps dist/ too: the next start builds nothing', () => {
    const root = project();
    cpSync(join(REPO_ROOT, 'scripts/build-if-stale.mjs'), join(root, 'scripts/build-if-stale.mjs'));
    // A stand-in for tsc that writes what the real one would: dist/cli/main.js.
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    mkdirSync(join(tsc, '..'), { recursive: true });
    writeFileSync(
      tsc,
      "const fs = require('node:fs'); fs.mkdirSync('dist/cli', { recursive: true }); fs.writeFileSync('dist/cli/main.js', '\\n');\n",
    );
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toBe('node scripts/build-if-stale.mjs --always');
    const script = join(root, 'scripts/build-if-stale.mjs');
    expect(
      execFileSync(process.execPath, [script, '--always'], { cwd: root, encoding: 'utf8' }),
    ).toBe('');
    expect(stale(root)).toBeNull();
    const out = execFileSync(process.execPath, [script], { cwd: root, encoding: 'utf8' });
    expect(out).toBe('dist/ is up to date with the sources: no build.\n');
  });
});
