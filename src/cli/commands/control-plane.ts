/** `control-plane serve` until SIGINT/SIGTERM, then closed cleanly; `capabilities`. */
import { stat } from 'node:fs/promises';
import { CONFIG_FILE_BYTES, readUserFile } from '../../util/safe-file.js';
import { resolve } from 'node:path';
import { EmbeddedControlPlane } from '../../controlplane/embedded/embedded.js';
import { isControlPlaneError } from '../../controlplane/errors.js';
import { checkStateFolder, readTokenFile } from '../../controlplane/open.js';
import { validateContract } from '../../controlplane/embedded/validate.js';
import { typeWords } from '../../util/redact.js';
import { newStateUndo } from '../../controlplane/embedded/store.js';
import type { Capabilities, PoolContract } from '../../model/common.js';
import {
  CAPABILITY_NAMES,
  formatCapabilities,
  parseCapabilities,
  sameCapabilities,
} from '../../model/capabilities.js';
import { closest } from '../../manifests/suggest.js';
import { shellQuote } from '../../util/shell-quote.js';
import { UserError } from '../../util/user-error.js';
import type { ProtocolMount } from '../../controlplane/embedded/server.js';
import { nextSignal, type Io } from '../io.js';
import { parseListen } from '../../daemon/config-options.js';
import { isLoopback, listenRefusal } from '../../util/reach.js';
import { DEFAULT_STATE_FILE } from '../../controlplane/default-url.js';
import { DEFAULT_LISTEN, type CapabilitiesArgs, type ServeArgs } from '../define.js';

/** P2 contract from a YAML/JSON file: a bare contract, or a ClusterPool manifest (its spec). */
async function readContractFile(path: string): Promise<PoolContract> {
  const what = '--default-pool-contract';
  const text = (await readUserFile(path, { maxBytes: CONFIG_FILE_BYTES, what })).toString();
  const { load, yamlFileProblem } = await import('../../util/js-yaml.js');
  let doc: unknown;
  try {
    doc = load(text);
  } catch (err) {
    throw new UserError(yamlFileProblem(path, err));
  }
  const manifest = doc as { kind?: unknown; spec?: unknown } | null;
  const contract = manifest && manifest.kind === 'ClusterPool' ? manifest.spec : doc;
  try {
    return validateContract(contract, 'ClusterPool/default', (v) => `(${typeWords(v)})`);
  } catch (err) {
    if (isControlPlaneError(err)) throw new UserError(`${path}: ${err.message}`);
    throw err;
  }
}

export async function serve(args: ServeArgs, io: Io): Promise<number> {
  // The server's modules load here, not for `control-plane capabilities` (a CLI start-up
  // that loaded them all cost every short command their import time).
  const [
    { pino },
    { startControlPlaneServer },
    { readOAuthClientFile, unionOAuthServer },
    gateway,
  ] = await Promise.all([
    import('pino'),
    import('../../controlplane/embedded/server.js'),
    import('../../standins/union/oauth-client-file.js'),
    import('../../standins/flyteadmin/gateway.js'),
  ]);
  const { host, port } = parseListen(
    args.listen,
    `--listen "${args.listen}" is not HOST:PORT (e.g. ${DEFAULT_LISTEN}, or 0.0.0.0:7480 to accept remote clients)`,
  );
  const token = args['token-file'] ? (await readTokenFile(args['token-file'])).secret : undefined;
  const contractFile = args['default-pool-contract'];
  const defaultPoolContract = contractFile ? await readContractFile(contractFile) : undefined;
  const logger = pino(
    {
      level: args['log-level'],
      base: { component: 'control-plane' },
      // The daemon's time format (src/daemon/logger.ts): ISO 8601, readable without converting.
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    io.stderr,
  );
  const oauthFile = args['oauth-client-file'];
  const acceptUnauthenticated = args['union-accept-unauthenticated'];
  if (acceptUnauthenticated && !oauthFile)
    throw new UserError(
      '--union-accept-unauthenticated needs --oauth-client-file FILE: it opens the Union API that file configures',
    );
  if (acceptUnauthenticated && !isLoopback(host))
    throw new UserError(
      `--union-accept-unauthenticated serves the Union API without a token, so only on loopback: --listen "${args.listen}" is not 127.0.0.1, ::1 or localhost`,
    );
  const oauthClient = oauthFile ? await readOAuthClientFile(oauthFile) : undefined;
  const oauth = oauthClient ? unionOAuthServer(oauthClient) : undefined;
  const statePath = resolve(args.state);
  checkStateFolder(`file:${statePath}`, { createFolder: args['create-folder'] }, '--state');
  const undoNewState = await newStateUndo(statePath);
  // A Union client assumes Union's capabilities (Union has no capability API): a new state
  // served through Union's API has them unless --capabilities says otherwise.
  const unionCapabilities = oauthClient
    ? (await import('../../controlplane/union/union.js')).UNION_CAPABILITIES
    : undefined;
  const controlPlane = await EmbeddedControlPlane.open({
    path: statePath,
    defaultPoolContract,
    capabilities:
      args.capabilities === undefined
        ? undefined
        : capabilitiesFlag('--capabilities', args.capabilities),
    newStateCapabilities: unionCapabilities,
  });
  let server;
  try {
    // Union's API with its OAuth2 server (loaded only when asked: connect and protobuf cost
    // start-up), and flyteadmin's attribute paths, which take that server's tokens (one token
    // endpoint), else with a token OAuth2 client `poolsync`, secret: the token (docs/flyte-oss.md).
    const mounts: ProtocolMount[] = [];
    if (oauth && oauthClient) {
      const { createUnionApi } = await import('../../standins/union/union-api.js');
      const projects = args['flyte-project'] ?? [];
      mounts.push(
        createUnionApi({
          controlPlane,
          oauth,
          org: oauthClient.org,
          logger,
          projects,
          acceptUnauthenticated,
        }),
      );
    }
    mounts.push({
      handle: gateway.flyteadminGateway({
        seed: { projects: args['flyte-project'] ?? [] },
        sharedAuth: oauth
          ? gateway.flyteadminAuth(oauth, oauth.authorizationMetadataKey)
          : undefined,
        oauth: !oauth && token ? { clientId: 'poolsync', clientSecret: token } : undefined,
      }),
    });
    server = await startControlPlaneServer({
      controlPlane,
      host,
      port,
      simulate: args.simulate,
      logger,
      token,
      mounts,
    });
  } catch (err) {
    // The store is closed, a state it made removed; a port the server cannot take is a UserError.
    await controlPlane.close();
    await undoNewState();
    const refusal = listenRefusal(args.listen, err);
    if (refusal !== null) throw new UserError(refusal);
    throw err;
  }
  const served = await controlPlane.capabilities();
  logger.info(
    {
      url: server.url,
      state: resolve(args.state),
      auth: token ? 'bearer' : 'none',
      union_api: oauthClient
        ? { org: oauthClient.org, accept_unauthenticated: acceptUnauthenticated }
        : false,
      simulate: args.simulate,
      capabilities: formatCapabilities(served),
    },
    'control plane listening',
  );
  if (unionCapabilities && !sameCapabilities(served, unionCapabilities))
    logger.warn(
      { capabilities: formatCapabilities(served) },
      unionCapabilitiesWarning(statePath, served, unionCapabilities),
    );
  if (!token && !['127.0.0.1', '::1', 'localhost'].includes(host))
    logger.warn(
      { listen: args.listen },
      'listening beyond loopback without a token: anyone who can connect can change the control plane; pass --token-file',
    );
  if (acceptUnauthenticated)
    logger.warn(
      { listen: args.listen },
      "Union API calls without a token are accepted (--union-accept-unauthenticated): any local process can change this control plane through Union's API",
    );
  // One line on stdout for scripts and tests to wait on.
  io.stdout.write(`control plane listening on ${server.url}\n`);
  logger.info({ signal: await nextSignal(io) }, 'shutting down');
  await server.close();
  await controlPlane.close();
  return 0;
}

/**
 * Union's API served with fewer capabilities than Union's: its clients plan calls (a drain, a
 * delete, a move) that this server then refuses.
 */
function unionCapabilitiesWarning(path: string, served: Capabilities, union: Capabilities): string {
  const missing = CAPABILITY_NAMES.filter((n) => union[n] && !served[n]);
  return (
    `Union's API is served without ${missing.join(', ')}: a Union client (poolsync's union ` +
    `backend) assumes Union's capabilities, so its plans promise steps this server refuses; ` +
    `to serve Union's set, stop the server and run \`poolsync control-plane capabilities ` +
    `--state ${shellQuote(path)} --set ${formatCapabilities(union)}\``
  );
}

/** `--capabilities` (serve) or `--set` (capabilities): a refusal names the flag given. */
function capabilitiesFlag(flag: '--capabilities' | '--set', value: string): Capabilities {
  const parsed = parseCapabilities(value);
  if (parsed.ok) return parsed.capabilities;
  const names = value.split(',').map((n) => n.trim());
  const typo = names.find((n) => !(CAPABILITY_NAMES as readonly string[]).includes(n));
  const hit = typo === undefined ? null : closest(typo, CAPABILITY_NAMES);
  const error = hit
    ? parsed.error.replace(`"${typo}"`, `"${typo}" (did you mean ${hit}?)`)
    : parsed.error;
  throw new UserError(`${flag}: ${error}`);
}

export async function capabilities(args: CapabilitiesArgs, io: Io): Promise<number> {
  const path = resolve(args.state);
  // A bad value is said first, whether or not the state exists.
  const set = args.set === undefined ? undefined : capabilitiesFlag('--set', args.set);
  // A typo must not create a new organisation: only a state that exists is shown or changed.
  if (!(await stat(path).catch(() => null))?.isFile())
    throw new UserError(
      `no control-plane state at ${path}: check --state (default ${DEFAULT_STATE_FILE}). A state is created by ` +
        `\`poolsync apply\`, \`poolsync control-plane serve --state FILE [--capabilities …]\` or \`poolsync daemon --quickstart\`; ` +
        `a new one with capabilities: --control-plane "file:FILE?capabilities=drain,queue_delete"`,
    );
  const cp = await EmbeddedControlPlane.open({ path, readOnly: set === undefined });
  try {
    if (set !== undefined) {
      try {
        await cp.setCapabilities(set);
      } catch (err) {
        if (isControlPlaneError(err)) throw new UserError(`${resolve(args.state)}: ${err.message}`);
        throw err;
      }
    }
    io.stdout.write(`${formatCapabilities(await cp.capabilities())}\n`);
  } finally {
    await cp.close();
  }
  return 0;
}
