/**
 * flytectl (scripts/flyte-go.sh: v0.9.8, over flyteadmin's gRPC port) as a second real client
 * of the real flyteadmin, both ways: what poolsync writes, `flytectl get
 * execution-cluster-label` reads back the same (project/domain and workflow level); what
 * `flytectl update|delete execution-cluster-label` writes, poolsync's next plan shows as drift
 * (an update, an unmanaged label, a create). CLUSTER_ASSIGNMENT has no flytectl command
 * (Union's uctl `cluster-pool-attributes` writes it): its rows are checked over REST elsewhere.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import type { Plan } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { exampleRepo } from './helpers.js';
import { FLYTECTL, binary, realMissing } from './real/binaries.js';
import { RealFlyteadmins, type RealFlyteadmin } from './real/server.js';

const run = promisify(execFile);
const flytectlBin = binary(FLYTECTL, 'flytectl');
const missing = realMissing ?? (flytectlBin ? null : `no ${FLYTECTL}: run scripts/flyte-go.sh`);

describe.skipIf(missing !== null)('flytectl and poolsync on the same real flyteadmin', () => {
  const real = new RealFlyteadmins();
  let fa: RealFlyteadmin;
  let cp: ControlPlane;
  let repo: Awaited<ReturnType<typeof exampleRepo>>;
  let tmp: string;
  let config: string;

  beforeAll(async () => {
    if (missing) return;
    fa = await real.start({ projects: ['flytesnacks', 'project1', 'team1'] });
    repo = await exampleRepo('flyte-oss');
    cp = await openControlPlane(fa.url, { env: process.env });
    tmp = await mkdtemp(join(tmpdir(), 'poolsync-flytectl-'));
    config = join(tmp, 'config.yaml');
    await writeFile(
      config,
      `admin:\n  endpoint: ${fa.grpcEndpoint}\n  insecure: true\nlogger:\n  level: 0\n`,
    );
  });
  beforeEach(({ skip }) => {
    if (missing) skip(missing);
  });
  afterAll(async () => {
    await cp?.close();
    await fa?.close();
    await real.close();
    await repo?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  // stdin closed: a command that would ask for an acknowledgement fails instead of waiting.
  const flytectl = async (...args: string[]) => {
    const child = run(flytectlBin!, ['--config', config, ...args], { cwd: tmp });
    child.child.stdin?.end();
    return (await child).stdout;
  };
  /** `flytectl get execution-cluster-label -o json`: the label, or null when flyteadmin has none. */
  const getLabel = async (project: string, domain: string, workflow?: string) => {
    try {
      const out = await flytectl(
        'get',
        'execution-cluster-label',
        '-p',
        project,
        '-d',
        domain,
        ...(workflow ? [workflow] : []),
        '-o',
        'json',
      );
      return JSON.parse(out) as Record<string, string>;
    } catch {
      return null;
    }
  };
  async function plan(): Promise<Plan> {
    const r = await planRepository(repo.dir, cp);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.plan;
  }

  it('what poolsync writes, flytectl reads back the same', async () => {
    expect((await executePlan(await plan(), cp)).ok).toBe(true);
    expect(await getLabel('team1', 'development')).toEqual({
      project: 'team1',
      domain: 'development',
      value: 'label1',
    });
    expect(await getLabel('team1', 'production')).toMatchObject({ value: 'label2' });
    expect(await getLabel('project1', 'development', 'example.training_workflow')).toEqual({
      project: 'project1',
      domain: 'development',
      workflow: 'example.training_workflow',
      value: 'training',
    });
    // flyteadmin answers the most specific row: a workflow without its own gets the project/domain's.
    expect(await getLabel('project1', 'development', 'other.workflow')).toMatchObject({
      value: 'label1',
    });
  });

  it('what flytectl writes, poolsync’s next plan shows as drift', async () => {
    const attr = (name: string, text: string) => {
      const file = join(tmp, name);
      return writeFile(file, text).then(() => file);
    };
    await flytectl(
      'update',
      'execution-cluster-label',
      '--force',
      '--attrFile',
      await attr('moved.yaml', 'domain: production\nproject: team1\nvalue: training\n'),
    );
    await flytectl(
      'update',
      'execution-cluster-label',
      '--force',
      '--attrFile',
      await attr(
        'new.yaml',
        'domain: development\nproject: flytesnacks\nworkflow: wf.hand\nvalue: label1\n',
      ),
    );
    await flytectl('delete', 'execution-cluster-label', '-p', 'team1', '-d', 'development');
    const p = await plan();
    expect(
      p.changes
        .filter((c) => c.action !== 'noop')
        .map((c) => [c.action, c.address, c.diff.map((d) => [d.path, d.before, d.after])]),
    ).toEqual([
      ['unmanaged', 'ExecutionClusterLabel/flytesnacks/development/wf.hand', []],
      ['create', 'ExecutionClusterLabel/team1/development', expect.anything()],
      ['update', 'ExecutionClusterLabel/team1/production', [['label', 'training', 'label2']]],
    ]);
    expect((await executePlan(p, cp)).ok).toBe(true);
    expect(await getLabel('team1', 'production')).toMatchObject({ value: 'label2' });
    expect(await getLabel('team1', 'development')).toMatchObject({ value: 'label1' });
  });
});
