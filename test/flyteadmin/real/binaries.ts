/**
 * Where scripts/flyte-go.sh leaves the real flyteadmin, its probe and flytectl, and why the
 * tests against them skip when they are not there (the message global-setup.ts prints once).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pgBin } from './postgres.js';

/** The release the suite runs against, the one without GetDomains, and the flytectl. */
export const FLYTEADMIN = 'flyteadmin-v1.13.0';
export const FLYTEADMIN_WITHOUT_DOMAINS = 'flyteadmin-v1.12.0';
export const FLYTECTL = 'flytectl-v0.9.8';

/** The cache folder (scripts/flyte-go.sh --dir). */
export function flyteCache(): string {
  return (
    process.env.POOLSYNC_FLYTE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'poolsync', 'flyte')
  );
}

export function binary(target: string, name: string): string | null {
  const path = join(flyteCache(), target, 'bin', name);
  return existsSync(path) ? path : null;
}

export interface FlyteadminBinaries {
  flyteadmin: string;
  probe: string;
  release: string;
}

export function flyteadminBinaries(target = FLYTEADMIN): FlyteadminBinaries | null {
  const flyteadmin = binary(target, 'flyteadmin');
  const probe = binary(target, 'flyteadmin-probe');
  return flyteadmin && probe ? { flyteadmin, probe, release: target.replace('-', ' ') } : null;
}

/** Why the tests against the real flyteadmin skip, or null when they run. */
export const realMissing: string | null = !flyteadminBinaries()
  ? `no ${FLYTEADMIN} in ${flyteCache()}: run scripts/flyte-go.sh (needs Go >= 1.26 and a C compiler; .ci/run does it)`
  : !pgBin
    ? 'no PostgreSQL (initdb, postgres), which flyteadmin runs on: run scripts/flyte-go.sh (apt-get install postgresql) or set POOLSYNC_PG_BIN'
    : null;
