/**
 * HTML by tagged template: every interpolated value is escaped unless it is itself the result
 * of `markup` (a `SafeHtml`), so a control-plane name, a commit message or an error text can
 * never become markup. The one way to put text in unescaped is `inlineAsset`, for the page's
 * own constant stylesheet and script (page.ts), whose hashes the CSP names. Escaping covers text and double-quoted attribute values alike, and
 * control and bidi characters are shown as escapes as in the terminal (escapeTerminal): a
 * U+202E in a name cannot reverse what the page shows after it.
 */
import { escapeTerminal } from '../../util/terminal-text.js';

export class SafeHtml {
  /** Only `markup`, `lines` and `inlineAsset` construct it (the brand keeps structurally equal objects out). */
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

/** Text as HTML: safe in element content and in quoted attribute values. */
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
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += valueToHtml(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/**
 * The page's own constant stylesheet or script, as the content of its <style>/<script>
 * element (raw text there: entities would not be decoded). Never for data.
 */
export function inlineAsset(text: string): SafeHtml {
  if (/<\/(script|style)/i.test(text)) throw new Error('an inline asset may not close its element');
  return new SafeHtml(text);
}

/**
 * The same markup with every id (and the links and labels naming one) prefixed, so that one
 * page can hold a section per environment. Only literal markup writes `id="`: a value's quote
 * is escaped (`&quot;`), so no value can be rewritten here.
 */
export function withIdPrefix(html: SafeHtml, prefix: string): SafeHtml {
  if (!/^[a-z0-9-]+$/.test(prefix)) throw new Error(`not an id prefix: ${prefix}`);
  return new SafeHtml(
    html.text.replace(
      / (id|aria-labelledby|href)="(#?)/g,
      (_m, attr: string, hash: string) => ` ${attr}="${hash}${prefix}-`,
    ),
  );
}
