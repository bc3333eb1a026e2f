/**
 * The dashboard's Objects view shows each object as the run left it on the control plane, of
 * every kind: a pool assignment the run created read "missing: not on the control plane" (its
 * live state was taken from the plan's `before`) until the next run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon, type OwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const started: OwnTestDaemon[] = [];
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
});

const ASSIGNMENT = [
  'apiVersion: poolsync/v1',
  'kind: PoolAssignment',
  'metadata:',
  '  name: flytesnacks-production',
  'spec:',
  '  project: flytesnacks',
  '  domain: production',
  '  pool: prod',
  '',
].join('\n');

describe('the Objects view', () => {
  it('shows an assignment the run created with its live pool', async () => {
    const repo = new TestRepo();
    repo.commit({ ...manifests(), 'assignments/flytesnacks.yaml': ASSIGNMENT });
    const d = await startOwnTestDaemon({ repo, state: tempDir(), logLevel: 'silent' });
    started.push(d);
    await d.daemon.firstRun;
    expect(d.daemon.status().outcome).toBe('applied');
    const html = await (await fetch(`${d.daemon.url}/`)).text();
    const row = html.slice(html.indexOf('id="object-PoolAssignment/flytesnacks/production"'));
    expect(row.slice(0, row.indexOf('</summary>'))).toMatch(/synced.*pool prod/s);
    expect(html).not.toContain('missing: not on the control plane');
  });
});
