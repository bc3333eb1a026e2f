/**
 * The floor of an HTTP apply: the same writes as the plan's steps (the REST calls
 * `HttpControlPlane` makes for them, src/controlplane/rest/http-client.ts), sent by a bare
 * undici pool with P calls in flight, each step as soon as the steps it depends on are
 * answered. No executor, no retries, no idempotency checks, no progress output, no JSON
 * parsing of the answers: what any client must do to make these changes on this wire at this
 * parallelism. `apply` ÷ this is poolsync's own overhead (issue 25: ≤ 1.15× at P = 8-128).
 */
import { Pool } from 'undici';
import type { Step } from '../../src/model/plan.js';
import { MinHeap } from '../../src/apply/executor.js';

interface Call {
  method: 'POST' | 'PUT' | 'PATCH';
  path: string;
  body: unknown;
}

const seg = encodeURIComponent;

/** The REST call of a create-path step (the ops a plan of creates has). */
function callOf(step: Step): Call {
  const args = step.args as Record<string, unknown> & { name?: string };
  switch (step.op) {
    case 'create_pool':
      return { method: 'POST', path: '/v1/pools', body: args };
    case 'register_cluster':
      return { method: 'POST', path: '/v1/clusters', body: args };
    case 'update_cluster':
      return {
        method: 'PATCH',
        path: `/v1/clusters/${seg(args.name!)}`,
        body: { enabled: args.enabled },
      };
    case 'create_queue':
      return { method: 'POST', path: '/v1/queues', body: args };
    case 'update_queue': {
      const { name, ...spec } = args;
      return { method: 'PUT', path: `/v1/queues/${seg(name!)}`, body: spec };
    }
    case 'set_assignment':
      return { method: 'PUT', path: '/v1/assignments', body: args };
    default:
      throw new Error(`the bare apply has no call for step op ${step.op}`);
  }
}

/**
 * Sends every step's call to `url` with `parallelism` in flight in dependency order (plan
 * order among the ready ones); resolves when the last is answered. Throws on any non-2xx.
 */
export async function bareApply(
  url: string,
  steps: readonly Step[],
  parallelism: number,
): Promise<void> {
  const pool = new Pool(url, { connections: parallelism });
  // The executor's schedule (src/apply/executor.ts): among ready steps, plan order first.
  const waiting = new Map<string, number>();
  const dependents = new Map<string, number[]>();
  const ready = new MinHeap();
  steps.forEach((step, i) => {
    waiting.set(step.id, step.depends_on.length);
    for (const dep of step.depends_on) {
      const list = dependents.get(dep);
      if (list) list.push(i);
      else dependents.set(dep, [i]);
    }
    if (step.depends_on.length === 0) ready.push(i);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      const done = (step: Step) => {
        for (const next of dependents.get(step.id) ?? []) {
          const id = steps[next]!.id;
          const left = waiting.get(id)! - 1;
          waiting.set(id, left);
          if (left === 0) ready.push(next);
        }
        running--;
        pump();
      };
      const pump = () => {
        while (!failed && running < parallelism && ready.size > 0) {
          const step = steps[ready.pop()!]!;
          const call = callOf(step);
          running++;
          pool
            .request({
              path: call.path,
              method: call.method,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(call.body),
            })
            .then(async (res) => {
              await res.body.dump();
              if (res.statusCode >= 300)
                throw new Error(`${call.method} ${call.path} answered ${res.statusCode}`);
              done(step);
            })
            .catch((err: unknown) => {
              failed = true;
              reject(err as Error);
            });
        }
        if (running === 0 && ready.size === 0) resolve();
      };
      pump();
    });
  } finally {
    await pool.close();
  }
}
