/**
 * One name per control plane (docs/security.md, "One name per control plane"): every spelling
 * of one control plane is one endpoint (`controlPlaneEndpoint`), so validate refuses two
 * environments on it, the apply lock and the inventory are one, and no environment's apply
 * deletes another's object (issue 48: `http://127.1:P` beside `http://127.0.0.1:P` with prune
 * used to delete the other environment's queue).
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockPathFor } from '../../src/apply/lock.js';
import { loadRepository } from '../../src/manifests/index.js';
import { unusedUrlPart } from '../../src/util/url-credentials.js';
import {
  controlPlaneEndpoint,
  lookupHost,
  type HostResolver,
} from '../../src/util/control-plane-endpoint.js';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { runCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';
import { POOL, QUEUE, cluster, writeFiles } from './helpers.js';

const P = 8123;
/** Each pair: two spellings of one control plane. */
const PAIRS: [string, string][] = [
  [`http://127.0.0.1:${P}`, `http://127.1:${P}`],
  [`http://127.0.0.1:${P}`, `http://0x7f.0.0.1:${P}`],
  [`http://127.0.0.1:${P}`, `http://2130706433:${P}`],
  [`http://127.0.0.1:${P}`, `http://localhost:${P}`],
  [`http://127.0.0.1:${P}`, `http://LocalHost.:${P}/`],
  [`http://127.0.0.1:${P}`, `http://[::ffff:127.0.0.1]:${P}`],
  [`http://127.0.0.1:${P}`, `http://[::1]:${P}`],
  [`http://127.0.0.1:${P}`, `http://127.0.0.1:${P}/.`],
  [`http://127.0.0.1:${P}`, `http://127.0.0.1:${P}//?shard=1#x`],
  ['http://cp.example.com', 'http://cp.example.com:80'],
  ['https://cp.example.com/api/v1', 'HTTPS://CP.Example.COM.:443/api/./x/../v1/'],
  ['https://cp.example.com/a~b', 'https://cp.example.com/a%7eb'],
  ['union+https://acme.unionai.cloud', 'UNION+https://acme.unionai.cloud:443'],
  ['flyteadmin+http://127.0.0.1:8089', 'flyteadmin+http://localhost:8089/'],
];
const FILE_PAIRS: [string, string][] = [
  ['file:.state/a.json', 'file:./.state/../.state/a.json'],
  ['file:.state/a.json', 'file:linked/a.json'],
  ['file:.state/a.json', 'file:.state/a.json?capabilities=drain'],
];
const DIFFERENT: [string, string][] = [
  [`http://127.0.0.1:${P}`, `http://127.0.0.1:${P + 1}`],
  [`http://127.0.0.1:${P}`, `https://127.0.0.1:${P}`],
  [`http://127.0.0.1:${P}`, `union+http://127.0.0.1:${P}`],
  ['https://cp.example.com/a', 'https://cp.example.com/b'],
  ['file:.state/a.json', 'file:.state/b.json'],
];

function repoWith(a: string, b: string | null, prune = true): Record<string, string> {
  return {
    'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
prune: ${prune}
environments:
  a:
    controlPlane: ${a}
    folders: [a]
${b === null ? '' : `  b:\n    controlPlane: ${b}\n    folders: [b]\n`}`,
    'a/pool.yaml': POOL,
    'a/cluster.yaml': cluster('c-a'),
    'a/queue.yaml': QUEUE,
    'b/pool.yaml': POOL,
    'b/cluster.yaml': cluster('c-b'),
  };
}

describe('controlPlaneEndpoint: one name per control plane', () => {
  const dir = tempFolder('poolsync-identity-');
  mkdirSync(join(dir, '.state'));
  symlinkSync(join(dir, '.state'), join(dir, 'linked'));

  it.each([...PAIRS, ...FILE_PAIRS])('%s and %s are one control plane', (a, b) => {
    expect(controlPlaneEndpoint(b, dir)).toBe(controlPlaneEndpoint(a, dir));
    if (!a.startsWith('file:')) expect(lockPathFor(b)).toBe(lockPathFor(a));
  });

  it.each(DIFFERENT)('%s and %s are two', (a, b) => {
    expect(controlPlaneEndpoint(b, dir)).not.toBe(controlPlaneEndpoint(a, dir));
  });

  it('names it plainly: scheme and host in lower case, no default port, no trailing slash', () => {
    expect(controlPlaneEndpoint('HTTPS://CP.Example.COM.:443/api/./x/../v1/')).toBe(
      'https://cp.example.com/api/v1',
    );
    expect(controlPlaneEndpoint(`http://[::ffff:127.0.0.1]:${P}`)).toBe(`http://127.0.0.1:${P}`);
    expect(controlPlaneEndpoint('file:linked/a.json', dir)).toBe(
      `file:${join(dir, '.state/a.json')}`,
    );
  });

  it.each([...PAIRS, ...FILE_PAIRS])(
    'validate refuses two environments on %s and %s, naming the one endpoint',
    async (a, b) => {
      const repo = tempFolder('poolsync-identity-repo-');
      await writeFiles(repo, repoWith(a, b));
      mkdirSync(join(repo, '.state'), { recursive: true });
      symlinkSync(join(repo, '.state'), join(repo, 'linked'));
      const r = await loadRepository(repo, { environment: 'b' });
      expect(r.valid).toBe(false);
      // A query string or fragment poolsync does not use is refused too: it would be printed.
      const unused = unusedUrlPart(b);
      expect(r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`)).toEqual([
        ...(unused === null
          ? []
          : [
              `poolsync.yaml:9:19 environments.b.controlPlane carries ${unused}, which poolsync does not use and would print: remove it (credentials are named by reference: tokenFile, apiKeyFile)`,
            ]),
        `poolsync.yaml:9:19 environments.b.controlPlane is also environment a's (poolsync.yaml:6:19; both name ${controlPlaneEndpoint(a, repo)}): each environment has a control plane of its own (its own inventory and apply lock); two environments on one control plane would prune each other’s objects`,
      ]);
    },
  );
});

describe('one control plane under two names: resolved by address where it is reached so', () => {
  /** An /etc/hosts-style alias: `vm` is 127.0.0.1. */
  const hosts: HostResolver = async (host) =>
    ({ vm: ['127.0.0.1'], 'a.example.com': ['10.0.0.7'], 'b.example.com': ['10.0.0.7'] })[host] ??
    (isIP(host) ? [host] : []);

  const errorsOf = async (a: string, b: string, resolveHost?: HostResolver) => {
    const repo = tempFolder('poolsync-identity-resolved-');
    await writeFiles(repo, repoWith(a, b));
    const r = await loadRepository(repo, { environment: 'b', resolveHost });
    return r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`);
  };

  it('http://127.0.0.1:P and http://vm:P: refused at b, naming both lines', async () => {
    expect(await errorsOf(`http://127.0.0.1:${P}`, `http://vm:${P}`, hosts)).toEqual([
      `poolsync.yaml:9:19 environments.b.controlPlane reaches environment a's control plane (poolsync.yaml:6:19): http://vm:${P} and http://127.0.0.1:${P} are both 127.0.0.1:${P}; each environment has a control plane of its own (its own inventory and apply lock); two environments on one control plane would prune each other’s objects`,
    ]);
  });

  it.each([
    ['another port', `http://127.0.0.1:${P}`, `http://vm:${P + 1}`],
    // One server may speak several backends' APIs: each is a control plane of its own.
    ['another backend', `http://127.0.0.1:${P}`, `union+http://vm:${P}`],
    // Over TLS a name is what the certificate and the virtual hosts tell apart.
    ['names over https', 'https://a.example.com', 'https://b.example.com'],
    ['a name that does not resolve', `http://127.0.0.1:${P}`, `http://nowhere.invalid:${P}`],
  ])('%s: two control planes', async (_why, a, b) => {
    expect(await errorsOf(a, b, hosts)).toEqual([]);
  });

  it('`validate` resolves by the system: this machine under its host name and its address', async () => {
    const name = hostname();
    const [address] = await lookupHost()(name);
    if (address === undefined || isIP(name)) return; // no name to resolve here
    const repo = tempFolder('poolsync-identity-validate-');
    await writeFiles(repo, repoWith(`http://${address}:${P}`, `http://${name}:${P}`));
    const io = memoryIo();
    const { main } = await import('../../src/cli/run.js');
    expect(await exitOf(io, main(['validate', repo, '--output', 'text'], io))).toBe(1);
    expect(io.out()).toContain(
      `poolsync.yaml:9:19: SCHEMA environments.b.controlPlane reaches environment a's control plane (${repo}/poolsync.yaml:6:19): http://${name}:${P} and http://${address}:${P} are both ${address}:${P}`,
    );
  });
});

describe("no environment's apply deletes another's object", () => {
  it('environment b on http://127.1:P beside a on http://127.0.0.1:P (prune: true): refused, a keeps its queue', async () => {
    const { embedded: store, url } = await servedControlPlane();
    const port = new URL(url).port;
    const repo = tempFolder('poolsync-identity-apply-');
    const state = tempFolder('poolsync-identity-state-');
    await writeFiles(repo, repoWith(`http://127.0.0.1:${port}`, null));
    const applied = await runCli([
      'apply',
      repo,
      '-e',
      'a',
      '--auto-approve',
      '--state-dir',
      state,
    ]);
    expect(applied.code).toBe(0);
    const queues = async () => (await store.listQueues()).map((q) => q.name).sort();
    const before = await queues();
    expect(before).toContain('training');

    for (const spelling of [`http://127.1:${port}`, `http://localhost:${port}/.`]) {
      await writeFiles(repo, repoWith(`http://127.0.0.1:${port}`, spelling));
      const b = await runCli(['apply', repo, '-e', 'b', '--auto-approve', '--state-dir', state]);
      expect(b.code).toBe(1);
      expect(b.stdout + b.stderr).toContain("environments.b.controlPlane is also environment a's");
      expect(await queues()).toEqual(before);
    }
  });
});
