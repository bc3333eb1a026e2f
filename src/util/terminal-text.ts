/**
 * Untrusted text on its way to a terminal or a log line (docs/security.md), for every renderer.
 * File names, YAML values, names read from a control plane and server messages may hold ESC
 * (colours, cursor moves, screen clears), CR (overwrite the line), LF (forge a new line, e.g. an
 * `OK`), NUL, C1 controls (a lone 0x9b is CSI on some terminals) and Unicode bidi overrides
 * (U+202E reverses what follows). Each becomes a visible escape (`\x1b`, `\n`, `\u{202e}`), so
 * one value stays on its line and shows what it really holds.
 */

/**
 * C0 and C1 controls, DEL, bidi marks, line/paragraph separators; and what shows as nothing
 * (soft hyphen, zero-width and invisible characters, BOM, interlinear annotation marks), so
 * `run_\u{feff}concurrency` does not read as `run_concurrency` (issue 38, item 12).
 */
/* eslint-disable no-control-regex -- these are the characters to find */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/g;
/* eslint-enable no-control-regex */

export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Combining marks: shown as escapes in text that is not in NFC (see escapeTerminal). */
const MARK = /\p{M}/u;
const MARKS = /\p{M}/gu;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * `text` with every control, bidi or invisible character as an escape. Text not in NFC (`cafe` +
 * U+0301, as macOS writes file names) shows its combining marks as escapes too, so names that
 * look alike (`café.yaml` NFC and NFD) are told apart.
 */
export function escapeTerminal(text: string): string {
  // One simple test, not two: a plan of 100,000 creates escapes ~800,000 lines.
  if (PRINTABLE_ASCII.test(text)) return text;
  UNSAFE.lastIndex = 0;
  const out = UNSAFE.test(text) ? text.replace(UNSAFE, escapeChar) : text;
  if (!MARK.test(out) || out === out.normalize('NFC')) return out;
  return out.replace(MARKS, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

const UNSAFE_IN_JSON =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/g;

const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * JSON text with what JSON leaves raw but a terminal obeys or shows as nothing (DEL, C1, bidi,
 * zero-width, BOM) as `\uXXXX` escapes: still the same JSON value.
 */
export function escapeJsonForTerminal(json: string): string {
  // ASCII, as nearly every plan is, can hold only DEL of these: two native scans instead of the
  // pattern's, ~3x faster over the 223 MB of a saved plan of 100,000 creates (issue 79).
  if (Buffer.byteLength(json) === json.length && !json.includes('\u007f')) return json;
  UNSAFE_IN_JSON.lastIndex = 0;
  return UNSAFE_IN_JSON.test(json) ? json.replace(UNSAFE_IN_JSON, unicodeEscape) : json;
}

/**
 * What poolsync never writes itself, as `\uXXXX` (an escape in text, the same JSON in JSON): the
 * last line of defence of every command's output (src/cli/run.ts), behind the renderers' own
 * escaping. ESC but the colour sequences (SGR) the renderers write; tab and newline are kept.
 * One character class, ESC in it, then "not an ESC that starts a colour": V8 scans this a third
 * faster than `\u001b(?!\[[0-9;]*m)|[…]` (36 vs 55 ms over a 100k plan's 32.7 MB of text).
 */
/* eslint-disable no-control-regex -- these are the characters to find */
const STRAY =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff](?<!\u001b(?=\[[0-9;]*m))/g;
/* eslint-enable no-control-regex */

export function escapeStrayControls(text: string): string {
  STRAY.lastIndex = 0;
  return STRAY.test(text) ? text.replace(STRAY, unicodeEscape) : text;
}

/** Strings anywhere in a log record's fields, escaped (objects copied, at most `depth` deep). */
export function escapeLogValue(value: unknown, depth = 6): unknown {
  if (typeof value === 'string') return escapeTerminal(value);
  if (depth === 0 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => escapeLogValue(v, depth - 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[escapeTerminal(k)] = escapeLogValue(v, depth - 1);
  return out;
}
