/**
 * Issue 23, items 1, 2 and 7: nothing outside the repository is read, reads are bounded by
 * the bytes read, and render targets never collide with manifests or folders. Each hostile
 * entry is refused at `file:1:1` (or at the render setting) with a message that never quotes
 * the target.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { QUEUE, writeRepo } from './helpers.js';

const SECRET = 'ghp_TOPSECRETTOKENVALUE0123456789';
const CONFIG = 'apiVersion: poolsync/v1\nkind: RepoConfig\n';

async function outsideSecret(): Promise<string> {
  const dir = await writeRepo({ token: `${SECRET}\n`, 'token.yaml': `a: ${SECRET}\n` });
  return dir;
}

async function errorsOf(dir: string, opts: { root?: string } = {}): Promise<string[]> {
  const r = await loadRepository(dir, opts);
  expect(r.valid).toBe(false);
  const lines = r.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`);
  expect(lines.join('\n')).not.toContain(SECRET);
  return lines;
}

describe('poolsync.yaml is read only as a regular file of the repository (item 1)', () => {
  it('a symbolic link to a secret outside is refused at poolsync.yaml:1:1 without its content', async () => {
    const outside = await outsideSecret();
    const dir = await writeRepo({ 'q.yaml': QUEUE('q') });
    symlinkSync(join(outside, 'token'), join(dir, 'poolsync.yaml'));
    expect(await errorsOf(dir)).toEqual([
      'poolsync.yaml:1:1: IO not read: it is a symbolic link, and poolsync reads only regular files inside the repository (a link could point outside it; a FIFO or device could block or never end): commit the file itself',
    ]);
  });

  it('a link to /dev/zero ends at once, refused (item 2)', async () => {
    const dir = await writeRepo({ 'q.yaml': QUEUE('q') });
    symlinkSync('/dev/zero', join(dir, 'poolsync.yaml'));
    expect(await errorsOf(dir)).toEqual([
      expect.stringMatching(/^poolsync\.yaml:1:1: IO not read: it is a symbolic link/),
    ]);
  });

  it('a FIFO named poolsync.yaml is refused, never opened (an open would block forever)', async () => {
    const dir = await writeRepo({ 'q.yaml': QUEUE('q') });
    execFileSync('mkfifo', [join(dir, 'poolsync.yaml')]);
    expect(await errorsOf(dir)).toEqual([
      expect.stringMatching(/^poolsync\.yaml:1:1: IO not read: it is a FIFO/),
    ]);
  });

  it('a folder named poolsync.yaml is refused too', async () => {
    const dir = await writeRepo({ 'q.yaml': QUEUE('q'), 'poolsync.yaml/x': 'y' });
    expect(await errorsOf(dir)).toEqual([
      expect.stringMatching(/^poolsync\.yaml:1:1: IO not read: it is a folder/),
    ]);
  });
});

describe('the config folder is reached through real folders of the repository (item 1)', () => {
  it('a --path that is a committed link is refused at the folder; the root holding .git is the boundary', async () => {
    const outside = await outsideSecret();
    const repo = await writeRepo({ '.git/HEAD': 'ref: refs/heads/main\n' });
    symlinkSync(outside, join(repo, 'conf'));
    expect(await errorsOf(join(repo, 'conf'))).toEqual([
      '.:1:1: IO the folder conf of the repository is a symbolic link: poolsync reads nothing outside the repository, and a link could point anywhere; name the real folder instead',
    ]);
  });

  it('a link among the parent folders is refused as well, with an explicit root', async () => {
    const outside = await outsideSecret();
    mkdirSync(join(outside, 'conf'));
    writeFileSync(join(outside, 'conf', 'q.yaml'), QUEUE('q'));
    const repo = await writeRepo({ README: 'x' });
    symlinkSync(outside, join(repo, 'deploy'));
    expect(await errorsOf(join(repo, 'deploy', 'conf'), { root: repo })).toEqual([
      expect.stringContaining('.:1:1: IO the folder deploy of the repository is a symbolic link'),
    ]);
  });

  it('a real folder under the root loads as before', async () => {
    const repo = await writeRepo({ '.git/HEAD': 'x', 'conf/q.yaml': QUEUE('q') });
    expect((await loadRepository(join(repo, 'conf'))).valid).toBe(true);
  });
});

describe('render targets (item 7)', () => {
  const render = (path: string, other?: string): string =>
    `${CONFIG}render:\n  flyte-core-values:\n    path: ${path}\n${other ? `  union-cluster-pools:\n    path: ${other}\n` : ''}`;

  it('an existing manifest, a folder, `.`, poolsync.yaml, a link, a path through a file or the same file twice are refused at the setting', async () => {
    const cases: [string, Record<string, string>, string][] = [
      [
        'q.yaml',
        {},
        'names an existing file that poolsync did not generate (a manifest would leave validation and be overwritten): choose another path, or delete the file first',
      ],
      [
        'pools',
        { 'pools/p.yaml': QUEUE('p') },
        'names a folder: it must be a file (poolsync writes nothing through links)',
      ],
      [
        '.',
        {},
        "must be a file path inside the folder (relative, forward slashes, no '.' or '..' parts, not the folder itself)",
      ],
      [
        './values.yaml',
        {},
        "must be a file path inside the folder (relative, forward slashes, no '.' or '..' parts, not the folder itself)",
      ],
      ['poolsync.yaml', {}, 'names the repository config: choose another file'],
      [
        'q.yaml/values.yaml',
        {},
        'cannot be written: q.yaml is a file, not a folder (poolsync writes nothing outside the folder)',
      ],
    ];
    for (const [path, extra, why] of cases) {
      const dir = await writeRepo({
        'poolsync.yaml': render(path),
        'q.yaml': QUEUE('q'),
        ...extra,
      });
      expect(await errorsOf(dir), path).toEqual([
        `poolsync.yaml:5:11: SCHEMA render.flyte-core-values.path '${path}' ${why}`,
      ]);
    }
    const twice = await writeRepo({
      'poolsync.yaml': render('v.yaml', 'v.yaml'),
      'q.yaml': QUEUE('q'),
    });
    expect(await errorsOf(twice)).toEqual([
      "poolsync.yaml:7:11: SCHEMA render.union-cluster-pools.path 'v.yaml' is also render.flyte-core-values.path: give each file one use",
    ]);
  });

  it('a target that is a link (to a file or a folder outside) is refused; nothing is written through it', async () => {
    const outside = await outsideSecret();
    const dir = await writeRepo({ 'poolsync.yaml': render('values.yaml'), 'q.yaml': QUEUE('q') });
    symlinkSync(join(outside, 'token.yaml'), join(dir, 'values.yaml'));
    expect(await errorsOf(dir)).toEqual([
      "poolsync.yaml:5:11: SCHEMA render.flyte-core-values.path 'values.yaml' names a symbolic link: it must be a file (poolsync writes nothing through links)",
    ]);
    const viaFolder = await writeRepo({
      'poolsync.yaml': render('out/values.yaml'),
      'q.yaml': QUEUE('q'),
    });
    symlinkSync(outside, join(viaFolder, 'out'));
    expect(await errorsOf(viaFolder)).toEqual([
      "poolsync.yaml:5:11: SCHEMA render.flyte-core-values.path 'out/values.yaml' cannot be written: out is a symbolic link, not a folder (poolsync writes nothing outside the folder)",
    ]);
  });

  it('base values: a link, a manifest, poolsync.yaml or the target itself are refused; a values file is fine', async () => {
    const withBase = (base: string) =>
      `${CONFIG}render:\n  flyte-core-values:\n    path: out.yaml\n    base: ${base}\n`;
    const outside = await outsideSecret();
    const linked = await writeRepo({
      'poolsync.yaml': withBase('values.yaml'),
      'q.yaml': QUEUE('q'),
    });
    symlinkSync(join(outside, 'token.yaml'), join(linked, 'values.yaml'));
    expect(await errorsOf(linked)).toEqual([
      "poolsync.yaml:6:11: SCHEMA render.flyte-core-values.base 'values.yaml' names a symbolic link: it must be a file (poolsync reads nothing through links)",
    ]);
    const manifest = await writeRepo({ 'poolsync.yaml': withBase('q.yaml'), 'q.yaml': QUEUE('q') });
    expect(await errorsOf(manifest)).toEqual([
      "poolsync.yaml:6:11: SCHEMA render.flyte-core-values.base 'q.yaml' holds poolsync manifests: base values are Helm values, and a manifest named here would leave validation",
    ]);
    const same = await writeRepo({ 'poolsync.yaml': withBase('out.yaml'), 'q.yaml': QUEUE('q') });
    expect(await errorsOf(same)).toEqual([
      "poolsync.yaml:6:11: SCHEMA render.flyte-core-values.base 'out.yaml' is also render.flyte-core-values.path: give each file one use",
    ]);
    const fine = await writeRepo({
      'poolsync.yaml': withBase('helm/values.yaml'),
      'q.yaml': QUEUE('q'),
      'helm/values.yaml': 'configuration: {}\n',
    });
    expect((await loadRepository(fine)).errors).toEqual([]);
  });

  it('a file poolsync generated, a missing file and a missing folder are fine', async () => {
    const dir = await writeRepo({
      'poolsync.yaml': render('values.yaml', 'gen/pools.yaml'),
      'q.yaml': QUEUE('q'),
      'values.yaml': '# Generated by poolsync from commit x.\n\nconfiguration: {}\n',
    });
    expect((await loadRepository(dir)).errors).toEqual([]);
  });
});
