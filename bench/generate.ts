/**
 * Scale generator: writes a config repository of N objects and optionally seeds a control
 * plane with the same state (or a drifted copy).
 *
 *   node --import tsx bench/generate.ts --objects 10000 --out /tmp/org
 *   node --import tsx bench/generate.ts --objects 10000 --out /tmp/org \
 *       --control-plane file:/tmp/org-cp.json [--drift]
 *
 * A token for an HTTP control plane is read as poolsync reads it (resolveToken): --token-file,
 * else env POOLSYNC_TOKEN_FILE, else env POOLSYNC_TOKEN; never a flag's value.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { commitAll } from './lib/git.js';
import { seedControlPlane, type SeedOptions } from './lib/seed.js';
import { EmbeddedControlPlane } from '../src/controlplane/embedded/embedded.js';
import { openControlPlane, resolveToken } from '../src/controlplane/open.js';
import { declaredDataPlane, driftModel, generateScaleModel, type ScaleModel } from './lib/scale.js';
import { writeRepository } from './lib/yaml-writer.js';

export { driftModel, generateScaleModel, scaleCounts } from './lib/scale.js';
export { renderRepository, writeRepository } from './lib/yaml-writer.js';
export { seedControlPlane, mapLimit } from './lib/seed.js';

const USAGE = `Usage: node --import tsx bench/generate.ts --objects N --out DIR [options]

  --objects N          objects in the organisation (default 10000): 0.5% pools, 20% clusters,
                       70% queues, 10% pool assignments
  --out DIR            folder to write the config repository to (emptied first)
  --seed S             random seed (default 1); same N and seed give the same bytes
  --no-git             do not make DIR a Git repository with one commit
  --control-plane URL  also seed this control plane (file:PATH or http(s)://URL)
  --drift              seed a drifted copy: 10% of queues changed, 0.5% of clusters moved
  --concurrency N      control-plane calls in flight while seeding (default 16)
  --token-file FILE    the token of an http(s):// control plane (else env POOLSYNC_TOKEN_FILE,
                       else POOLSYNC_TOKEN)
`;

async function cli(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        objects: { type: 'string', default: '10000' },
        out: { type: 'string' },
        seed: { type: 'string', default: '1' },
        'no-git': { type: 'boolean', default: false },
        'control-plane': { type: 'string' },
        drift: { type: 'boolean', default: false },
        concurrency: { type: 'string', default: '16' },
        'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const objects = Number(values.objects);
  const seed = Number(values.seed);
  const concurrency = Number(values.concurrency);
  if (!values.out) return usageError('--out DIR is required');
  if (!Number.isInteger(objects) || objects < 4)
    return usageError(`--objects must be an integer >= 4 (got "${values.objects}")`);
  if (!Number.isInteger(seed))
    return usageError(`--seed must be an integer (got "${values.seed}")`);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    return usageError(`--concurrency must be an integer >= 1 (got "${values.concurrency}")`);
  if (values.drift && !values['control-plane'])
    return usageError('--drift needs --control-plane URL to seed');

  const model = generateScaleModel(objects, seed);
  const out = resolve(values.out);
  const written = await writeRepository(model, out);
  let line = `wrote ${written.documents} documents in ${written.files} files (${(written.bytes / 1e6).toFixed(2)} MB) to ${out}`;
  if (!values['no-git'])
    line += `, commit ${(await commitAll(out, `Scale organisation: ${objects} objects, seed ${seed}`)).slice(0, 12)}`;
  process.stdout.write(`${line}\n`);
  process.stdout.write(
    `  ${model.pools.length} pools, ${model.clusters.length} clusters, ${model.queues.length} queues, ${model.assignments.length} assignments\n`,
  );

  const url = values['control-plane'];
  if (url) {
    let live: ScaleModel = model;
    if (values.drift) {
      const drifted = driftModel(model);
      live = drifted.model;
      const s = drifted.summary;
      process.stdout.write(
        `  drift: ${s.queuesChanged} queues changed, ${s.clustersMoved} clusters moved, ${s.selectorsPruned} selectors pruned\n`,
      );
    }
    const token = await resolveToken(values['token-file'], url, null, process.env);
    // Seeding creates the state on purpose, its folder included.
    const cp = await openControlPlane(url, { ...(token ? { token } : {}), createFolder: true });
    try {
      const result = await seedControlPlane(cp, live, { concurrency, ...healthyReports(cp, live) });
      process.stdout.write(
        `seeded ${url} with ${result.calls} calls in ${(result.ms / 1000).toFixed(1)} s\n`,
      );
    } finally {
      await cp.close();
    }
  }
  return 0;
}

/**
 * C5: real clusters report their data plane soon after registration; the embedded control
 * plane's simulation hook does it here, so seeded clusters are healthy (not `unknown`).
 */
function healthyReports(cp: unknown, model: ScaleModel): Pick<SeedOptions, 'afterRegister'> {
  if (!(cp instanceof EmbeddedControlPlane)) return {};
  const pools = new Map(model.pools.map((p) => [p.name, p.contract]));
  return {
    afterRegister: async (c) => {
      const contract = pools.get(c.pool);
      if (contract) await cp.reportClusterStatus(c.name, declaredDataPlane(contract));
    },
  };
}

function usageError(message: string): number {
  process.stderr.write(`Error: ${message}\n\n${USAGE}`);
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  cli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // Control-plane and file-system errors carry their own clear message; no stack for them.
      process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
