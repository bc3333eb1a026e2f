/**
 * The terminal's plan text (src/render/text.ts with colour) as HTML: the same symbols, the same
 * words and the same colours, because it is the same rendering. SGR sequences become spans
 * with a class per style (`t-green`, `t-bold`, …; the page's stylesheet gives them the
 * terminal's palette); the text between them is escaped. Values in the plan text were already
 * made harmless for a terminal (escapeTerminal), so every ESC in it is the renderer's own; any
 * other control character left is shown as an escape, never passed on.
 */
import { lines, markup, type SafeHtml } from './html.js';

const STYLE_OF: Record<number, string> = {
  1: 'bold',
  2: 'dim',
  31: 'red',
  32: 'green',
  33: 'yellow',
  34: 'blue',
  35: 'magenta',
  36: 'cyan',
};
const COLOURS = new Set(['red', 'green', 'yellow', 'blue', 'magenta', 'cyan']);

// eslint-disable-next-line no-control-regex -- the SGR sequences are what is parsed here
const SGR = /\x1b\[([0-9;]*)m/g;

export function ansiToHtml(text: string): SafeHtml {
  const parts: SafeHtml[] = [];
  let styles = new Set<string>();
  let at = 0;
  const emit = (chunk: string) => {
    if (chunk === '') return;
    // Line breaks are the renderer's; anything else that controls a terminal is shown.
    const shown = lines(chunk);
    parts.push(
      styles.size === 0
        ? shown
        : markup`<span class="${[...styles].map((s) => `t-${s}`).join(' ')}">${shown}</span>`,
    );
  };
  for (const m of text.matchAll(SGR)) {
    emit(text.slice(at, m.index));
    at = m.index + m[0].length;
    styles = applySgr(styles, m[1] ?? '');
  }
  emit(text.slice(at));
  return markup`${parts}`;
}

function applySgr(current: Set<string>, params: string): Set<string> {
  const next = new Set(current);
  for (const code of (params === '' ? '0' : params).split(';').map(Number)) {
    if (code === 0) next.clear();
    else if (code === 22) {
      next.delete('bold');
      next.delete('dim');
    } else if (code === 39) for (const c of COLOURS) next.delete(c);
    else {
      const style = STYLE_OF[code];
      if (!style) continue;
      if (COLOURS.has(style)) for (const c of COLOURS) next.delete(c);
      next.add(style);
    }
  }
  return next;
}
