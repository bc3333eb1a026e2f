/**
 * The `/v1/sim/` endpoints of a control-plane server started with `simulate` (what real clusters
 * would report, in-flight work, latency and fault injection), as the tests drive them: the
 * product never calls them. The same calls exist on EmbeddedControlPlane, so the contract suite
 * drives either. (A test-support helper, beside its tests until test/support/ holds them.)
 */
import { request } from 'undici';
import { ControlPlaneError, type ControlPlaneErrorCode } from '../../src/controlplane/errors.js';
import type { ClusterDataPlane } from '../../src/model/common.js';
import type { LiveCluster } from '../../src/model/live.js';

export interface Simulator {
  reportClusterStatus(name: string, report: ClusterDataPlane): Promise<LiveCluster>;
  setQueueActivity(
    name: string,
    activity: { runs_in_flight: number; actions_in_flight: number; finish_over_ms?: number },
  ): Promise<unknown>;
}

export interface SimulatedFaults {
  latency_ms: number;
  fault_rate: number;
  lost_response_rate: number;
}

/** The simulation endpoints of the server at `baseUrl`; an error answer throws its ControlPlaneError. */
export function simOverHttp(baseUrl: string, token?: string) {
  const call = async <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => {
    const res = await request(`${baseUrl.replace(/\/+$/, '')}/v1/sim${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await res.body.json()) as T & Partial<ControlPlaneError>;
    if (res.statusCode < 300) return answer as T;
    const { code, message, address, rule } = answer;
    throw new ControlPlaneError(code as ControlPlaneErrorCode, String(message), address, rule);
  };
  const seg = encodeURIComponent;
  return {
    reportClusterStatus: (name: string, report: ClusterDataPlane) =>
      call<LiveCluster>('POST', `/clusters/${seg(name)}/status`, report),
    setQueueActivity: (name: string, activity: Parameters<Simulator['setQueueActivity']>[1]) =>
      call('POST', `/queues/${seg(name)}/activity`, activity),
    setFaults: (faults: Partial<SimulatedFaults>) =>
      call<SimulatedFaults>('PUT', '/faults', faults),
    getFaults: () => call<SimulatedFaults>('GET', '/faults'),
  } satisfies Simulator & Record<string, unknown>;
}
