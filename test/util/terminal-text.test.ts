/**
 * Terminal and log injection (issue 14 #3): one escaping function for every place text
 * reaches a terminal or a log; `validate` prints hostile file names and YAML values inert.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { formatValidationText } from '../../src/manifests/report.js';
import { createLogger } from '../../src/daemon/logger.js';
import {
  escapeStrayControls,
  escapeJsonForTerminal,
  escapeLogValue,
  escapeTerminal,
} from '../../src/util/terminal-text.js';
import { QUEUE, writeRepo } from '../manifests/helpers.js';
import { runInProcess } from '../support/memory-io.js';

/** Nothing a terminal would act on: no C0/C1 control (but the final newlines), no bidi mark. */
/* eslint-disable no-control-regex -- the test looks for exactly these characters */
const CONTROL = new RegExp(
  '[\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]',
);
/* eslint-enable no-control-regex */

describe('escapeTerminal', () => {
  it('shows every control and bidi character as an escape, and leaves other text alone', () => {
    expect(escapeTerminal('a\u001b[2Jb\rc\nd\te\u0000f\u007fg\u009bh\u202ei\u2066j')).toBe(
      'a\\x1b[2Jb\\rc\\nd\\te\\x00f\\x7fg\\x9bh\\u{202e}i\\u{2066}j',
    );
    expect(escapeTerminal('café ✓ 日本 \\x1b')).toBe('café ✓ 日本 \\x1b');
  });

  it('JSON keeps its value: DEL, C1 and bidi become \\u escapes', () => {
    const json = JSON.stringify({ v: 'x\u202ey\u009bz\u001b' });
    const safe = escapeJsonForTerminal(json);
    expect(safe).toBe('{"v":"x\\u202ey\\u009bz\\u001b"}');
    expect(JSON.parse(safe)).toEqual(JSON.parse(json));
  });

  it('log values are escaped deep in objects and arrays', () => {
    expect(escapeLogValue({ a: ['x\ny'], b: { 'k\u001b': 1 } })).toEqual({
      a: ['x\\ny'],
      b: { 'k\\x1b': 1 },
    });
  });
});

const FORGED =
  'x\rValid: 9 pools, 0 clusters, 0 queues, 0 assignments in 1 file.\n\u001b[2J\u202e.yaml';

describe('validate output', () => {
  it('a file name cannot forge a line or clear the screen; a YAML value cannot either', async () => {
    const repo = await writeRepo({
      [FORGED]: QUEUE('q', '  priority: "\\e[2J\\e[H\\u202eOK"\n'),
    });
    const r = await loadRepository(repo);
    const text = formatValidationText(r.errors);
    expect(text).not.toMatch(CONTROL);
    expect(text.trimEnd().split('\n')).toEqual([
      "x\\rValid: 9 pools, 0 clusters, 0 queues, 0 assignments in 1 file.\\n\\x1b[2J\\u{202e}.yaml:8:13: SCHEMA spec.priority must be one of min, medium, max; got '\\x1b[2J\\x1b[H\\u{202e}OK'",
      '1 error in 1 file.',
    ]);
  });

  it('the CLI prints the same, in text and in JSON', async () => {
    const repo = await writeRepo({
      [FORGED]: QUEUE('q', '  priority: "\\e[2J\\u202eOK"\n'),
    });
    const run = async (...args: string[]): Promise<{ code: number; out: string }> => {
      const r = await runInProcess(args, process.env);
      return { code: r.code, out: r.stdout };
    };
    const text = await run('validate', repo);
    expect(text.code).toBe(1);
    expect(text.out).not.toMatch(CONTROL);
    expect(text.out.split('\n')).toHaveLength(3);
    const json = await run('validate', repo, '--output', 'json');
    expect(json.code).toBe(1);
    expect(json.out.replace(/\n/g, '')).not.toMatch(CONTROL);
    const report = JSON.parse(json.out) as { errors: { file: string }[] };
    expect(report.errors[0]!.file).toBe(FORGED); // JSON keeps the real value
  });
});

describe('daemon log lines', () => {
  it('messages and fields are escaped before they are written (JSON and pretty alike)', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = await createLogger({ level: 'info', format: 'json', destination });
    logger.warn({ firstErrors: ['q.yaml\u001b[2J:1:1: bad\u202e'] }, 'run \u001b[31mred\rOK');
    const record = JSON.parse(lines[0]!) as { msg: string; firstErrors: string[] };
    expect(record.msg).toBe('run \\x1b[31mred\\rOK');
    expect(record.firstErrors).toEqual(['q.yaml\\x1b[2J:1:1: bad\\u{202e}']);
  });
});

describe('issue 38, item 12: what looks alike is told apart', () => {
  it('zero-width characters and the BOM are escapes; text not in NFC shows its combining marks', () => {
    expect(escapeTerminal('run_\ufeffconcurrency \u200bx\u200dy\u00ad\u2060')).toBe(
      'run_\\u{feff}concurrency \\u{200b}x\\u{200d}y\\xad\\u{2060}',
    );
    expect(escapeTerminal('cafe\u0301.yaml')).toBe('cafe\\u{301}.yaml');
    expect(escapeTerminal('caf\u00e9.yaml')).toBe('caf\u00e9.yaml');
    expect(escapeTerminal('हिन्दी')).toBe('हिन्दी'); // NFC with marks: unchanged
    const json = JSON.stringify({ 'a\ufeffb': '\u200b' });
    expect(escapeJsonForTerminal(json)).toBe('{"a\\ufeffb":"\\u200b"}');
    expect(JSON.parse(escapeJsonForTerminal(json))).toEqual(JSON.parse(json));
  });

  it('validate: a BOM inside a key, and two file names alike but for NFC and NFD, read differently', async () => {
    const repo = await writeRepo({
      'caf\u00e9.yaml': QUEUE('q1', '  run_\ufeffconcurrency: 5\n'),
      'cafe\u0301.yaml': QUEUE('q2', '  run_\ufeffconcurrency: 5\n'),
    });
    const text = formatValidationText((await loadRepository(repo)).errors);
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('caf\u00e9.yaml:'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('cafe\\u{301}.yaml:'))).toHaveLength(1);
    for (const l of lines.slice(0, -1)) expect(l).toContain('run_\\u{feff}concurrency');
  });

  it('escapeStrayControls: what poolsync never writes is escaped, its colours and JSON kept', () => {
    expect(escapeStrayControls('ok\tline\n\u001b[31mred\u001b[0m')).toBe(
      'ok\tline\n\u001b[31mred\u001b[0m',
    );
    expect(escapeStrayControls('bell\u0007 clear\u001b[2J csi\u009b rtl\u202e')).toBe(
      'bell\\u0007 clear\\u001b[2J csi\\u009b rtl\\u202e',
    );
    // ESC is kept only where a colour sequence starts: not last, not before a cut-off one.
    expect(escapeStrayControls('\u001b\u001b[1;31mx\u001b[12 \u001b[m\u001b')).toBe(
      '\\u001b\u001b[1;31mx\\u001b[12 \u001b[m\\u001b',
    );
    const json = JSON.stringify({ name: 'a\u009bb\u202ec' });
    expect(JSON.parse(escapeStrayControls(json))).toEqual(JSON.parse(json));
  });
});
