/**
 * js-yaml, its CommonJS build. The package's ESM build (`dist/js-yaml.mjs`, what `import
 * 'js-yaml'` resolves to) parses the same files ~1.5× slower than its CommonJS build
 * (`dist/js-yaml.cjs.js`) in Node 20 (bench/README.md: a 10,000-object folder, 0.34 s
 * against 0.21 s as whole processes), so every module takes js-yaml from here: one build
 * loaded once, and one YAMLException class for `instanceof`.
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
