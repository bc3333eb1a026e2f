import { escapeTerminal } from './terminal-text.js';

/** Quotes a word for a POSIX shell when it needs it (runbooks, the commands of manual steps). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command a message tells a person to run: its words, then `--flag value` for each flag given,
 * each quoted for a shell, control characters escaped for the terminal.
 */
export function commandLine(
  words: readonly string[],
  flags: Readonly<Record<string, string | undefined>> = {},
): string {
  const given = Object.entries(flags).flatMap(([flag, v]) =>
    v === undefined ? [] : [`--${flag}`, v],
  );
  return escapeTerminal([...words, ...given].map(shellQuote).join(' '));
}
