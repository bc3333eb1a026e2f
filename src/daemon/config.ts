/**
 * Daemon configuration from flags, POOLSYNC_* environment variables and an optional YAML file
 * (`--config FILE`). Precedence: flag > environment > file > default.
 *
 * Secrets are read from environment variables or files only, never from flag values or the
 * config file (quality.md, Security): those can only name the FILE holding them.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import {
  CONFIG_FILE_BYTES,
  createFileOnce,
  ownFolders,
  readOwnFile,
  readUserFile,
  SECRET_FILE_BYTES,
} from '../util/safe-file.js';
import { load as loadYaml, yamlFileProblem } from '../util/js-yaml.js';
import { closest } from '../manifests/suggest.js';
import type { SettingPlaces } from '../manifests/environments.js';
import { UserError } from '../util/user-error.js';
import { durationRefusal, parseDuration } from '../util/duration.js';
import { transportLimits, type TransportLimits } from '../util/transport-limits.js';
import type { GitAuth } from '../util/git-env.js';
import { rememberSecret } from '../util/redact.js';
import { refuseUrlCredentials } from '../util/url-credentials.js';
import { resolveToken } from '../controlplane/open.js';
import { inventoryPlace, requireK8sPlace, type K8sPlace } from '../util/k8s-place.js';
import type { LeaseRef, LeaseTiming } from '../lease/k8s-lease.js';
import { termTimings } from '../lease/leader-elector.js';
import {
  LOCAL_ADMIN_TOKEN_FILE,
  OPTIONS,
  parseListen,
  type ApplyPolicy,
  type LogFormat,
} from './config-options.js';
import { parseSyncWindows, type SyncWindow } from './freeze.js';

export type SourceConfig =
  | { kind: 'git'; repo: string; branch: string; path: string; auth: GitAuth; timeoutMs: number }
  | { kind: 'watch'; dir: string };

export interface DaemonConfig {
  source: SourceConfig;
  pollIntervalMs: number;
  driftIntervalMs: number;
  controlPlane: {
    url: string;
    token: string | null;
    /** The environment of poolsync.yaml this control plane is (daemon/unit.ts). */
    environment?: string;
    /** Read at every open (an environment's `tokenFile`, daemon/unit.ts). */
    tokenFile?: string;
    /** Where `tokenFile` was set, which its errors name (absent: an environment's). */
    tokenFileSetting?: string;
    /** `union+` URLs: the API key file (an environment's `apiKeyFile`). */
    apiKeyFile?: string;
    /** An environment's: where its settings are, which its errors name (namedSettings). */
    settings?: SettingPlaces;
  };
  listen: { host: string; port: number };
  githubWebhookSecret: string | null;
  gitlabWebhookToken: string | null;
  reconcileToken: string | null;
  policy: ApplyPolicy;
  /** An environment's unit: the daemon's `--policy`, which an environment without `policy` takes. */
  defaultPolicy?: ApplyPolicy;
  /** --allow-self-approval: by comment. */
  allowSelfApproval: boolean;
  /** --admin-token-bypasses-approvers: the admin token may whatever poolsync.yaml `approvers:` says. */
  adminTokenBypassesApprovers?: boolean;
  parallelism: number;
  maxRetries: number;
  limits: TransportLimits;
  waitTimeoutMs: number;
  stateDir: string;
  /** Runs kept in the history (status.ts retained). */
  historyLimit: number;
  /** Runs older than this leave it, but the last deployment (0: no bound). */
  historyMaxAgeMs?: number;
  shutdownTimeoutMs: number;
  watchDebounceMs: number;
  logLevel: string;
  logFormat: LogFormat;
  once: boolean;
  /** Bearer token of POST /approve (POOLSYNC_ADMIN_TOKEN); null: approvals by API are off. */
  adminToken: string | null;
  /** `--lock k8s:NAMESPACE/NAME`: the apply lock of control planes with none of their own. */
  lock: LeaseRef | null;
  /** `--leader-elect` (docs/daemon.md#high-availability); null when off. */
  leaderElection: LeaderElectionConfig | null;
  /** `--inventory k8s:NAMESPACE/NAME` (or its default beside a Lease): util/k8s-place.ts. */
  inventory: K8sPlace | null;
  /** --commit-rendered (Git only). */
  commitRendered?: boolean;
  /** docs/daemon.md#dashboard. */
  dashboard: boolean;
  /** The host names of --external-url (http.ts foreignHost). */
  externalHosts: string[];
  /** `--sync-windows`: when applies may run (freeze.ts). */
  syncWindows: SyncWindow[];
  /** `--policies`, `--policy-owners`, `--opa` (docs/policies.md); absent: poolsync.yaml's. */
  policies?: { dir: string | null; owners: string[] | null; opa: string | null };
}

/** Secrets (`token`, `git-token` …): env var with the value, or the file their option names. */
const SECRETS = OPTIONS.filter((o) => o.secret).map((o) => ({
  name: o.name.replace(/-file$/, ''),
  env: o.env.replace(/_FILE$/, ''),
  fileOption: o.name,
}));

export interface ConfigInput {
  /** Keyed by option name (absent = not given). */
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  cwd: string;
  configFile?: string | null;
  /** Settings the caller forces (quickstart), below flags but above everything else. */
  overrides?: Record<string, string | number | boolean>;
}

export async function resolveDaemonConfig(input: ConfigInput): Promise<DaemonConfig> {
  const file: { values: Record<string, unknown>; path: string | null } = input.configFile
    ? await readConfigFile(resolve(input.cwd, input.configFile))
    : { values: {}, path: null };
  const raw = rawSettings(input, file);
  const r = readers(raw, input.cwd);
  const { get, str, path, duration, int, bool, choice } = r;
  const secrets = await readSecrets(input, raw);
  const source = sourceConfig(r, secrets);
  const url = r.url(
    'control-plane',
    'the control plane URL',
    'put the token in POOLSYNC_TOKEN or --token-file',
  );
  // The control-plane token file is read as the CLI reads it (a bound one names its control
  // plane: controlplane/open.ts), again at every open; refused at start when it is not this one's.
  const tokenFile = path('token-file') ?? undefined;
  const tokenFileSetting = get('token-file')?.origin;
  if (tokenFile !== undefined)
    await resolveToken(tokenFile, url, null, input.env, tokenFileSetting);
  const lock = leaseOption(str('lock'), get('lock'));
  const listen = get('listen') as Raw;
  const leader = bool('leader-elect') ? leaderElection(r, input.env) : null;
  // Who shares a Lease shares the inventory: by default a ConfigMap beside it.
  const inventory = inventoryPlace(
    str('inventory'),
    lock ?? leader?.lease ?? null,
    get('inventory')?.origin ?? '--inventory',
  );
  return {
    source,
    pollIntervalMs: duration('poll-interval', 100),
    driftIntervalMs: duration('drift-interval', 100),
    controlPlane: {
      url,
      token: tokenFile === undefined ? (secrets.token ?? null) : null,
      ...(tokenFile !== undefined ? { tokenFile, tokenFileSetting } : {}),
    },
    listen: parseListen(
      String(listen.value).trim(),
      `${listen.origin}: "${String(listen.value)}" is not HOST:PORT (for example 127.0.0.1:8080, or 0.0.0.0:8080 to listen on every interface).`,
    ),
    githubWebhookSecret: secrets['github-webhook-secret'] ?? null,
    gitlabWebhookToken: secrets['gitlab-webhook-token'] ?? null,
    reconcileToken: secrets['reconcile-token'] ?? null,
    policy: choice<ApplyPolicy>('policy'),
    allowSelfApproval: bool('allow-self-approval'),
    adminTokenBypassesApprovers: bool('admin-token-bypasses-approvers'),
    parallelism: int('parallelism', 1, 256),
    maxRetries: int('max-retries', 0, 100),
    limits: transportLimits(
      {
        connect: duration('connect-timeout', 1),
        read: duration('read-timeout', 1),
        call: duration('call-timeout', 1),
        size: str('max-response-size') ?? undefined,
      },
      input.env,
    ),
    waitTimeoutMs: duration('wait-timeout', 0),
    stateDir: path('state-dir') as string,
    historyLimit: int('history-limit', 1, 1000),
    historyMaxAgeMs: duration('history-max-age', 0),
    shutdownTimeoutMs: duration('shutdown-timeout', 0),
    watchDebounceMs: duration('watch-debounce', 0),
    logLevel: choice('log-level'),
    logFormat: choice<LogFormat>('log-format'),
    once: bool('once'),
    adminToken: secrets['admin-token'] ?? null,
    lock,
    leaderElection: leader,
    inventory,
    commitRendered: bool('commit-rendered'),
    dashboard: bool('dashboard'),
    externalHosts: externalHosts(str('external-url'), get('external-url')?.origin),
    syncWindows: parseSyncWindows(str('sync-windows') ?? '', get('sync-windows')?.origin ?? ''),
    policies: {
      dir: path('policies'),
      owners:
        str('policy-owners')
          ?.split(',')
          .map((o) => o.trim())
          .filter((o) => o !== '') ?? null,
      opa: path('opa'),
    },
  };
}

/**
 * The quickstart's admin token (LOCAL_ADMIN_TOKEN_FILE under `cwd`): the one kept there, else a
 * new one in memory only. `keep` writes a new one (mode 0600, created once) once the daemon
 * listens, so a start that fails (a busy port) leaves none that was never shown; it returns
 * false when another start in this folder kept one first.
 */
export async function localAdminToken(
  cwd: string,
): Promise<{ token: string; made: string | null; path: string; keep: () => Promise<boolean> }> {
  const path = resolve(cwd, LOCAL_ADMIN_TOKEN_FILE);
  const root = dirname(path);
  const what = 'admin token';
  await ownFolders(root, path, true);
  const kept = (await readOwnFile(root, path, { maxBytes: SECRET_FILE_BYTES, what }))
    ?.toString()
    .trim();
  if (kept) return { token: kept, made: null, path, keep: async () => true };
  const token = randomBytes(32).toString('base64url');
  const keep = () => createFileOnce(path, (fh) => fh.writeFile(`${token}\n`), { mode: 0o600 });
  return { token, made: token, path, keep };
}

/** --external-url: URLs or host names, comma-separated; their host names, lower case. */
function externalHosts(text: string | null, origin = '--external-url'): string[] {
  if (text === null) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const url = s.includes('://') ? s : `http://${s}`;
      if (!URL.canParse(url) || new URL(url).hostname === '')
        throw new UserError(
          `${origin}: "${s}" is not a URL or a host name (for example https://poolsync.example.com)`,
        );
      return new URL(url).hostname.replace(/^\[|\]$/g, '');
    });
}

/** Each option's value and where it came from. */
function rawSettings(
  input: ConfigInput,
  file: { values: Record<string, unknown>; path: string | null },
): Map<string, Raw> {
  const fileDir = file.path ? resolve(file.path, '..') : input.cwd;
  const raw = new Map<string, Raw>();
  for (const opt of OPTIONS) {
    const flag = input.flags[opt.name];
    const override = input.overrides?.[opt.name];
    const envValue = input.env[opt.env];
    const fileValue = file.values[opt.name];
    if (flag !== undefined && flag !== null) {
      raw.set(opt.name, { value: flag as string, origin: `--${opt.name}` });
    } else if (override !== undefined) {
      raw.set(opt.name, { value: override, origin: `--quickstart` });
    } else if (envValue !== undefined && envValue !== '') {
      raw.set(opt.name, { value: envValue, origin: `environment variable ${opt.env}` });
    } else if (fileValue !== undefined && fileValue !== null) {
      raw.set(opt.name, {
        // Relative paths in a config file are relative to the file.
        value: opt.kind === 'path' ? resolve(fileDir, String(fileValue)) : (fileValue as string),
        origin: `${file.path}: ${opt.name}`,
      });
    } else if (opt.default !== undefined) {
      raw.set(opt.name, { value: opt.default, origin: `default of --${opt.name}` });
    }
  }

  return raw;
}

/** Each refusal names where the value came from. */
function readers(raw: Map<string, Raw>, cwd: string) {
  const get = (name: string): Raw | undefined => raw.get(name);
  const str = (name: string) => (raw.has(name) ? String(raw.get(name)!.value) : null);
  const path = (name: string) => (raw.has(name) ? resolve(cwd, str(name)!) : null);
  const duration = (name: string, min: number): number => {
    const r = get(name) as Raw;
    const ms = typeof r.value === 'number' ? null : parseDuration(String(r.value));
    if (ms === null)
      throw new UserError(
        `${r.origin}: ${durationRefusal(String(r.value), '30s, 1m, 10m or 1h')}.`,
      );
    if (ms < min)
      throw new UserError(`${r.origin}: ${String(r.value)} is too short; the minimum is ${min}ms.`);
    return ms;
  };
  const int = (name: string, min: number, max: number): number => {
    const r = get(name) as Raw;
    const n = typeof r.value === 'number' ? r.value : Number(String(r.value).trim());
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UserError(
        `${r.origin}: "${String(r.value)}" must be a whole number from ${min} to ${max}.`,
      );
    return n;
  };
  const bool = (name: string): boolean => {
    const r = get(name) as Raw;
    if (typeof r.value === 'boolean') return r.value;
    const s = String(r.value).trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    throw new UserError(`${r.origin}: "${String(r.value)}" must be true or false.`);
  };
  // Credentials in a URL would end up in .git/config, logs and errors: refused.
  const url = (name: string, what: string, instead: string): string => {
    const text = str(name) as string;
    refuseUrlCredentials(text, `${get(name)!.origin}: ${what}`, instead);
    return text;
  };
  const choice = <T extends string>(name: string): T => {
    const r = get(name) as Raw;
    const s = String(r.value);
    const choices = OPTIONS.find((o) => o.name === name)!.choices!;
    if (!choices.includes(s))
      throw new UserError(`${r.origin}: "${s}" is not one of ${choices.join(', ')}.`);
    return s as T;
  };

  return { get, str, path, duration, int, bool, url, choice };
}

type Readers = ReturnType<typeof readers>;

/** What only a Git source reads (the token's variable aside: a CI runner may set it for others). */
const GIT_SETTINGS = [
  'branch',
  'path',
  'git-token-file',
  'git-username',
  'git-timeout',
  'ssh-key-file',
  'ssh-known-hosts-file',
];

function sourceConfig(r: Readers, secrets: Awaited<ReturnType<typeof readSecrets>>): SourceConfig {
  const { get, str, path, duration } = r;
  const repo = str('repo');
  const watch = path('watch');
  if (watch !== null) {
    if (repo !== null)
      throw new UserError(
        `${get('repo')?.origin} and ${get('watch')?.origin} are both set; choose one: --repo follows a Git branch, --watch reconciles a folder on disk.`,
      );
    // A Git setting given with --watch would be ignored without a word: it is refused as --repo is.
    const git = GIT_SETTINGS.map(get).find((s) => s && !s.origin.startsWith('default of'));
    if (git)
      throw new UserError(
        `${git.origin} is a setting of --repo (a Git branch); --watch reconciles a folder on disk and would ignore it: leave it out, or follow the repository with --repo.`,
      );
    return { kind: 'watch', dir: watch };
  }
  if (repo === null)
    throw new UserError(
      'Nothing to reconcile: set --repo URL (or POOLSYNC_REPO) to follow a Git branch, or --watch DIR for a folder on disk. Try `poolsync daemon --quickstart` for a local demo.',
    );
  return {
    kind: 'git',
    repo: r.url(
      'repo',
      'the repository URL',
      'put the token in POOLSYNC_GIT_TOKEN or --git-token-file (and the user name in --git-username)',
    ),
    branch: checkBranch(str('branch') as string, get('branch') as Raw),
    path: checkRepoPath(str('path') as string, get('path') as Raw),
    auth: {
      token: secrets['git-token'] ?? null,
      username: str('git-username') as string,
      sshKeyFile: path('ssh-key-file'),
      sshKnownHostsFile: path('ssh-known-hosts-file'),
    },
    timeoutMs: duration('git-timeout', 1000),
  };
}

async function readConfigFile(
  path: string,
): Promise<{ values: Record<string, unknown>; path: string }> {
  const text = (
    await readUserFile(path, { maxBytes: CONFIG_FILE_BYTES, what: 'config file' })
  ).toString();
  let doc: unknown;
  try {
    doc = loadYaml(text, { filename: path });
  } catch (err) {
    throw new UserError(`config file ${yamlFileProblem(path, err)}`);
  }
  if (doc === null || doc === undefined) return { values: {}, path };
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UserError(`Config file ${path} must be a mapping of settings (key: value).`);
  const known = new Set(OPTIONS.map((o) => o.name));
  for (const [key, value] of Object.entries(doc)) {
    const secret = SECRETS.find((s) => s.name === key);
    if (secret)
      throw new UserError(
        `${path}: "${key}" is a secret and cannot be written in the config file; name a file with "${secret.fileOption}" or set ${secret.env}.`,
      );
    if (!known.has(key)) {
      const hint = closest(key, [...known]);
      throw new UserError(
        `${path}: unknown setting "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}. Known settings: see docs/daemon.md.`,
      );
    }
    if (key === 'sync-windows' && Array.isArray(value) && value.every((w) => typeof w === 'string'))
      (doc as Record<string, unknown>)[key] = value.join('; ');
    else if (value !== null && typeof value === 'object') {
      throw new UserError(
        key === 'sync-windows'
          ? `${path}: "sync-windows" is a list of windows, each a string like "deny Mon-Fri 18:00-08:00 Europe/Berlin" (docs/daemon.md#freeze-and-resume).`
          : `${path}: "${key}" must be a single value, not a list or mapping.`,
      );
    }
  }
  return { values: doc as Record<string, unknown>, path };
}

async function readSecrets(
  input: ConfigInput,
  raw: Map<string, Raw>,
): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const s of SECRETS) {
    // The control plane's token file: read as the CLI reads it (resolveDaemonConfig).
    if (s.name === 'token' && raw.has(s.fileOption)) continue;
    const fileSetting = raw.get(s.fileOption);
    const envValue = input.env[s.env];
    // A file named explicitly (flag or env *_FILE) wins over an inherited env value.
    if (fileSetting !== undefined) {
      const path = resolve(input.cwd, String(fileSetting.value));
      const what = `secret file (from ${fileSetting.origin})`;
      const text = (await readUserFile(path, { maxBytes: SECRET_FILE_BYTES, what })).toString();
      const value = text.trim();
      if (value === '')
        throw new UserError(`The secret file ${path} (from ${fileSetting.origin}) is empty.`);
      out[s.name] = value;
      rememberSecret(value, `the secret file ${path} (from ${fileSetting.origin})`);
    } else if (envValue !== undefined && envValue.trim() !== '') {
      out[s.name] = envValue.trim();
      rememberSecret(envValue, s.env);
    }
  }
  return out;
}

interface Raw {
  value: string | number | boolean;
  origin: string;
}

function checkBranch(branch: string, r: Raw): string {
  if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.startsWith('-') || branch.includes('..'))
    throw new UserError(`${r.origin}: "${branch}" is not a valid branch name.`);
  return branch;
}

function checkRepoPath(p: string, r: Raw): string {
  const normalized = posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
  if (isAbsolute(p) || normalized.split('/').includes('..'))
    throw new UserError(
      `${r.origin}: "${p}" must be a folder inside the repository (relative, no "..").`,
    );
  return normalized;
}

export interface LeaderElectionConfig extends LeaseTiming {
  lease: LeaseRef;
  identity: string;
  /** --advertise-address; null: derived from POD_IP or the bound address (leader.ts). */
  advertiseAddress: string | null;
}

/** `k8s:NAMESPACE/NAME`: util/k8s-place.ts's syntax, with this message's final period. */
function leaseOption(text: string | null, r: { origin: string } | undefined): LeaseRef | null {
  if (text === null || text.trim() === '') return null;
  return requireK8sPlace(text, r?.origin ?? 'lock', ['Lease', 'poolsync-leader', '.']);
}

function leaderElection(r: Readers, env: ConfigInput['env']): LeaderElectionConfig {
  const { get, str, duration } = r;
  const lease = leaseOption(str('leader-election-lease'), get('leader-election-lease'));
  const leaseDurationMs = duration('leader-election-lease-duration', 1000);
  const renewDeadlineMs = duration('leader-election-renew-deadline', 100);
  const retryPeriodMs = duration('leader-election-retry-period', 50);
  const longestWriteMs = get('leader-election-longest-write')
    ? duration('leader-election-longest-write', 1)
    : undefined;
  const takeoverWaitMs = get('leader-election-takeover-wait')
    ? duration('leader-election-takeover-wait', 0)
    : undefined;
  const timing = {
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    longestWriteMs,
    takeoverWaitMs,
  };
  // A leader's writes must have landed before its successor's first (termTimings).
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs))
    throw new UserError(
      `--leader-election-retry-period (${retryPeriodMs}ms) < --leader-election-renew-deadline (${renewDeadlineMs}ms) < --leader-election-lease-duration (${leaseDurationMs}ms) must hold, so a leader's calls have ended before another replica can take over (docs/daemon.md, "Nothing runs twice").`,
    );
  if ('problem' in termTimings(timing)) {
    const write = longestWriteMs ?? leaseDurationMs - renewDeadlineMs;
    const wait = takeoverWaitMs ?? 0;
    const need = renewDeadlineMs + write - leaseDurationMs;
    throw new UserError(
      `--leader-election-renew-deadline (${renewDeadlineMs}ms) + --leader-election-longest-write (${write}ms) must be at most --leader-election-lease-duration (${leaseDurationMs}ms) + --leader-election-takeover-wait (${wait}ms), or a deposed leader's write could land after its successor's first: set --leader-election-takeover-wait to ${need}ms or more, or raise the lease duration by as much (docs/daemon.md, "Nothing runs twice").`,
    );
  }
  const namespace = env.POD_NAMESPACE?.trim() || serviceAccountNamespace() || 'default';
  const identity = str('leader-election-id')?.trim() || env.POD_NAME?.trim();
  return {
    lease: lease ?? { namespace, name: 'poolsync-leader' },
    identity: identity || `${hostname()}-${process.pid}`,
    ...timing,
    advertiseAddress: advertiseAddressOption(str('advertise-address')),
  };
}

/** --advertise-address: an http(s) URL without credentials, path or query. */
function advertiseAddressOption(text: string | null): string | null {
  if (text === null || text.trim() === '') return null;
  const url = new URL(URL.canParse(text.trim()) ? text.trim() : 'invalid:');
  if (
    !/^https?:$/.test(url.protocol) ||
    url.username ||
    url.password ||
    url.search ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    throw new UserError(
      `--advertise-address "${text}" is not an http(s)://HOST:PORT URL (for example http://10.0.3.7:8080)`,
    );
  }
  return url.origin;
}

function serviceAccountNamespace(): string | null {
  try {
    return (
      readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || null
    );
  } catch {
    return null;
  }
}
