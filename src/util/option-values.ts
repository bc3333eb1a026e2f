/**
 * Option values yargs reads loosely, read as the CLI means them: a value of one option given
 * twice (yargs makes a list), a whole number (yargs's `type: 'number'` makes `abc` NaN).
 */
import { UserError } from './user-error.js';

/** An option of one value given more than once (yargs makes a list of it): refused. */
export function givenTwice(option: string, values: readonly unknown[]): UserError {
  const shown = values.map((v) => JSON.stringify(String(v))).join(', ');
  return new UserError(
    `Option --${option} was given ${values.length} times (${shown}): give it once.`,
  );
}

/**
 * A whole-number `coerce`: yargs's `type: 'number'` would turn `abc` into NaN and say NaN. A
 * positional is named as its usage writes it (`<run>`), not as an option the user did not type.
 */
export function wholeNumber(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const named = flag.startsWith('<') ? flag : `--${flag}`;
  return (value: unknown): number => {
    if (Array.isArray(value) && value.length > 1)
      throw givenTwice(flag.replace(/[<>]/g, ''), value);
    const text = String(Array.isArray(value) ? value.at(-1) : value).trim();
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new UserError(
        `${named} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`} (got ${JSON.stringify(text)})`,
      );
    return n;
  };
}
