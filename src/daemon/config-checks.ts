/** Checks of single daemon settings, each error naming where the value came from (`origin`). */
import { isAbsolute, posix } from 'node:path';
import { UserError } from '../util/user-error.js';
import { refuseUrlCredentials } from '../util/url-credentials.js';

/** A setting's value and where it came from (flag, environment variable, file, default). */
export interface Raw {
  value: string | number | boolean;
  origin: string;
}

export function parseListen(text: string, r: Raw): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UserError(
      `${r.origin}: "${text}" is not HOST:PORT (for example 127.0.0.1:8080, or 0.0.0.0:8080 to listen on every interface).`,
    );
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port };
}

export function checkRepoUrl(url: string, r: Raw): string {
  // Credentials in the URL would end up in .git/config, logs and errors: refuse them.
  refuseUrlCredentials(
    url,
    `${r.origin}: the repository URL`,
    'put the token in POOLSYNC_GIT_TOKEN or --git-token-file (and the user name in --git-username)',
  );
  return url;
}

export function checkControlPlaneUrl(url: string, r: Raw): string {
  refuseUrlCredentials(
    url,
    `${r.origin}: the control plane URL`,
    'put the token in POOLSYNC_TOKEN or --token-file',
  );
  return url;
}

export function checkBranch(branch: string, r: Raw): string {
  if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.startsWith('-') || branch.includes('..')) {
    throw new UserError(`${r.origin}: "${branch}" is not a valid branch name.`);
  }
  return branch;
}

export function checkRepoPath(p: string, r: Raw): string {
  const normalized = posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
  if (isAbsolute(p) || normalized.split('/').includes('..')) {
    throw new UserError(
      `${r.origin}: "${p}" must be a folder inside the repository (relative, no "..").`,
    );
  }
  return normalized;
}

export function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
