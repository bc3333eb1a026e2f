/** `poolsync validate` run in process: output formats and exit codes. */
import {
  cpSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLUSTER, POOL, QUEUE, writeRepo } from './helpers.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { outcomeForInvalid } from '../../src/vcs/publish.js';

function poolsync(...args: string[]) {
  return runInProcess(args, process.env);
}

describe('poolsync validate', () => {
  it('prints a one-line summary and exits 0 for the example repository', async () => {
    const r = await poolsync('validate', 'examples/config-repo');
    expect(r).toEqual({
      code: 0,
      stdout: 'Valid: 3 pools, 9 clusters, 10 queues, 7 assignments in 21 files.\n',
      stderr: '',
    });
  });

  it('prints path:line:col: CODE message per error, sorted, then a count, and exits 1', async () => {
    const repo = await writeRepo({
      'b.yaml': QUEUE('q', '  priorty: max\n'),
      'a.yaml': CLUSTER('default'),
    });
    const r = await poolsync('validate', repo);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      `${repo}/a.yaml:4:9: V5 a cluster cannot be named 'default' (reserved, C1): rename it`,
      `${repo}/b.yaml:8:3: SCHEMA unknown field 'priorty' in spec (did you mean 'priority'?)`,
      '2 errors in 2 files.',
      '',
    ]);
    // No poolsync.yaml: the defaults in use, in one line.
    expect(r.stderr).toBe(
      `Note: ${repo} has no poolsync.yaml: the defaults are in use (prune off, no file ignored: every YAML file under it is read as a manifest); \`poolsync init ${repo}\` writes one.\n`,
    );
  });

  it('an emptied poolsync.yaml is an error at poolsync.yaml:1:1: its ignore: is not dropped, nothing is validated, planned or applied', async () => {
    // drafts/ holds a pool the example's poolsync.yaml ignores.
    const repo = tempFolder('poolsync-emptied-');
    cpSync('examples/config-repo', repo, { recursive: true });
    const state = join(repo, '.poolsync', 'cp.json');
    for (const text of ['', '# prune: false\n', '---\n']) {
      writeFileSync(join(repo, 'poolsync.yaml'), text);
      expect(await poolsync('validate', repo)).toEqual({
        code: 1,
        stdout: `${repo}/poolsync.yaml:1:1: SCHEMA poolsync.yaml is empty (no YAML document, comments at most): a poolsync.yaml needs apiVersion: poolsync/v1 and kind: RepoConfig (\`poolsync init\` writes a commented one); remove the file to use the defaults\n1 error in 1 file.\n`,
        stderr: '',
      });
      const apply = ['apply', repo, '--auto-approve', '--control-plane', `file:${state}`];
      const applied = await poolsync(...apply, '--state-dir', join(repo, '.poolsync'));
      expect(applied.code).toBe(1);
      expect(applied.stderr).toContain('nothing was applied');
      expect(existsSync(state)).toBe(false);
    }
  });

  it('names the other place of a cross-document error as it names its own (the folder as given)', async () => {
    const repo = await writeRepo({
      'pools/a.yaml': POOL('dev', 's3://one'),
      'pools/b.yaml': POOL('dev', 's3://two'),
      'pools/c.yaml': POOL('prod', 's3://one'),
    });
    const r = await poolsync('validate', repo);
    expect(r.stdout.split('\n')).toEqual([
      `${repo}/pools/a.yaml:4:9: V1 duplicate ClusterPool 'dev': also declared at ${repo}/pools/b.yaml:4:9`,
      `${repo}/pools/b.yaml:4:9: V1 duplicate ClusterPool 'dev': also declared at ${repo}/pools/a.yaml:4:9`,
      `${repo}/pools/c.yaml:7:10: V7 pool 'prod' uses the object store s3://one of pool 'dev' (${repo}/pools/a.yaml:7:10); pools must not share an object store (P7)`,
      '3 errors in 3 files.',
      '',
    ]);
    // JSON's files are the folder's, and so are the places its messages name.
    const json = await poolsync('validate', repo, '-o', 'json');
    const { errors } = JSON.parse(json.stdout);
    expect(errors[0]).toMatchObject({
      file: 'pools/a.yaml',
      message: "duplicate ClusterPool 'dev': also declared at pools/b.yaml:4:9",
    });
    // A pull-request comment names both from the repository's root.
    expect(outcomeForInvalid(errors, 'infra')).toMatchObject({
      errorsText: expect.stringMatching(
        /^infra\/pools\/a\.yaml:4:9: V1 .* also declared at infra\/pools\/b\.yaml:4:9\n/,
      ),
    });
  });

  it('--output json gives {valid, errors, counts} with addresses', async () => {
    const repo = await writeRepo({ 'q.yaml': QUEUE('q', '  pool: nowhere\n') });
    const r = await poolsync('validate', repo, '--output', 'json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      valid: false,
      errors: [
        {
          code: 'V2',
          message: "queue 'q': pool 'nowhere' is not declared (declared: default)",
          file: 'q.yaml',
          line: 8,
          column: 9,
          address: 'Queue/q',
        },
      ],
      counts: { pools: 0, clusters: 0, queues: 1, assignments: 0, files: 1, documents: 1 },
    });
  });

  it('--output json on a valid repository exits 0', async () => {
    const r = await poolsync('validate', 'examples/config-repo', '-o', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, errors: [], counts: { pools: 3 } });
  });

  it('a missing folder is a one-line user error without a stack trace', async () => {
    const r = await poolsync('validate', 'no/such/folder');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: folder no/such/folder does not exist: point poolsync at the config folder (e.g. `poolsync validate examples/config-repo`), or start one with `poolsync init DIR` (docs/getting-started.md)\n',
    );
  });

  it('-o json: a folder that is no config repository is the same JSON report on stdout, exit 1', async () => {
    const empty = tempFolder('poolsync-empty-');
    const r = await poolsync('validate', empty, '-o', 'json');
    expect(r).toMatchObject({ code: 1, stderr: '' });
    const report = JSON.parse(r.stdout) as { valid: boolean; errors: { code: string }[] };
    expect(report).toMatchObject({ valid: false, counts: { files: 0 } });
    expect(report.errors).toEqual([
      expect.objectContaining({ code: 'IO', file: '.', line: 1, column: 1, address: null }),
    ]);
    expect(JSON.stringify(report)).toContain('is not a poolsync config repository');
  });

  it('a file that does not parse withholds the errors naming what it may declare, and says so', async () => {
    const repo = join(tempFolder('poolsync-unparsed-'), 'repo');
    cpSync('examples/config-repo', repo, { recursive: true });
    writeFileSync(join(repo, 'pools/dev.yaml'), 'bad: [\n', { flag: 'a' });
    const r = await poolsync('validate', repo);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('is not declared');
    expect(r.stdout).toMatch(
      /pools\/dev\.yaml:\d+:\d+: YAML syntax error: .* \(5 references to names not declared withheld until every file reads: this one may declare them\)\n1 error in 1 file\.\n$/,
    );
    // Once it parses, a name nobody declares is an error again.
    writeFileSync(join(repo, 'pools/dev.yaml'), POOL('other', 's3://b/m'));
    expect((await poolsync('validate', repo)).stdout).toContain("pool 'dev' is not declared");
  });

  it('rejects an unknown --output value', async () => {
    const r = await poolsync('validate', '.', '--output', 'xml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--output "xml" is not one of text, json');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('a manifest that is not a regular file', () => {
  const ASSIGNMENT = `apiVersion: poolsync/v1
kind: PoolAssignment
metadata:
  name: fs-prod
spec:
  project: flytesnacks
  domain: production
  pool: production-cp
`;

  it('is an error naming it in validate, plan and apply, so prune: true never deletes its objects; under ignore it is skipped', async () => {
    const root = tempFolder('poolsync-linked-manifest-');
    const repo = join(root, 'conf');
    mkdirSync(join(root, 'common'), { recursive: true });
    mkdirSync(repo);
    writeFileSync(
      join(repo, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n',
    );
    writeFileSync(join(repo, 'pool.yaml'), POOL('production-cp', 's3://prod-bucket/m'));
    writeFileSync(join(repo, 'assign.yaml'), ASSIGNMENT);
    const cp = [
      '--control-plane',
      `file:${join(root, 'cp.json')}`,
      '--state-dir',
      join(root, 'state'),
    ];
    expect((await poolsync('apply', repo, '--auto-approve', ...cp)).code).toBe(0);
    renameSync(join(repo, 'assign.yaml'), join(root, 'common', 'assign.yaml'));
    symlinkSync('../common/assign.yaml', join(repo, 'assign.yaml'));

    const error = `${repo}/assign.yaml:1:1: IO not read: it is a symbolic link, and poolsync reads only regular files inside the repository (a link could point outside it; a FIFO or device could block or never end): replace it with the file itself, or list it under ignore in poolsync.yaml`;
    for (const command of ['validate', 'plan', 'apply']) {
      const options = { validate: [], plan: cp, apply: [...cp, '--auto-approve'] }[command]!;
      const r = await poolsync(command, repo, ...options);
      expect(r.code, command).toBe(1);
      expect((r.stdout + r.stderr).split('\n'), command).toContain(error);
      expect(r.stdout + r.stderr, command).not.toContain('PoolAssignment/flytesnacks/production');
    }
    // The assignment is still live: the same folder with the file itself back plans nothing.
    rmSync(join(repo, 'assign.yaml'));
    renameSync(join(root, 'common', 'assign.yaml'), join(repo, 'assign.yaml'));
    expect((await poolsync('plan', repo, ...cp)).stdout).toContain('No changes.');
    symlinkSync('../common/assign.yaml', join(repo, 'linked.yaml'));

    writeFileSync(
      join(repo, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore: [linked.yaml]\n',
    );
    expect(await poolsync('validate', repo)).toMatchObject({ code: 0, stderr: '' });
  });

  it('a manifest extension in another case (.YAML, .Yml) is an error, so prune: true never deletes its objects', async () => {
    const repo = join(tempFolder('poolsync-mis-cased-'), 'conf');
    mkdirSync(repo);
    writeFileSync(
      join(repo, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n',
    );
    writeFileSync(join(repo, 'pool.yaml'), POOL('production-cp', 's3://prod-bucket/m'));
    writeFileSync(join(repo, 'assign.YAML'), ASSIGNMENT);
    const cp = ['--control-plane', `file:${join(repo, '..', 'cp.json')}`];
    const error = `${repo}/assign.YAML:1:1: IO not read: only names ending in .yaml or .yml (lower case) are manifests, and its objects would count as removed: rename it with a lower-case extension, or list it under ignore in poolsync.yaml`;
    for (const command of ['validate', 'plan']) {
      const r = await poolsync(command, repo, ...(command === 'plan' ? cp : []));
      expect(r.code, command).toBe(1);
      expect(r.stdout.split('\n'), command).toContain(error);
    }
    renameSync(join(repo, 'assign.YAML'), join(repo, 'assign.Yml'));
    expect((await poolsync('validate', repo)).stdout).toContain('assign.Yml:1:1: IO not read');
    renameSync(join(repo, 'assign.Yml'), join(repo, 'assign.yml'));
    expect(await poolsync('validate', repo)).toMatchObject({ code: 0, stderr: '' });
  });
});
