/**
 * `--log-format json` for every command: each line a
 * command writes to stderr (errors, warnings, progress notes) becomes one JSON record in the
 * daemon's shape — {level, time, name, command, msg}, pino's numeric levels — so CI and log
 * collectors parse both alike. stdout (the plan, the report) is the command's output and is
 * left as it is. The daemon logs through pino on stdout; what it writes to stderr before its
 * logger exists (a configuration error) goes through here too.
 */
import { rewriting, type Output } from './io.js';

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

export const logFormatOption = {
  choices: LOG_FORMATS,
  describe:
    "json: diagnostics on stderr as JSON lines, like the daemon's logs (env POOLSYNC_LOG_FORMAT)",
  global: true,
} as const;

/** Read from argv before yargs parses it, so that a parse error is a JSON record too. */
export function wantsJsonLogs(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  let value: string | undefined = env.POOLSYNC_LOG_FORMAT;
  argv.forEach((a, i) => {
    if (a === '--log-format') value = argv[i + 1];
    else if (a.startsWith('--log-format=')) value = a.slice('--log-format='.length);
  });
  return value === 'json';
}

const LEVELS = { error: 50, warn: 40, info: 30 } as const;

/** Errors: `Error: …`, `file:line:col: CODE …`, `… invalid …`; warnings: `Warning: …`. */
function levelOf(line: string): number {
  if (/^(Error|Internal error)\b/.test(line) || /^\S+:\d+:\d+: /.test(line)) return LEVELS.error;
  if (/\b(invalid|failed|refused|errors?)\b/i.test(line)) return LEVELS.error;
  if (/^Warning\b/i.test(line)) return LEVELS.warn;
  return LEVELS.info;
}

/**
 * STDERR with every line written to it made one JSON record; `end` writes what is left of an
 * unfinished last line.
 */
export function jsonStderr(
  stderr: Output,
  command: string | null,
  now: () => number = Date.now,
): { stderr: Output; end(): void } {
  let partial = '';
  const record = (line: string, level: number): string => {
    const msg = line.replace(/^(Error|Warning): /, '');
    // The daemon's record shape and time format (pino's isoTime), whichever process wrote it.
    const time = new Date(now()).toISOString();
    const name = command === 'daemon' ? 'poolsync-daemon' : 'poolsync';
    return `${JSON.stringify({ level, time, name, command, msg })}\n`;
  };
  const json = rewriting(stderr, (text) => {
    partial += text;
    // One record per line; the lines of one write share the level of the first (an error's
    // `Run poolsync --help` hint stays an error).
    let records = '';
    let level: number | null = null;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.trim() === '') continue;
      level = Math.max(level ?? 0, levelOf(line));
      records += record(line, level);
    }
    return records;
  });
  const end = (): void => {
    if (partial.trim() !== '') stderr.write(record(partial, levelOf(partial)));
    partial = '';
  };
  return { stderr: json, end };
}
