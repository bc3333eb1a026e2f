/**
 * The clusters ConfigMap's reader (flyteadmin/client.ts readDeployedConfig) on answers other
 * than the ConfigMap: who answered (the API server's origin) and what to do, not a bare status.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeployedConfig } from '../../src/controlplane/flyteadmin/client.js';
import { loadKubeConfig } from '../../src/lease/k8s-lease.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { status, writeKubeconfig } from '../support/fake-kube-api.js';

const server = createServer((req, res) => {
  const name = /\/configmaps\/([a-z-]+)$/.exec(req.url ?? '')?.[1];
  if (name === 'moved') {
    res.writeHead(302, { location: 'https://sso.example.com/login' });
    return res.end();
  }
  if (name === 'busy') return status(res, 503, 'ServiceUnavailable', 'try later');
  return status(res, 401, 'Unauthorized', 'Unauthorized');
});
let url = '';
let kc: KubeConfig;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The client flyteadmin's reader uses: bounded, redirects not followed.
  kc = loadKubeConfig({ KUBECONFIG: writeKubeconfig(url, 'expired-token') }, DEFAULT_LIMITS);
});
afterAll(
  () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
);

const why = async (name: string) =>
  (await readDeployedConfig({ namespace: 'flyte', name }, async () => kc)).unavailable;

describe("the clusters ConfigMap's reader on another answer", () => {
  it('401: the origin, and that the KUBECONFIG credentials were refused', async () => {
    expect(await why('denied')).toBe(
      `cannot read ConfigMap flyte/denied: the Kubernetes API at ${url} answered HTTP 401 (Unauthorized): it refused the credentials of the KUBECONFIG user (in a pod, the service account's token): renew them if they expired, or choose a context whose user it accepts`,
    );
  });

  it('302: the origin, where it redirects, and which setting to check', async () => {
    expect(await why('moved')).toBe(
      `cannot read ConfigMap flyte/moved: the Kubernetes API at ${url} answered HTTP 302, a redirect to https://sso.example.com/login, which poolsync does not follow (the token would be sent to it): if that address is trusted, correct the current cluster's server in KUBECONFIG (in a pod, KUBERNETES_SERVICE_HOST) to https://sso.example.com`,
    );
  });

  it('503: the origin, and to try again', async () => {
    expect(await why('busy')).toMatch(
      new RegExp(
        `^cannot read ConfigMap flyte/busy: the Kubernetes API at ${url} answered HTTP 503: .*try again`,
      ),
    );
  });
});
