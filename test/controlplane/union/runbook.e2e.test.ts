/**
 * A runbook that runs as written (docs/union.md, "Manual steps"): a plan that creates a pool,
 * registers a cluster, moves one (cluster_move) and disables one has four `flyte` commands.
 * They run without a terminal, against exactly the org and endpoint of --control-plane, with
 * the API key in FLYTE_API_KEY (never in argv): pasted into `sh` as printed, and run by
 * `apply --flyte-cli`. fake-flyte.ts stands in for the official CLI: it refuses to prompt
 * without a terminal, refuses a key of another org or endpoint, and records argv and env.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolContract } from '../../../src/model/common.js';
import { runCli } from '../../apply/helpers/cli.js';
import { installFakeFlyte } from '../../apply/helpers/install-fake-flyte.js';
import { tempDir, writeRepo } from '../../apply/helpers/repo.js';
import { apiKey, CLIENT, startUnionServer, type UnionServer, unexpectedStderr } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const CPU: PoolContract = {
  object_store_ref: { uri: 's3://cpu-bucket/meta', endpoint: '' },
  secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-2' },
  image_registry: null,
};

interface FlyteCall {
  argv: string[];
  command: string[];
  apiKey: string | null;
}

async function calls(log: string): Promise<FlyteCall[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FlyteCall);
}

/** Runs `script` with sh, stdin closed (no terminal), as a person pasting the runbook would. */
function sh(script: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-e', '-c', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/**
 * The union org as the tests seed it: pools default and cpu, clusters c1 and c3 (cpu) and c2.
 * c3 keeps pool cpu visible once c1 has left it (Union's API shows a pool only through its
 * clusters and queues).
 */
async function seedOrg(server: UnionServer) {
  await server.embedded.createPool('cpu', CPU);
  await server.embedded.registerCluster({ name: 'c1', pool: 'cpu' });
  // c1 runs a data plane redeployed with gpu's values ahead of its move (what the plan's
  // DATA_PLANE_UNVERIFIED asks to check): the stand-in checks it at the move, as Union would
  // (C4), and Union's API shows none of it.
  await server.embedded.reportClusterStatus('c1', {
    object_store_uri: 's3://bucket-gpu/data',
    secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
  });
  await server.embedded.registerCluster({ name: 'c3', pool: 'cpu' });
  await server.embedded.registerCluster({ name: 'c2' });
}

function repoDir(root: string): Promise<string> {
  return writeRepo(join(root, 'repo'), {
    pools: ['gpu', 'cpu'],
    // c2 is disabled by the repository (`flyte update cluster c2 --drain`).
    clusters: { g1: 'gpu', c1: 'gpu', c3: 'cpu', c2: { pool: 'default', enabled: false } },
    queues: { training: { pool: 'gpu', clusters: ['g1', 'c1'] } },
  });
}

describe('the runbook of a union plan', () => {
  it('pastes into sh as printed and converges: pinned to the org and endpoint, no prompt, no secret in argv', async () => {
    s = await startUnionServer();
    await seedOrg(s);
    const root = await tempDir('poolsync-union-runbook-');
    const repo = await repoDir(root);
    const key = apiKey(s.host);
    const url = s.url('connect');
    const env = { POOLSYNC_UNION_API_KEY: key };

    const plan = await runCli(['plan', repo, '--control-plane', url], env);
    expect(plan.stderr).toBe('');
    // The move is planned (Union reports no data plane: unverified, not a mismatch).
    expect(plan.stdout).toContain('DATA_PLANE_UNVERIFIED');
    expect(plan.stdout).toMatch(
      /Cluster\/c1 moves to pool "gpu" \(cluster_move\), but the control plane does not report a cluster's data plane/,
    );
    expect(plan.stdout).toContain('object store s3://bucket-gpu/data');
    // The runbook: the lines after the "Manual steps" heading, up to the next section.
    const lines = plan.stdout.split('\n');
    const from = lines.findIndex((l) => l.startsWith('Manual steps ('));
    const to = lines.findIndex(
      (l, i) => i > from && /^(Capability steps|Blocked|Warnings:|Errors:|Plan:)/.test(l),
    );
    expect(from).toBeGreaterThan(0);
    const runbook = lines.slice(from + 1, to).join('\n');
    const pin = `flyte --endpoint dns:///${s.host} --org acme --insecure`;
    expect(runbook).toContain('export FLYTE_API_KEY="$POOLSYNC_UNION_API_KEY"');
    expect(runbook).toContain(`${pin} create cluster-pool gpu --file gpu-pool.yaml`);
    expect(runbook).toContain(`${pin} create cluster g1 --pool gpu`);
    expect(runbook).toContain(`${pin} update cluster c1 --pool gpu --yes`);
    expect(runbook).toContain(`${pin} update cluster c2 --drain --yes`);
    expect(runbook.indexOf('export FLYTE_API_KEY')).toBeLessThan(runbook.indexOf(pin));

    // `poolsync apply` runs what has an API (c1's queue is drained and waited for), then exits
    // 2 with the runbook of what is left: a person pastes it into a shell as printed.
    const first = await runCli(['apply', repo, '--control-plane', url, '--auto-approve'], env);
    expect(unexpectedStderr(first.stderr)).toBe('');
    expect(first.code).toBe(2);
    const left = first.stdout.slice(first.stdout.lastIndexOf('\nRunbook:'));
    const pasted = left.split('\n').slice(2).join('\n');
    expect(pasted).toContain(`${pin} update cluster c1 --pool gpu --yes`);
    const bin = await installFakeFlyte(root);
    const log = join(root, 'flyte.log');
    const fake = {
      PATH: `${dirname(bin)}:${process.env.PATH ?? ''}`,
      FAKE_FLYTE_LOG: log,
      FAKE_FLYTE_API: `http://${s.host}`,
      FAKE_FLYTE_REQUIRE_TARGET: '1',
    };
    const ran = await sh(`cd ${JSON.stringify(root)}\n${pasted}`, { ...env, ...fake });
    expect(ran.out).not.toContain('Aborted');
    expect(ran.out && ran.code, ran.out).toBe(0);
    const made = await calls(log);
    // In step order: the pool before the cluster registered into it.
    const order = made.map((c) => c.command.slice(0, 3).join(' '));
    expect([...order].sort()).toEqual([
      'create cluster g1',
      'create cluster-pool gpu',
      'update cluster c1',
      'update cluster c2',
    ]);
    expect(order.indexOf('create cluster-pool gpu')).toBeLessThan(
      order.indexOf('create cluster g1'),
    );
    for (const c of made) {
      expect(c.argv.slice(0, 5)).toEqual([
        '--endpoint',
        `dns:///${s.host}`,
        '--org',
        'acme',
        '--insecure',
      ]);
      expect(c.apiKey).toBe(key);
      expect(c.argv.join(' ')).not.toContain(key);
      expect(c.argv.join(' ')).not.toContain(CLIENT.client_secret);
    }
    expect(await s.embedded.getCluster('c1')).toMatchObject({ pool: 'gpu', health: 'healthy' });
    expect((await s.embedded.getCluster('c2')).enabled).toBe(false);

    const apply = await runCli(['apply', repo, '--control-plane', url, '--auto-approve'], env);
    expect(unexpectedStderr(apply.stderr)).toBe('');
    expect(apply.code).toBe(0);
    const again = await runCli(['plan', repo, '--control-plane', url, '--detailed-exitcode'], env);
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);
  }, 120_000);

  it('apply --flyte-cli runs every command with the key in FLYTE_API_KEY, then what waited on them', async () => {
    s = await startUnionServer();
    await seedOrg(s);
    const root = await tempDir('poolsync-union-runbook-');
    const repo = await repoDir(root);
    const key = apiKey(s.host);
    const url = s.url('grpc');
    const bin = await installFakeFlyte(root);
    const log = join(root, 'flyte.log');
    const env = {
      POOLSYNC_UNION_API_KEY: key,
      FAKE_FLYTE_LOG: log,
      FAKE_FLYTE_API: `http://${s.host}`,
      FAKE_FLYTE_REQUIRE_TARGET: '1',
    };

    const apply = await runCli(
      ['apply', repo, '--control-plane', url, '--auto-approve', '--flyte-cli', bin],
      env,
    );
    expect(unexpectedStderr(apply.stderr)).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('Cluster/c1: | cluster c1 moved to pool gpu');
    const made = await calls(log);
    expect(made.map((c) => c.command.slice(0, 3).join(' ')).sort()).toEqual([
      'create cluster g1',
      'create cluster-pool gpu',
      'update cluster c1',
      'update cluster c2',
    ]);
    for (const c of made) {
      expect(c.argv.slice(0, 4)).toEqual(['--endpoint', `dns:///${s.host}`, '--org', 'acme']);
      expect(c.apiKey).toBe(key);
      expect(c.argv.join(' ')).not.toContain(key);
      expect(c.argv.join(' ')).not.toContain(CLIENT.client_secret);
    }
    const training = await s.embedded.getQueue('training');
    expect(training.pool).toBe('gpu');
    expect([...training.clusters].sort()).toEqual(['c1', 'g1']);
    const again = await runCli(['plan', repo, '--control-plane', url, '--detailed-exitcode'], env);
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);
    for (const r of [apply, again]) {
      expect(r.stdout + r.stderr).not.toContain(key);
      expect(r.stdout + r.stderr).not.toContain(CLIENT.client_secret);
    }
  }, 120_000);

  it('the stand-in CLI refuses what a real one would: a prompt without a terminal, a key of another org', async () => {
    const root = await tempDir('poolsync-fake-flyte-');
    const bin = await installFakeFlyte(root);
    const log = join(root, 'flyte.log');
    const key = Buffer.from('127.0.0.1:1:id:secret:acme').toString('base64');
    const base = { FAKE_FLYTE_LOG: log, FAKE_FLYTE_API: 'http://127.0.0.1:9', FLYTE_API_KEY: key };
    const prompt = await sh(
      `${JSON.stringify(bin)} --endpoint dns:///127.0.0.1:1 --org acme update cluster c1 --pool gpu`,
      base,
    );
    expect(prompt.code).toBe(1);
    expect(prompt.out).toContain('Aborted!');
    const otherOrg = await sh(
      `${JSON.stringify(bin)} --endpoint dns:///127.0.0.1:1 --org other create cluster c1 --pool gpu`,
      base,
    );
    expect(otherOrg.code).toBe(1);
    expect(otherOrg.out).toContain('--org other is not the org of FLYTE_API_KEY');
    const unpinned = await sh(`${JSON.stringify(bin)} create cluster c1 --pool gpu`, {
      ...base,
      FAKE_FLYTE_REQUIRE_TARGET: '1',
    });
    expect(unpinned.code).toBe(1);
  }, 60_000);
});
