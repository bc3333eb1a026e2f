/**
 * Issue 49: a remote plan at the round-trip floor. The bundled example (examples/config-repo,
 * less its pool assignments: Union has none) and a DefaultQueue for each of the organisation's 300
 * projects × 3 domains, planned by the CLI against the Union stand-in through a proxy that holds
 * each request and each answer 25 ms: the lists and the 900 settings go out together (one
 * GetSettingsForEdit per declared project/domain, at `plan --parallelism`'s default), after
 * OAuth2 discovery and the token: at most 10 round trips in a row (60 before: ListProjects, then
 * every project/domain, domain and the organisation, 16 at a time).
 * Counted in rounds (bench/lib/latency-proxy.ts): what the client waited for, not how long a
 * loaded machine took to serve 900 calls (61 rounds, 914 requests before).
 */
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import {
  roundTripsInARow,
  startLatencyProxy,
  type LatencyProxy,
} from '../../../bench/lib/latency-proxy.js';
import { runCli, REPO_ROOT } from '../../support/cli.js';
import { tempFolder } from '../../support/temp-folder.js';
import { apiKey, setDefaultQueue, startUnionServer, type UnionServer } from './helpers.js';

let s: UnionServer | undefined;
let proxy: LatencyProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await s?.close();
  proxy = s = undefined;
});

const DOMAINS = ['development', 'staging', 'production'];

it('plans the bundled example and 900 default queues in at most 10 round trips in a row', async () => {
  // The organisation's 300 projects, each domain's default queue already set: before, every plan
  // read all of them after ListProjects.
  s = await startUnionServer({ projects: Array.from({ length: 300 }, (_, p) => `p${p}`) });
  for (let p = 0; p < 300; p++)
    for (const domain of DOMAINS) setDefaultQueue(s, `p${p}`, domain, 'default');
  // Rounds close after 250 ms of quiet: a loaded machine's pauses never split one.
  proxy = await startLatencyProxy(`http://${s.host}`, 25, { rounds: { quietMs: 250 } });
  const repo = join(tempFolder('poolsync-round-trips-'), 'repo');
  await cp(join(REPO_ROOT, 'examples', 'config-repo'), repo, { recursive: true });
  await rm(join(repo, 'assignments'), { recursive: true });
  const docs: string[] = [];
  for (let p = 0; p < 300; p++)
    for (const domain of DOMAINS)
      docs.push(
        `apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: p${p}-${domain}\nspec:\n  project: p${p}\n  domain: ${domain}\n  queue: default\n`,
      );
  await writeFile(join(repo, 'default-queues.yaml'), docs.join('---\n'));

  const env = { POOLSYNC_UNION_API_KEY: apiKey(proxy.host) };
  const plan = await runCli(['plan', repo, '--control-plane', `union+${proxy.url}`], env);
  // A loaded machine may starve the stand-in (this process) for 5 s: its waiting notice is true
  // then, and no round trip; nothing else is said.
  expect(plan.stderr.replace(/^Waiting for \S+: no answer for [^\n]*\n/gm, '')).toBe('');
  expect(plan.code).toBe(0);
  expect(plan.stdout).toMatch(/Plan: \d+ to create/);
  // Set as declared: no change line, only the adoption the first apply records.
  expect(plan.stdout).not.toMatch(/^ {2}\S+ DefaultQueue\//m);
  expect(plan.stdout).toMatch(/^Adopts 901 objects poolsync did not apply: DefaultQueue\//m);

  const settings = proxy.log.filter((e) => e.path.endsWith('/GetSettingsForEdit'));
  expect(settings).toHaveLength(900);
  expect(proxy.log.some((e) => e.path.endsWith('/ListProjects'))).toBe(false);
  expect(roundTripsInARow(proxy.log)).toBeLessThanOrEqual(10);
}, 120_000);
