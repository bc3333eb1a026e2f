/**
 * Issue 48, item 6: `validate` and `plan --env all` are linear in the number of environments.
 * One repository of 1,000 environments (each its own folder with a cluster, over a shared base,
 * its own `file:` control plane) against ten runs over a repository of 100: each row gives the
 * one run of 1,000 and the sum of ten runs of 100 (whole processes, so start-up counts ten times
 * on the right and once on the left). About 1 is linear, about 10 quadratic (before the fix,
 * `validate` took 2.2 s at 125 environments, 8.5 s at 250, 35 s at 500, over 120 s at 1,000).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMs, type ProcessRun } from './measure.js';
import { repeat, type SizeContext } from './rows.js';

const LARGE = 1_000;
const SMALL = 100;

async function environmentsRepository(dir: string, n: number): Promise<void> {
  await mkdir(join(dir, 'base'), { recursive: true });
  await writeFile(
    join(dir, 'base', 'pool.yaml'),
    'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: {name: gpu}\nspec:\n  object_store_ref: {uri: s3://b/m}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n',
  );
  const envs: string[] = [];
  for (let i = 0; i < n; i++) {
    await mkdir(join(dir, `env-${i}`));
    await writeFile(
      join(dir, `env-${i}`, 'cluster.yaml'),
      `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: c-${i}}\nspec: {pool: gpu}\n`,
    );
    envs.push(
      `  env-${i}:\n    controlPlane: file:state/env-${i}.json\n    folders: [base, env-${i}]\n`,
    );
  }
  await mkdir(join(dir, 'state'));
  await writeFile(
    join(dir, 'poolsync.yaml'),
    `apiVersion: poolsync/v1\nkind: RepoConfig\nenvironments:\n${envs.join('')}`,
  );
}

export async function environmentsRows(ctx: SizeContext): Promise<void> {
  const { o, sink, work, n } = ctx;
  const large = join(work, `environments-${LARGE}`);
  const small = join(work, `environments-${SMALL}`);
  await environmentsRepository(large, LARGE);
  await environmentsRepository(small, SMALL);
  const commands: [string, string[]][] = [
    ['`validate`', ['validate']],
    ['`plan --env all`', ['plan', '--env', 'all', '--no-color']],
  ];
  for (const [name, args] of commands) {
    const run = (dir: string) => ctx.poolsync([...args.slice(0, 1), dir, ...args.slice(1)]);
    const one = await repeat(o.runs, () => run(large));
    const tens = await repeat(o.runs, async () => {
      const runs: ProcessRun[] = [];
      for (let i = 0; i < LARGE / SMALL; i++) runs.push(await run(small));
      const sum = (f: (r: ProcessRun) => number | null) =>
        runs.every((r) => f(r) !== null) ? runs.reduce((s, r) => s + f(r)!, 0) : null;
      return { ...runs[0]!, ms: sum((r) => r.ms)!, cpuMs: sum((r) => r.cpuMs) };
    });
    const ratio = one.ms / tens.ms;
    sink.add({
      n,
      name: `${name} of ${LARGE.toLocaleString('en-US')} environments vs ${SMALL} × ${LARGE / SMALL}`,
      ms: one.ms,
      cpuMs: one.cpuMs,
      runs: o.runs,
      peakRss: one.peakRss,
      target: 'linear: ratio about 1',
      met: ratio < 2,
      notes: `${LARGE.toLocaleString('en-US')} environments in one run ${formatMs(one.ms)}; ${LARGE / SMALL} runs of ${SMALL} ${formatMs(tens.ms)}: ratio ${ratio.toFixed(2)} (linear ≈ 1, quadratic ≈ ${LARGE / SMALL}).`,
    });
  }
}
