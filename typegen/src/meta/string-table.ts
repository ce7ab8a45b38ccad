// The metadata file's string table: each distinct string once, NUL-terminated, written straight
// into one growing buffer (a Buffer per string was most of the writer's garbage).

export class StringTable {
  private map = new Map<string, number>([["", 0]]);
  private buf = Buffer.alloc(1 << 16);
  size = 1;

  /** The string's offset in the table (0 for none or ""), adding it the first time. */
  add(s: string | null | undefined): number {
    if (!s) return 0;
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const need = this.size + 3 * s.length + 1;
    if (need > this.buf.length) {
      const b = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(b, 0, 0, this.size);
      this.buf = b;
    }
    const off = this.size;
    this.size = writeUtf8(this.buf, s, off);
    this.buf[this.size++] = 0;
    this.map.set(s, off);
    return off;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.size);
  }
}

/** Writes `s` at `at` as UTF-8; returns the offset after it. Names are short and nearly always
 * ASCII: a byte loop is cheaper for them than a call into Buffer.write. */
function writeUtf8(buf: Buffer, s: string, at: number): number {
  const n = s.length;
  if (n <= 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    if (i === n) return at + n;
  }
  return at + buf.write(s, at, "utf8");
}
