// The metadata file's string table: each distinct string once, NUL-terminated. A string's
// offset is known when it is added (its UTF-8 length is counted), and the bytes are made once,
// by one encoding of every string at the end: encoding each string into a growing buffer as it
// came (a JavaScript byte loop, or a call into Buffer.write per string) cost python3.11d's
// 58,000 strings (1.7 MB) about 60% more than this (issue 16).

/** Any UTF-16 code unit a UTF-8 encoding writes in more than one byte (a surrogate too). */
const NON_ASCII = /[\u0080-\uffff]/;

export class StringTable {
  private map = new Map<string, number>([["", 0]]);
  /** The strings added, in order: the table is "" (offset 0), then each, NUL-terminated. */
  private added: string[] = [];
  size = 1;

  /** The string's offset in the table (0 for none or ""), adding it the first time. */
  add(s: string | null | undefined): number {
    if (!s) return 0;
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    return this.addNew(s);
  }

  /** The string's offset if it is in the table, else -1 (adding nothing). */
  find(s: string): number {
    if (!s) return 0;
    return this.map.get(s) ?? -1;
  }

  /** Adds `s`, which is not in the table (`find` said -1); returns its offset. */
  addNew(s: string): number {
    const off = this.size;
    this.size = off + (NON_ASCII.test(s) ? Buffer.byteLength(s, "utf8") : s.length) + 1;
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
      const grown = new Uint8Array(n);
      grown.set(m);
      this.marks = m = grown;
    }
    m[off] = 1;
  }

  has(off: number): boolean {
    return off >= 0 && off < this.marks.length && this.marks[off] === 1;
  }
}
