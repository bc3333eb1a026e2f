/**
 * The commands that run for days (`daemon`, `control-plane serve`) rather than once: their
 * young generation keeps V8's defaults (young-generation.ts) and, in the built CLI, they run
 * tsc's modules rather than the start-up bundle (main.ts).
 */
const LONG_RUNNING = new Set(['daemon', 'control-plane']);

/** Whether a run of the CLI with ARGV is a long-running command. */
export function isLongRunning(argv: readonly string[]): boolean {
  const command = argv.find((arg) => !arg.startsWith('-'));
  return command !== undefined && LONG_RUNNING.has(command);
}
