/** Typed control-plane errors (domain.md, Errors). */
import {
  connectAdvice,
  describeConnectFailure,
  proxyWords,
  type ConnectFailure,
} from '../util/reach.js';
import { handshakeWords, limitWords, type TransportLimits } from '../util/transport-limits.js';

/** Each error code and the HTTP status of poolsync's REST API for it (embedded/server.ts). */
export const ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 412,
  UNAUTHENTICATED: 401,
  /** Never sent by poolsync's server (its token grants all); a proxy's or another server's 403. */
  PERMISSION_DENIED: 403,
  UNAVAILABLE: 503,
} as const;
export type ControlPlaneErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ControlPlaneErrorCode[];

export class ControlPlaneError extends Error {
  override readonly name = 'ControlPlaneError';
  constructor(
    readonly code: ControlPlaneErrorCode,
    message: string,
    /** Object address (`Cluster/prod-1`) when the error is about one object. */
    readonly address: string | null = null,
    /** Rule id of domain.md (`P5`, `C7` …) when a rule rejected the call. */
    readonly rule: string | null = null,
  ) {
    super(message);
  }

  /** Timeouts and connection failures are UNAVAILABLE too. */
  get transient(): boolean {
    return this.code === 'UNAVAILABLE';
  }
}

/** Transient: a server or a connection failing, or a limit that ended the call. */
export const unavailable = (message: string, address: string | null = null) =>
  new ControlPlaneError('UNAVAILABLE', message, address);

/**
 * Nothing answered at all (util/reach.ts). Every backend says it the same way, after the
 * fast-fail budget, and a caller never retries it again or adds a hint about something else.
 */
export class UnreachableError extends ControlPlaneError {
  constructor(
    message: string,
    readonly failure: ConnectFailure,
    /** Where nothing answered: a token endpoint may be another server than the call's. */
    readonly origin: string,
    /** The same words after `attempts` attempts: a caller's loop may retry what failed once. */
    readonly after: (attempts: number) => UnreachableError,
  ) {
    super('UNAVAILABLE', message);
  }
}

/** Where a control plane's URL comes from, for what to check. */
const CONTROL_PLANE_SETTING = '--control-plane (env POOLSYNC_CONTROL_PLANE)';

/**
 * `GET http://127.0.0.1:9/v1/pools: cannot reach the control plane: nothing accepts connections
 * at http://127.0.0.1:9 (ECONNREFUSED, 3 attempts); is it running, and is --control-plane (env
 * POOLSYNC_CONTROL_PLANE) right?`
 */
export function unreachable(
  prefix: string,
  what: string,
  origin: string,
  failure: ConnectFailure,
  attempts: number,
  /** Its connect timeout is said when it fired. */
  limits: TransportLimits,
  /** Default: check the --control-plane URL. */
  advice?: string,
): UnreachableError {
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  const after = (n: number) => unreachable(prefix, what, origin, failure, n, limits, advice);
  if (failure.kind === 'handshake')
    return new UnreachableError(
      `${prefix}: ${handshakeWords(limits, origin)} (${tries})`,
      failure,
      origin,
      after,
    );
  // poolsync's own codes (a limit that fired) mean nothing to the reader: the words say it.
  const code = failure.code.startsWith('POOLSYNC_') ? '' : `${failure.code}, `;
  const check =
    failure.kind === 'timeout'
      ? limitWords('connect', limits)
      : connectAdvice(failure, origin, CONTROL_PLANE_SETTING, advice);
  return new UnreachableError(
    `${prefix}: cannot reach ${what}: ${describeConnectFailure(failure, origin)} (${code}${tries}); ${check}${proxyWords(failure, limits.proxyVariable)}`,
    failure,
    origin,
    after,
  );
}

/** Rethrows `err` with `objectAddress` when it has none (the server's body may have lost it). */
export function withAddress(objectAddress: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof ControlPlaneError && err.address === null)
      throw new ControlPlaneError(err.code, err.message, objectAddress, err.rule);
    throw err;
  };
}

export function isControlPlaneError(
  err: unknown,
  code?: ControlPlaneErrorCode,
): err is ControlPlaneError {
  return err instanceof ControlPlaneError && (code === undefined || err.code === code);
}

/** The rule each capability lifts when on (domain.md, Capabilities). */
const BASELINE_RULE = {
  drain: 'C9',
  queue_delete: 'Q6',
  cluster_move: 'C7',
  pool_update: 'P4',
  // Without soft deletes a delete is final: nothing to undelete (Q6).
  soft_delete: 'Q6',
  // Without it the default queue is always active and never deleted.
  default_delete: 'Q5',
} as const;

/** The error of a capability call on a control plane that reports the capability off. */
export function capabilityOff(
  capability: keyof typeof BASELINE_RULE,
  objectAddress: string,
): ControlPlaneError {
  return new ControlPlaneError(
    'FAILED_PRECONDITION',
    `${objectAddress}: this control plane does not support ${capability} (capability off, ${BASELINE_RULE[capability]})`,
    objectAddress,
    BASELINE_RULE[capability],
  );
}
