import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import { runInProcess } from '../support/memory-io.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';

const REPO_ROOT = join(import.meta.dirname, '../..');
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-serve-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('poolsync control-plane serve', () => {
  it('serves the state file with token auth and the default pool contract flag, then shuts down cleanly on SIGTERM', async () => {
    const state = join(dir, 'state', 'cp.json');
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'serve-secret-1234\n');
    const contractFile = join(dir, 'default-pool.yaml');
    await writeFile(
      contractFile,
      'object_store_ref:\n  uri: s3://org-default\nsecret_store:\n  type: AWS_SECRETS_MANAGER\n  locator: eu-west-1\n',
    );
    const child = spawn(
      process.execPath,
      [
        ...CLI,
        'control-plane',
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--state',
        state,
        // Its folder does not exist yet: a new control plane on purpose.
        '--create-folder',
        '--token-file',
        tokenFile,
        '--default-pool-contract',
        contractFile,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    stopsWithThisProcess(child, 'SIGKILL');
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const cp = new HttpControlPlane(url, { token: 'serve-secret-1234' });
    expect((await cp.getPool('default')).contract.object_store_ref.uri).toBe('s3://org-default');
    await cp.registerCluster({ name: 'c1' });
    await cp.close();
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('"status":201');
    // Every record's time is ISO 8601 (UTC), as the daemon's, not epoch milliseconds.
    const records = stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { time: unknown });
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(stderr).not.toContain('serve-secret-1234');
    await expect(stat(`${state}.lock`)).rejects.toThrow();
    const reopened = await EmbeddedControlPlane.open({ path: state });
    expect((await reopened.getCluster('c1')).pool).toBe('default');
    await reopened.close();
  });

  it('bad flags are one-line errors, not stack traces', async () => {
    const run = (...args: string[]) =>
      runInProcess(['control-plane', 'serve', ...args], process.env, REPO_ROOT);
    const listen = await run('--listen', 'nonsense', '--state', join(dir, 's.json'));
    expect(listen.code).toBe(1);
    expect(listen.stderr).toMatch(/--listen "nonsense" is not HOST:PORT/);
    // An address it cannot take, in words (it said the errno code: "EADDRINUSE").
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const inUse = await run('--listen', `127.0.0.1:${port}`, '--state', join(dir, 's.json'));
      expect([inUse.code, inUse.stderr]).toEqual([
        1,
        `Error: cannot listen on 127.0.0.1:${port}: the address is in use (another daemon or server?): choose another --listen\n`,
      ]);
    } finally {
      taken.close();
    }
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    const foreign = await run('--listen', '192.0.2.1:7480', '--state', join(dir, 's.json'));
    expect(foreign.stderr).toMatch(
      /^Error: cannot listen on 192\.0\.2\.1:7480: no network interface of this machine has that address/,
    );
    const token = await run('--token-file', join(dir, 'missing'), '--state', join(dir, 's.json'));
    expect(token.stderr).toMatch(/^Error: --token-file .*missing does not exist: correct the path/);
    expect(token.stderr).not.toMatch(/\n\s+at /);
    // An empty --token-file (an unset variable's) served without a token: refused, as a token
    // no client could send (a line of prose read as the token).
    const empty = await run('--token-file', '', '--state', join(dir, 's.json'));
    expect(empty).toMatchObject({ code: 1, stdout: '' });
    expect(empty.stderr).toMatch(/^Error: --token-file is empty: give its value/);
    const prose = join(dir, 'prose');
    await writeFile(prose, 'the token is in the vault\n');
    const spaced = await run('--token-file', prose, '--state', join(dir, 's.json'));
    expect(spaced).toMatchObject({ code: 1, stdout: '' });
    expect(spaced.stderr).toMatch(
      /^Error: the token file .*prose holds a character an HTTP header cannot carry/,
    );
    // A contract file that is not YAML: one line at file:line:column.
    const contract = join(dir, 'contract.yaml');
    await writeFile(contract, 'object_store_ref:\n  uri: [s3://a\n');
    const yaml = await run('--default-pool-contract', contract, '--state', join(dir, 'c.json'));
    expect([yaml.code, yaml.stderr]).toEqual([
      1,
      `Error: ${contract}:3:1: not valid YAML: deficient indentation\n`,
    ]);
    // A file holding a token by mistake: its type is said, never its content (docs/security.md).
    await writeFile(contract, '"S3CR3T-contract-token-99"\n');
    const quoted = await run('--default-pool-contract', contract, '--state', join(dir, 'c.json'));
    expect([quoted.code, quoted.stderr]).toEqual([
      1,
      `Error: ${contract}: contract (a string) must be object (P2)\n`,
    ]);
  });

  it('a start refused (the port in use, an address of no interface) leaves no state it made: the corrected start takes its capabilities; a state that was there stays', async () => {
    const run = (...args: string[]) =>
      runInProcess(['control-plane', 'serve', ...args], process.env, REPO_ROOT);
    const state = join(dir, '.poolsync', 'cp.json');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const inUse = await run('--listen', `127.0.0.1:${port}`, '--state', state);
      expect(inUse.stderr).toMatch(/the address is in use/);
      // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
      const foreign = await run('--listen', '192.0.2.1:7480', '--state', state);
      expect(foreign.stderr).toMatch(/no network interface of this machine has that address/);
      // The folder it made goes too (it was left holding cp.json and its journal).
      expect(existsSync(join(dir, '.poolsync'))).toBe(false);
      // The corrected start's capabilities: "has capabilities none" before.
      const asked = parseCapabilities('drain,queue_delete');
      if (!asked.ok) throw new Error(asked.error);
      const corrected = await EmbeddedControlPlane.open({
        path: state,
        capabilities: asked.capabilities,
      });
      await corrected.close();
      const before = readFileSync(state);
      const again = await run('--listen', `127.0.0.1:${port}`, '--state', state);
      expect(again.code).toBe(1);
      expect(readFileSync(state)).toEqual(before);
      expect(existsSync(`${state}.journal`)).toBe(true);
    } finally {
      taken.close();
    }
  });
});
