import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../src/controlplane/embedded/server.js';
import { poolContract } from '../support/builders.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const DOC = join(import.meta.dirname, '../../schemas/control-plane.openapi.yaml');

type Doc = {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
};
let doc: Doc;

beforeAll(async () => {
  doc = load(await readFile(DOC, 'utf8')) as Doc;
});

describe('schemas/control-plane.openapi.yaml', () => {
  it('documents exactly the endpoints the server has', () => {
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .filter((r) => r !== 'GET /healthz')
      .sort();
    const noFaults = { latency_ms: 0, fault_rate: 0, lost_response_rate: 0 };
    const served = routes(null as never, noFaults)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(documented).toEqual(served);
  });

  it('describes what the server answers (responses validate against the component schemas)', async () => {
    const { embedded: cp, server } = await servedControlPlane({ simulate: true });
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'api', components: doc.components });
    const check = (schema: string, value: unknown) => {
      const validate = ajv.getSchema(`api#/components/schemas/${schema}`)!;
      expect(validate(value), `${schema}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    };
    await cp.createPool(
      'prod',
      poolContract('s3://x', {
        secret_store: { type: 'VAULT', locator: 'v' },
        image_registry: { locator: 'r' },
      }),
    );
    // Over HTTP: the embedded plane's registerCluster answers nothing, the REST API the cluster.
    const registered = await fetch(`${server.url}/v1/clusters`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'c1', pool: 'prod' }),
    });
    expect(registered.status).toBe(201);
    const cluster = await registered.json();
    check('Cluster', cluster);
    expect(cluster).toMatchObject({
      name: 'c1',
      pool: 'prod',
      health: 'unknown',
      bound_queues: ['c1'],
    });
    await cp.reportClusterStatus('c1', { object_store_uri: 's3://y' });
    await cp.setAssignment({ project: 'p', domain: 'd', workflow: 'w', pool: 'prod' });
    const get = async (path: string) => (await fetch(`${server.url}${path}`)).json();
    check('PoolPage', await get('/v1/pools'));
    check('ClusterPage', await get('/v1/clusters'));
    check('QueuePage', await get('/v1/queues'));
    check('AssignmentPage', await get('/v1/assignments'));
    check('Capabilities', await get('/v1/capabilities'));
    check('QueueMetrics', await get('/v1/queues/c1/metrics'));
    check('Faults', await get('/v1/sim/faults'));
    check('Error', await get('/v1/pools/ghost'));
  });
});
