/**
 * A Kubernetes API server (or a sign-in page, a proxy in front of it) answering what the API never
 * answers: a success that is no JSON, or not the object asked for, is refused before anything is
 * written (client-node read a sign-in page as an empty Lease: the lock was "taken", every
 * leader-elect replica led); an error, a redirect, a cut-off body is said with the API server's
 * origin and what to do. A plain-http server on this machine (`kubectl proxy`) is used as kubectl
 * uses it; on another machine it is refused, saying how to allow it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigMapInventory, LeaseLock, loadKubeConfig } from '../../src/lease/k8s-lease.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { startFakeKubeApi, writeKubeconfig } from '../support/fake-kube-api.js';
import { cleanup } from '../support/cleanup.js';

const place = { namespace: 'poolsync', name: 'lock' };
const SETTING = "the current cluster's server in KUBECONFIG (in a pod, KUBERNETES_SERVICE_HOST)";
const CHECK = `is ${SETTING} the Kubernetes API's URL, not a sign-in page's or another server's?`;

/** Answers every request with `answer`; the requests are kept as `METHOD path`. */
async function misanswering(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume().on('end', () => answer(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.add(() => new Promise((r) => server.close(r)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kc = loadKubeConfig({ KUBECONFIG: writeKubeconfig(url, 't0ken') }, DEFAULT_LIMITS);
  return { url, seen, kc };
}

const send =
  (status: number, type: string, body: string, headers: Record<string, string> = {}) =>
  (_req: IncomingMessage, res: ServerResponse) =>
    res.writeHead(status, { 'content-type': type, ...headers }).end(body);

describe('a success that is not the Kubernetes API answering', () => {
  it('a sign-in page (200 text/html) takes no Lease and reads no inventory; nothing is written', async () => {
    const s = await misanswering(send(200, 'text/html', '<html><body>Sign in</body></html>'));
    const said = `the Kubernetes API at ${s.url} answered HTTP 200 with a body that is not JSON (text/html): ${CHECK}`;
    await expect(new LeaseLock(s.kc, place, 'me', 15_000).tryAcquireOrRenew()).rejects.toThrow(
      `reading Lease poolsync/lock: ${said}`,
    );
    const inv = new ConfigMapInventory(s.kc, { namespace: 'poolsync', name: 'inv' }, 'k.json');
    await expect(inv.readInventory()).rejects.toThrow(
      `reading the inventory (ConfigMap poolsync/inv): ${said}`,
    );
    expect(s.seen.every((r) => r.startsWith('GET '))).toBe(true);
  });

  it.each([
    ['an empty object', {}],
    ['a Status', { apiVersion: 'v1', kind: 'Status', status: 'Success' }],
    [
      'another Lease',
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'other' } },
    ],
    [
      'a ConfigMap of that name',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'lock' } },
    ],
  ])('JSON that is not the Lease asked for (%s) is refused', async (_, body) => {
    const s = await misanswering(send(200, 'application/json', JSON.stringify(body)));
    const err = await new LeaseLock(s.kc, place, 'me', 15_000).tryAcquireOrRenew().catch((e) => e);
    expect((err as Error).message).toBe(
      `reading Lease poolsync/lock: the Kubernetes API at ${s.url} answered HTTP 200 to GET /apis/coordination.k8s.io/v1/namespaces/poolsync/leases/lock with ${JSON.stringify({ apiVersion: (body as { apiVersion?: string }).apiVersion, kind: (body as { kind?: string }).kind, name: (body as { metadata?: { name?: string } }).metadata?.name })}, not the Lease lock (coordination.k8s.io/v1) asked for: ${CHECK}`,
    );
  });

  it('a create answered with another object is refused: the Lease is not taken', async () => {
    const s = await misanswering((req, res) =>
      req.method === 'GET'
        ? send(404, 'application/json', '{"kind":"Status","code":404}')(req, res)
        : send(201, 'application/json', '{"kind":"Status","apiVersion":"v1"}')(req, res),
    );
    await expect(new LeaseLock(s.kc, place, 'me', 15_000).tryAcquireOrRenew()).rejects.toThrow(
      /^creating Lease poolsync\/lock: the Kubernetes API at http:\S+ answered HTTP 201 to POST \/apis\/coordination\.k8s\.io\/v1\/namespaces\/poolsync\/leases with .*, not the Lease lock \(coordination\.k8s\.io\/v1\) asked for/,
    );
  });
});

describe('an answer said with where it came from and what to do', () => {
  it.each([
    [
      '401',
      send(401, 'text/html', '<html>Unauthorized</html>'),
      (url: string) =>
        `the Kubernetes API at ${url} answered HTTP 401 (Unauthorized): it refused the credentials of the KUBECONFIG user (in a pod, the service account's token): renew them if they expired, or choose a context whose user it accepts`,
    ],
    [
      '502',
      send(502, 'text/plain', 'Bad Gateway'),
      (url: string) =>
        `the Kubernetes API at ${url} answered HTTP 502: the API server, or a proxy or load balancer in front of it, is failing or overloaded; try again, and if it lasts check the API server (kubectl get --raw /readyz)`,
    ],
    [
      '302 to a sign-in page',
      send(302, 'text/html', '', { location: 'https://sso.example.com/login?next=x' }),
      (url: string) =>
        `the Kubernetes API at ${url} answered HTTP 302, a redirect to https://sso.example.com/login, which poolsync does not follow (the token would be sent to it): if that address is trusted, correct ${SETTING} to https://sso.example.com`,
    ],
    [
      'a success cut off',
      send(200, 'application/json', '{"apiVersion":"coordination.k8s.io/v1","kind":"Le'),
      (url: string) =>
        `the Kubernetes API at ${url} answered HTTP 200 with a body that is not JSON (application/json): ${CHECK}`,
    ],
    [
      'an error cut off',
      send(500, 'application/json', '{"kind":"Status","mess'),
      (url: string) =>
        `the Kubernetes API at ${url} answered HTTP 500: the API server, or a proxy or load balancer in front of it, is failing or overloaded; try again, and if it lasts check the API server (kubectl get --raw /readyz)`,
    ],
  ])('%s', async (_, answer, words) => {
    const s = await misanswering(answer);
    const err = await new LeaseLock(s.kc, place, 'me', 15_000).tryAcquireOrRenew().catch((e) => e);
    expect((err as Error).message).toBe(`reading Lease poolsync/lock: ${words(s.url)}`);
    expect(s.seen).toEqual(['GET /apis/coordination.k8s.io/v1/namespaces/poolsync/leases/lock']);
  });
});

describe('a plain-http API server', () => {
  const withoutSkip = (url: string, token: string) => {
    const file = writeKubeconfig(url, token);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/\n *insecure-skip-tls-verify: true/, ''),
    );
    return file;
  };

  it('on this machine (kubectl proxy) is used without insecure-skip-tls-verify, as kubectl uses it', async () => {
    const kube = await startFakeKubeApi();
    cleanup.add(() => kube.close());
    const kc = loadKubeConfig({ KUBECONFIG: withoutSkip(kube.url, kube.token) }, DEFAULT_LIMITS);
    const got = await new LeaseLock(kc, place, 'me', 15_000).tryAcquireOrRenew();
    expect(got).toMatchObject({ held: true, holder: 'me' });
  });

  it('on another machine is refused before any call, saying how to allow it', () => {
    expect(() =>
      loadKubeConfig({ KUBECONFIG: withoutSkip('http://10.0.0.1:8080', 't') }, DEFAULT_LIMITS),
    ).toThrow(
      `the Kubernetes API at http://10.0.0.1:8080 (${SETTING}) is plain HTTP on another machine: the KUBECONFIG user's credentials would cross the network unencrypted. ` +
        "Give the API server's https:// address, or run `kubectl proxy` here and give http://127.0.0.1:8001; to send them unencrypted anyway, set insecure-skip-tls-verify: true on that cluster",
    );
  });
});
