/**
 * The executor alone: `executePlan` in this process against the embedded control plane in
 * memory, every call delayed by the same latency the HTTP rows inject. No HTTP, no fsync, no
 * second process: what is left over the step-graph bound is the executor's own overhead, which
 * tells apart "the executor is slow" from "the server or the transport is slow" in the HTTP rows.
 */
import { executePlan } from '../../src/apply/executor.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import type { DesiredState } from '../../src/model/desired.js';
import { computePlan } from '../../src/plan/index.js';
import { applyBoundMs, stepGraphShape } from './bound.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every method of `inner` answers `latencyMs` later, as a remote control plane would. */
export function withLatency(inner: ControlPlane, latencyMs: number): ControlPlane {
  return new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || key === 'close') return value;
      return async (...args: unknown[]) => {
        await sleep(latencyMs);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export interface ExecutorMeasurement {
  parallelism: number;
  ms: number;
  boundMs: number;
  steps: number;
}

export async function measureExecutor(
  desired: DesiredState,
  parallelism: number,
  latencyMs: number,
): Promise<ExecutorMeasurement> {
  const inner = await EmbeddedControlPlane.open({ path: null });
  try {
    const plan = computePlan(desired, await readLiveState(inner));
    const shape = stepGraphShape(plan.steps);
    const started = performance.now();
    const result = await executePlan(plan, withLatency(inner, latencyMs), { parallelism });
    const ms = performance.now() - started;
    if (!result.ok)
      throw new Error(
        `executePlan failed: ${JSON.stringify(result.steps.find((s) => s.status === 'failed'))}`,
      );
    return {
      parallelism,
      ms,
      boundMs: applyBoundMs(shape, parallelism, latencyMs),
      steps: shape.steps,
    };
  } finally {
    await inner.close();
  }
}
