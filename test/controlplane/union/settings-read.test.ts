/**
 * A plan reads the default-queue settings it needs and no more (src/plan/fingerprint.ts): the
 * declared project/domains only, ListProjects never, while nothing is drained or deleted; when
 * the plan drains or deletes a queue, every project/domain's setting is read and the plan made
 * again (its lists as first read: each swept once), so a queue an undeclared setting names is
 * blocked, not drained. A check of the plan's live fingerprint reads the same settings as the plan.
 */
import { whyText } from '../../../src/render/common.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Interceptor } from '@connectrpc/connect';
import { afterEach, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import { liveFingerprint, settingsOfPlan } from '../../../src/plan/fingerprint.js';
import { tempDir, writeRepo } from '../../support/repo.js';
import { openUnion, setDefaultQueue, startUnionServer, type UnionServer } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

function counter() {
  const calls: string[] = [];
  const interceptor: Interceptor = (next) => (req) => {
    calls.push(req.method.name);
    return next(req);
  };
  const count = (name: string) => calls.filter((c) => c === name).length;
  return { calls, interceptor, count };
}

/** Prune claims queues only (`manage:`): settings poolsync did not apply are never deleted. */
const CONFIG = 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nmanage: [Queue]\n';

const dq = (project: string, domain: string, queue: string) =>
  `apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: ${project}-${domain}\nspec:\n  project: ${project}\n  domain: ${domain}\n  queue: ${queue}\n`;

it('reads only the declared settings, and every one when the plan would drain a queue', async () => {
  const rpc = counter();
  s = await startUnionServer({ interceptors: [rpc.interceptor] });
  for (const name of ['web', 'old'])
    await s.embedded.createQueue({ name, run_concurrency: 10, action_concurrency: 100 });
  // Undeclared settings: ml/production names `old`, ops/development names `web`.
  setDefaultQueue(s, 'ml', 'production', 'old');
  setDefaultQueue(s, 'ops', 'development', 'web');
  const cp = await openUnion(s, 'connect');
  const repo = await writeRepo(join(await tempDir('poolsync-settings-read-'), 'repo'), {
    queues: {
      web: { pool: 'default', clusters: ['*'] },
      old: { pool: 'default', clusters: ['*'] },
    },
  });
  await writeFile(join(repo, 'dq.yaml'), dq('ml', 'development', 'web'));
  await writeFile(join(repo, 'poolsync.yaml'), CONFIG);

  rpc.calls.length = 0;
  const kept = await planRepository(repo, cp);
  if (!kept.ok) throw new Error('invalid');
  expect(rpc.count('GetSettingsForEdit')).toBe(1);
  expect(rpc.count('ListProjects')).toBe(0);
  expect(kept.plan.default_queues_read).toEqual([{ project: 'ml', domain: 'development' }]);
  expect(kept.plan.changes.find((c) => c.address === 'DefaultQueue/ml/development')?.action).toBe(
    'create',
  );
  // The check of the plan reads what the plan read: the same fingerprint.
  const again = await readLiveState(cp, settingsOfPlan(kept.plan)(undefined));
  expect(liveFingerprint(again)).toBe(kept.plan.live_fingerprint);

  // `old` leaves the repository (prune): a drain and delete, unless a setting names it.
  await writeRepo(repo, { queues: { web: { pool: 'default', clusters: ['*'] } } });
  await writeFile(join(repo, 'dq.yaml'), dq('ml', 'development', 'web'));
  await writeFile(join(repo, 'poolsync.yaml'), CONFIG);
  rpc.calls.length = 0;
  const drained = await planRepository(repo, cp);
  if (!drained.ok) throw new Error('invalid');
  expect(rpc.count('ListProjects')).toBe(1);
  // The first read (1), then every project/domain of the organisation's projects (ml and ops,
  // each in Flyte's three domains), whatever their settings: Union lists projects, not settings.
  // The lists of the first read stand: each is swept once (live and deleted: two ListQueues).
  expect(rpc.count('GetSettingsForEdit')).toBe(7);
  expect([rpc.count('ListQueues'), rpc.count('ListClusters'), rpc.count('List')]).toEqual([
    2, 2, 2,
  ]);
  // The plan is of the state as read: its check finds the same fingerprint.
  const checked = await readLiveState(cp, settingsOfPlan(drained.plan)(undefined));
  expect(liveFingerprint(checked)).toBe(drained.plan.live_fingerprint);
  expect(drained.plan.default_queues_read).toBeUndefined();
  const old = drained.plan.changes.find((c) => c.address === 'Queue/old')!;
  expect(old.action).toBe('blocked');
  expect(whyText(old)).toContain('ml/production');
  expect(drained.plan.steps.some((st) => st.op === 'drain_queue')).toBe(false);
  await cp.close();
});
