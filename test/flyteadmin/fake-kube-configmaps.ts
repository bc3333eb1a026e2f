/**
 * A Kubernetes-API-compatible ConfigMap endpoint for tests (core/v1), on a real socket, as the
 * API server answers the call poolsync makes (`GET /api/v1/namespaces/NS/configmaps/NAME`):
 * the ConfigMap, a `Status` 404 NotFound, 403 Forbidden for names the test forbids, 401 without
 * the bearer token. Its kubeconfig and error bodies are those of test/support/fake-kube-api.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { status, writeKubeconfig } from '../support/fake-kube-api.js';

export interface FakeKubeConfigMaps {
  url: string;
  kubeconfig: string;
  /** `NS/NAME` → data. */
  configMaps: Map<string, Record<string, string>>;
  /** `NS/NAME` answered 403. */
  forbidden: Set<string>;
  reads: number;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

const PATH = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/configmaps\/([a-z0-9.-]+)$/;

export async function startFakeKubeConfigMaps(): Promise<FakeKubeConfigMaps> {
  const token = `kube-token-${randomUUID()}`;
  const configMaps = new Map<string, Record<string, string>>();
  const forbidden = new Set<string>();
  const state = { reads: 0 };
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`)
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    const m = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!m || req.method !== 'GET')
      return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const [, namespace, name] = m as unknown as [string, string, string];
    state.reads++;
    const key = `${namespace}/${name}`;
    if (forbidden.has(key))
      return status(
        res,
        403,
        'Forbidden',
        `configmaps "${name}" is forbidden: User "system:serviceaccount:poolsync:poolsync" cannot get resource "configmaps" in API group "" in the namespace "${namespace}"`,
      );
    const data = configMaps.get(key);
    if (!data) return status(res, 404, 'NotFound', `configmaps "${name}" not found`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace, resourceVersion: '1', uid: randomUUID() },
        data,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = writeKubeconfig(url, token);
  return {
    url,
    kubeconfig,
    configMaps,
    forbidden,
    get reads() {
      return state.reads;
    },
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfig);
      return kc;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
