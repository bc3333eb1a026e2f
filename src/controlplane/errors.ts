/** Typed control-plane errors (domain.md, Errors). */

export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'UNAUTHENTICATED',
  'UNAVAILABLE',
] as const;
export type ControlPlaneErrorCode = (typeof ERROR_CODES)[number];

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

  /** Only UNAVAILABLE (and timeouts/connection failures, mapped to it) is transient. */
  get transient(): boolean {
    return this.code === 'UNAVAILABLE';
  }
}

export function isControlPlaneError(
  err: unknown,
  code?: ControlPlaneErrorCode,
): err is ControlPlaneError {
  return err instanceof ControlPlaneError && (code === undefined || err.code === code);
}
