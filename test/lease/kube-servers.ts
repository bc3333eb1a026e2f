/**
 * The Kubernetes API servers the Lease, leader election and inventory tests run against: the
 * stand-in (fake-kube-api.ts, always) and the real kube-apiserver with etcd (real/kube.ts,
 * skipped with its reason when scripts/kube-go.sh has not built them). Both as `KubeServer`:
 * poolsync runs with the ServiceAccount's kubeconfig; a test's own setup (an edit by hand, a
 * delete) goes through `call('admin', …)`.
 */
import { startFakeKubeApi } from '../support/fake-kube-api.js';
import { kubeCall, kubeMissing, startRealKube, type KubeServer } from './real/kube.js';

export type { Answer, KubeServer } from './real/kube.js';

export interface KubeServerKind {
  name: KubeServer['name'];
  /** Why it is not run here, or null. */
  skip: string | null;
  start(): Promise<KubeServer>;
}

export const KUBE_SERVERS: KubeServerKind[] = [
  {
    name: 'stand-in',
    skip: null,
    async start() {
      const fake = await startFakeKubeApi();
      const tokens = { sa: fake.token, admin: fake.adminToken, anonymous: null };
      return {
        name: 'stand-in',
        url: fake.url,
        kubeconfig: fake.kubeconfig,
        token: fake.token,
        call: (as, method, path, body) => kubeCall(fake.url, tokens[as], method, path, body),
        close: () => fake.close(),
      };
    },
  },
  { name: 'kube-apiserver', skip: kubeMissing, start: startRealKube },
];

export const LEASES = '/apis/coordination.k8s.io/v1/namespaces/poolsync/leases';
export const CONFIGMAPS = '/api/v1/namespaces/poolsync/configmaps';
