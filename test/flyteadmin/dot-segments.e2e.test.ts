/**
 * Issue 38, item 10: flyteadmin rows whose workflow is named `.` or `..` (flyteadmin's gRPC API,
 * and flytectl with it, accepts them). Written plainly in a URL such a name is a dot segment:
 * Go's ServeMux, flyteadmin's HTTP server, cleans the path and redirects (307) to another
 * object, which a client that followed would reach. `%2E`/`%2E%2E` reach the row: grpc-gateway
 * decodes them into the name. Checked against the real flyteadmin and the stand-in, then
 * poolsync's prune deletes exactly those rows and converges.
 */
import { request } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { exampleRepo, token } from './helpers.js';
import { flyteadminTargets, rowKey } from './targets.js';

const targets = flyteadminTargets();
afterAll(() => targets.close());

/** One request with the path exactly as given (fetch and undici.request would clean it first). */
function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; location: string | undefined; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const label = /"value":\s*"([^"]*)"/.exec(body)?.[1] ?? body;
        resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: label });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(targets.list)('flyteadmin $name: workflows named . and ..', (target) => {
  beforeEach(({ skip }) => {
    if (target.missing) skip(target.missing);
  });

  it('a plain dot segment is redirected elsewhere; %2E and %2E%2E reach the rows named . and ..', async () => {
    const fa = await target.start();
    try {
      for (const workflow of ['.', '..'])
        await fa.insertRow('EXECUTION_CLUSTER_LABEL', {
          project: 'team1',
          domain: 'development',
          workflow,
          value: `label-${workflow.length}`,
        });
      const headers: Record<string, string> = { accept: 'application/json' };
      if (!fa.real) headers['flyte-authorization'] = `Bearer ${await token(fa.httpUrl)}`;
      const seen: string[] = [];
      for (const name of ['..', '.', '%2E%2E', '%2E', '%2e%2e']) {
        const r = await rawRequest(
          fa.httpUrl,
          'GET',
          `/api/v1/workflow_attributes/team1/development/${name}?resource_type=EXECUTION_CLUSTER_LABEL`,
          headers,
        );
        seen.push(`${name} ${r.status} ${r.location ?? r.body}`);
      }
      expect(seen).toEqual([
        '.. 307 /api/v1/workflow_attributes/team1?resource_type=EXECUTION_CLUSTER_LABEL',
        '. 307 /api/v1/workflow_attributes/team1/development?resource_type=EXECUTION_CLUSTER_LABEL',
        '%2E%2E 200 label-2',
        '%2E 200 label-1',
        '%2e%2e 200 label-2',
      ]);
    } finally {
      await fa.close();
    }
  });

  it('prune deletes exactly the rows named . and .. (and wf), and the next plan is empty', async () => {
    const fa = await target.start();
    const repo = await exampleRepo('flyte-oss');
    const cp = await openControlPlane(fa.url, { env: process.env });
    try {
      for (const workflow of ['.', '..', 'wf'])
        await fa.insertRow('EXECUTION_CLUSTER_LABEL', {
          project: 'team1',
          domain: 'development',
          workflow,
          value: 'label1',
        });
      const config = join(repo.dir, 'poolsync.yaml');
      await writeFile(
        config,
        (await readFile(config, 'utf8')).replace('prune: false', 'prune: true'),
      );
      const first = await planRepository(repo.dir, cp, { commit: null });
      if (!first.ok) throw new Error('invalid example');
      const deletes = first.plan.steps
        .map((s) => `${s.op} ${s.target}`)
        .filter((s) => s.includes('team1/development/'));
      expect(deletes).toEqual([
        'delete_execution_cluster_label ExecutionClusterLabel/team1/development/.',
        'delete_execution_cluster_label ExecutionClusterLabel/team1/development/..',
        'delete_execution_cluster_label ExecutionClusterLabel/team1/development/wf',
      ]);
      const before = (await fa.rows('EXECUTION_CLUSTER_LABEL')).map(rowKey);
      expect((await executePlan(first.plan, cp)).ok).toBe(true);
      const after = (await fa.rows('EXECUTION_CLUSTER_LABEL')).map(rowKey);
      // Exactly the three rows went (a plain `..` would have reached team1/development's row).
      expect(before.filter((r) => !after.includes(r)).sort()).toEqual([
        'team1/development/../=label1',
        'team1/development/./=label1',
        'team1/development/wf/=label1',
      ]);
      const again = await planRepository(repo.dir, cp, { commit: null });
      if (!again.ok) throw new Error('invalid example');
      expect(again.plan.steps).toEqual([]);
    } finally {
      await cp.close();
      await repo.cleanup();
      await fa.close();
    }
  });
});
