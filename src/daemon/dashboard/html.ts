/**
 * HTML by tagged template: every interpolated value is escaped unless it is itself a `SafeHtml`,
 * so a control-plane name, a commit message or an error text can never become markup; only
 * `inlineAsset` puts text in unescaped (the page's own constant assets, hashed in the CSP).
 * Control and bidi characters are shown as escapes as in the terminal (escapeTerminal): a
 * U+202E in a name cannot reverse what the page shows after it.
 */
import { escapeTerminal } from '../../util/terminal-text.js';

export class SafeHtml {
  /** Only `markup`, `lines` and `inlineAsset` make it (the brand keeps look-alikes out). */
  private readonly brand = 'SafeHtml';
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const entities = (text: string) => text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

/** Safe in element content and in double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return entities(escapeTerminal(text));
}

/** Lines of text (for a <pre>): escaped as above, but its line breaks kept. */
export function lines(text: string): SafeHtml {
  return new SafeHtml(text.split('\n').map(escapeHtml).join('\n'));
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

function valueToHtml(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(valueToHtml).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * `markup\`<td>${name}</td>\``: the literal parts as written, the values escaped. (Not named
 * `html`: prettier would reformat such templates as HTML, changing the text of <pre> blocks
 * and of the inline script the CSP names by hash.)
 */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  return new SafeHtml(strings.reduce((out, text, i) => out + valueToHtml(values[i - 1]) + text));
}

/** The page's own constant <style>/<script> content (raw text: no entities). Never for data. */
export function inlineAsset(text: string): SafeHtml {
  if (/<\/(script|style)/i.test(text)) throw new Error('an inline asset may not close its element');
  return new SafeHtml(text);
}

/**
 * Every id (and the links and labels naming one) prefixed: a section per environment. Only
 * literal markup writes `id="` (a value's quote is `&quot;`), so no value is rewritten here.
 */
export function withIdPrefix(html: SafeHtml, prefix: string): SafeHtml {
  if (!/^[a-z0-9-]+$/.test(prefix)) throw new Error(`not an id prefix: ${prefix}`);
  return new SafeHtml(
    html.text.replace(
      / (id|aria-labelledby|href)="(#?)/g,
      // A link to another address of the page (`?status=…`) names no id.
      (m, attr: string, hash: string) =>
        attr === 'href' && hash === '' ? m : ` ${attr}="${hash}${prefix}-`,
    ),
  );
}

/** 12 hex digits, the full one on hover; `—` when there is none. */
export function commitRef(commit: string | null | undefined): SafeHtml {
  if (!commit) return markup`<span class="muted">—</span>`;
  return markup`<code title="${commit}">${commit.slice(0, 12)}</code>`;
}

/** A coloured label: `ok` green, `warn` yellow, `bad` red, `info` blue, `none` grey. */
export const badge = (tone: string, text: HtmlValue) =>
  markup`<span class="badge ${tone}">${text}</span>`;

/** SGR 31 to 36, in order. */
const COLOURS = ['red', 'green', 'yellow', 'blue', 'magenta', 'cyan'];
const STYLE_OF: Record<number, string> = {
  1: 'bold',
  2: 'dim',
  ...Object.fromEntries(COLOURS.map((colour, i) => [31 + i, colour])),
};

// eslint-disable-next-line no-control-regex -- the SGR sequences are what is parsed here
const SGR = /\x1b\[([0-9;]*)m/g;

/**
 * The terminal's plan text (src/render/text.ts with colour) as HTML: SGR sequences become spans
 * with a class per style (`t-green`, `t-bold`, …), the text between them escaped. Values were
 * made harmless for a terminal already (escapeTerminal), so every ESC is the renderer's own;
 * any other control character left is shown as an escape, never passed on.
 */
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
      if (COLOURS.includes(style)) for (const c of COLOURS) next.delete(c);
      next.add(style);
    }
  }
  return next;
}
