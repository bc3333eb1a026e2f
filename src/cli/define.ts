/**
 * Every command, declared once: options, `--help` text and the arguments its work gets (ArgsOf).
 * A shared option is declared once, so a flag means and says the same everywhere. No command's
 * work is imported here (run.ts loads it), so `--help` and completion load none of them.
 */
import type { Argv, Options } from 'yargs';
import { DEFAULT_PARALLELISM, FILE_PARALLELISM, READ_PARALLELISM } from '../apply/types.js';
import { OPTIONS as DAEMON_OPTIONS, LOG_FORMATS } from '../daemon/config-options.js';
import { KEPT_RESULTS } from '../daemon/run-result.js';
import { CAPABILITY_NAMES } from '../model/capabilities.js';
import { notifyOptions } from '../notify/config.js';
import { pullRequestCommentOptions } from '../vcs/comment-options.js';
import { DEFAULT_CONTROL_PLANE_URL, DEFAULT_STATE_FILE } from '../controlplane/default-url.js';
import { UserError } from '../util/user-error.js';
import { wholeNumber } from '../util/option-values.js';
import { refuseUrlCredentials } from '../util/url-credentials.js';

/** Options from `env` where they default to it. */
export interface Command {
  command: string;
  describe: string;
  builder?: (y: Argv, env: NodeJS.ProcessEnv) => Argv;
  /** Other names of it (Terraform's `state rm` for `state forget`). */
  aliases?: string[];
  subcommands?: Command[];
}

type Named<K> = K extends `${string}${infer Rest}` ? (Rest extends '' ? never : K) : never;
type Absent<T, K extends keyof T> = undefined extends T[K] ? K : never;

/** A builder's arguments as yargs infers them: absent ones optional, no one-letter aliases. */
export type ArgsOf<B extends (y: Argv, env: NodeJS.ProcessEnv) => Argv<unknown>> =
  ReturnType<B> extends Argv<infer T>
    ? { [K in keyof T as Named<Exclude<K, Absent<T, K>>>]: T[K] } & {
        [K in keyof T as Named<Absent<T, K>>]?: Exclude<T[K], undefined>;
      }
    : never;

/** --control-plane, else env POOLSYNC_CONTROL_PLANE, else the embedded default. */
export function controlPlaneUrl(
  args: { 'control-plane'?: string | undefined },
  env: NodeJS.ProcessEnv,
): string {
  return args['control-plane'] ?? env.POOLSYNC_CONTROL_PLANE ?? DEFAULT_CONTROL_PLANE_URL;
}

/**
 * --daemon, else env POOLSYNC_DAEMON_URL, else the daemon's default address; no trailing slash
 * (the commands that ask a daemon look at the quickstart's address file before the default:
 * daemonAt, commands/daemon-client.ts).
 * An http(s) URL without credentials (the admin token goes in a header, from a file or the env).
 */
export function daemonUrl(args: { daemon?: string | undefined }, env: NodeJS.ProcessEnv): string {
  const from = args.daemon !== undefined ? '--daemon' : 'POOLSYNC_DAEMON_URL';
  const url = args.daemon ?? env.POOLSYNC_DAEMON_URL ?? DEFAULT_DAEMON_URL;
  refuseUrlCredentials(
    url,
    from,
    'give the admin token in POOLSYNC_ADMIN_TOKEN or --admin-token-file',
  );
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new UserError(
      `${from} ${JSON.stringify(url)} is not a daemon's address: give its http(s) URL, as ${DEFAULT_DAEMON_URL}`,
    );
  return url.replace(/\/+$/, '');
}

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8080';

/** `--log-format` of every command but the daemon (whose own setting it is): see jsonStderr. */
const logFormatOption = {
  choices: LOG_FORMATS,
  describe:
    "json: diagnostics on stderr as JSON lines, like the daemon's logs (env POOLSYNC_LOG_FORMAT)",
  global: true,
} as const;

/**
 * `--color`/`--no-color` of every command but the daemon: Terraform takes -no-color everywhere
 * and CI wrappers pass it so; a command that colours nothing has nothing to turn off.
 */
const colorOption = {
  type: 'boolean',
  describe:
    'Colour the output where a command colours it (plan, apply, show, promote); --no-color, as env NO_COLOR, turns it off (default: when stdout is a terminal)',
  global: true,
} as const;

/** What every command takes beside its own, but the daemon: its log format is its own setting. */
export const globalOptions = (command: string | null | undefined): Record<string, Options> =>
  command === 'daemon' ? {} : { 'log-format': logFormatOption, color: colorOption };

export const DEFAULT_LISTEN = '127.0.0.1:7480';

/** A flag that is off unless given (`on`: on unless `--no-…` is given). */
const flag = (describe: string, on = false) =>
  ({ type: 'boolean', default: on, describe }) as const;

/** Absent unless given (`--x` or `--no-x`). */
const toggle = (describe: string) => ({ type: 'boolean', describe }) as const;

const text = (describe: string) => ({ type: 'string', describe }) as const;

/** Needs a value when given; no default. */
const valued = (describe: string) => ({ type: 'string', requiresArg: true, describe }) as const;

const defaulted = (value: string, describe: string) =>
  ({ type: 'string', default: value, describe }) as const;

const required = (describe: string) => ({ type: 'string', demandOption: true, describe }) as const;

const stateDir = (describe: string) => defaulted('.poolsync', describe);

const configDir = (describe = 'Config folder (a Git checkout or any folder of it)') =>
  defaulted('.', describe);

/** No default, so a command knows whether it was written (`--env` names one too). */
const controlPlane = (env: NodeJS.ProcessEnv) =>
  ({
    type: 'string',
    defaultDescription: `"${controlPlaneUrl({}, env)}"`,
    describe:
      'Control plane (env POOLSYNC_CONTROL_PLANE): file:PATH (embedded), http(s)://HOST (poolsync REST API), union+https://HOST (Union, docs/union.md), flyteadmin+http(s)://HOST (Flyte OSS, docs/flyte-oss.md)',
  }) as const;

/** `--token-file FILE`: the token never comes from a flag value (it would show in `ps` and shell history). */
const tokenFile = text(
  'File holding the control-plane token (or env POOLSYNC_TOKEN_FILE / POOLSYNC_TOKEN)',
);

const apiKeyFile = text(
  'File holding the Union API key, for union+https:// control planes (or env POOLSYNC_UNION_API_KEY)',
);

/** Issue 14: a flaky control plane needs more retries; a CI job that should fail fast, fewer. */
const maxRetries = {
  type: 'string',
  coerce: wholeNumber('max-retries', 0, 100),
  default: 8,
  describe:
    'Retries per control-plane call on connection errors, timeouts, 429 and 5xx (backoff 0.1 s doubling to 10 s, to 5 s for Union, with jitter); 0 = none',
} as const;

/** docs/control-plane.md#limits: flag, else POOLSYNC_* variable, else default (networkOf). */
const limitFlags = {
  'connect-timeout': valued(
    'Give up a connection not made within this long, e.g. 5s (env POOLSYNC_CONNECT_TIMEOUT; default 5s)',
  ),
  'read-timeout': valued(
    'Give up an attempt when the server sends nothing for this long (env POOLSYNC_READ_TIMEOUT; default 10s)',
  ),
  'call-timeout': valued(
    'Give up one call, its retries included, after this long (env POOLSYNC_CALL_TIMEOUT; default 60s)',
  ),
  'max-response-size': valued(
    'Refuse an answer larger than this, e.g. 32MiB (env POOLSYNC_MAX_RESPONSE_SIZE; default 32MiB)',
  ),
};

const network = (retries: typeof maxRetries | { default: number } = maxRetries) => ({
  'max-retries': { ...maxRetries, ...retries },
  ...limitFlags,
});

const credentials = (env: NodeJS.ProcessEnv) =>
  ({
    'control-plane': controlPlane(env),
    'token-file': tokenFile,
    'api-key-file': apiKeyFile,
  }) as const;

/** Unset: see useColor. */
const color = (what = 'the text output') =>
  toggle(`Colour ${what} (default: when stdout is a terminal; --no-color to disable)`);

const inventoryStateDir = stateDir(
  "Where locks and last-applied records are kept, and the inventory of a control plane that cannot keep it (Union, flyteadmin) when it names another folder than the default (by default that inventory is in the user's state folder, never the working folder: docs/security.md)",
);

const inventory = text(
  'k8s:NAMESPACE/NAME: keep the inventory of a control plane that cannot keep it (Union, flyteadmin) in this ConfigMap, shared by every CI job and daemon replica (env POOLSYNC_INVENTORY; default: k8s:<namespace of --lock>/poolsync-inventory when --lock names a Lease, else the state folder; state-dir: the state folder)',
);

/** docs/policies.md: Rego policies over the plan, evaluated by OPA. */
const policyOptions = {
  policies: valued(
    "Check the plan against the Rego policies (conftest conventions) in this folder; a failure blocks apply (default: poolsync.yaml policies.path; in a pull request, the base branch's)",
  ),
  opa: valued(
    "The OPA binary that evaluates --policies (env POOLSYNC_OPA; default: scripts/install-opa.sh's cache, else opa on PATH)",
  ),
};

function output<const C extends readonly [string, ...string[]]>(choices: C, describe: string) {
  return { alias: 'o', choices, default: choices[0] as C[0], describe } as const;
}

const planOutput = output(
  ['text', 'json', 'markdown'],
  'text: Terraform-like; json: the plan.md format; markdown: for a pull-request comment',
);

const addresses = (describe: string) =>
  ({ type: 'string', array: true, requiresArg: true, describe }) as const;

/** Plan and apply DIR: Terraform's -target and -replace; cascades: docs/flyte-oss.md. */
const planShape = {
  target: addresses(
    'Plan only this object (Kind/name, repeatable) and what it depends on; the plan says it is partial',
  ),
  replace: addresses(
    'Delete and create again this object (Kind/name, repeatable) though nothing differs; not for queues (Q6)',
  ),
  'accept-cascade': addresses(
    'flyteadmin: let this delete (ExecutionClusterLabel/P/D, PoolAssignment/P/D[/W], repeatable) take along the narrower rows poolsync does not manage; else it is blocked. poolsync.yaml acceptCascade: does the same for every run',
  ),
};

/** Terraform's -lock-timeout; `plan` takes no lock but accepts it, for Terraform habits. */
const lockTimeout = (
  describe = 'How long to wait for a lock held by another apply (or an embedded state open elsewhere) before failing, e.g. 30s, 5m',
) => defaulted('0s', describe);

/** docs/environments.md, resolved in ./options.ts. */
const envOption = (orAll = '') => ({
  alias: 'e',
  ...valued(
    `The environment of poolsync.yaml to run for (its control plane, folders, patches)${orAll}`,
  ),
});

/** Where the positional is not the config folder (apply PLANFILE, export). */
const configDirOption = configDir(
  'With --env: the config folder whose poolsync.yaml declares the environment',
);

const daemonOption = (env: NodeJS.ProcessEnv) =>
  ({
    type: 'string',
    defaultDescription:
      env.POOLSYNC_DAEMON_URL !== undefined
        ? `"${env.POOLSYNC_DAEMON_URL}"`
        : `.poolsync/daemon-url (where this folder's quickstart listens), else "${DEFAULT_DAEMON_URL}"`,
    describe:
      'The daemon: any replica with --leader-elect (a follower hands the request to the leader) (env POOLSYNC_DAEMON_URL)',
  }) as const;

/** The daemon admin token is never a flag value. */
const adminTokenFile = text(
  'File holding the daemon admin token (or env POOLSYNC_ADMIN_TOKEN_FILE / POOLSYNC_ADMIN_TOKEN)',
);

const init = {
  command: 'init [dir]',
  describe:
    'Start a config repository: a commented poolsync.yaml, and with --from-live the manifests of what the control plane holds',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional(
        'dir',
        configDir('Folder to start it in (created if missing; must have no poolsync.yaml)'),
      )
      .options({
        'from-live': flag(
          'Also write what the control plane holds as manifests (as `poolsync export`); what its API does not serve (flyteadmin’s pools, cluster labels and clusters) is named in a warning, to declare before the folder validates',
        ),
        ...credentials(env),
        ...network(),
        'state-dir': inventoryStateDir,
      })
      .example('$0 init pools', 'A new, empty config repository in ./pools')
      .example(
        '$0 init pools --from-live --control-plane union+https://acme.hosted.unionai.cloud',
        'Adopt what an organisation already has',
      ),
} satisfies Command;

/** docs/plan.md#plan-an-earlier-commit (src/cli/at-commit.ts). */
const atOption = text(
  'Read DIR as it was at this commit (a commit id, a tag, HEAD~1) from its Git repository, into a temporary folder: a rollback from CI without a daemon',
);

const validate = {
  command: 'validate [dir]',
  describe:
    'Check the manifests of a config folder and report every error with its file:line:column',
  builder: (y: Argv) =>
    y
      .positional('dir', configDir())
      .options({
        env: envOption(', or all (default: all of them)'),
        output: output(['text', 'json'], 'text: one line per error; json: {valid, errors, counts}'),
        at: atOption,
      })
      .example('$0 validate examples/config-repo', 'Validate the bundled example')
      .example('$0 validate . --output json', 'Machine-readable result for CI'),
} satisfies Command;

const check = {
  command: 'check [dir]',
  describe:
    'Check the setup before the first plan: the config folder, the control plane’s endpoint and credentials, and what poolsync may do there per kind',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional('dir', configDir('Config folder to validate too'))
      .options({
        env: envOption(),
        ...credentials(env),
        ...network({ default: 0 }),
        probe: flag(
          'Read every kind the control plane manages (reads only, never writes); --no-probe checks the folder, the URL and that the credentials can be read',
          true,
        ),
      })
      .example(
        '$0 check pools --control-plane union+https://acme.hosted.unionai.cloud --api-key-file key',
        'Before the first plan against Union',
      ),
} satisfies Command;

const plan = {
  command: 'plan [dir]',
  describe: 'Show what apply would change on the control plane, without changing anything',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional('dir', configDir())
      .options({
        env: envOption(', or all'),
        ...credentials(env),
        ...network(),
        parallelism: {
          type: 'string',
          coerce: wholeNumber('parallelism', 1),
          default: READ_PARALLELISM,
          describe:
            'Most calls to a network control plane in flight while reading (lowered while it throttles); Union reads one default-queue setting per call',
        },
        output: planOutput,
        out: text('Also save the plan (JSON) to FILE, for `apply FILE` and `show FILE`'),
        'detailed-exitcode': flag(
          'Exit 0 when there is nothing to apply, 2 when there are changes, 1 on error',
        ),
        color: color(),
        ...planShape,
        'refresh-only': flag(
          'Show only what changed on the control plane since the last apply (drift), proposing nothing',
        ),
        'lock-timeout': lockTimeout(
          "Accepted as Terraform's plan takes it: a plan takes no lock (it only reads), so it never waits",
        ),
        'state-dir': stateDir(
          "Where apply recorded the last applied state of an HTTP control plane (--refresh-only), and the inventory of a control plane that cannot keep it (Union, flyteadmin) when it names another folder than the default, however spelt (by default that inventory is in the user's state folder, never the working folder: docs/security.md)",
        ),
        lock: text(
          'The --lock of the apply this plan is for (env POOLSYNC_LOCK): a plan takes no lock, but reads the inventory kept beside that Lease (see --inventory)',
        ),
        inventory,
        at: atOption,
        ...pullRequestCommentOptions,
        ...policyOptions,
      })
      .example([
        [
          '$0 plan examples/config-repo',
          'Plan the example against the local embedded control plane',
        ],
        ['$0 plan . --out plan.json && $0 apply plan.json', 'Review, then apply exactly that plan'],
        ['$0 plan . --target Cluster/prod-1', 'A partial plan: one cluster and what it needs'],
        ['$0 plan . --replace Cluster/prod-1', 'Plan deleting and registering a cluster again'],
        ['$0 plan --refresh-only', 'What changed on the control plane since the last apply'],
        [
          '$0 plan . --output markdown --detailed-exitcode',
          'In CI: a PR comment, and exit 2 when something would change',
        ],
      ]),
} satisfies Command;

const apply = {
  command: 'apply [path]',
  describe: 'Apply the changes of a config repository (DIR) or of a saved JSON plan (PLANFILE)',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional(
        'path',
        defaulted(
          '.',
          'A config repository folder, or a plan saved with `plan --output json --out FILE`',
        ),
      )
      .options({
        env: envOption(),
        'config-dir': configDirOption,
        'control-plane': controlPlane(env),
        'auto-approve': flag('Apply without asking for confirmation'),
        parallelism: {
          type: 'string',
          coerce: wholeNumber('parallelism', 1),
          describe: `Most steps running at once (default ${DEFAULT_PARALLELISM}; ${FILE_PARALLELISM} for a file: control plane, whose calls share fsyncs)`,
        },
        'wait-timeout': defaulted(
          '30m',
          'How long to wait for in-flight work before deleting a cluster (e.g. 90s, 30m, 1h)',
        ),
        'lock-timeout': lockTimeout(),
        ...network(),
        'token-file': tokenFile,
        'api-key-file': apiKeyFile,
        'state-dir': stateDir(
          'Where apply locks and the last applied state of HTTP control planes are kept (file: ones: beside the state file)',
        ),
        lock: text(
          'k8s:NAMESPACE/NAME: hold this Kubernetes Lease while applying, for control planes with no apply lock of their own (env POOLSYNC_LOCK)',
        ),
        inventory,
        'flyte-cli': text(
          'Run the manual steps (no public API) with this flyte CLI binary instead of stopping at them',
        ),
        at: atOption,
        color: color('the output'),
        output: output(
          ['text', 'json'],
          'text: the plan, progress and summary; json: one document on stdout when done (progress on stderr)',
        ),
        ...planShape,
        ...policyOptions,
        'policy-approvals': {
          type: 'string',
          choices: ['github', 'gitlab'],
          describe:
            "Let owners' `poolsync approve-policies DIGEST WHY` comments on the pull request (--pr; in CI the event's) release the policy failures (token GITHUB_TOKEN / GITLAB_TOKEN)",
        },
        pr: pullRequestCommentOptions.pr,
        repo: pullRequestCommentOptions.repo,
        'api-url': pullRequestCommentOptions['api-url'],
      })
      .example([
        ['$0 apply . --target Cluster/prod-1', 'Apply one cluster and what it depends on'],
        ['$0 apply . --replace Cluster/prod-1', 'Delete and register a cluster again'],
      ]),
} satisfies Command;

const promote = {
  command: 'promote <from> [dir]',
  describe:
    "Show what promoting an environment's own manifests to the next environment would plan there (docs/environments.md)",
  builder: (y: Argv) =>
    y
      .positional('from', required('The environment whose own folder is promoted'))
      .positional('dir', configDir())
      .options({
        to: valued(
          'The environment promoted to (default: the promotesTo of FROM in poolsync.yaml)',
        ),
        write: flag("Also make the change: copy the manifests into the next environment's folder"),
        'detailed-exitcode': flag(
          'Exit 0 when promoting changes nothing, 2 when it would, 1 on error',
        ),
        output: output(['text', 'markdown'], 'text, or markdown for a pull-request comment'),
        color: color(),
        ...network(),
        'token-file': text(
          "The next environment's token file, over its tokenFile in poolsync.yaml",
        ),
        'api-key-file': text(
          "The next environment's Union API key file, over its apiKeyFile in poolsync.yaml",
        ),
        'state-dir': stateDir('Where the inventory of a control plane that cannot keep it is kept'),
      })
      .example('$0 promote staging', 'What promoting staging to production would plan there')
      .example(
        '$0 promote staging --write',
        'Make the change (then commit it and open a pull request)',
      ),
} satisfies Command;

const show = {
  command: 'show <planfile>',
  describe: 'Render a plan saved with `poolsync plan --out FILE`',
  builder: (y: Argv) =>
    y
      .positional('planfile', required('A plan file (JSON)'))
      .options({ output: planOutput, color: color() })
      .example('$0 show plan.json', 'Review a saved plan'),
} satisfies Command;

/** `state forget` and `import` hold it as apply does, and find the inventory kept beside it. */
const applyLease = text(
  'The --lock of your applies (env POOLSYNC_LOCK): the inventory is kept beside it, and state forget and import hold it while they write that inventory, as apply does',
);

/** `state list|show|forget` (Terraform's, `rm` too): the control plane as `plan` chooses it. */
function stateOptions(y: Argv, env: NodeJS.ProcessEnv) {
  return y.positional('dir', configDir()).options({
    env: envOption(),
    ...credentials(env),
    ...network(),
    'state-dir': inventoryStateDir,
    lock: applyLease,
    inventory,
    output: { ...output(['text', 'json'], 'text, or JSON'), type: 'string' },
  });
}
export type StateArgs = ArgsOf<typeof stateOptions> & {
  address?: string;
  filter?: string[];
  daemon?: string;
  'lock-timeout'?: string;
};

/** `state forget` and `import` write the inventory under the apply lock, waited for as apply waits. */
const recordLockTimeout = lockTimeout(
  'How long to wait for the apply lock while an apply runs (it records the inventory too) before failing, e.g. 30s, 5m',
);

const address = required('Kind/name, e.g. Queue/training');

const state: Command = {
  command: 'state',
  describe: 'What poolsync manages: list, show, forget',
  subcommands: [
    {
      command: 'list [dir] [filter..]',
      describe:
        'What poolsync manages on the control plane (its inventory), with live status; filters: Kind, Kind/name, Kind/prefix-*',
      builder: (y, env) =>
        stateOptions(y, env).positional('filter', {
          type: 'string',
          array: true,
          describe: 'Only these addresses: Queue (every queue), Queue/batch, Cluster/prod-*',
        }),
    },
    {
      command: 'show <address> [dir]',
      describe: 'One managed object: its live fields and status',
      builder: (y, env) =>
        stateOptions(y.positional('address', address), env).options({
          daemon: text(
            'Also say which run of this daemon last changed it (commit, approver), from its history (env POOLSYNC_DAEMON_URL)',
          ),
        }),
    },
    {
      command: 'forget <address> [dir]',
      aliases: ['rm'],
      describe:
        'Take an object out of management without deleting it: nothing is sent, and no later prune deletes it (Terraform: state rm)',
      builder: (y, env) =>
        stateOptions(y.positional('address', address), env).options({
          'lock-timeout': recordLockTimeout,
        }),
    },
  ],
  builder: (y) =>
    y
      .demandCommand(
        1,
        'Name a subcommand: `poolsync state list`, `state show ADDRESS` or `state forget ADDRESS` (`state rm`).',
      )
      .example('$0 state list', 'Everything poolsync applied here, and how it is now')
      .example('$0 state list Queue', 'Only the queues (also Queue/batch, Cluster/prod-*)')
      .example(
        '$0 state forget Queue/legacy',
        'Leave Queue/legacy alone from now on (or: state rm)',
      ),
};

const render = {
  command: 'render <what> [dir]',
  describe:
    'Write a generated configuration file from the manifests: flyte-core Helm values (labelClusterMap, clusterConfigs) or the Union self-managed pool -> clusters mapping',
  builder: (y: Argv) =>
    y
      .positional('what', {
        choices: ['flyte-core-values', 'union-cluster-pools'] as const,
        demandOption: true,
        describe: 'flyte-core-values | union-cluster-pools',
      })
      .positional('dir', configDir())
      .options({
        env: envOption(),
        out: text(
          'File to write (- for stdout); default: the path in poolsync.yaml render (written only when it changes, never over uncommitted edits), else stdout',
        ),
        stdout: flag('Print to stdout even when poolsync.yaml names a file'),
        check: flag('Write nothing; exit 1 when the file differs from what would be rendered'),
        'credentials-secret': text(
          'flyte-core-values: the Secret with the data-plane credentials; the chart mounts only cluster-credentials (V14)',
        ),
        base: text(
          'flyte-core-values: your own values file; its flyteadmin.additionalVolumes and additionalVolumeMounts are kept in the rendered lists (Helm replaces lists). Default: poolsync.yaml render.flyte-core-values.base',
        ),
      })
      .example(
        '$0 render flyte-core-values examples/flyte-oss --out values-clusters.yaml',
        'Helm values for flyte-core',
      )
      .example(
        '$0 render flyte-core-values . --base values-override.yaml --out values-clusters.yaml',
        'Keep your own flyteadmin volumes in the rendered lists',
      )
      .example(
        '$0 render union-cluster-pools examples/union-self-managed',
        'The mapping to hand to Union',
      ),
} satisfies Command;

const exportCommand = {
  command: 'export',
  describe: 'Write the live control-plane state as manifests (to adopt poolsync)',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .options({
        env: envOption(),
        'config-dir': configDirOption,
        'control-plane': controlPlane(env),
        dir: {
          type: 'string',
          // Required: writing into whatever folder the shell is in scattered four folders there.
          demandOption: 'name the folder to write into, e.g. --dir ./config (created if missing)',
          describe: 'Folder to write pools/, clusters/, queues/, assignments/ into (required)',
        },
        'token-file': tokenFile,
        'api-key-file': apiKeyFile,
        'state-dir': inventoryStateDir,
        inventory,
        force: flag('Overwrite manifest files that already exist'),
        ...limitFlags,
      })
      .example(
        '$0 export --control-plane https://cp.example.com --dir ./config',
        'adopt an existing organisation',
      ),
} satisfies Command;

const importCommand = {
  command: 'import [address..]',
  describe:
    'Write live objects (Kind/name, one or more, or --from FILE) as manifests in the config repository and manage them, all or none; a declared object forgotten by `state forget` is managed again',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional('address', {
        type: 'string',
        describe:
          'Kind/name, e.g. Cluster/prod-1, Queue/batch; PoolAssignment, DefaultQueue and ExecutionClusterLabel by project/domain[/workflow]; several: one lock and one inventory write',
        array: true,
      })
      .options({
        from: {
          type: 'string',
          describe:
            'File of addresses, one a line (# starts a comment; - reads stdin), imported with any given as arguments, all or none',
        },
        dir: configDir(
          "Config folder to write the manifest into (<kind folder>/<name>.yaml; with --env, under the environment's last folder that no other environment reads)",
        ),
        env: envOption(),
        ...credentials(env),
        'state-dir': inventoryStateDir,
        lock: applyLease,
        inventory,
        'lock-timeout': recordLockTimeout,
        force: flag('Overwrite the manifest file when it exists'),
        ...limitFlags,
      })
      .example('$0 import Cluster/legacy-1 --dir ./config', 'Adopt one unmanaged cluster')
      .example(
        '$0 import Cluster/legacy-1 Cluster/legacy-2 --dir ./config',
        'Adopt several at once: nothing is written unless every one can be',
      )
      .example(
        '$0 import --from legacy.txt --dir ./config',
        'Adopt the addresses listed in a file, one a line (a problem is named at legacy.txt:LINE)',
      )
      .example(
        '$0 import Queue/legacy --dir ./config',
        'Manage again what `state forget` left alone (its manifest stays as it is)',
      )
      .example(
        '$0 import PoolAssignment/flytesnacks/development',
        'Adopt one assignment (project/domain[/workflow])',
      ),
} satisfies Command;

/** One option per daemon setting (src/daemon/config-options.ts). */
const daemon = {
  command: 'daemon',
  describe:
    'Run the GitOps reconciler: follow a Git branch (or watch a folder), plan and apply changes, serve /status and /metrics',
  builder: (y: Argv) => {
    const settings: Record<string, Options> = {};
    for (const opt of DAEMON_OPTIONS)
      settings[opt.name] = {
        type: opt.kind === 'bool' ? 'boolean' : 'string',
        describe: `${opt.describe} [env ${opt.env}]`,
        group: 'Daemon settings:',
        defaultDescription: opt.default === undefined ? undefined : String(opt.default),
        choices: opt.choices && [...opt.choices],
      };
    return y
      .options({
        config: text('YAML file of settings (keys are the flag names); flags and env win over it'),
        quickstart: toggle(
          'Demo: embedded control plane (file:.poolsync/control-plane.json), watch this folder when it has poolsync.yaml (else the bundled examples/config-repo; --watch DIR: another), policy all, print each applied plan, serve on 127.0.0.1:8080 (or --listen / POOLSYNC_LISTEN)',
        ),
        // Typed by name in DaemonArgs: the settings' names are data.
        ...(settings as Record<never, Options>),
        ...notifyOptions,
      })
      .example('$0 daemon --quickstart', 'Local demo on the embedded control plane')
      .example(
        'POOLSYNC_GITHUB_WEBHOOK_SECRET_FILE=/run/secrets/gh $0 daemon --repo https://github.com/acme/pools.git --control-plane https://cp.example.com',
        'Follow main of a repository and apply it to a control plane',
      )
      .example('$0 daemon --watch ./pools --policy none', 'Plan every change of a folder on disk');
  },
} satisfies Command;
export type DaemonArgs = ArgsOf<typeof daemon.builder> & Record<string, unknown>;

/** A running daemon asked (Argo CD's `app get|sync|history`, Flux's `reconcile`). */
const daemonOutput = {
  type: 'string',
  choices: ['text', 'json'] as const,
  default: 'text' as const,
  describe: 'text, or the daemon’s own JSON',
} as const;

const oneEnvironment = { alias: 'e', ...text('With environments: only this one') } as const;

/** How long `sync` and `rollback` wait for their run: as long as a follower waits for it. */
export const DEFAULT_RUN_WAIT = '1h';

const status = {
  command: 'status',
  describe: 'What a running daemon reports: outcome, commit, control plane, last run, held changes',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .options({
        daemon: daemonOption(env),
        env: oneEnvironment,
        output: daemonOutput,
        'exit-code': toggle(
          'Exit 1 when the outcome (of any environment shown) is failed or invalid, as `sync` does',
        ),
      })
      .example('$0 status --daemon http://poolsync:8080', 'Is the control plane in sync?')
      .example('$0 status --exit-code', 'In a script: fail when the last run failed'),
} satisfies Command;

const sync = {
  command: 'sync',
  describe: 'Ask a running daemon to fetch and reconcile now, and show what the run did',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .options({
        daemon: daemonOption(env),
        env: { ...oneEnvironment, describe: 'With environments: reconcile only this one' },
        'admin-token-file': adminTokenFile,
        wait: flag('Wait for the run and show its result (--no-wait: only ask)', true),
        timeout: text(
          `With --wait: how long to wait for the run (its apply) before giving up, e.g. 10m, 2h (default ${DEFAULT_RUN_WAIT}); the daemon goes on with it`,
        ),
        'override-freeze': toggle(
          'Apply although applies are frozen (poolsync suspend, a sync window): this run only',
        ),
        output: daemonOutput,
      })
      .example('$0 sync --daemon http://poolsync:8080', 'Apply the newest commit now'),
} satisfies Command;

const freezeOptions = (env: NodeJS.ProcessEnv) => ({
  daemon: daemonOption(env),
  env: { ...oneEnvironment, describe: 'With environments: only this one (default: all)' },
  'admin-token-file': adminTokenFile,
});

const suspend = {
  command: 'suspend',
  describe:
    'Freeze a daemon’s applies (an incident, a change freeze): it still plans and detects drift, and applies nothing until `poolsync resume`',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .options({
        ...freezeOptions(env),
        reason: text('Why, shown in /status, on the dashboard and in each run’s message'),
        as: text('Who suspends, recorded with it (default: user@host)'),
      })
      .example('$0 suspend --reason "incident 42" --daemon http://poolsync:8080', 'Apply nothing'),
} satisfies Command;

const resume = {
  command: 'resume',
  describe: 'Lift `poolsync suspend`: the daemon runs at once and applies what waited',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .options(freezeOptions(env))
      .example('$0 resume --env prod --daemon http://poolsync:8080', 'Apply again in prod'),
} satisfies Command;

const history = {
  command: 'history [run]',
  describe:
    'The runs a daemon kept (across restarts), one run with its plan, or the runs that changed an object',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional('run', {
        describe: 'A run’s number (its plan), or an object’s address such as Queue/critical',
        // A number is a run; anything else is read as an address (daemon-client.ts history).
        coerce: (v: unknown): number | string =>
          /^\d+$/.test(String(v).trim()) ? Number(String(v).trim()) : String(v),
      })
      .options({
        daemon: daemonOption(env),
        env: oneEnvironment,
        result: {
          type: 'string',
          array: true,
          describe: `Only runs with this result (repeatable): ${KEPT_RESULTS.join(', ')}`,
        },
        output: daemonOutput,
      })
      .example('$0 history --daemon http://poolsync:8080', 'The last runs, newest first')
      .example('$0 history 12 --daemon http://poolsync:8080', 'What run 12 planned')
      .example('$0 history Queue/critical --result applied', 'The runs that changed a queue'),
} satisfies Command;

const rollback = {
  command: 'rollback <run>',
  describe:
    'Roll a daemon back to an earlier run (Argo CD’s `app rollback`): plan and apply, per policy, the commit that run applied; the branch head waits until a new commit lands or `poolsync resume`',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional('run', {
        describe: 'The run to go back to (`poolsync history`: one that applied or was in sync)',
        coerce: wholeNumber('<run>', 1),
        demandOption: true,
      })
      .options({
        daemon: daemonOption(env),
        env: { ...oneEnvironment, describe: 'With environments: the environment of the run' },
        'admin-token-file': adminTokenFile,
        reason: text('Why, shown in /status and on the dashboard'),
        as: text('Who rolls back, recorded with it (default: user@host)'),
        wait: flag('Wait for the rollback’s run and show it (--no-wait: only ask)', true),
        timeout: text(
          `With --wait: how long to wait for the run (its apply) before giving up, e.g. 10m, 2h (default ${DEFAULT_RUN_WAIT}); the daemon goes on with it`,
        ),
        output: daemonOutput,
      })
      .example('$0 rollback 12 --reason "incident 42" --daemon http://poolsync:8080', 'Go back'),
} satisfies Command;

const approve = {
  command: 'approve [fingerprint]',
  describe:
    'Approve the destructive changes a daemon holds under policy safe (exactly their fingerprint)',
  builder: (y: Argv, env: NodeJS.ProcessEnv) =>
    y
      .positional(
        'fingerprint',
        text('sha256:… of the held changes (GET /status approval.pending); omit to see them'),
      )
      .options({
        daemon: daemonOption(env),
        env: {
          ...oneEnvironment,
          describe:
            'With environments: only this one (default: the one holding the fingerprint or failures)',
        },
        'admin-token-file': adminTokenFile,
        as: text('Approver name recorded in /status and the run log (default: user@host)'),
        policies: {
          type: 'boolean',
          describe:
            'Approve the policy failures of the last plan instead (FINGERPRINT: their digest, /status policies.failures), as a listed owner (docs/policies.md)',
        } as const,
        reason: text('Why the policy failures are approved (recorded; needed with --policies)'),
      })
      .example('$0 approve --daemon http://poolsync:8080', 'Show what waits for approval')
      .example(
        '$0 approve sha256:3f… --daemon http://poolsync:8080',
        'Approve exactly those changes',
      ),
} satisfies Command;

export type DaemonClientArgs = ArgsOf<typeof status.builder> &
  ArgsOf<typeof sync.builder> &
  ArgsOf<typeof history.builder> &
  Partial<Pick<ArgsOf<typeof rollback.builder>, 'reason'>> &
  ArgsOf<typeof approve.builder> &
  Partial<ArgsOf<typeof suspend.builder>>;

const serve = {
  command: 'serve',
  describe:
    'Serve an embedded control plane over the REST API (schemas/control-plane.openapi.yaml)',
  builder: (y: Argv) =>
    y.options({
      listen: defaulted(DEFAULT_LISTEN, 'HOST:PORT to listen on (loopback by default)'),
      state: defaulted(
        DEFAULT_STATE_FILE,
        'State file (created when absent; its folder must exist, except the default .poolsync/ or with --create-folder)',
      ),
      'create-folder': flag(
        "Create the --state file's folder when it does not exist (a new control plane on purpose)",
      ),
      'token-file': text('Require this bearer token (file holding it)'),
      simulate: flag(
        'Enable /v1/sim/: cluster reports, in-flight work, latency and fault injection',
      ),
      'default-pool-contract': text(
        'YAML/JSON file with the `default` pool contract, used when the state is first created',
      ),
      capabilities: text(
        `Capabilities a new state is created with: comma-separated ${CAPABILITY_NAMES.join(', ')} (or none); for an existing state they must match the stored ones`,
      ),
      'oauth-client-file': text(
        "Also serve Union's Connect/gRPC API on this port, with OAuth2 client credentials for the client in this YAML file (client_id, client_secret, org, token_ttl_seconds, authorization_metadata_key); see docs/union.md",
      ),
      'union-accept-unauthenticated': flag(
        "With --oauth-client-file on a loopback --listen: also take Union API calls that carry no token, as Union's `flyte` CLI sends with --insecure (a token sent must still be valid); see docs/union.md",
      ),
      'flyte-project': {
        type: 'string',
        array: true,
        describe:
          "A project the stand-ins have registered (repeatable; as flyteadmin's seed-projects): flyteadmin's refuses attributes of other projects, as flyteadmin does; Union's lists it (ListProjects) with every domain",
      },
      'log-level': {
        type: 'string',
        default: 'info',
        choices: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const,
        describe: 'Request log level (logs go to stderr)',
      },
    }),
} satisfies Command;
export type ServeArgs = ArgsOf<typeof serve.builder>;

const capabilities = {
  command: 'capabilities',
  describe: 'Show or change (--set) the capabilities stored with an embedded control-plane state',
  builder: (y: Argv) =>
    y.options({
      state: defaulted(
        DEFAULT_STATE_FILE,
        'State file (it must exist: this command never creates one)',
      ),
      set: text(`Comma-separated ${CAPABILITY_NAMES.join(', ')}, or none`),
    }),
} satisfies Command;
export type CapabilitiesArgs = ArgsOf<typeof capabilities.builder>;

const controlPlaneCommand: Command = {
  command: 'control-plane',
  describe: 'Run a control plane (the embedded one, over HTTP)',
  subcommands: [serve, capabilities],
  builder: (y) =>
    y.demandCommand(
      1,
      'Name a subcommand: `poolsync control-plane serve` or `poolsync control-plane capabilities`.',
    ),
};

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const INSTALL: Record<Shell, string> = {
  bash: 'poolsync completion bash >> ~/.bashrc   (or: source <(poolsync completion bash))',
  zsh: 'poolsync completion zsh > "${fpath[1]}/_poolsync"   (or append it to ~/.zshrc)',
  fish: 'poolsync completion fish > ~/.config/fish/completions/poolsync.fish',
};

const completion = {
  command: 'completion <shell>',
  describe: 'Print the shell completion script for bash, zsh or fish',
  builder: (y: Argv) =>
    y
      .positional('shell', { choices: SHELLS, demandOption: true, describe: 'The shell' })
      .example('source <(poolsync completion bash)', 'Completion in this bash session')
      .example(
        'poolsync completion fish > ~/.config/fish/completions/poolsync.fish',
        'Install for fish',
      )
      .epilog(`Install:\n  ${SHELLS.map((s) => INSTALL[s]).join('\n  ')}`),
} satisfies Command;

/** By name, in the order `--help` lists them. */
const BY_NAME = {
  init,
  validate,
  check,
  plan,
  apply,
  promote,
  show,
  state,
  render,
  export: exportCommand,
  import: importCommand,
  daemon,
  status,
  sync,
  history,
  rollback,
  approve,
  suspend,
  resume,
  'control-plane': controlPlaneCommand,
  completion,
};
export const COMMANDS: Record<string, Command> = BY_NAME;

export type Args<N extends keyof typeof BY_NAME> = ArgsOf<
  NonNullable<(typeof BY_NAME)[N]['builder']>
>;
