/**
 * docs/flyte-oss.md's RBAC example, complete (issue 61: it was a Role without a RoleBinding,
 * which grants nothing): applied as written to the real kube-apiserver (RBAC on;
 * scripts/kube-go.sh, skipped saying why without it), poolsync reads flyteadmin's cluster
 * configuration (readDeployedConfig) as the ServiceAccount of examples/deploy/rbac.yaml, and
 * nothing else in that namespace. The Role alone leaves it forbidden.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { readDeployedConfig } from '../../src/controlplane/flyteadmin/client.js';
import { REPO_ROOT } from '../support/cli.js';
import { runInProcess } from '../support/memory-io.js';
import { startFlyteadmin } from '../flyteadmin/helpers.js';
import { until } from '../support/until.js';
import { kubeMissing, startRealKube, type KubeServer } from './real/kube.js';

type Doc = { kind: string; metadata: { name: string; namespace: string } };

/** The YAML block of docs/flyte-oss.md that grants poolsync the ConfigMap. */
function rbacExample(): Doc[] {
  const page = readFileSync(join(REPO_ROOT, 'docs/flyte-oss.md'), 'utf8');
  const block = [...page.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((b) => b.includes('poolsync-read-flyte-clusters'))!;
  return loadAll(block) as Doc[];
}

const RBAC = '/apis/rbac.authorization.k8s.io/v1/namespaces/flyte';
const PATHS: Record<string, string> = {
  Role: `${RBAC}/roles`,
  RoleBinding: `${RBAC}/rolebindings`,
};
const CM = '/api/v1/namespaces/flyte/configmaps';
const CLUSTERS = 'clusters:\n  labelClusterMap:\n    gpu: [{id: dp1, weight: 1}]\n';

describe.skipIf(kubeMissing !== null)('docs/flyte-oss.md RBAC (real kube-apiserver)', () => {
  let k: KubeServer;
  beforeAll(async () => {
    k = await startRealKube();
    const admin = async (method: string, path: string, body: unknown) => {
      const a = await k.call('admin', method, path, body);
      if (a.status >= 300) throw new Error(`${path}: HTTP ${a.status} ${JSON.stringify(a.body)}`);
    };
    await admin('POST', '/api/v1/namespaces', { metadata: { name: 'flyte' } });
    for (const name of ['flyte-admin-clusters-config', 'other'])
      await admin('POST', CM, { metadata: { name }, data: { 'clusters.yaml': CLUSTERS } });
  }, 120_000);
  afterAll(() => k?.close());

  it('the Role and its RoleBinding, as written, let poolsync read that ConfigMap and no other', async () => {
    const docs = rbacExample();
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).toEqual([
      'Role flyte/poolsync-read-flyte-clusters',
      'RoleBinding flyte/poolsync-read-flyte-clusters',
    ]);
    const kc = new KubeConfig();
    kc.loadFromFile(k.kubeconfig);
    const read = () =>
      readDeployedConfig({ namespace: 'flyte', name: 'flyte-admin-clusters-config' }, () =>
        Promise.resolve(kc),
      );

    // `check` reads it as the plan does, with the ServiceAccount's kubeconfig.
    const flyteadmin = await startFlyteadmin(null);
    onTestFinished(() => flyteadmin.close());
    const url = `${flyteadmin.url}?clusters-configmap=flyte/flyte-admin-clusters-config`;
    const check = () =>
      runInProcess(['check', 'examples/flyte-oss', '--control-plane', url], {
        KUBECONFIG: k.kubeconfig,
      });
    const line = (out: string) =>
      out.split('\n').find((l) => l.includes('clusters-configmap flyte/'));

    // The Role alone grants nothing.
    const role = await k.call('admin', 'POST', PATHS.Role!, docs[0]);
    expect(role.status).toBe(201);
    expect((await read()).unavailable).toMatch(/cannot read ConfigMap .*forbidden/);
    const refused = await check();
    expect(line(refused.stdout)).toMatch(
      /^✗ clusters-configmap flyte\/flyte-admin-clusters-config: cannot read ConfigMap .*: forbidden .*LABEL_DEPLOYMENT_UNKNOWN/,
    );
    expect(refused.code).toBe(1);

    const binding = await k.call('admin', 'POST', PATHS.RoleBinding!, docs[1]);
    expect(binding.status).toBe(201);
    // The authorizer sees a new binding once its cache has it.
    const deployed = await until('the RoleBinding to take effect', async () => {
      const d = await read();
      return d.unavailable === null && d;
    });
    expect(deployed.labels).toEqual({ gpu: [{ cluster: 'dp1', weight: 1 }] });
    const ready = await check();
    expect(line(ready.stdout)).toBe(
      '✓ clusters-configmap flyte/flyte-admin-clusters-config: flyteadmin runs with 1 label (gpu) on no enabled cluster',
    );
    expect(ready.code).toBe(0);
    // Only that ConfigMap, and only get.
    expect((await k.call('sa', 'GET', `${CM}/other`)).status).toBe(403);
    expect((await k.call('sa', 'GET', CM)).status).toBe(403);
  });
});
