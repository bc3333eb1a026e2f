/**
 * The commands that run for days (`daemon`, `control-plane serve`) rather than once: their
 * young generation keeps V8's defaults (young-generation.ts) and, in the built CLI, they run
 * tsc's modules rather than the start-up bundle (main.ts). `control-plane capabilities` is a
 * one-shot command like the others.
 */

/** Whether a run of the CLI with ARGV is a long-running command. */
export function isLongRunning(argv: readonly string[]): boolean {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  if (words[0] === 'daemon') return true;
  return words[0] === 'control-plane' && words.includes('serve');
}
