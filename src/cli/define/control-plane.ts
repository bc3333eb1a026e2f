/**
 * `poolsync control-plane serve|capabilities`: their options; the work is in
 * ../commands/control-plane.ts.
 */
import { CAPABILITY_NAMES } from '../../model/capabilities.js';
import type { CapabilitiesArgs, ServeArgs } from '../commands/control-plane.js';
import { DEFAULT_LISTEN, DEFAULT_STATE_FILE } from '../options.js';
import type { Command } from './command.js';

const serve: Command<ServeArgs> = {
  command: 'serve',
  describe:
    'Serve an embedded control plane over the REST API (schemas/control-plane.openapi.yaml)',
  builder: (y) =>
    y
      .option('listen', {
        type: 'string',
        default: DEFAULT_LISTEN,
        describe: 'HOST:PORT to listen on (loopback by default)',
      })
      .option('state', {
        type: 'string',
        default: DEFAULT_STATE_FILE,
        describe:
          'State file (created when absent; its folder must exist, except the default .poolsync/ or with --create-folder)',
      })
      .option('create-folder', {
        type: 'boolean',
        default: false,
        describe:
          "Create the --state file's folder when it does not exist (a new control plane on purpose)",
      })
      .option('token-file', {
        type: 'string',
        describe: 'Require this bearer token (file holding it)',
      })
      .option('simulate', {
        type: 'boolean',
        default: false,
        describe: 'Enable /v1/sim/: cluster reports, in-flight work, latency and fault injection',
      })
      .option('default-pool-contract', {
        type: 'string',
        describe:
          'YAML/JSON file with the `default` pool contract, used when the state is first created',
      })
      .option('capabilities', {
        type: 'string',
        describe: `Capabilities a new state is created with: comma-separated ${CAPABILITY_NAMES.join(', ')} (or none); for an existing state they must match the stored ones`,
      })
      .option('oauth-client-file', {
        type: 'string',
        describe:
          "Also serve Union's Connect/gRPC API on this port, with OAuth2 client credentials for the client in this YAML file (client_id, client_secret, org, token_ttl_seconds, authorization_metadata_key); see docs/union.md",
      })
      .option('flyte-project', {
        type: 'string',
        array: true,
        describe:
          "A project the flyteadmin stand-in has registered (repeatable; as flyteadmin's seed-projects): attributes of other projects are refused, as flyteadmin refuses them",
      })
      .option('log-level', {
        type: 'string',
        default: 'info',
        choices: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'],
        describe: 'Request log level (logs go to stderr)',
      }),
  run: async (args, io) => (await import('../commands/control-plane.js')).serve(args, io),
};
/** Shows or changes the capabilities stored with an embedded state (journaled like any write). */
const capabilities: Command<CapabilitiesArgs> = {
  command: 'capabilities',
  describe: 'Show or change (--set) the capabilities stored with an embedded control-plane state',
  builder: (y) =>
    y
      .option('state', {
        type: 'string',
        default: DEFAULT_STATE_FILE,
        describe: 'State file (it must exist: this command never creates one)',
      })
      .option('set', {
        type: 'string',
        describe: `Comma-separated ${CAPABILITY_NAMES.join(', ')}, or none`,
      }),
  run: async (args, io) => (await import('../commands/control-plane.js')).capabilities(args, io),
};

export const controlPlane: Command = {
  command: 'control-plane',
  describe: 'Run a control plane (the embedded one, over HTTP)',
  subcommands: [serve, capabilities],
  builder: (y) =>
    y.demandCommand(
      1,
      'Name a subcommand: `poolsync control-plane serve` or `poolsync control-plane capabilities`.',
    ),
};
