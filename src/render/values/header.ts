/**
 * The header of a generated file: which commit of the config repository it comes from and how
 * to regenerate it. Comparisons (plan's diff, the daemon's commit) ignore it, so a file that
 * only differs by the commit it names is not a change.
 */
import { GENERATED_MARK } from '../../manifests/config.js';

export { GENERATED_MARK };

export function header(commit: string | null, command: string, extra: string[] = []): string {
  const from =
    commit === null
      ? 'from a config folder with uncommitted changes (no commit)'
      : `from commit ${commit} of the config repository`;
  return [
    `${GENERATED_MARK} ${from}.`,
    `# Do not edit: change the manifests and run \`${command}\`.`,
    ...extra.map((l) => `# ${l}`),
    // A blank line ends the header (body() strips through it).
    '',
    '',
  ].join('\n');
}

/** The content without the generated header (through its closing blank line), for comparisons. */
export function body(text: string): string {
  const lines = text.split('\n');
  if (!lines[0]?.startsWith(GENERATED_MARK)) return text;
  const end = lines.indexOf('');
  return end === -1 ? '' : lines.slice(end + 1).join('\n');
}
