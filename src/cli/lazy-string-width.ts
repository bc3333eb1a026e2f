/**
 * `string-width` for yargs and cliui, loaded on first use (main.ts redirects their imports
 * here). The real module builds an Intl.Segmenter and Unicode-property regular expressions when
 * it loads: 30-100 ms of every command's start-up, for a function only help output calls.
 * `?from=URL` names the importer, so each gets the copy it depends on.
 */
import { createRequire } from 'node:module';

const from = new URL(import.meta.url).searchParams.get('from') ?? import.meta.url;
let width: ((text: string) => number) | null = null;

export default function stringWidth(text: string): number {
  width ??= (createRequire(from)('string-width') as { default: (text: string) => number }).default;
  return width(text);
}
