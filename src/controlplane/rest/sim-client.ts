/**
 * Client of the `/v1/sim/` endpoints of a control-plane server started with `simulate`
 * (tests, demos, benchmarks): what real clusters would do, plus latency and fault injection.
 * The same methods exist on EmbeddedControlPlane, so a test can drive either.
 */
import { request } from 'undici';
import type { ClusterDataPlane } from '../../model/common.js';
import type { LiveCluster, QueueMetrics } from '../../model/live.js';
import { ControlPlaneError, ERROR_CODES, type ControlPlaneErrorCode } from '../errors.js';

export interface SimulatedFaults {
  latency_ms: number;
  fault_rate: number;
  lost_response_rate: number;
}

export interface Simulator {
  reportClusterStatus(name: string, report: ClusterDataPlane): Promise<LiveCluster>;
  setQueueActivity(
    name: string,
    activity: { runs_in_flight: number; actions_in_flight: number; finish_over_ms?: number },
  ): Promise<void>;
}

export class SimulationClient implements Simulator {
  private readonly base: string;
  constructor(
    baseUrl: string,
    private readonly token?: string,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await request(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    const payload = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (res.statusCode >= 300) {
      const code = ERROR_CODES.includes(payload.code as ControlPlaneErrorCode)
        ? (payload.code as ControlPlaneErrorCode)
        : 'INVALID_ARGUMENT';
      throw new ControlPlaneError(
        code,
        String(payload.message ?? `HTTP ${res.statusCode}`),
        (payload.address as string | undefined) ?? null,
        (payload.rule as string | undefined) ?? null,
      );
    }
    return payload as T;
  }

  /** C5. */
  reportClusterStatus(name: string, report: ClusterDataPlane): Promise<LiveCluster> {
    return this.call('POST', `/v1/sim/clusters/${encodeURIComponent(name)}/status`, report);
  }

  /** Q7. */
  async setQueueActivity(
    name: string,
    activity: { runs_in_flight: number; actions_in_flight: number; finish_over_ms?: number },
  ): Promise<void> {
    await this.call<QueueMetrics>(
      'POST',
      `/v1/sim/queues/${encodeURIComponent(name)}/activity`,
      activity,
    );
  }

  setFaults(faults: Partial<SimulatedFaults>): Promise<SimulatedFaults> {
    return this.call('PUT', '/v1/sim/faults', faults);
  }

  getFaults(): Promise<SimulatedFaults> {
    return this.call('GET', '/v1/sim/faults');
  }
}
