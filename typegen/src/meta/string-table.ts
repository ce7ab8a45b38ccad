// The metadata file's string table: each distinct string once, NUL-terminated. A string's
// offset is known when it is added (its UTF-8 length is counted), and the bytes are made once,
// by one encoding of every string at the end: encoding each string into a growing buffer as it
// came (a JavaScript byte loop, or a call into Buffer.write per string) cost python3.11d's
// 58,000 strings (1.7 MB) about 60% more than this (issue 16).

import { grownU8 } from "../bytes";

/** Any UTF-16 code unit a UTF-8 encoding writes in more than one byte (a surrogate too). */
const NON_ASCII = /[\u0080-\uffff]/;

function utf8Length(s: string): number {
  return NON_ASCII.test(s) ? Buffer.byteLength(s, "utf8") : s.length;
}

export class StringTable {
  private map = new Map<string, number>([["", 0]]);
  /** The strings added, in order: the table is "" (offset 0), then each, NUL-terminated. */
  private added: string[] = [];
  size = 1;
  /** Per prefix: the strings starting with it, by the rest (never in `map`). */
  private readonly byRest: Map<string, number>[];
  /** 1 for each first character of a prefix. */
  private readonly firstChars = new Uint8Array(128);

  /**
   * `prefixes` (ASCII; none a prefix of another) start strings the writer makes one of per
   * function from its name (FRAME types' names): each such string is kept by the rest of it, so
   * the writer looks it up by the name it has, without making the string first, and the table of
   * every other string stays a third smaller. Every string with a prefix is kept there, whoever
   * adds it, so each is in the table once.
   */
  constructor(private readonly prefixes: readonly string[] = []) {
    this.byRest = prefixes.map(() => new Map<string, number>());
    for (const p of prefixes) this.firstChars[p.charCodeAt(0)] = 1;
  }

  /** The string's offset in the table (0 for none or ""), adding it the first time. */
  add(s: string | null | undefined): number {
    if (!s) return 0;
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    const p = this.prefixOf(s);
    if (p >= 0) return this.addWith(p, s.slice(this.prefixes[p].length));
    return this.addNew(s);
  }

  /** Prefix `p` (an index into the constructor's `prefixes`) and `rest`: `add(prefix + rest)`. */
  addWith(p: number, rest: string): number {
    const byRest = this.byRest[p];
    const hit = byRest.get(rest);
    if (hit !== undefined) return hit;
    const off = this.size;
    this.size = off + this.prefixes[p].length + utf8Length(rest) + 1;
    this.added.push(this.prefixes[p] + rest);
    byRest.set(rest, off);
    return off;
  }

  /** Prefix `p` and `rest`: the offset of prefix + rest if it is in the table, else -1. */
  findWith(p: number, rest: string): number {
    return this.byRest[p].get(rest) ?? -1;
  }

  /** Which prefix `s` starts with (-1: none). */
  private prefixOf(s: string): number {
    const c = s.charCodeAt(0);
    if (c >= 128 || this.firstChars[c] === 0) return -1;
    for (let i = 0; i < this.prefixes.length; i++) if (s.startsWith(this.prefixes[i])) return i;
    return -1;
  }

  /** Adds `s`, which is in the table under no prefix and not yet; returns its offset. */
  private addNew(s: string): number {
    const off = this.size;
    this.size = off + utf8Length(s) + 1;
    this.added.push(s);
    this.map.set(s, off);
    return off;
  }

  /**
   * The table's bytes. The strings are encoded as one, NUL-separated: the same bytes as encoding
   * each on its own (a NUL between two strings keeps a lone surrogate at the end of one from
   * pairing with one at the start of the next), and as many as `size` counted.
   */
  bytes(): Buffer {
    if (this.added.length === 0) return Buffer.alloc(1);
    // Written into a buffer of the counted size: Buffer.from would count the bytes again first.
    // The NULs around the joined strings are written on their own: concatenated, the 2.5 MB
    // (PostgreSQL) would be copied once more into a flat string before encoding.
    const b = Buffer.allocUnsafe(this.size);
    b[0] = 0;
    const n = 1 + b.write(this.added.join("\0"), 1, "utf8");
    if (n !== this.size - 1) throw new Error(`string table: ${n + 1} bytes written, ${this.size} counted`);
    b[n] = 0;
    return b;
  }
}

/**
 * A set of strings of one StringTable, by offset (a string's offset names it): a typed array
 * lookup where a Set of the strings would hash each again.
 */
export class OffsetSet {
  private marks = new Uint8Array(1 << 16);

  add(off: number): void {
    let m = this.marks;
    if (off >= m.length) {
      let n = m.length;
      while (off >= n) n *= 2;
      this.marks = m = grownU8(m, n);
    }
    m[off] = 1;
  }

  has(off: number): boolean {
    return off >= 0 && off < this.marks.length && this.marks[off] === 1;
  }
}
