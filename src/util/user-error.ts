/**
 * An error the user caused and can fix (bad flag, missing file, invalid repo, stale plan):
 * printed as one message, never with a stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
