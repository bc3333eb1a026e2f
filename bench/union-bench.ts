/**
 * A live-state read through the `union` backend (Connect and gRPC) next to poolsync's REST
 * client and, as the floor, the embedded control plane read in-process — all over the same
 * state, in the same run, on 127.0.0.1 (the embedded control plane serving REST and Union's
 * API on one port, OAuth2 included). Warm clients: the token, discovery and connections are
 * set up before timing; each timed run is one `readLiveState`.
 *
 *   node --import tsx bench/union-bench.ts [--clusters 200] [--queues 1000] [--runs 7]
 *
 * Prints the median per client and its ratio to the floor.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolArgs } from './lib/args.js';
import { EmbeddedControlPlane } from '../src/controlplane/embedded/embedded.js';
import { unionOAuthServer } from '../src/standins/union/oauth-client-file.js';
import { startControlPlaneServer } from '../src/controlplane/embedded/server.js';
import { createUnionApi } from '../src/standins/union/union-api.js';
import { openControlPlane } from '../src/controlplane/open.js';
import { readLiveState, type ControlPlane } from '../src/controlplane/types.js';

const { values } = toolArgs(
  {
    options: {
      clusters: { type: 'string', default: '200' },
      queues: { type: 'string', default: '1000' },
      runs: { type: 'string', default: '7' },
    },
  },
  import.meta.url,
);
const nClusters = Number(values.clusters);
const nQueues = Number(values.queues);
const runs = Number(values.runs);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(cp: ControlPlane): Promise<number> {
  await readLiveState(cp); // warm: token, connections, JIT
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await readLiveState(cp);
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const dir = await mkdtemp(join(tmpdir(), 'poolsync-union-bench-'));
const embedded = await EmbeddedControlPlane.open({ path: join(dir, 'cp.json') });
for (let i = 0; i < nClusters; i++) await embedded.registerCluster({ name: `c${i}` });
for (let i = 0; i < nQueues - nClusters - 1; i++) {
  await embedded.createQueue({
    name: `q${i}`,
    clusters: [`c${i % nClusters}`],
    run_concurrency: 5,
    action_concurrency: 50,
  });
}
const client = {
  client_id: 'bench',
  client_secret: 'bench-secret',
  org: 'acme',
  token_ttl_seconds: 3600,
  authorization_metadata_key: 'authorization',
};
const oauth = unionOAuthServer(client);
const server = await startControlPlaneServer({
  controlPlane: embedded,
  mounts: [createUnionApi({ controlPlane: embedded, oauth, org: client.org })],
});
const host = new URL(server.url).host;
process.env.POOLSYNC_UNION_API_KEY = Buffer.from(`${host}:bench:bench-secret:acme`).toString(
  'base64',
);

const rows: [string, number][] = [];
rows.push(['embedded, in-process (floor)', await time(embedded)]);
for (const [label, url] of [
  ['poolsync REST client (HTTP/1.1 JSON)', server.url],
  ['union backend, Connect (HTTP/1.1 protobuf)', `union+${server.url}`],
  ['union backend, gRPC (HTTP/2 h2c)', `union+${server.url}?protocol=grpc`],
] as const) {
  const cp = await openControlPlane(url);
  rows.push([label, await time(cp)]);
  await cp.close();
}
await server.close();
await embedded.close();
await rm(dir, { recursive: true, force: true });

const floor = rows[0]![1];
process.stdout.write(
  `readLiveState, ${nClusters} clusters + ${nQueues} queues, median of ${runs} (warm clients)\n\n` +
    '| client | median ms | × floor |\n| --- | ---: | ---: |\n' +
    rows.map(([l, ms]) => `| ${l} | ${ms.toFixed(1)} | ${(ms / floor).toFixed(1)} |`).join('\n') +
    '\n',
);
