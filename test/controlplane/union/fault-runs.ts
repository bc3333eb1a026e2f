/**
 * One fault run against the Union stand-in (issue 46, item 9), shared by
 * faults.e2e.test.ts (10 %) and bench/union-faults.ts (30 %): a fault proxy in front of the
 * stand-in resets connections, answers 500 before or after forwarding and cuts bodies on a
 * share of requests (test/support/fault-proxy.ts); poolsync plans and applies a repository
 * that creates a pool, a cluster and queues, updates and deletes queues (prune), and repoints
 * a default-queue setting, until a plan has no step (at most 5 tries). The stand-in counts
 * the creates and deletes it carried out per object: none may land twice.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Interceptor } from '@connectrpc/connect';
import { executePlan } from '../../../src/apply/executor.js';
import { openControlPlane } from '../../../src/controlplane/open.js';
import type { ControlPlane } from '../../../src/controlplane/types.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import { tempDir, writeRepo } from '../../support/repo.js';
import { rng } from '../../../bench/lib/scale.js';
import { startFaultProxy, type Fault } from '../../support/fault-proxy.js';
import { apiKey, setDefaultQueue, startUnionServer } from './helpers.js';

const FAULTS: Fault[] = ['refuse', 'fail', 'fail-after', 'cut', 'reset'];
const ONCE = /\/(Create|Delete|Undelete)[A-Za-z]*$/;

export interface FaultRun {
  /** The try whose plan had no step (1-5), or 0 when none did. */
  converged: number;
  faults: number;
  /** `rpc object` of a create or delete the server carried out more than once. */
  twice: string[];
  /** What the control plane holds that the repository does not say, or lacks. */
  wrong: string[];
}

async function open(url: string, host: string): Promise<ControlPlane> {
  const before = process.env.POOLSYNC_UNION_API_KEY;
  process.env.POOLSYNC_UNION_API_KEY = apiKey(host);
  try {
    return await openControlPlane(url, {
      env: process.env,
      http: { maxRetries: 6, minRetryDelayMs: 2, maxRetryDelayMs: 20 },
    });
  } finally {
    if (before === undefined) delete process.env.POOLSYNC_UNION_API_KEY;
    else process.env.POOLSYNC_UNION_API_KEY = before;
  }
}

export async function faultRun(seed: number, rate: number): Promise<FaultRun> {
  const carried = new Map<string, number>();
  const counter: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (ONCE.test(req.url)) {
      const k = `${req.url.split('/').pop()} ${JSON.stringify(req.message)}`;
      carried.set(k, (carried.get(k) ?? 0) + 1);
    }
    return res;
  };
  const s = await startUnionServer({ interceptors: [counter] });
  try {
    await s.embedded.registerCluster({ name: 'c1' });
    await s.embedded.registerCluster({ name: 'c2' });
    for (const [name, c] of [
      ['old', 'c1'],
      ['gone', 'c2'],
    ] as const)
      await s.embedded.createQueue({
        name,
        run_concurrency: 1,
        action_concurrency: 1,
        clusters: [c],
      });
    setDefaultQueue(s, 'ml', 'production', 'gone');
    carried.clear();
    // mulberry32: the same faults on every run.
    const random = rng(seed);
    const upstream = s.url('connect').replace(/^union\+/, '');
    const proxy = await startFaultProxy(upstream, () =>
      random() < rate ? FAULTS[Math.floor(random() * FAULTS.length)]! : 'pass',
    );
    const root = await tempDir('poolsync-union-faults-');
    const queues: Record<string, { pool: string; clusters: string[]; run_concurrency: number }> = {
      old: { pool: 'default', clusters: ['c1'], run_concurrency: 3 },
      gq: { pool: 'gpu', clusters: ['c3'], run_concurrency: 7 },
    };
    for (let i = 0; i < 10; i++)
      queues[`q${i}`] = {
        pool: 'default',
        clusters: [i % 2 ? 'c1' : 'c2'],
        run_concurrency: i + 1,
      };
    const repo = await writeRepo(join(root, 'repo'), {
      prune: true,
      pools: ['gpu'],
      clusters: { c1: 'default', c2: 'default', c3: 'gpu' },
      queues,
    });
    await writeFile(
      join(repo, 'settings.yaml'),
      'apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: ml-production\nspec:\n  project: ml\n  domain: production\n  queue: q0\n',
    );
    let converged = 0;
    try {
      for (let attempt = 1; attempt <= 5 && converged === 0; attempt++) {
        const cp = await open(`union+${proxy.url}`, proxy.host).catch(() => null);
        if (cp === null) continue; // discovery kept failing: the next try opens again
        try {
          const planned = await planRepository(repo, cp);
          if (!planned.ok) continue;
          if (planned.plan.steps.length === 0) converged = attempt;
          else await executePlan(planned.plan, cp, { parallelism: 4, waitTimeoutMs: 10_000 });
        } catch {
          // a failed try (the budget ran out): the next one picks up where it stopped
        } finally {
          await cp.close();
        }
      }
    } finally {
      await proxy.close();
    }
    const live = await s.embedded.listQueues();
    const want = new Set(['default', 'c1', 'c2', 'c3', ...Object.keys(queues)]);
    const wrong = [
      ...live.filter((q) => !want.has(q.name)).map((q) => `extra ${q.name}`),
      ...[...want].filter((n) => !live.some((q) => q.name === n)).map((n) => `missing ${n}`),
      ...Object.entries(queues)
        .filter(([n, q]) => live.find((l) => l.name === n)?.run_concurrency !== q.run_concurrency)
        .map(([n]) => `settings of ${n}`),
    ];
    const setting = s.api.settings.defaultQueues()[0]?.queue;
    if (setting !== 'q0') wrong.push(`ml/production names ${setting}`);
    return {
      converged,
      faults: proxy.counts.requests - proxy.counts.pass,
      twice: [...carried].filter(([, n]) => n > 1).map(([k]) => k),
      wrong,
    };
  } finally {
    await s.close();
  }
}
