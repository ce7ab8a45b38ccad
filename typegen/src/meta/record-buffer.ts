// One section's fixed-size records, appended into a growing zeroed buffer (fields not written
// stay 0), and the checked little-endian field writes the writer uses. The fields go through a
// DataView; a value out of a field's range goes to Buffer's own write, which throws the same
// RangeError the writer always threw.

import { RecordLayout } from "./format";

const TWO32 = 2 ** 32;

export class RecordBuffer {
  buf: Buffer;
  private view: DataView;
  n = 0;

  constructor(readonly size: number) {
    this.buf = Buffer.alloc(size * 1024);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Appends a record; returns its byte offset in `buf`. */
  add(): number {
    const at = this.n * this.size;
    if (at + this.size > this.buf.length) this.grow(this.buf.length * 2);
    this.n++;
    return at;
  }

  /** Makes room for `records` records in all, when the writer knows how many there will be: no
   * buffer outgrown and copied on the way (each left to the garbage collector, the peak RSS). */
  reserve(records: number): void {
    if (records * this.size > this.buf.length) this.grow(records * this.size);
  }

  private grow(bytes: number): void {
    const b = Buffer.alloc(bytes);
    this.buf.copy(b, 0, 0, this.n * this.size);
    this.buf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.length);
  }

  u8(at: number, x: number): void {
    if ((x & 0xff) === x) this.view.setUint8(at, x);
    else this.buf.writeUInt8(x, at);
  }

  u16(at: number, x: number): void {
    if ((x & 0xffff) === x) this.view.setUint16(at, x, true);
    else this.buf.writeUInt16LE(x, at);
  }

  u32(at: number, x: number): void {
    if (x >>> 0 === x) this.view.setUint32(at, x, true);
    else this.buf.writeUInt32LE(x, at);
  }

  /**
   * A 64-bit field, as writeRecord writes it: a number is exact up to 2^53 and goes as two
   * 32-bit halves; anything else (2^64 standing for 2^64 - 1, or a value writeRecord refuses)
   * goes through BigInt, with the same result or error.
   */
  u64(at: number, x: number): void {
    if (x >>> 0 === x) {
      this.view.setUint32(at, x, true);
      this.view.setUint32(at + 4, 0, true);
    } else if (x >= 0 && x <= Number.MAX_SAFE_INTEGER && Math.floor(x) === x) {
      this.view.setUint32(at, x % TWO32, true);
      this.view.setUint32(at + 4, Math.floor(x / TWO32), true);
    } else this.buf.writeBigUInt64LE(x === 2 ** 64 ? 2n ** 64n - 1n : BigInt(x), at);
  }

  i64(at: number, x: number): void {
    if ((x | 0) === x) {
      // A 32-bit integer (a CFA offset, nearly every enumerator): its sign fills the high half.
      this.view.setInt32(at, x, true);
      this.view.setInt32(at + 4, x < 0 ? -1 : 0, true);
    } else if (x >= -Number.MAX_SAFE_INTEGER && x <= Number.MAX_SAFE_INTEGER && Math.floor(x) === x) {
      this.view.setUint32(at, x >>> 0, true);
      this.view.setInt32(at + 4, Math.floor(x / TWO32), true);
    } else this.buf.writeBigInt64LE(x === 2 ** 63 ? 2n ** 63n - 1n : BigInt(x), at);
  }
}

/** Byte offsets of a record's fields, by name (format.ts is the one source of the layouts). */
export function fieldsOf(l: RecordLayout): Record<string, number> {
  const o: Record<string, number> = {};
  for (const f of l.fields) o[f.name] = f.offset;
  return o;
}
