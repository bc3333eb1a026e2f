/**
 * The inventory in a Kubernetes ConfigMap (src/lease/k8s-lease.ts) over real HTTP, as the
 * ServiceAccount of examples/deploy/rbac.yaml, against the real kube-apiserver with etcd
 * (scripts/kube-go.sh; skipped, saying why, without them) and the stand-in (fake-kube-api.ts):
 * control planes share one ConfigMap by key and keep each other's entries (and labels); a write
 * that lost a race (409 Conflict) is read again, merged field by field and retried (another
 * writer's budget, mark or forgotten address kept), and one whose ConfigMap was
 * deleted meanwhile (404) creates it again; an entry that is not an inventory is an error naming
 * NS/NAME and its key, and nothing is overwritten; the daemon's shared value (ConfigMapValue) that
 * loses every race says so as the inventory does; a ConfigMap over the server's 1 MiB of values
 * is refused before it is sent; a ConfigMap with no entry yet reads the state-folder inventory,
 * which the next write moves there.
 */
import {
  KubeConfig,
  type ApiConstructor,
  type ApiType,
  type CoreV1Api,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inventoryPlace, parseK8sPlace } from '../../src/util/k8s-place.js';
import { parseConfigMapRef } from '../../src/controlplane/flyteadmin/client.js';
import {
  ConfigMapInventory,
  ConfigMapValue,
  LeaseLock,
  loadKubeConfig,
} from '../../src/lease/k8s-lease.js';
import {
  INVENTORY_FORMAT,
  mergeAddresses,
  mergeInventory,
  type InventoryRecord,
} from '../../src/model/inventory.js';
import { ManualClock, VirtualClock } from '../support/virtual-clock.js';
import { writeKubeconfig } from '../support/fake-kube-api.js';
import { startPartitionProxy } from '../support/partition-proxy.js';
import { dropping, startHostileServer, startRawServer } from '../support/hostile-server.js';
import { memoryIo, exitOf } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { startFlyteadmin } from '../flyteadmin/helpers.js';
import type { TransportLimits, WaitEvent } from '../../src/util/transport-limits.js';
import { cleanup } from '../support/cleanup.js';
import { until } from '../support/until.js';
import { CONFIGMAPS, KUBE_SERVERS, type KubeServer } from './kube-servers.js';

const record = (addresses: string[], commit: string | null = null): InventoryRecord => ({
  format: INVENTORY_FORMAT,
  addresses,
  updated_at: '2026-11-23T00:00:00.000Z',
  commit,
  control_plane: {
    backend: 'union',
    endpoint: 'union+https://union.example.com',
    organization: 'acme',
  },
});

for (const kind of KUBE_SERVERS) {
  describe.skipIf(kind.skip !== null)(`the inventory in a ConfigMap (${kind.name})`, () => {
    let k: KubeServer;
    let kc: KubeConfig;
    beforeAll(async () => {
      k = await kind.start();
      kc = new KubeConfig();
      kc.loadFromFile(k.kubeconfig);
    });
    afterAll(() => k?.close());

    const store = (key: string, name: string, before?: () => Promise<InventoryRecord | null>) =>
      new ConfigMapInventory(kc, { namespace: 'poolsync', name }, key, before, new VirtualClock());
    /** The ConfigMap as stored, and a change made to it by hand (kubectl edit). */
    const stored = async (name: string) => {
      const a = await k.call('admin', 'GET', `${CONFIGMAPS}/${name}`);
      return a.status === 200 ? (a.body as V1ConfigMap) : null;
    };
    const edit = async (name: string, change: (cm: V1ConfigMap) => void) => {
      const cm = (await stored(name))!;
      change(cm);
      const a = await k.call('admin', 'PUT', `${CONFIGMAPS}/${name}`, cm);
      expect(a.status).toBe(200);
    };

    /** A client whose every replace of ConfigMap `name` another writer (admin) precedes with an edit. */
    const contested = (name: string) => {
      let edits = 0;
      const busy = new KubeConfig();
      busy.loadFromFile(k.kubeconfig);
      busy.makeApiClient = <T extends ApiType>(api: ApiConstructor<T>): T => {
        const real = KubeConfig.prototype.makeApiClient.call(busy, api) as T & CoreV1Api;
        const replace = real.replaceNamespacedConfigMap.bind(real);
        real.replaceNamespacedConfigMap = async (...args) => {
          await edit(name, (cm) => void (cm.data = { ...cm.data, other: String(++edits) }));
          return replace(...args);
        };
        return real;
      };
      return { busy, edits: () => edits };
    };

    it('is created on the first write; control planes share it by key; labels and other keys are kept', async () => {
      const name = 'shared';
      const prod = store('aaa.json', name);
      expect(await prod.readInventory()).toBeNull();
      await prod.writeInventory(record(['Queue/q', 'Cluster/c1']));
      expect((await stored(name))!.metadata!.labels).toEqual({
        'app.kubernetes.io/managed-by': 'poolsync',
      });
      // Someone labels it and adds a key of their own: kept by every later write.
      await edit(name, (cm) => {
        cm.metadata!.labels = { ...cm.metadata!.labels, team: 'infra' };
        cm.data = { ...cm.data, README: 'hands off' };
      });
      const staging = store('bbb.json', name);
      expect(await staging.readInventory()).toBeNull();
      await staging.writeInventory(record(['Cluster/s1']));
      // Another runner (a new store, as a fresh CI job) reads what the first one wrote.
      expect((await store('aaa.json', name).readInventory())?.addresses).toEqual([
        'Cluster/c1',
        'Queue/q',
      ]);
      expect((await store('bbb.json', name).readInventory())?.addresses).toEqual(['Cluster/s1']);
      expect((await stored(name))!.data!.README).toBe('hands off');
      expect((await stored(name))!.metadata!.labels).toMatchObject({ team: 'infra' });
    });

    it('a write that lost a race is read again, merged and retried (409 Conflict)', async () => {
      const name = 'race';
      await store('k.json', name).writeInventory(record(['Cluster/c1', 'Queue/old']));
      const a = store('k.json', name);
      const b = store('k.json', name);
      await a.readInventory();
      await b.readInventory();
      // b adds Queue/b and writes first; a, from the same read, adds Queue/a and drops Queue/old.
      await b.writeInventory(record(['Cluster/c1', 'Queue/b', 'Queue/old']));
      await a.writeInventory(record(['Cluster/c1', 'Queue/a']));
      expect(a.conflicts).toBe(1);
      expect((await store('k.json', name).readInventory())?.addresses).toEqual([
        'Cluster/c1',
        'Queue/a',
        'Queue/b',
      ]);
    });

    it('a writer that loses every race says which ConfigMap, who else writes it and what to do', async () => {
      const name = 'busy';
      await store('k.json', name).writeInventory(record(['Queue/q']));
      // Another writer changes the ConfigMap between each read and write of this one.
      const { busy, edits } = contested(name);
      const s = new ConfigMapInventory(
        busy,
        { namespace: 'poolsync', name },
        'k.json',
        undefined,
        new VirtualClock(),
      );
      await s.readInventory();
      await expect(s.writeInventory(record(['Queue/q', 'Queue/r']))).rejects.toThrow(
        'writing the inventory (ConfigMap poolsync/busy): changed by another writer between each read and write, 10 times in a row (HTTP 409 Conflict), so nothing was written: another poolsync repository, CI job or daemon replica whose --inventory is this ConfigMap, or anything else updating it (`kubectl -n poolsync get configmap busy -o yaml --show-managed-fields` names its writers). Try again once that writer is done',
      );
      expect(edits()).toBe(10);
      expect((await store('k.json', name).readInventory())?.addresses).toEqual(['Queue/q']);
    });

    it("the daemon's shared value (ConfigMapValue) that loses every race says the same: which ConfigMap, who else writes it, the kubectl, to retry", async () => {
      const name = 'busy-value';
      const value = (kc: KubeConfig) =>
        new ConfigMapValue(
          kc,
          { namespace: 'poolsync', name },
          'rollback.json',
          'the rollback in force',
          new VirtualClock(),
        );
      await value(kc).write('{"run":1}');
      // Another writer changes the ConfigMap between each read and write of this one.
      const { busy, edits } = contested(name);
      await expect(value(busy).update(() => '{"run":2}')).rejects.toThrow(
        'writing ConfigMap poolsync/busy-value, key rollback.json: changed by another writer between each read and write, 10 times in a row (HTTP 409 Conflict), so nothing was written: another daemon replica sharing it, or anything else updating it (`kubectl -n poolsync get configmap busy-value -o yaml --show-managed-fields` names its writers). Try again once that writer is done',
      );
      expect(edits()).toBe(10);
      expect(await value(kc).read()).toBe('{"run":1}');
      expect((await stored(name))?.data?.other).toBe('10');
    });

    it('two repositories race on one entry: each keeps its own list, and what one adopted leaves the unowned list', async () => {
      const name = 'race-repositories';
      await store('k.json', name).writeInventory(record(['Cluster/old', 'Queue/old']));
      const a = store('k.json', name);
      const b = store('k.json', name);
      await a.readInventory();
      await b.readInventory();
      // b records its queue first; a, from the same read, adopts Cluster/old and adds Cluster/a.
      await b.writeInventory({
        ...record(['Cluster/old', 'Queue/old']),
        repositories: { 'github.com/acme/b': ['Queue/b'] },
      });
      await a.writeInventory({
        ...record(['Queue/old']),
        repositories: { 'github.com/acme/a': ['Cluster/a', 'Cluster/old'] },
      });
      expect(a.conflicts).toBe(1);
      const merged = await store('k.json', name).readInventory();
      expect(merged).toMatchObject({
        addresses: ['Queue/old'],
        repositories: {
          'github.com/acme/a': ['Cluster/a', 'Cluster/old'],
          'github.com/acme/b': ['Queue/b'],
        },
      });
    });

    it('two writers race on different fields: a budget one recorded and a mark or forgotten address the other did are both kept', async () => {
      const name = 'race-fields';
      const repositories = { 'github.com/acme/a': ['Cluster/a'], 'github.com/acme/b': ['Queue/b'] };
      await store('k.json', name).writeInventory({
        ...record([], 'c0'),
        repositories,
        prevent_destroy: ['Cluster/a'],
        repository_guardrails: { 'github.com/acme/b': { max_destroy: 1 } },
      });
      const a = store('k.json', name);
      const b = store('k.json', name);
      const read = (await a.readInventory())!;
      await b.readInventory();
      // b marks its queue, forgets Queue/old and raises its budget; a, from the same read,
      // records a budget of its own and unmarks Cluster/a (its commit dropped the annotation).
      await b.writeInventory({
        ...read,
        commit: 'c1',
        forgotten: ['Queue/old'],
        prevent_destroy: ['Cluster/a', 'Queue/b'],
        repository_guardrails: { 'github.com/acme/b': { max_destroy: 2 } },
      });
      await a.writeInventory({
        ...read,
        commit: 'c2',
        prevent_destroy: [],
        repository_guardrails: { ...read.repository_guardrails, 'github.com/acme/a': {} },
      });
      expect(a.conflicts).toBe(1);
      // As the API server keeps it, read with its own API (not through the store).
      const kept = JSON.parse((await stored(name))!.data!['k.json']!) as InventoryRecord;
      expect(kept).toEqual({
        ...record([], 'c2'),
        repositories,
        forgotten: ['Queue/old'],
        prevent_destroy: ['Queue/b'],
        repository_guardrails: { 'github.com/acme/a': {}, 'github.com/acme/b': { max_destroy: 2 } },
      });
    });

    it('a ConfigMap deleted between the read and the write (404: no create on update) is created again', async () => {
      const name = 'deleted';
      await store('k.json', name).writeInventory(record(['Cluster/c1']));
      const s = store('k.json', name);
      await s.readInventory();
      expect((await k.call('admin', 'DELETE', `${CONFIGMAPS}/${name}`)).status).toBe(200);
      await s.writeInventory(record(['Cluster/c1', 'Queue/q']));
      expect((await store('k.json', name).readInventory())?.addresses).toEqual([
        'Cluster/c1',
        'Queue/q',
      ]);
    });

    it('two first writers race to create it: the loser merges into what the winner created', async () => {
      const name = 'create-race';
      const a = store('a.json', name);
      const b = store('b.json', name);
      expect(await a.readInventory()).toBeNull();
      expect(await b.readInventory()).toBeNull();
      await Promise.all([
        a.writeInventory(record(['Cluster/a'])),
        b.writeInventory(record(['Cluster/b'])),
      ]);
      expect(Object.keys((await stored(name))!.data!).sort()).toEqual(['a.json', 'b.json']);
    });

    it('an entry that is not an inventory is an error naming NS/NAME and its key; nothing is overwritten', async () => {
      const name = 'broken';
      await store('x.json', name).writeInventory(record(['Cluster/c1']));
      await edit(name, (cm) => {
        cm.data = { ...cm.data, 'x.json': '{"format": 1, "addresses": "oops"' };
      });
      const snapshot = JSON.stringify(await stored(name));
      const s = store('x.json', name);
      await expect(s.readInventory()).rejects.toThrow(
        /ConfigMap poolsync\/broken, key x\.json, is not a poolsync inventory: not JSON\. Nothing was written\. Restore it \(kubectl -n poolsync edit configmap broken\)/,
      );
      await expect(s.writeInventory(record(['Cluster/c2']))).rejects.toThrow(
        /not a poolsync inventory/,
      );
      // Nothing lost: not a byte of the ConfigMap changed, not even its resourceVersion.
      expect(JSON.stringify(await stored(name))).toBe(snapshot);
      await edit(name, (cm) => {
        cm.data!['x.json'] = JSON.stringify({
          format: 1,
          addresses: ['no-slash'],
          updated_at: 'x',
        });
      });
      await expect(store('x.json', name).readInventory()).rejects.toThrow(
        /key x\.json, is not a poolsync inventory: addresses must be a list of Kind\/name addresses/,
      );
    });

    it("refuses a ConfigMap over the server's 1 MiB of values before sending it, naming it; nothing is written", async () => {
      const name = 'full';
      await store('other.json', name).writeInventory(record(['Cluster/c1']));
      await edit(name, (cm) => {
        cm.data = { ...cm.data, big: 'x'.repeat(1024 * 1024 - 2_000) };
      });
      const rv = (await stored(name))!.metadata!.resourceVersion;
      const many = Array.from({ length: 200 }, (_, i) => `Queue/queue-number-${i}`);
      const s = store('mine.json', name);
      await s.readInventory();
      await expect(s.writeInventory(record(many))).rejects.toThrow(
        /the inventory \(200 objects, \d+ bytes\) does not fit in ConfigMap poolsync\/full: a ConfigMap holds at most 1048576 bytes of values and it would hold \d+\. Nothing was written/,
      );
      expect((await stored(name))!.metadata!.resourceVersion).toBe(rv);
      expect((await stored(name))!.data!['mine.json']).toBeUndefined();
      // The server refuses it too (422), so the check above is not the only guard.
      const cm = (await stored(name))!;
      const put = await k.call('sa', 'PUT', `${CONFIGMAPS}/${name}`, {
        ...cm,
        data: { ...cm.data, more: 'y'.repeat(4000) },
      });
      expect(put.status).toBe(422);
    });

    it("a write in flight when the leader's term ends says so, not in fetch's words, and never lands", async () => {
      const name = 'term-end';
      // The leader cut off from the API server: its write hangs until the term's end cuts it.
      const apiserver = await startPartitionProxy(k.url);
      try {
        const through = new KubeConfig();
        through.loadFromFile(writeKubeconfig(apiserver.url, k.token));
        const term = new AbortController();
        const place = { namespace: 'poolsync', name };
        const clock = new VirtualClock();
        const inv = new ConfigMapInventory(through, place, 'k.json', undefined, clock, term.signal);
        expect(await inv.readInventory()).toBeNull();
        apiserver.cut();
        const writing = inv.writeInventory(record(['Queue/q'])).catch((err: unknown) => err);
        await until('the write sent into the partition', () => apiserver.dropped() > 0);
        // As the elector ends a term (src/lease/leader-elector.ts stepDown).
        const why = 'the lease was not renewed within the renew deadline (10000 ms)';
        term.abort(new Error(`stopped leading: ${why}`));
        expect((await writing) as Error).toMatchObject({
          message: `writing the inventory (ConfigMap poolsync/${name}): cut off, the leadership term ended (stopped leading: ${why})`,
        });
        expect(await stored(name)).toBeNull();
      } finally {
        await apiserver.close();
      }
    });

    it('with no entry yet, reads the state-folder inventory; the next write moves it there', async () => {
      const name = 'moved';
      const old = record(['Cluster/c1', 'Queue/q']);
      const s = store('m.json', name, () => Promise.resolve(old));
      expect(await s.readInventory()).toEqual(old);
      await s.writeInventory(record(['Cluster/c1', 'Queue/q', 'Queue/r']));
      expect((await store('m.json', name).readInventory())?.addresses).toEqual([
        'Cluster/c1',
        'Queue/q',
        'Queue/r',
      ]);
    });
  });
}

describe("the daemon's term", () => {
  it('once it ends, a call in flight is abandoned and no write starts', async () => {
    // An API server that accepts and never answers: only the signal can end the read.
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'k', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'k', user: 'u' }],
      currentContext: 'c',
    });
    const term = new AbortController();
    const place = { namespace: 'poolsync', name: 'inv' };
    const inv = new ConfigMapInventory(kc, place, 'k.json', undefined, undefined, term.signal);
    try {
      const reading = inv.readInventory();
      await vi.waitFor(() => expect(held).toHaveLength(1));
      term.abort();
      await expect(reading).rejects.toThrow(/reading the inventory \(ConfigMap poolsync\/inv\)/);
      await expect(inv.writeInventory(record(['Queue/q']))).rejects.toThrow(/aborted/);
      expect(held).toHaveLength(1);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

/**
 * A misbehaving API server (or a proxy before it) as the Kubernetes API: each call ends at the
 * limit that fired, in the words of every HTTP client with the setting that changes it
 * (util/transport-limits.ts). client-node's fetch has no bound of its own: a dropped port waited
 * the system's two minutes, a silent server forever, an endless answer took the memory, and only
 * POOLSYNC_CALL_TIMEOUT reached it, never the commands' and the daemon's --call-timeout.
 */
describe('a misbehaving Kubernetes API server', () => {
  const place = { namespace: 'poolsync', name: 'inv' };
  const limits = (o: Partial<TransportLimits>): TransportLimits => ({
    connectTimeoutMs: 60_000,
    readTimeoutMs: 60_000,
    callTimeoutMs: 60_000,
    maxResponseBytes: 1024 * 1024,
    ...o,
  });
  const kubeAt = (url: string, l: TransportLimits) =>
    loadKubeConfig({ KUBECONFIG: writeKubeconfig(url, 't0ken') }, l);
  const SAID = {
    endless:
      'the answer is larger than 1 MiB (--max-response-size, env POOLSYNC_MAX_RESPONSE_SIZE): is it the right server? raise --max-response-size if the answer is really that large',
    trickle:
      'no complete answer within 300ms, the deadline of one call with its retries (--call-timeout, env POOLSYNC_CALL_TIMEOUT); raise --call-timeout to wait longer',
    silent:
      'nothing was received for 300ms (--read-timeout, env POOLSYNC_READ_TIMEOUT): the server or the network stalled; raise --read-timeout if it is only slow',
  } as const;
  const LIMIT = {
    endless: {},
    trickle: { callTimeoutMs: 300 },
    silent: { readTimeoutMs: 300 },
  } as const;

  it.each(['endless', 'trickle', 'silent'] as const)(
    '%s: a Lease or inventory call ends naming the limit, with or without a term',
    async (mode) => {
      const s = await startHostileServer({ mode });
      cleanup.add(() => s.close());
      const kc = kubeAt(s.url, limits(LIMIT[mode]));
      const said = `the Kubernetes API at ${s.url}: ${SAID[mode]}`;
      await expect(new LeaseLock(kc, place, 'me', 15_000).tryAcquireOrRenew()).rejects.toThrow(
        `reading Lease poolsync/inv: ${said}`,
      );
      const term = new AbortController();
      const inv = new ConfigMapInventory(kc, place, 'k.json', undefined, undefined, term.signal);
      await expect(inv.readInventory()).rejects.toThrow(
        `reading the inventory (ConfigMap poolsync/inv): ${said}`,
      );
      expect(s.counts.hostile).toBe(2);
    },
  );

  it('a port whose packets are dropped: no connection within the connect timeout', async () => {
    const d = await dropping();
    cleanup.add(d.close);
    const url = `http://127.0.0.1:${d.port}`;
    const kc = kubeAt(url, limits({ connectTimeoutMs: 300 }));
    await expect(new LeaseLock(kc, place, 'me', 15_000).tryAcquireOrRenew()).rejects.toThrow(
      `reading Lease poolsync/inv: the Kubernetes API at ${url}: no connection within 300ms (--connect-timeout, env POOLSYNC_CONNECT_TIMEOUT): a firewall or a missing VPN may be dropping its packets; check the address and the network, or raise --connect-timeout`,
    );
  });

  // The connect timer started once the proxy agent handed over its socket: after the CONNECT.
  it("through the kubeconfig's proxy-url, a CONNECT never answered: no connection within the connect timeout", async () => {
    const held: Socket[] = [];
    const proxy = createServer((socket) => void held.push(socket));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanup.add(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((r) => proxy.close(r));
    });
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const kubeconfig = writeKubeconfig('http://127.0.0.1:6443', 't0ken');
    const text = readFileSync(kubeconfig, 'utf8');
    writeFileSync(
      kubeconfig,
      text.replace('    server:', `    proxy-url: ${proxyUrl}\n    server:`),
    );
    const kc = loadKubeConfig({ KUBECONFIG: kubeconfig }, limits({ connectTimeoutMs: 300 }));
    await expect(new LeaseLock(kc, place, 'me', 15_000).tryAcquireOrRenew()).rejects.toThrow(
      `reading Lease poolsync/inv: the Kubernetes API at http://127.0.0.1:6443 through the proxy ${proxyUrl} (the kubeconfig's proxy-url): no connection within 300ms (--connect-timeout, env POOLSYNC_CONNECT_TIMEOUT)`,
    );
  });

  it("through the kubeconfig's proxy-url, a CONNECT refused (407, 403): said as the proxy's refusal, never printing its credentials", async () => {
    let answer = '407 Proxy Authentication Required';
    const proxy = createServer((socket) =>
      socket.once('data', () =>
        socket.end(
          `HTTP/1.1 ${answer}\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n`,
        ),
      ),
    );
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanup.add(() => new Promise((r) => proxy.close(r)));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const failure = async (given: string) => {
      const kubeconfig = writeKubeconfig('https://127.0.0.1:6443', 't0ken');
      const text = readFileSync(kubeconfig, 'utf8');
      writeFileSync(
        kubeconfig,
        text.replace('    server:', `    proxy-url: ${given}\n    server:`),
      );
      const kc = loadKubeConfig({ KUBECONFIG: kubeconfig }, limits({}));
      const said = await new LeaseLock(kc, place, 'me', 15_000).tryAcquireOrRenew().then(
        () => 'no failure',
        (err: Error) => err.message,
      );
      expect(said).not.toContain('s3cret');
      return said;
    };
    const withCredentials = proxyUrl.replace('//', '//alice:pr0xy-s3cret@');
    const at = `reading Lease poolsync/inv: the Kubernetes API at https://127.0.0.1:6443 through the proxy ${proxyUrl} (the kubeconfig's proxy-url): the proxy`;
    const asks = `${at} asks for credentials (HTTP 407 Proxy Authentication Required)`;
    expect(await failure(withCredentials)).toBe(
      `${asks} and refused the ones in proxy-url: correct its USER:PASSWORD (http://USER:PASSWORD@HOST:PORT)`,
    );
    expect(await failure(proxyUrl)).toBe(
      `${asks}: give them in proxy-url (http://USER:PASSWORD@HOST:PORT)`,
    );
    answer = '403 Forbidden';
    expect(await failure(withCredentials)).toBe(
      `${at} refused to connect to it (HTTP 403): check proxy-url, and that the proxy lets this machine reach the API server`,
    );
  });

  it('a call without an answer for 5 s is told to the waiting notice, as the control plane calls are', async () => {
    const s = await startHostileServer({ mode: 'silent' });
    cleanup.add(() => s.close());
    const notices: WaitEvent[] = [];
    const clock = new ManualClock();
    const kc = loadKubeConfig(
      { KUBECONFIG: writeKubeconfig(s.url, 't0ken') },
      limits({}),
      (e) => void notices.push(e),
      clock,
    );
    const term = new AbortController();
    const inv = new ConfigMapInventory(kc, place, 'k.json', undefined, undefined, term.signal);
    const reading = inv.readInventory();
    // Generous: these wait on events of a busy machine, never on time passing.
    const events = { timeout: 30_000, interval: 5 };
    await vi.waitFor(() => expect(s.counts.hostile).toBe(1), events);
    clock.advance(5_000);
    await vi.waitFor(() => expect(notices).toHaveLength(1), events);
    expect(notices).toEqual([{ url: s.url, silentMs: 5_000, giveUpMs: 60_000, limit: 'call' }]);
    term.abort();
    await expect(reading).rejects.toThrow(/cut off, the leadership term ended/);
  });

  // Said `request to … failed, reason: Parse Error: Header overflow` before: it was reached.
  it('headers over 16 KiB are an answer, said as such', async () => {
    const s = await startRawServer({ mode: 'huge-headers' });
    cleanup.add(s.close);
    const kc = kubeAt(s.url, limits({}));
    const err = (await new LeaseLock(kc, place, 'me', 15_000).tryAcquireOrRenew().then(
      () => null,
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toBe(
      `reading Lease poolsync/inv: the Kubernetes API at ${s.url}: the server answered with headers larger than 16 KiB, the most poolsync accepts (HPE_HEADER_OVERFLOW): a proxy or sign-in gateway between may add them; if they are the server's own, raise the bound with NODE_OPTIONS=--max-http-header-size=BYTES`,
    );
  });

  /** `apply --lock k8s:poolsync/apply-lock` with `limits`, its Lease at a trickling API server. */
  async function applyLockedAt(...limits: string[]) {
    const s = await startHostileServer({ mode: 'trickle' });
    cleanup.add(() => s.close());
    // flyteadmin has no apply lock of its own: --lock's Lease is the lock across machines.
    const fa = await startFlyteadmin(null);
    cleanup.add(() => fa.close());
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), {});
    const io = memoryIo({
      KUBECONFIG: writeKubeconfig(s.url, 't0ken'),
      POOLSYNC_CALL_TIMEOUT: '5s',
    });
    const { main } = await import('../../src/cli/run.js');
    const argv = ['apply', repo, '--control-plane', fa.url];
    argv.push('--auto-approve', '--state-dir', join(root, 'sd'));
    argv.push('--lock', 'k8s:poolsync/apply-lock', ...limits);
    expect(await exitOf(io, main(argv, io))).toBe(1);
    return { url: s.url, stderr: io.err() };
  }

  it('`--call-timeout` given as a flag bounds a Lease call (apply --lock k8s:), over the variable', async () => {
    const { url, stderr } = await applyLockedAt('--call-timeout', '300ms');
    expect(stderr).toBe(
      `Error: reading Lease poolsync/apply-lock: the Kubernetes API at ${url}: ${SAID.trickle}\n`,
    );
  });

  // The notice after one read timeout (a trickle never trips it), the call's deadline 2 s later.
  it('a Lease call waiting long is told once on stderr, as a control plane call is', async () => {
    const { url, stderr } = await applyLockedAt('--read-timeout', '1s', '--call-timeout', '3s');
    expect(stderr).toBe(
      `Waiting for ${url}: no answer for 1.0s; giving up after 3.0s (--call-timeout); Ctrl-C stops.\n` +
        `Error: reading Lease poolsync/apply-lock: the Kubernetes API at ${url}: no complete answer within 3.0s, the deadline of one call with its retries (--call-timeout, env POOLSYNC_CALL_TIMEOUT); raise --call-timeout to wait longer\n`,
    );
  });
});

describe('mergeAddresses (three-way)', () => {
  it('applies what this writer added and removed since its read to the entry now', () => {
    expect(mergeAddresses(['a', 'b'], ['a', 'c'], ['a', 'b', 'd'])).toEqual(['a', 'c', 'd']);
    expect(mergeAddresses(null, ['a'], ['b'])).toEqual(['a', 'b']);
    expect(mergeAddresses(undefined, ['a'], ['b'])).toEqual(['a']);
    expect(mergeAddresses(['a'], ['a'], null)).toEqual(['a']);
  });
});

describe('mergeInventory (three-way, every field)', () => {
  const theirs: Required<InventoryRecord> = {
    ...record(['Queue/u'], 'theirs'),
    repositories: { r: ['Queue/r'] },
    forgotten: ['Queue/f'],
    prevent_destroy: ['Queue/r'],
    confirm_destroy: ['Queue/u'],
    guardrails: { max_destroy: 3 },
    repository_guardrails: { r: { max_replace: 1 } },
    cluster_waits: { c: ['q'] },
    pending: { started_at: '2026-11-23T00:00:00.000Z', addresses: ['Queue/u'] },
  };

  it('a writer that changed nothing since its read leaves every field as the other writer wrote it', () => {
    const base = record([]);
    expect(mergeInventory(base, base, theirs)).toEqual(theirs);
  });

  it('what this writer removed goes, what it changed is its own, the rest is theirs', () => {
    const base: InventoryRecord = { ...theirs, commit: 'base', repository_guardrails: {} };
    const ours: InventoryRecord = {
      ...base,
      addresses: [],
      updated_at: '2026-11-24T00:00:00.000Z',
      confirm_destroy: [],
      guardrails: { max_destroy: 0 },
      repository_guardrails: { s: { max_destroy: 1 } },
    };
    const { confirm_destroy: _, ...rest } = theirs;
    expect(mergeInventory(base, ours, { ...theirs, forgotten: ['Queue/f', 'Queue/g'] })).toEqual({
      ...rest,
      addresses: [],
      updated_at: '2026-11-24T00:00:00.000Z',
      forgotten: ['Queue/f', 'Queue/g'],
      guardrails: { max_destroy: 0 },
      repository_guardrails: { r: { max_replace: 1 }, s: { max_destroy: 1 } },
    });
  });

  it('a field this build does not know: the one there now, unless this writer changed it', () => {
    const later = (v: number) => ({ a_later_field: { v } }) as unknown as InventoryRecord;
    const base = { ...record([]), ...later(1) };
    expect(mergeInventory(base, base, { ...theirs, ...later(2) })).toEqual({
      ...theirs,
      ...later(2),
    });
    expect(mergeInventory(base, { ...base, ...later(3) }, { ...theirs, ...later(2) })).toEqual({
      ...theirs,
      ...later(3),
    });
  });

  it("never read, or the entry removed since: this writer's record whole", () => {
    expect(mergeInventory(undefined, record(['Queue/a']), theirs)).toEqual(record(['Queue/a']));
    expect(mergeInventory(theirs, record(['Queue/a']), null)).toEqual(record(['Queue/a']));
  });
});

describe('inventoryPlace (--inventory, its default beside the Lease)', () => {
  it('names the ConfigMap, defaults beside a Lease, keeps the state folder on request or without one', () => {
    const lease = parseK8sPlace('k8s:ci/apply-lock');
    expect(inventoryPlace(undefined, lease)).toEqual({
      namespace: 'ci',
      name: 'poolsync-inventory',
    });
    expect(inventoryPlace('k8s:ops/inv', lease)).toEqual({ namespace: 'ops', name: 'inv' });
    expect(inventoryPlace('state-dir', lease)).toBeNull();
    expect(inventoryPlace(undefined, parseK8sPlace(undefined))).toBeNull();
    expect(() => inventoryPlace('ops/inv', null)).toThrow(
      '--inventory: "ops/inv" is not a Kubernetes ConfigMap; write k8s:NAMESPACE/NAME',
    );
  });
});

describe("flyteadmin's clusters ConfigMap (the same pattern, the k8s: prefix optional)", () => {
  it('reads NAMESPACE/NAME with or without k8s:, and words a refusal with the place it came from', () => {
    const cm = { namespace: 'flyte', name: 'flyte-admin-clusters-config' };
    expect(parseConfigMapRef(' flyte/flyte-admin-clusters-config ', 'x')).toEqual(cm);
    expect(parseConfigMapRef('k8s:flyte/flyte-admin-clusters-config', 'x')).toEqual(cm);
    expect(() => parseConfigMapRef('Flyte/cm', 'clusters-configmap')).toThrow(
      'clusters-configmap: "Flyte/cm" is not a ConfigMap; write NAMESPACE/NAME, e.g. flyte/flyte-admin-clusters-config',
    );
  });
});
