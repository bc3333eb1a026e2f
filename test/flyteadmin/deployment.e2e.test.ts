/**
 * Labels wait for their deployment. flyteadmin accepts any label on PUT and routes with the
 * labelClusterMap it read at start-up (executioncluster/impl/random_cluster_selector.go), which
 * flyte-core renders into ConfigMap flyte-admin-clusters-config, key clusters.yaml
 * (charts/flyte-core/templates/admin/configmap.yaml). poolsync reads that ConfigMap through
 * @kubernetes/client-node (here from a fake API server on a socket) and holds an assignment
 * whose label or weights flyteadmin does not run with yet; the daemon looks again on each run.
 */
import { inWords, warningText, whyText } from '../../src/render/common.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import type { Plan } from '../../src/model/plan.js';
import { splitHeld } from '../../src/plan/hold.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { changedWords, recheckPlan, stalePlanError } from '../../src/ops/stale-plan.js';
import { readLiveState } from '../../src/controlplane/types.js';
import type { SettingsNeed } from '../../src/model/live.js';
import type { LiveChanges } from '../../src/plan/live-changes.js';
import { startOwnTestDaemon } from '../daemon/harness.js';
import { TestRepo } from '../daemon/helpers.js';
import { startFakeKubeConfigMaps, type FakeKubeConfigMaps } from './fake-kube-configmaps.js';
import { exampleRepo } from './helpers.js';
import { runInProcess, type CliResult } from '../support/memory-io.js';
import { flyteadminTargets, type FlyteadminUnderTest } from './targets.js';

const CM = 'flyte/flyte-admin-clusters-config';

/** What `helm upgrade` puts in the ConfigMap: `clusters:` + configmap.clusters of the values. */
function clustersYaml(clusters: unknown): Record<string, string> {
  return { 'clusters.yaml': dump({ clusters }) };
}

async function renderedClusters(): Promise<unknown> {
  const text = await readFile('examples/flyte-oss/deploy/flyte-clusters-values.yaml', 'utf8');
  return (load(text) as { configmap: { clusters: unknown } }).configmap.clusters;
}

const BEFORE_UPGRADE = {
  labelClusterMap: { label1: [{ id: 'dataplane_1', weight: 1 }] },
  clusterConfigs: [
    { name: 'controlplane', enabled: true, inCluster: true },
    {
      name: 'dataplane_1',
      enabled: true,
      endpoint: 'https://dp1:443',
      auth: { type: 'file_path' },
    },
  ],
};

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('flyteadmin $name: labels wait for their deployment', (target) => {
  let fa: FlyteadminUnderTest | undefined;
  let kube: FakeKubeConfigMaps;
  let repo: Awaited<ReturnType<typeof exampleRepo>> | undefined;
  const env = { kubeconfig: process.env.KUBECONFIG, host: process.env.KUBERNETES_SERVICE_HOST };
  const open: ControlPlane[] = [];

  beforeAll(async () => {
    kube = await startFakeKubeConfigMaps();
    process.env.KUBECONFIG = kube.kubeconfig;
    delete process.env.KUBERNETES_SERVICE_HOST;
  });
  beforeEach(({ skip }) => {
    if (target.missing) skip(target.missing);
  });
  afterAll(async () => {
    await kube.close();
    if (env.kubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = env.kubeconfig;
    if (env.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = env.host;
  });
  afterEach(async () => {
    for (const cp of open.splice(0)) await cp.close();
    await fa?.close();
    fa = undefined;
    await repo?.cleanup();
    repo = undefined;
    kube.configMaps.clear();
    kube.forbidden.clear();
  });

  async function setup(query = `?clusters-configmap=${CM}`): Promise<ControlPlane> {
    fa = await target.start();
    repo = await exampleRepo('flyte-oss');
    const cp = await openControlPlane(`${fa.url}${query}`, { env: process.env });
    open.push(cp);
    return cp;
  }
  async function plan(cp: ControlPlane): Promise<Plan> {
    const r = await planRepository(repo!.dir, cp, { commit: repo!.commit });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.errors).toEqual([]);
    return r.plan;
  }
  const actions = (p: Plan) =>
    p.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.address}`);

  it('a label flyteadmin does not run with is blocked, naming the file to deploy; after helm upgrade the next plan sets it', async () => {
    const cp = await setup();
    kube.configMaps.set(CM, clustersYaml(BEFORE_UPGRADE));
    const first = await plan(cp);
    expect(actions(first)).toEqual([
      'create ExecutionClusterLabel/project1/development',
      'blocked ExecutionClusterLabel/project1/development/example.training_workflow',
      'create ExecutionClusterLabel/team1/development',
      'blocked ExecutionClusterLabel/team1/production',
    ]);
    const blocked = first.changes.find(
      (c) => c.address === 'ExecutionClusterLabel/team1/production',
    )!;
    expect(whyText(blocked)).toBe(
      "label 'label2' is not in the labelClusterMap flyteadmin runs with (k8s:flyte/flyte-admin-clusters-config); flyteadmin accepts any label and would send " +
        'these executions to every enabled cluster with equal weight (controlplane, dataplane_1). Deploy deploy/flyte-clusters-values.yaml ' +
        '(helm upgrade restarts flyteadmin with it); the next plan sets this label',
    );
    expect((await executePlan(first, cp)).ok).toBe(true);
    expect((await fa!.rows('EXECUTION_CLUSTER_LABEL')).map((r) => r.project).sort()).toEqual([
      'project1',
      'team1',
    ]);

    // helm upgrade with the rendered values: the ConfigMap now holds every label.
    kube.configMaps.set(CM, clustersYaml(await renderedClusters()));
    const second = await plan(cp);
    expect(actions(second)).toEqual([
      'create ExecutionClusterLabel/project1/development/example.training_workflow',
      'create ExecutionClusterLabel/team1/production',
    ]);
    expect((await executePlan(second, cp)).ok).toBe(true);
    expect((await plan(cp)).steps).toEqual([]);
  });

  it('other weights than the repository gives the label: blocked too; an unknown label falls back to defaultExecutionLabel', async () => {
    const cp = await setup();
    const clusters = (await renderedClusters()) as {
      labelClusterMap: Record<string, { id: string; weight: number }[]>;
    };
    kube.configMaps.set(
      CM,
      clustersYaml({
        ...clusters,
        labelClusterMap: {
          label1: clusters.labelClusterMap['label1'],
          training: [
            { id: 'dataplane_1', weight: 0.5 },
            { id: 'dataplane_2', weight: 0.5 },
          ],
        },
        defaultExecutionLabel: 'label1',
      }),
    );
    const p = await plan(cp);
    const reason = (a: string) => whyText(p.changes.find((c) => c.address === a)!);
    expect(
      reason('ExecutionClusterLabel/project1/development/example.training_workflow'),
    ).toContain(
      "label 'training' runs with other weights in flyteadmin (dataplane_1 0.5, dataplane_2 0.5, k8s:flyte/flyte-admin-clusters-config) than the repository gives it (dataplane_1 0.7, dataplane_2 0.3)",
    );
    expect(reason('ExecutionClusterLabel/team1/production')).toContain(
      "would send these executions to its defaultExecutionLabel 'label1' (dataplane_1 1)",
    );
  });

  it('a label whose clusters are all disabled (or absent) in the deployed clusterConfigs is blocked: flyteadmin skips it', async () => {
    const cp = await setup();
    const clusters = (await renderedClusters()) as {
      clusterConfigs: { name: string; enabled: boolean }[];
    };
    kube.configMaps.set(
      CM,
      clustersYaml({
        ...clusters,
        // dataplane_2 disabled: label2 (dataplane_2 only) is dropped; training keeps dataplane_1.
        clusterConfigs: clusters.clusterConfigs.map((c) =>
          c.name === 'dataplane_2' ? { ...c, enabled: false } : c,
        ),
      }),
    );
    const p = await plan(cp);
    const reason = (a: string) => whyText(p.changes.find((c) => c.address === a)!);
    expect(reason('ExecutionClusterLabel/team1/production')).toBe(
      "label 'label2' is in the labelClusterMap flyteadmin runs with (k8s:flyte/flyte-admin-clusters-config), but none of its clusters (dataplane_2) is an enabled clusterConfigs entry there, so flyteadmin skips the label; " +
        'flyteadmin accepts any label and would send these executions to every enabled cluster with equal weight (controlplane, dataplane_1). ' +
        'Deploy deploy/flyte-clusters-values.yaml (helm upgrade restarts flyteadmin with it); the next plan sets this label',
    );
    expect(
      reason('ExecutionClusterLabel/project1/development/example.training_workflow'),
    ).toContain(
      "label 'training' runs with other clusters in flyteadmin (dataplane_1 0.7, k8s:flyte/flyte-admin-clusters-config) than the repository gives it (dataplane_1 0.7, dataplane_2 0.3); " +
        'flyteadmin accepts any label and would send these executions to dataplane_1 0.7, as it runs the label.',
    );
    expect(actions(p)).toEqual([
      'create ExecutionClusterLabel/project1/development',
      'blocked ExecutionClusterLabel/project1/development/example.training_workflow',
      'create ExecutionClusterLabel/team1/development',
      'blocked ExecutionClusterLabel/team1/production',
    ]);
  });

  it('a label already set is checked again: one the deployment no longer routes is LABEL_ROUTED_ELSEWHERE', async () => {
    const cp = await setup();
    kube.configMaps.set(CM, clustersYaml(await renderedClusters()));
    expect((await executePlan(await plan(cp), cp)).ok).toBe(true);
    expect((await plan(cp)).warnings.map((w) => w.code)).toEqual([]);
    // A helm upgrade with values that lost label2 (a hand-edited values file, say).
    const clusters = (await renderedClusters()) as {
      labelClusterMap: Record<string, unknown>;
    };
    const { label2: _dropped, ...rest } = clusters.labelClusterMap;
    kube.configMaps.set(CM, clustersYaml({ ...clusters, labelClusterMap: rest }));
    const p = await plan(cp);
    expect(p.steps).toEqual([]);
    expect(p.warnings.map((w) => [w.code, w.address])).toEqual([
      ['LABEL_ROUTED_ELSEWHERE', 'ClusterLabel/label2'],
    ]);
    expect(warningText(p.warnings[0]!)).toBe(
      "label 'label2' is not in the labelClusterMap flyteadmin runs with (k8s:flyte/flyte-admin-clusters-config), so the executions of " +
        'ExecutionClusterLabel/team1/production (label already set in flyteadmin) go to every enabled cluster with equal weight ' +
        '(controlplane, dataplane_1, dataplane_2). Deploy deploy/flyte-clusters-values.yaml (helm upgrade restarts flyteadmin with it)',
    );
  });

  it('a saved plan refused after the deployed routing changed names the label and its weights, and only the causes flyteadmin has', async () => {
    const cp = await setup();
    const clusters = (await renderedClusters()) as {
      labelClusterMap: Record<string, { id: string; weight: number }[]>;
    };
    kube.configMaps.set(CM, clustersYaml(clusters));
    // As `plan --out` writes it and `apply PLANFILE` reads it: no live state beside it.
    const saved = JSON.parse(JSON.stringify(await plan(cp))) as Plan;
    const read = (need: SettingsNeed) => readLiveState(cp, need(undefined));
    clusters.labelClusterMap.training = [
      { id: 'dataplane_1', weight: 0.6 },
      { id: 'dataplane_2', weight: 0.4 },
    ];
    kube.configMaps.set(CM, clustersYaml(clusters));
    const moved = await recheckPlan(saved, read);
    expect(moved.stale).not.toBeNull();
    expect(stalePlanError('plan.json', saved, moved.stale!).message).toMatch(
      /^stale plan: the control plane changed since plan\.json was made: deployed label 'training' weights dataplane_1 0\.7 → 0\.6, dataplane_2 0\.3 → 0\.4 \(live state sha256:\w+, plan made against sha256:\w+\)\. /,
    );
    // Without the routing it read (a plan saved before it was kept), the causes are flyteadmin's own.
    const { deployed_routing: _, ...older } = saved;
    const unknown = await recheckPlan(older, read);
    expect(changedWords((unknown.stale as { changed: LiveChanges }).changed)).toBe(
      "no object the plan shows differs; a setting the plan read changed (a project or domain, a row at a level poolsync does not write (project-wide, domain-wide, a launch plan's), or the cluster configuration flyteadmin runs with (its clusters ConfigMap))",
    );
  });

  it('without access (not configured, or forbidden) the plan warns and policy safe holds the label changes', async () => {
    const cp = await setup('');
    const unconfigured = await plan(cp);
    expect(unconfigured.warnings.map((w) => [w.code, w.address])).toEqual([
      ['LABEL_DEPLOYMENT_UNKNOWN', 'ClusterLabel/label1'],
      ['LABEL_DEPLOYMENT_UNKNOWN', 'ClusterLabel/label2'],
      ['LABEL_DEPLOYMENT_UNKNOWN', 'ClusterLabel/training'],
    ]);
    expect(warningText(unconfigured.warnings[0]!)).toContain('clusters-configmap=NAMESPACE/NAME');
    const creates = unconfigured.changes.filter((c) => c.action === 'create');
    expect(creates).toHaveLength(4);
    for (const c of creates) expect(inWords(c.unverified)).toMatch(/is unknown/);
    // Creates are not destructive, but unverified: `safe` holds them.
    expect(splitHeld(unconfigured).held.map((c) => c.address)).toEqual(
      creates.map((c) => c.address),
    );

    const forbiddenCp = await openControlPlane(`${fa!.url}?clusters-configmap=${CM}`, {
      env: process.env,
    });
    open.push(forbiddenCp);
    kube.forbidden.add(CM);
    const forbidden = await plan(forbiddenCp);
    expect(warningText(forbidden.warnings[0]!)).toContain(
      'cannot read ConfigMap flyte/flyte-admin-clusters-config: forbidden (grant get on configmaps in that namespace)',
    );
    expect(splitHeld(forbidden).held).toHaveLength(4);
    // Its clusters.yaml not YAML: where, in one line (js-yaml's message quoted the text).
    kube.forbidden.delete(CM);
    kube.configMaps.set(CM, { 'clusters.yaml': 'clusters:\n  labelClusterMap: [\n' });
    const broken = warningText((await plan(forbiddenCp)).warnings[0]!);
    expect(broken).toMatch(/clusters\.yaml:3:1: not valid YAML: [^\n]+$/);
  });

  it('check reads the ConfigMap the URL names, as plan does: ✗ in the plan’s words while it cannot, ✓ with what it holds', async () => {
    fa = await target.start();
    repo = await exampleRepo('flyte-oss');
    const env = { ...process.env, KUBECONFIG: kube.kubeconfig, NO_COLOR: '1' };
    const check = (ref: string, vars = env) =>
      runInProcess(
        ['check', repo!.dir, '--control-plane', `${fa!.url}?clusters-configmap=${ref}`],
        vars,
      );
    const advice =
      "Every plan warns LABEL_DEPLOYMENT_UNKNOWN and marks each label change unverified (policy safe holds them): check the URL's clusters-configmap=NAMESPACE/NAME";
    const failed = async (r: Promise<CliResult>, line: string) => {
      const { code, stdout } = await r;
      const shown = stdout.split('\n').find((l) => l.startsWith('✗ clusters-configmap'));
      expect(shown).toContain(`✗ ${line}`);
      expect(shown).toContain(advice);
      expect(stdout).toMatch(/^1 check failed\.$/m);
      expect(stdout).not.toContain('Ready');
      expect(code).toBe(1);
    };
    await failed(
      check('flyte/nope'),
      'clusters-configmap flyte/nope: cannot read ConfigMap flyte/nope: not found',
    );
    kube.forbidden.add(CM);
    await failed(
      check(CM),
      `clusters-configmap ${CM}: cannot read ConfigMap ${CM}: forbidden (grant get on configmaps in that namespace)`,
    );
    kube.forbidden.delete(CM);
    const missing = join(repo.dir, 'no-kubeconfig');
    await failed(
      check(CM, { ...env, KUBECONFIG: missing }),
      `clusters-configmap ${CM}: cannot read ConfigMap ${CM}: cannot load a Kubernetes configuration (in-cluster service account or KUBECONFIG): ENOENT`,
    );

    kube.configMaps.set(CM, clustersYaml(BEFORE_UPGRADE));
    const ready = await check(CM);
    expect(ready.stdout).toContain(
      `\n✓ clusters-configmap ${CM}: flyteadmin runs with 1 label (label1) on 2 enabled clusters (controlplane, dataplane_1)\n`,
    );
    expect(ready.stdout).toMatch(/^Ready: /m);
    expect(ready.code).toBe(0);
  });

  it('the daemon looks at the deployment again on each run', async () => {
    const started = await target.start();
    fa = started;
    const git = new TestRepo();
    const files: Record<string, string> = {};
    const { readdir } = await import('node:fs/promises');
    for (const sub of ['clusters', 'labels', 'execution-cluster-labels', 'deploy'])
      for (const f of await readdir(join('examples/flyte-oss', sub)))
        files[`${sub}/${f}`] = await readFile(join('examples/flyte-oss', sub, f), 'utf8');
    files['poolsync.yaml'] = await readFile('examples/flyte-oss/poolsync.yaml', 'utf8');
    const commit = git.commit(files);
    kube.configMaps.set(CM, clustersYaml(BEFORE_UPGRADE));
    const token = 'reconcile-token-0123456789';
    const d = await startOwnTestDaemon({
      repo: git,
      env: { POOLSYNC_RECONCILE_TOKEN: token },
      flags: { 'control-plane': `${started.url}?clusters-configmap=${CM}` },
      logLevel: 'silent',
    });
    const { daemon } = d;
    try {
      await daemon.firstRun;
      const labels = async () => (await started.rows('EXECUTION_CLUSTER_LABEL')).length;
      expect(await labels()).toBe(2);
      const st = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
      expect(st.appliedCommit).toBe(commit);
      const readsBefore = kube.reads;
      kube.configMaps.set(CM, clustersYaml(await renderedClusters()));
      const res = await fetch(`${daemon.url}/reconcile?wait=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(kube.reads).toBeGreaterThan(readsBefore);
      expect(await labels()).toBe(4);
    } finally {
      await d.stop();
    }
  });
});
