/**
 * The daemon over a repository with `environments:` (docs/environments.md, "The daemon"): one
 * unit (unit.ts) per environment, each with its control plane and credentials, lock, approvals,
 * drift schedule, policy, run history, metrics label and /status section; with --leader-elect
 * one Lease per environment (`<lease>-<environment>`), so environments spread across replicas.
 *
 * The environments are read from poolsync.yaml when the daemon starts. A run of one
 * environment never waits for another's: each has its own loop and its own checkout.
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { readRepoConfig } from '../manifests/config.js';
import { environmentCredentials } from '../manifests/environments.js';
import type { Environment } from '../model/desired.js';
import { approvalWords } from '../render/daemon-words.js';
import { UserError } from '../util/user-error.js';
import type { DaemonConfig } from './config.js';
import type { Source, SourceSnapshot } from './git-source.js';
import type { RunResult } from './metrics.js';
import { initialStatus, type DaemonStatus, type StatusError } from './status.js';
import type { Unit } from './unit.js';

/**
 * The environments of the followed repository, read at start; null without `environments:`
 * (or when the repository cannot be read yet: the daemon then runs as for one control plane,
 * and the first run reports what is wrong).
 */
export async function discoverEnvironments(
  source: Source,
  logger: Logger,
): Promise<{ snapshot: SourceSnapshot; environments: Environment[] } | null> {
  let snapshot: SourceSnapshot;
  try {
    snapshot = await source.sync();
  } catch (err) {
    logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'cannot read the repository at start: reconciling it as one control plane (a repository with environments: needs a restart once it can be read)',
    );
    return null;
  }
  const { config, errors } = await readRepoConfig(snapshot.dir).catch(() => ({
    config: { environments: undefined },
    errors: [1],
  }));
  if (errors.length > 0 || !config.environments) return null;
  return { snapshot, environments: config.environments };
}

/** Relative paths of poolsync.yaml are relative to its folder (the checkout, or the watched folder). */
function fromConfigFolder(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}

/**
 * The daemon's configuration as one environment sees it. A relative `file:` control plane is
 * kept in the watched folder (as the CLI keeps it), and under the daemon's state folder when
 * the daemon follows Git (a checkout is cleaned on every fetch).
 */
export function environmentDaemonConfig(
  config: DaemonConfig,
  dir: string,
  env: Environment,
  vars: Record<string, string | undefined> = process.env,
): DaemonConfig {
  const credentials = environmentCredentials(dir, env, vars);
  if (config.commitRendered)
    throw new UserError(
      '--commit-rendered commits the files of one control plane; with environments: in poolsync.yaml leave it off (render each environment with `poolsync render --env NAME`)',
    );
  const m = /^file:([^?]*)(\?.*)?$/.exec(env.controlPlane);
  const filesDir = config.source.kind === 'watch' ? dir : config.stateDir;
  const path = m ? fromConfigFolder(filesDir, m[1]!) : null;
  // The daemon's own state folder: its folders are the daemon's to make.
  if (path !== null && !isAbsolute(m![1]!) && filesDir === config.stateDir)
    mkdirSync(dirname(path), { recursive: true });
  const url = path !== null ? `file:${path}${m![2] ?? ''}` : env.controlPlane;
  const suffixed = <T extends { name: string }>(lease: T): T => ({
    ...lease,
    name: `${lease.name}-${env.name}`,
  });
  return {
    ...config,
    controlPlane: {
      url,
      environment: env.name,
      // Only the environment's own credentials: a daemon-wide token never goes to another host.
      token: null,
      tokenFile: credentials.tokenFile,
      apiKeyFile: credentials.apiKeyFile,
    },
    policy: env.policy ?? config.policy,
    driftIntervalMs: env.driftIntervalMs ?? config.driftIntervalMs,
    stateDir: join(config.stateDir, 'environments', env.name),
    lock: config.lock ? suffixed(config.lock) : null,
    leaderElection: config.leaderElection
      ? { ...config.leaderElection, lease: suffixed(config.leaderElection.lease) }
      : null,
  };
}

const WORST_FIRST: RunResult[] = [
  'failed',
  'invalid',
  'waiting_for_approval',
  'planned',
  'applied',
  'in_sync',
  'unchanged',
];

/**
 * /status of a daemon with environments: each environment's document under `environments`,
 * and at the top what holds for all of them: ready when every one is, the worst outcome, the
 * newest run, every error (named by its environment).
 */
export function environmentsStatus(
  units: readonly Unit[],
  source: Record<string, string>,
  config: DaemonConfig,
): DaemonStatus {
  const environments: Record<string, DaemonStatus> = {};
  for (const u of units) environments[u.name!] = u.status();
  return summary(environments, source, config);
}

/**
 * The same, with each environment another replica leads as that leader says it (its
 * `/status?local=1`, at the address it published in the Lease; no credential is sent): any
 * replica's /status and dashboard then show every environment's runs. An environment whose
 * leader does not answer within `timeoutMs` is shown as this replica sees it.
 */
export async function environmentsStatusFromLeaders(
  units: readonly Unit[],
  source: Record<string, string>,
  config: DaemonConfig,
  timeoutMs: number,
): Promise<DaemonStatus> {
  const sections = await Promise.all(
    units.map(async (u): Promise<[string, DaemonStatus]> => {
      const own = u.status();
      const address =
        u.leadership.elected && !u.leadership.isLeader() ? u.leadership.leaderAddress() : null;
      if (address === null) return [u.name!, own];
      try {
        const res = await fetch(`${address}/status?local=1`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        const section = ((await res.json()) as DaemonStatus).environments?.[u.name!];
        return [u.name!, section?.leader?.isLeader ? section : own];
      } catch {
        return [u.name!, own];
      }
    }),
  );
  return summary(Object.fromEntries(sections), source, config);
}

function summary(
  environments: Record<string, DaemonStatus>,
  source: Record<string, string>,
  config: DaemonConfig,
): DaemonStatus {
  const all = Object.values(environments);
  const outcomes = all.map((s) => s.outcome).filter((o): o is RunResult => o !== null);
  const worst = WORST_FIRST.find((r) => outcomes.includes(r)) ?? null;
  const newest = all
    .map((s) => s.lastRun)
    .filter((r) => r !== null)
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
  const errors: StatusError[] = Object.entries(environments).flatMap(([name, s]) =>
    s.errors.map((e) => ({ ...e, environment: name })),
  );
  const successes = all.map((s) => s.lastSuccessAt);
  const commits = new Set(all.map((s) => s.commit));
  const failing = all.find((s) => s.git.lastError !== null);
  return {
    ...initialStatus(source, config.policy),
    ready: all.every((s) => s.ready),
    commit: commits.size === 1 ? (all[0]?.commit ?? null) : null,
    lastRun: newest ?? null,
    outcome: worst,
    lastSuccessAt: successes.includes(null) ? null : (successes.sort()[0] ?? null),
    git: failing?.git ?? all[0]!.git,
    errors,
    environments,
  };
}

/**
 * The environment an approval is for: the one named, else the one whose held changes have the
 * fingerprint (fingerprints differ between environments), else a reason.
 */
export function approvalTarget(
  units: readonly Unit[],
  request: { fingerprint: string; environment?: string },
): Unit | string {
  const names = units.map((u) => u.name!);
  if (request.environment !== undefined) {
    const named = units.find((u) => u.name === request.environment);
    return named ?? approvalWords.noSuchEnvironment(request.environment, names);
  }
  const holding = units.find(
    (u) => u.approvals.status().pending?.fingerprint === request.fingerprint,
  );
  return holding ?? approvalWords.noEnvironmentHolds(request.fingerprint, names);
}
