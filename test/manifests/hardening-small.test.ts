/**
 * Issue 23, item 10: an ExecutionCluster endpoint with credentials is refused (and so never
 * rendered into Helm values); a number no double holds as written (1e-400 read as 0, an
 * integer past 2^53 rounded) is refused where it is written.
 */
import { cp, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { runCli } from '../support/cli.js';
import { QUEUE, writeRepo } from './helpers.js';

async function errorsOf(files: Record<string, string>): Promise<string[]> {
  const r = await loadRepository(await writeRepo(files));
  expect(r.valid).toBe(false);
  return r.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`);
}

const executionCluster = (endpoint: string) => `apiVersion: poolsync/v1
kind: ExecutionCluster
metadata:
  name: dp
spec:
  endpoint: "${endpoint}"
  auth: {type: file_path, tokenPath: /var/run/credentials/token, certPath: /var/run/credentials/cacert}
`;

describe('ExecutionCluster.endpoint credentials (docs/security.md)', () => {
  it('user:pass@, TOKEN@ and :pass@ are refused at the value, without repeating it', async () => {
    for (const [endpoint, what] of [
      ['https://user:pass@dp.example.com:443', 'a password or key (user:secret@)'],
      ['https://ghp_TOKEN1234@dp.example.com', 'a user part (name@)'],
      ['https://:pass@dp.example.com', 'a password or key (user:secret@)'],
    ] as const) {
      const all = await errorsOf({ 'c.yaml': executionCluster(endpoint) });
      const errors = all.filter((e) => e.includes(' SCHEMA '));
      expect(errors, endpoint).toEqual([
        `c.yaml:6:13: SCHEMA endpoint carries ${what}: manifests live in Git and are shown in plans; flyteadmin reads the cluster's credentials from the files of spec.auth (tokenPath, certPath), not the URL`,
      ]);
      expect(all.join('')).not.toContain('pass@');
    }
  });

  it('render flyte-core-values refuses the folder and writes nothing', async () => {
    const dir = await writeRepo({});
    await cp('examples/flyte-oss', dir, { recursive: true });
    const clusters = join(dir, 'clusters', 'dataplane.yaml');
    const text = await readFile(clusters, 'utf8');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(clusters, text.replace(/https:\/\//, 'https://admin:s3cret@'));
    const before = await readdir(join(dir, 'deploy'));
    const values = await readFile(join(dir, 'deploy', before[0]!), 'utf8');
    const r = await runCli(['render', 'flyte-core-values', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SCHEMA endpoint carries a password or key/);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
    expect(await readFile(join(dir, 'deploy', before[0]!), 'utf8')).toBe(values);
  });
});

describe('numbers no double holds as written', () => {
  it('underflow to 0, overflow and integers past 2^53 are refused at the value; exact zeros are fine', async () => {
    const q = (v: string) => QUEUE('q').replace('run_concurrency: 1', `run_concurrency: ${v}`);
    expect(await errorsOf({ 'q.yaml': q('1e-400') })).toEqual([
      'q.yaml:6:20: YAML the number 1e-400 cannot be stored as written (it would read as 0): whole numbers go up to ±9,007,199,254,740,991 and no exponent may underflow to 0; write the value you mean, or quote it if it is text',
    ]);
    expect(await errorsOf({ 'q.yaml': q('-0.5e-330') })).toEqual([
      expect.stringMatching(
        /^q\.yaml:6:20: YAML the number -0\.5e-330 cannot be stored as written \(it would read as 0\)/,
      ),
    ]);
    expect(await errorsOf({ 'q.yaml': q('9007199254740993') })).toEqual([
      expect.stringMatching(
        /^q\.yaml:6:20: YAML the number 9007199254740993 cannot be stored as written \(it would read as 9007199254740992\)/,
      ),
    ]);
    expect(await errorsOf({ 'q.yaml': q('1e400') })).toEqual([
      expect.stringMatching(/^q\.yaml:6:20: SCHEMA spec\.run_concurrency must be a whole number/),
    ]);
    for (const zero of ['0', '0.0', '0e5', '-0.000'])
      expect((await loadRepository(await writeRepo({ 'q.yaml': q(zero) }))).errors, zero).toEqual(
        [],
      );
  });
});

describe('a name too long (N1)', () => {
  it('cites N1, as a name of other characters does', async () => {
    const long = 'q'.repeat(64);
    const errors = await errorsOf({ 'q.yaml': QUEUE(long) });
    expect(errors.filter((e) => e.includes(' SCHEMA '))).toEqual([
      'q.yaml:4:9: SCHEMA metadata.name must be at most 63 characters (N1)',
    ]);
  });
});
