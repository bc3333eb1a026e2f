/**
 * The text of `JSON.stringify(object, null, 2)` read as its bytes arrive: each member of the
 * object parsed apart, and a member that is a list in batches of its items, so neither the whole
 * text nor one string of it is held (a saved plan of 100,000 creates is 223 MB of text, issue 79).
 * Pieces are found by that layout: a line's indentation is its depth, and a line break is never
 * inside a string. Text laid out otherwise is not read (`end` gives null: read it whole). What is
 * read is what JSON.parse of the whole text gives: every piece is parsed by JSON.parse, and the
 * text is cut only at line breaks between values.
 */
const ITEMS_END = Buffer.from('\n  ]');
/** `,` and a line break before a member of the object, or an item of one of its lists. */
const NEXT_MEMBER = Buffer.from(',\n  "');
const NEXT_ITEM = Buffer.from(',\n    ');
const OBJECT_END = Buffer.from('\n}');
const SPACE = 0x20;
/** A member's first line: its name, and its value or the `[` of a list of items on the next lines. */
const MEMBER_LINE = /^ {2}("(?:[^"\\]|\\.)*"): (.*)$/;

type State = 'open' | 'member' | 'items' | 'after-items' | 'closed' | 'not-indented';

export class IndentedJsonReader {
  private window = Buffer.allocUnsafe(1 << 20);
  private start = 0;
  private end = 0;
  private state: State = 'open';
  private readonly object: Record<string, unknown> = {};
  private items: unknown[] = [];
  private readonly strings = new Map<string, string>();

  /** The next bytes of the text (copied: the caller may reuse `bytes`). */
  push(bytes: Buffer): void {
    if (this.state === 'not-indented') return;
    const held = this.end - this.start;
    // A piece larger than the window (a member that is not a list) grows it.
    if (held + bytes.length > this.window.length) {
      const larger = Buffer.allocUnsafe(Math.max(2 * this.window.length, held + bytes.length));
      this.window.copy(larger, 0, this.start, this.end);
      this.window = larger;
    } else if (this.end + bytes.length > this.window.length) {
      this.window.copy(this.window, 0, this.start, this.end);
    } else {
      bytes.copy(this.window, this.end);
      this.end += bytes.length;
      return this.read(false);
    }
    this.start = 0;
    this.end = held + bytes.length;
    bytes.copy(this.window, held);
    this.read(false);
  }

  /** The object, once every byte was pushed; null when the text was not laid out as expected. */
  finish(): Record<string, unknown> | null {
    this.read(true);
    return this.state === 'closed' ? this.object : null;
  }

  private read(last: boolean): void {
    try {
      while (this.step());
    } catch {
      this.state = 'not-indented'; // JSON.parse refused a piece
    }
    if (!last || this.state === 'not-indented') return;
    // After the closing brace, only what JSON.parse also allows there: white space.
    const rest = this.window.toString('latin1', this.start, this.end);
    if (this.state !== 'closed' || !/^[ \t\n\r]*$/.test(rest)) this.state = 'not-indented';
  }

  /** One piece read; false when the bytes held end before the next piece does. */
  private step(): boolean {
    const { start, end } = this;
    const w = this.held();
    switch (this.state) {
      case 'open':
        if (end - start < 2) return false;
        return this.expect('{\n', 'member');
      case 'member': {
        const eol = w.indexOf(0x0a, start);
        if (eol === -1 || eol >= end) return false;
        const line = MEMBER_LINE.exec(w.toString('utf8', start, eol));
        if (!line) return this.notIndented();
        if (line[2] === '[') {
          this.items = [];
          this.set(JSON.parse(line[1]!) as string, this.items);
          this.start = eol + 1;
          this.state = 'items';
          return true;
        }
        // Its value ends where the next member starts, or the object does.
        const next = this.find(NEXT_MEMBER, start);
        const close = this.find(OBJECT_END, start);
        const at = next !== -1 && (close === -1 || next < close) ? next : close;
        if (at === -1) return false;
        const member = JSON.parse(`{${w.toString('utf8', start, at)}}`) as Record<string, unknown>;
        this.share(member);
        for (const key of Object.keys(member)) this.set(key, member[key]);
        this.start = at + 2;
        this.state = at === next ? 'member' : 'closed';
        return true;
      }
      case 'items': {
        const close = this.find(ITEMS_END, start);
        const at = close !== -1 ? close : this.lastItemBreak();
        if (at === -1) return false;
        const items = JSON.parse(`[${w.toString('utf8', start, at)}]`) as unknown[];
        this.share(items);
        for (let i = 0; i < items.length; i++) this.items.push(items[i]);
        this.start = at + (close !== -1 ? ITEMS_END.length : 2);
        if (close !== -1) this.state = 'after-items';
        return true;
      }
      case 'after-items':
        if (end - start < 2) return false;
        if (w[start] === 0x2c) return this.expect(',\n', 'member');
        return this.expect('\n}', 'closed');
      case 'closed':
      case 'not-indented':
        return false;
    }
  }

  /**
   * Equal strings made one, in each piece as it is parsed (young, so copies die before they are
   * promoted): JSON.parse makes a string per value, and a saved plan repeats its addresses, names,
   * paths and pools: ~60 of its ~190 MB at 100,000 creates. Up to 10 characters JSON.parse
   * already shares them (V8 internalises them).
   */
  private share(value: object): void {
    const seen = this.strings;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v === 'string') {
          if (v.length > 10) value[i] = seen.get(v) ?? (seen.set(v, v), v);
        } else if (v !== null && typeof v === 'object') this.share(v);
      }
      return;
    }
    const o = value as Record<string, unknown>;
    for (const key in o) {
      const v = o[key];
      if (typeof v === 'string') {
        if (v.length > 10) o[key] = seen.get(v) ?? (seen.set(v, v), v);
      } else if (v !== null && typeof v === 'object') this.share(v);
    }
  }

  /** Where the last whole item held ends: at a line break of an item's own depth (4 spaces). */
  private lastItemBreak(): number {
    const w = this.held();
    for (let at = w.lastIndexOf(NEXT_ITEM); at >= this.start;) {
      const after = at + NEXT_ITEM.length;
      if (after < this.end && w[after] !== SPACE) return at;
      at = at === 0 ? -1 : w.lastIndexOf(NEXT_ITEM, at - 1);
    }
    return -1;
  }

  private find(bytes: Buffer, from: number): number {
    return this.held().indexOf(bytes, from);
  }

  /** The window up to the last byte pushed: what lies after it is stale. */
  private held(): Buffer {
    return this.window.subarray(0, this.end);
  }

  private expect(text: string, next: State): boolean {
    if (this.window.toString('latin1', this.start, this.start + text.length) !== text)
      return this.notIndented();
    this.start += text.length;
    this.state = next;
    return true;
  }

  /** As JSON.parse sets a member: `__proto__` would be the prototype here, so read whole. */
  private set(key: string, value: unknown): void {
    if (key === '__proto__') throw new Error('read whole');
    this.object[key] = value;
  }

  private notIndented(): boolean {
    this.state = 'not-indented';
    return false;
  }
}
