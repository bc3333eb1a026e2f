/**
 * `--env` as users run it (docs/environments.md): one repository, two embedded control planes
 * (`file:` states); plan every environment, apply one, saved plans name their environment and
 * are refused in another, each environment keeps its own inventory. The CLI in child processes.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { runCli } from '../support/cli.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { POOL, twoEnvironments, writeFiles } from './helpers.js';

/** What a missing token file's error says to do (controlplane/open.ts). */
const FIX = "correct the path, or put the control plane's token in that file";
let root: string;
let repo: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolsync-env-cli-'));
  repo = join(root, 'repo');
  await writeFiles(repo, {
    ...twoEnvironments({ dev: 'file:../state/dev.json', prod: 'file:../state/prod.json' }),
    '../state/.keep': '',
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('poolsync --env', () => {
  it('plan --env all plans each environment against its own control plane', async () => {
    const r = await runCli(['plan', repo, '--env', 'all', '--detailed-exitcode']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const [dev, prod] = r.stdout.split(/\n(?=Environment: )/);
    expect(dev).toMatch(/^Environment: dev\nControl plane: embedded file:.*state\/dev\.json/);
    expect(dev).toContain('+ Cluster/c-dev');
    expect(dev).not.toContain('c-prod');
    expect(dev).toMatch(/run_concurrency += 10/);
    expect(prod).toMatch(/^Environment: prod\nControl plane: embedded file:.*state\/prod\.json/);
    expect(prod).toContain('+ Cluster/c-prod');
    expect(prod).toMatch(/run_concurrency += 50/);
  });

  it('a command without --env in a repository with environments names them', async () => {
    const r = await runCli(['plan', repo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/declares environments \(dev, prod\): name one with --env NAME/);
    const both = await runCli(['plan', repo, '-e', 'dev', '--control-plane', 'file:/tmp/x.json']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--control-plane and --env both name a control plane/);
    const all = await runCli(['apply', repo, '--env', 'all', '--auto-approve']);
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/runs for one environment at a time/);
  });

  it('check takes --env as plan does; without it, it names the environments and checks nothing', async () => {
    const r = await runCli(['check', repo, '--env', 'prod', '--no-probe']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      /^✓ config folder .* \(environment prod\): valid, 3 objects in 3 files$/m,
    );
    expect(r.stdout).toMatch(/^✓ control plane file:.*state\/prod\.json: embedded$/m);
    expect(r.stdout).toContain(`Ready: \`poolsync plan ${repo} --env prod\` next.`);
    expect(r.code).toBe(0);
    const none = await runCli(['check', repo, '--no-probe']);
    expect(none.stderr).toMatch(/declares environments \(dev, prod\): name one with --env NAME/);
    expect(none.stdout).toBe('');
    expect(none.code).toBe(1);
  });

  it('--env in a folder without poolsync.yaml (one of the environments’ folders) says so', async () => {
    for (const command of ['plan', 'validate']) {
      const r = await runCli([command, join(repo, 'dev'), '--env', 'dev']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `Error: --env dev: ${join(repo, 'dev')} has no poolsync.yaml, so no environments; give the folder whose poolsync.yaml declares them, or leave out --env\n`,
      );
    }
  });

  it('apply -e dev changes dev only; each environment keeps its own inventory', async () => {
    const r = await runCli(['apply', repo, '-e', 'dev', '--auto-approve']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const state = join(root, 'state');
    expect(existsSync(join(state, 'dev.json.inventory.json'))).toBe(true);
    expect(existsSync(join(state, 'prod.json'))).toBe(false);
    const inventory = await readFile(join(state, 'dev.json.inventory.json'), 'utf8');
    expect(inventory).toContain('Cluster/c-dev');
    expect(inventory).not.toContain('c-prod');
    const again = await runCli(['plan', repo, '--env', 'all', '--detailed-exitcode']);
    expect(again.code).toBe(2); // prod still has changes
    expect(again.stdout).toMatch(/Environment: dev\n[^\n]*\n\nNo changes\./);
  });

  it('a saved plan names its environment and is refused in another', async () => {
    const file = join(root, 'prod.plan.json');
    const p = await runCli(['plan', repo, '-e', 'prod', '--out', file, '--output', 'json']);
    expect(p.code).toBe(0);
    const plan = JSON.parse(p.stdout) as Plan;
    expect(plan.control_plane?.environment).toBe('prod');
    const none = await runCli(['apply', file, '--config-dir', repo]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /made for environment prod: nothing was applied; apply it with --env prod/,
    );
    const other = await runCli(['apply', file, '-e', 'dev', '--config-dir', repo]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/made for environment prod, not dev/);
    expect(existsSync(join(root, 'state', 'prod.json'))).toBe(false);
    const ok = await runCli(['apply', file, '-e', 'prod', '--config-dir', repo]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const inventory = await readFile(join(root, 'state', 'prod.json.inventory.json'), 'utf8');
    expect(inventory).toContain('Cluster/c-prod');
    expect(inventory).not.toContain('c-dev');
  });

  it('validate checks every environment, each named', async () => {
    const r = await runCli(['validate', repo]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Environment dev:\nValid: 1 pool, 1 cluster, 1 queue/);
    expect(r.stdout).toMatch(/Environment prod:\nValid: 1 pool, 1 cluster, 1 queue/);
    const j = await runCli(['validate', repo, '-e', 'prod', '-o', 'json']);
    expect(JSON.parse(j.stdout)).toMatchObject({
      valid: true,
      environments: { prod: { valid: true } },
    });
  });
});

describe('plan --env all when an environment fails', () => {
  it('plans the others and reports each; errors name the environment and the poolsync.yaml line, never a flag nobody passed', async () => {
    const dir = join(root, 'failing');
    const keyFile = join(root, 'missing-staging.key');
    await writeFiles(dir, {
      'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  dev:
    controlPlane: file:.poolsync/dev.json
    folders: [base]
  stg:
    controlPlane: union+http://127.0.0.1:9
    apiKeyFile: ${keyFile}
    folders: [base]
  prd:
    controlPlane: http://127.0.0.1:9
    folders: [base]
`,
      'base/pool.yaml': POOL,
    });
    const r = await runCli(['plan', dir, '--env', 'all']);
    expect(r.code).toBe(1);
    // dev's state under .poolsync/ (which a fresh clone lacks) is created like the default one.
    expect(r.stdout).toMatch(
      /^Environment: dev\nControl plane: embedded file:.*\.poolsync\/dev\.json/,
    );
    expect(r.stdout).toContain('+ ClusterPool/gpu');
    expect(r.stdout).toContain('Environment: stg');
    expect(r.stdout).toContain('Environment: prd');
    expect(r.stderr).toContain(
      `Error: environment stg: environments.stg.apiKeyFile (poolsync.yaml:9) ${keyFile} does not exist\n`,
    );
    expect(r.stderr).toMatch(
      /^Error: environment prd: control plane: UNAVAILABLE: .*nothing accepts connections at http:\/\/127\.0\.0\.1:9 .*is environments\.prd\.controlPlane \(poolsync\.yaml:12\) right\?$/m,
    );
    expect(r.stderr).not.toMatch(/--api-key-file|--control-plane/);
    expect(r.stderr).toContain('2 of 3 environments failed: stg, prd');
    // The operator's variable names the key file instead: said as such.
    const byVariable = await runCli(['plan', dir, '--env', 'stg'], {
      POOLSYNC_ENV_STG_API_KEY_FILE: join(root, 'other.key'),
    });
    expect(byVariable.stderr).toBe(
      `Error: environment stg: POOLSYNC_ENV_STG_API_KEY_FILE ${join(root, 'other.key')} does not exist\n`,
    );
  });

  it('a key file whose text is no key leaves its path readable', async () => {
    const dir = join(root, 'failing');
    const keyFile = join(root, 'staging.key');
    await writeFile(keyFile, 'staging\n');
    const r = await runCli(['plan', dir, '--env', 'stg'], {
      POOLSYNC_ENV_STG_API_KEY_FILE: keyFile,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the Union API key in POOLSYNC_ENV_STG_API_KEY_FILE ${keyFile} is not valid (`,
    );
    expect(r.stderr).not.toContain('***');
  });

  it('a token file is named by where it came from, as apiKeyFile is, the environment once; one its control plane never reads is refused', async () => {
    const dir = join(root, 'tokens');
    await writeFiles(dir, {
      'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  stg:
    controlPlane: http://127.0.0.1:9
    tokenFile: secrets/stg-token
    folders: [base]
  dev:
    controlPlane: file:.poolsync/dev.json
    tokenFile: secrets/stg-token
    folders: [base]
`,
      'base/pool.yaml': POOL,
    });
    const token = join(dir, 'secrets/stg-token');
    const missing = await runCli(['plan', dir, '--env', 'stg']);
    expect(missing.stderr).toBe(
      `Error: environment stg: environments.stg.tokenFile (poolsync.yaml:6) ${token} does not exist: ${FIX}\n`,
    );
    const other = join(root, 'no-such-token');
    const byVariable = await runCli(['plan', dir, '--env', 'stg'], {
      POOLSYNC_ENV_STG_TOKEN_FILE: other,
    });
    expect(byVariable.stderr).toBe(
      `Error: environment stg: POOLSYNC_ENV_STG_TOKEN_FILE ${other} does not exist: ${FIX}\n`,
    );
    // A token file that names no control plane: the environment said once (it said it twice).
    await writeFiles(dir, { 'secrets/stg-token': 'plain-token\n' });
    const unbound = await runCli(['plan', dir, '--env', 'stg']);
    expect(unbound.stderr).toMatch(
      new RegExp(
        `^Error: environment stg: environments\\.stg\\.tokenFile \\(poolsync\\.yaml:6\\) ${token} does not name its control plane, so nothing was sent to http://127\\.0\\.0\\.1:9\\.`,
      ),
    );
    // On the embedded control plane a token file is never read: refused, not ignored.
    const unused = await runCli(['plan', dir, '--env', 'dev']);
    expect(unused.code).toBe(1);
    expect(unused.stderr).toBe(
      `Error: environment dev: environments.dev.tokenFile (poolsync.yaml:10) ${token} is not used: a file: control plane is the embedded one, a file on this machine, and takes no token; remove tokenFile from the environment\n`,
    );
  });

  it("a file: state in a missing folder names the environment's poolsync.yaml line, never --control-plane", async () => {
    const dir = join(root, 'missing-state-folder');
    await writeFiles(dir, {
      'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  stg:
    controlPlane: file:states/stg.json
    folders: [base]
`,
      'base/pool.yaml': POOL,
    });
    const r = await runCli(['plan', dir, '--env', 'stg']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `does not exist, so there is no control-plane state at ${join(dir, 'states/stg.json')}. Check environments.stg.controlPlane (poolsync.yaml:5); to start`,
    );
    expect(r.stderr).not.toContain('--control-plane');
  });

  it('apply --env names its errors as plan --env does: the environment, and where the token file came from', async () => {
    const dir = join(root, 'apply-tokens');
    await writeFiles(dir, {
      'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  prod:
    controlPlane: http://127.0.0.1:9
    tokenFile: secrets/prod-token
    folders: [base]
`,
      'base/pool.yaml': POOL,
    });
    const token = join(dir, 'secrets/prod-token');
    const other = join(root, 'no-such-prod-token');
    // apply said `token file … does not exist`: no environment, no poolsync.yaml line.
    for (const [vars, said] of [
      [{}, `environments.prod.tokenFile (poolsync.yaml:6) ${token}`],
      [{ POOLSYNC_ENV_PROD_TOKEN_FILE: other }, `POOLSYNC_ENV_PROD_TOKEN_FILE ${other}`],
    ] as const) {
      const expected = `Error: environment prod: ${said} does not exist: ${FIX}\n`;
      const planned = await runCli(['plan', dir, '--env', 'prod'], vars);
      expect(planned.stderr).toBe(expected);
      // In the temporary folder: apply's lock on this machine is kept under ./.poolsync.
      const applied = await runCli(['apply', dir, '--env', 'prod', '--auto-approve'], vars, root);
      expect(applied).toMatchObject({ code: 1, stderr: expected });
    }
  });

  it("promote takes --api-key-file for the next environment, over poolsync.yaml's", async () => {
    const dir = join(root, 'promoting');
    await writeFiles(dir, {
      'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  dev:
    controlPlane: file:.poolsync/dev.json
    folders: [base, dev]
    promotesTo: stg
  stg:
    controlPlane: union+http://127.0.0.1:9
    apiKeyFile: /run/secrets/union-staging-api-key
    folders: [base, stg]
`,
      'base/pool.yaml': POOL,
      'dev/.keep': '',
      'stg/.keep': '',
    });
    const key = join(root, 'given-on-the-command-line.key');
    const r = await runCli(['promote', 'dev', dir, '--api-key-file', key]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: environment stg: --api-key-file ${key} does not exist`);
  });
});

describe('--env with a poolsync.yaml that does not read', () => {
  it('fails saying so, naming the error, instead of running against the default control plane', async () => {
    const dir = join(root, 'invalid');
    await writeFiles(dir, {
      'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  prod:
    controlPlane: file:prod.json
    folders: [nowhere]
`,
      'pool.yaml': POOL,
    });
    const io = memoryIo();
    const { main } = await import('../../src/cli/run.js');
    expect(await exitOf(io, main(['state', 'list', dir, '--env', 'prod'], io))).toBe(1);
    expect(io.err()).toBe(
      `Error: --env prod: poolsync.yaml in ${dir} is not valid, so environment prod is not known: poolsync.yaml:6:15: environments.prod.folders: nowhere does not exist; \`poolsync validate ${dir}\` lists every error\n`,
    );
    expect(existsSync(join(dir, '.poolsync'))).toBe(false);
  });

  it("one that does not parse is reported alone: which folders are an environment's is not known, so no manifest is read", async () => {
    const dir = join(root, 'unparsed');
    await cp(join(import.meta.dirname, '../../examples/environments'), dir, { recursive: true });
    const config = await readFile(join(dir, 'poolsync.yaml'), 'utf8');
    await writeFile(
      join(dir, 'poolsync.yaml'),
      config.replace('  production:\n', '  production\n'),
    );
    const { main } = await import('../../src/cli/run.js');
    const cause =
      "poolsync.yaml:20:3: YAML syntax error: 'production' is missing its ':' (key: value), so the parser read on and gave up at line 21, column 17";
    for (const command of [
      ['validate', dir],
      ['plan', dir],
    ]) {
      const io = memoryIo();
      expect(await exitOf(io, main(command, io))).toBe(1);
      expect(io.out()).toBe(`${dir}/${cause}\n1 error in 1 file.\n`);
    }
  });
});
