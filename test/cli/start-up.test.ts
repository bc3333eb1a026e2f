/**
 * What a command loads before it works (issue 79 item 5): `plan` and `apply` against a `file:`
 * control plane load no HTTP stack. An ESM import of node:http reads every export of it, and
 * its lazy ones (WebSocket, …) load undici, http2, tls and zlib: ~40 ms of CPU a process.
 * Observed in a child Node process by the built-in modules it loaded.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The built-in modules a child Node loads importing `module` (src, through tsx). */
function builtinsLoadedBy(module: string): string[] {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const tsx = resolve(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
  const script = `
    await import(${JSON.stringify(resolve(ROOT, module))});
    process.stdout.write(JSON.stringify(process.moduleLoadList));
  `;
  const res = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env,
  });
  if (res.status !== 0) throw new Error(`child failed (${res.status}): ${res.stderr}`);
  return (JSON.parse(res.stdout) as string[])
    .filter((m) => m.startsWith('NativeModule '))
    .map((m) => m.slice('NativeModule '.length));
}

const HTTP_STACK = ['http', 'https', 'http2', 'tls', 'zlib', 'internal/deps/undici/undici'];

describe('start-up', () => {
  it.each(['src/cli/commands/apply.ts', 'src/cli/commands/plan.ts'])(
    '%s loads no HTTP stack',
    (module) => {
      const loaded = builtinsLoadedBy(module);
      expect(loaded).toContain('fs'); // the list is the child's
      expect(loaded.filter((m) => HTTP_STACK.includes(m))).toEqual([]);
    },
  );
});
