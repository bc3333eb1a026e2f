/**
 * js-yaml's CommonJS build: its ESM build (what `import 'js-yaml'` resolves to) parses ~1.5×
 * slower in Node 20 (bench/README.md: a 10,000-object folder, 0.34 s against 0.21 s), so every
 * module takes js-yaml from here: one build, one YAMLException class for `instanceof`.
 */
import { createRequire } from 'node:module';
import type * as JsYamlModule from 'js-yaml';

const jsYaml = createRequire(import.meta.url)('js-yaml') as typeof JsYamlModule;

export const {
  CORE_SCHEMA,
  EVENT_ID,
  SCALAR_STYLE,
  YAMLException,
  dump,
  getScalarValue,
  load,
  parseEvents,
} = jsYaml;
export type { Event, ScalarEvent } from 'js-yaml';

/**
 * Why a YAML file (a setting or input file, not a manifest) does not parse, in one line at
 * `file:line:column` as manifests' errors are: js-yaml's own message spans lines with a snippet.
 */
export function yamlFileProblem(path: string, err: unknown): string {
  if (!(err instanceof jsYaml.YAMLException)) return `${path}: not valid YAML: ${String(err)}`;
  const at = err.mark ? `:${err.mark.line + 1}:${err.mark.column + 1}` : '';
  return `${path}${at}: not valid YAML: ${err.reason}`;
}
