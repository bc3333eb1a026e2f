/**
 * The daemon's plain settings, one table (OPTIONS) that drives its CLI flags, the POOLSYNC_*
 * environment lookup, the config-file keys and the docs (config.ts resolves them).
 */
import { DEFAULT_CONTROL_PLANE_URL } from '../controlplane/default-url.js';
import { UserError } from '../util/user-error.js';

export const APPLY_POLICIES = ['none', 'safe', 'all'] as const;
export type ApplyPolicy = (typeof APPLY_POLICIES)[number];

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The admin token `daemon --quickstart` makes on its first start (mode 0600) unless one is
 * given; the daemon's CLI client reads it when it asks a daemon on this machine.
 */
export const LOCAL_ADMIN_TOKEN_FILE = '.poolsync/admin-token';
/** Where the quickstart daemon that made the token listens: the token goes to it only. */
export const LOCAL_DAEMON_URL_FILE = '.poolsync/daemon-url';

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (loopback): every --listen's syntax; else `refusal`. */
export function parseListen(text: string, refusal: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UserError(refusal);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export type Kind = 'string' | 'duration' | 'int' | 'bool' | 'path';

export interface OptionSpec {
  /** `--poll-interval`; also the config-file key. */
  name: string;
  /** POOLSYNC_ and the name in capitals (`POOLSYNC_POLL_INTERVAL`) unless the table says. */
  env: string;
  /** `string` unless the table says. */
  kind: Kind;
  describe: string;
  default?: string | number | boolean;
  choices?: readonly string[];
  /** The FILE holding a secret, or its env var less `_FILE` (quality.md, Security; config.ts). */
  secret?: true;
}

export const OPTIONS: readonly OptionSpec[] = withEnv([
  {
    name: 'repo',
    describe: 'Git URL of the config repository (https://, ssh://, git@host:path, or a local path)',
  },
  { name: 'branch', describe: 'Branch to follow', default: 'main' },
  { name: 'path', describe: 'Folder inside the repository holding the manifests', default: '.' },
  {
    name: 'watch',
    kind: 'path',
    describe: 'Development mode: reconcile this folder on disk on every change, without Git',
  },
  {
    name: 'poll-interval',
    kind: 'duration',
    describe: 'How often to fetch the branch (jittered)',
    default: '1m',
  },
  {
    name: 'drift-interval',
    kind: 'duration',
    describe: 'How often to re-read live state even when Git has not moved',
    default: '10m',
  },
  {
    name: 'control-plane',
    describe:
      'Control plane: file:PATH (embedded), http(s)://HOST (poolsync REST API), union+https://HOST (Union, docs/union.md), flyteadmin+http(s)://HOST (Flyte OSS, docs/flyte-oss.md)',
    default: DEFAULT_CONTROL_PLANE_URL,
  },
  {
    name: 'token-file',
    kind: 'path',
    secret: true,
    describe: 'File holding the control-plane API token (or env POOLSYNC_TOKEN)',
  },
  {
    name: 'git-token-file',
    kind: 'path',
    secret: true,
    describe: 'File holding an HTTPS token for the repository (or env POOLSYNC_GIT_TOKEN)',
  },
  {
    name: 'git-username',
    describe: 'User name sent with the Git token (GitLab: oauth2)',
    default: 'x-access-token',
  },
  {
    name: 'ssh-key-file',
    env: 'POOLSYNC_GIT_SSH_KEY_FILE',
    kind: 'path',
    describe: 'SSH private key for ssh:// or git@ remotes',
  },
  {
    name: 'ssh-known-hosts-file',
    env: 'POOLSYNC_GIT_SSH_KNOWN_HOSTS_FILE',
    kind: 'path',
    describe: 'known_hosts file for SSH remotes (strict host key checking)',
  },
  {
    name: 'git-timeout',
    kind: 'duration',
    describe: 'Bound on each git command: a fetch the remote stalls is stopped after it',
    default: '2m',
  },
  {
    name: 'listen',
    describe: 'HOST:PORT of the status, metrics and webhook server',
    default: '127.0.0.1:8080',
  },
  {
    name: 'github-webhook-secret-file',
    kind: 'path',
    secret: true,
    describe: 'File holding the GitHub webhook secret (or env POOLSYNC_GITHUB_WEBHOOK_SECRET)',
  },
  {
    name: 'gitlab-webhook-token-file',
    kind: 'path',
    secret: true,
    describe: 'File holding the GitLab webhook token (or env POOLSYNC_GITLAB_WEBHOOK_TOKEN)',
  },
  {
    name: 'reconcile-token-file',
    kind: 'path',
    secret: true,
    describe: 'File holding the bearer token for POST /reconcile (or env POOLSYNC_RECONCILE_TOKEN)',
  },
  {
    name: 'policy',
    describe: 'What to apply: none (plan only), safe (creates and updates), all',
    default: 'safe',
    choices: APPLY_POLICIES,
  },
  {
    name: 'allow-self-approval',
    kind: 'bool',
    describe:
      "Let a pull request's author approve its held changes with a `poolsync apply` comment (off: another user must, as Atlantis requires)",
    default: false,
  },
  {
    name: 'admin-token-bypasses-approvers',
    kind: 'bool',
    describe:
      "Let the admin token approve, sync, suspend, resume and override a freeze whatever poolsync.yaml's approvers say (off: it is one more principal, token:admin)",
    default: false,
  },
  {
    name: 'policies',
    kind: 'path',
    describe:
      "Folder of Rego policies (conftest conventions) every plan is checked against, evaluated by OPA; a failure holds the apply until an owner approves (docs/policies.md). Default: the followed branch's poolsync.yaml policies.path",
  },
  {
    name: 'policy-owners',
    describe:
      'Who may approve a policy failure, comma-separated: alice, team:org/slug, group:path (default: poolsync.yaml policies.owners)',
  },
  {
    name: 'opa',
    kind: 'path',
    describe:
      'The OPA binary that evaluates the policies (default: the cache of scripts/install-opa.sh, else opa on PATH)',
  },
  { name: 'parallelism', kind: 'int', describe: 'Steps applied concurrently', default: 8 },
  {
    name: 'max-retries',
    kind: 'int',
    describe:
      'Retries per control-plane call (connection errors, timeouts, 429, 5xx) before it fails; a run that still fails is retried with backoff',
    default: 8,
  },
  {
    name: 'connect-timeout',
    kind: 'duration',
    describe: 'Give up a connection to the control plane not made within this long',
    default: '5s',
  },
  {
    name: 'read-timeout',
    kind: 'duration',
    describe: 'Give up an attempt when the control plane sends nothing for this long',
    default: '10s',
  },
  {
    name: 'call-timeout',
    kind: 'duration',
    describe: 'Give up one control-plane call, its retries included, after this long',
    default: '60s',
  },
  {
    name: 'max-response-size',
    describe: 'Refuse a control-plane answer larger than this (e.g. 32MiB)',
    default: '32MiB',
  },
  {
    name: 'wait-timeout',
    kind: 'duration',
    describe: 'Bound on waiting for in-flight work before a cluster delete',
    default: '30m',
  },
  {
    name: 'state-dir',
    kind: 'path',
    describe:
      'Where the daemon keeps its Git checkout, run history, suspension and rollback; the folder above it holds the apply locks and the inventory of Union and flyteadmin when no ConfigMap keeps it (--inventory, --lock k8s:, --leader-elect)',
    default: '.poolsync/daemon',
  },
  {
    name: 'sync-windows',
    describe:
      'When applies may run: windows separated by ; (a list in the config file), each allow|deny DAYS HH:MM-HH:MM [TIME_ZONE], e.g. "deny Sat,Sun 00:00-24:00; deny Mon-Fri 18:00-08:00 Europe/Berlin"; outside them plans and drift detection go on',
  },
  {
    name: 'history-limit',
    kind: 'int',
    describe:
      'Runs kept in the history (/status runs, `poolsync history`, <state-dir>/history.json); runs that find nothing new are folded into one',
    default: 20,
  },
  {
    name: 'history-max-age',
    kind: 'duration',
    describe:
      'Runs older than this leave the history, except the last one that applied (0s: no bound); past --history-limit runs that changed nothing go before any that applied',
    default: '0s',
  },
  {
    name: 'shutdown-timeout',
    kind: 'duration',
    describe: 'On SIGTERM, how long running steps may take to finish',
    default: '30s',
  },
  {
    name: 'watch-debounce',
    kind: 'duration',
    describe: 'Quiet time after a file change before reconciling (--watch)',
    default: '300ms',
  },
  {
    name: 'log-level',
    describe: 'trace, debug, info, warn or error',
    default: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
  },
  {
    name: 'log-format',
    describe: 'json, pretty, or auto (pretty on a terminal)',
    default: 'auto',
    choices: LOG_FORMATS,
  },
  {
    name: 'admin-token-file',
    kind: 'path',
    secret: true,
    describe: 'File holding the bearer token for POST /approve (or env POOLSYNC_ADMIN_TOKEN)',
  },
  {
    name: 'lock',
    describe:
      'k8s:NAMESPACE/NAME: a Kubernetes Lease as the apply lock, for control planes with no lock of their own',
  },
  {
    name: 'inventory',
    describe:
      'k8s:NAMESPACE/NAME: the ConfigMap keeping the inventory of a control plane that cannot keep it (Union, flyteadmin), shared by replicas and CI (default: poolsync-inventory in the namespace of --lock, else of --leader-election-lease; state-dir: the state folder)',
  },
  {
    name: 'leader-elect',
    kind: 'bool',
    describe: 'Run several replicas: only the holder of a Kubernetes Lease reconciles and applies',
    default: false,
  },
  {
    name: 'leader-election-lease',
    describe:
      'The Lease of --leader-elect, k8s:NAMESPACE/NAME (default: k8s:<pod namespace>/poolsync-leader)',
  },
  {
    name: 'leader-election-id',
    describe:
      "This replica's identity in the Lease (default: env POD_NAME, else host name and pid)",
  },
  {
    name: 'advertise-address',
    describe:
      "URL where the other replicas reach this one's HTTP server, published in the Lease while it leads (default: http://$POD_IP:PORT, else the --listen address)",
  },
  {
    name: 'leader-election-lease-duration',
    kind: 'duration',
    describe: 'How long followers wait before taking over an unrenewed Lease',
    default: '15s',
  },
  {
    name: 'leader-election-renew-deadline',
    kind: 'duration',
    describe: 'How long the leader keeps trying to renew before it stops applying',
    default: '10s',
  },
  {
    name: 'leader-election-retry-period',
    kind: 'duration',
    describe: 'How often candidates try to acquire and the leader renews',
    default: '2s',
  },
  {
    name: 'leader-election-longest-write',
    kind: 'duration',
    describe:
      'How long after its term ended a write of the term may still land: the control plane carrying out a request it received before the leader was deposed (default: lease duration - renew deadline)',
  },
  {
    name: 'leader-election-takeover-wait',
    kind: 'duration',
    describe:
      'How long a new leader waits before its first write; renew deadline + longest write <= lease duration + takeover wait is checked at start (default 0s)',
  },
  {
    name: 'once',
    kind: 'bool',
    describe: 'Reconcile once and exit (1 when not converged)',
    default: false,
  },
  {
    name: 'commit-rendered',
    kind: 'bool',
    describe:
      'Commit and push the generated files poolsync.yaml render names (flyte-core values, Union pool mapping) when they would change',
    default: false,
  },
  {
    name: 'external-url',
    describe:
      'Where people and tools reach this daemon (an ingress, a Service name), comma-separated URLs or host names: the host names /status, the dashboard and /metrics answer to besides loopback names and IP addresses (DNS rebinding)',
  },
  {
    name: 'dashboard',
    kind: 'bool',
    describe:
      'Serve the dashboard page at / on the status listener (read-only but for approving held changes with the admin token)',
    default: true,
  },
]);

function withEnv(
  specs: (Omit<OptionSpec, 'env' | 'kind'> & Partial<Pick<OptionSpec, 'env' | 'kind'>>)[],
): OptionSpec[] {
  const env = (name: string) => `POOLSYNC_${name.toUpperCase().replaceAll('-', '_')}`;
  return specs.map((o) => ({ env: env(o.name), kind: 'string', ...o }));
}
