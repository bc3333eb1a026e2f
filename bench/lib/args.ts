/**
 * A dev tool's command line (node:util's parseArgs): an option it does not take is one line
 * saying where its options are written, not a stack trace.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** `tool`: the tool's import.meta.url, whose header comment lists its options. */
export function toolArgs<T extends ParseArgsConfig>(
  config: T,
  tool: string,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const where = relative(process.cwd(), fileURLToPath(tool));
    const said = (err as Error).message.replace(/\.?$/, '.');
    process.stderr.write(`${said} Its options are in the comment atop ${where}.\n`);
    process.exit(2);
  }
}
