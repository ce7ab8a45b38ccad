// A bounds-checked little-endian reader over one section's bytes. Every read checks against
// `end` and throws TypegenFormatError naming the file, section and offset, so no malformed
// input can surface as a RangeError or a silently wrong value. It is a class with plain numeric
// fields so V8 keeps it monomorphic on the DWARF hot paths.

import { TypegenFormatError } from "./errors";

const TWO32 = 4294967296;
/**
 * 2^64: no DWARF value typegen decodes is wider than 64 bits. As a double it is also what
 * 2^64 - 1 rounds to, so a bound of `<= TWO64` keeps every real 64-bit value.
 */
export const TWO64 = 18446744073709551616;
const TWO63 = 9223372036854775808;

export class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    readonly file: string,
    readonly section: string,
    pos = 0,
    public end: number = buf.length,
  ) {
    this.pos = pos;
    if (end > buf.length) this.end = buf.length;
  }

  fail(detail: string, at: number = this.pos): never {
    throw new TypegenFormatError(this.file, this.section, at, detail);
  }

  /** Throws unless n more bytes are readable. */
  need(n: number): void {
    // Written as a negated "in range" test so that NaN (from a hostile LEB128) also fails.
    if (!(n >= 0 && this.pos + n <= this.end))
      this.fail(`truncated: need ${n} bytes, ${this.end - this.pos} left`);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  seek(pos: number): void {
    if (!(pos >= 0 && pos <= this.end)) this.fail(`offset 0x${pos.toString(16)} out of bounds`);
    this.pos = pos;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail("truncated: need 1 byte");
    return this.buf[this.pos++];
  }

  i8(): number {
    const v = this.u8();
    return v >= 128 ? v - 256 : v;
  }

  u16(): number {
    if (this.pos + 2 > this.end) this.fail("truncated: need 2 bytes");
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return b[p] | (b[p + 1] << 8);
  }

  u24(): number {
    if (this.pos + 3 > this.end) this.fail("truncated: need 3 bytes");
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
  }

  u32(): number {
    if (this.pos + 4 > this.end) this.fail("truncated: need 4 bytes");
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
  }

  i32(): number {
    const v = this.u32();
    return v >= 0x80000000 ? v - TWO32 : v;
  }

  /** A 64-bit unsigned value as a number; values above 2^53 lose precision (addresses never do). */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * TWO32 + lo;
  }

  /** A 64-bit value exactly, for constants that may exceed 2^53. */
  u64big(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return (hi >= 0x80000000 ? hi - TWO32 : hi) * TWO32 + lo;
  }

  /** Offset-sized value: 4 bytes in 32-bit DWARF, 8 in 64-bit DWARF. */
  offset(size: number): number {
    return size === 8 ? this.u64() : this.u32();
  }

  /** Address-sized value (1, 2, 4 or 8 bytes). */
  addr(size: number): number {
    switch (size) {
      case 8:
        return this.u64();
      case 4:
        return this.u32();
      case 2:
        return this.u16();
      case 1:
        return this.u8();
      default:
        return this.fail(`unsupported address size ${size}`);
    }
  }

  /**
   * Unsigned LEB128. Values beyond 2^53 are approximated, never a loop past the end. One wider
   * than 64 bits is an error: its double would grow to Infinity, or NaN once a zero byte
   * multiplies an infinite weight, and reach the model as a size, offset or enumerator.
   */
  uleb(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    if (p >= end) this.fail("truncated LEB128");
    let byte = b[p++];
    if (byte < 0x80) {
      this.pos = p;
      return byte;
    }
    let result = byte & 0x7f;
    let mul = 128;
    for (;;) {
      if (p >= end) this.fail("truncated LEB128", this.pos);
      byte = b[p++];
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 128;
    }
    if (!(result <= TWO64)) this.fail("LEB128 value wider than 64 bits", this.pos);
    this.pos = p;
    return result;
  }

  /** Signed LEB128; like `uleb`, an error beyond 64 bits (signed or unsigned). */
  sleb(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    let result = 0;
    let mul = 1;
    let byte: number;
    do {
      if (p >= end) this.fail("truncated LEB128", this.pos);
      byte = b[p++];
      result += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte >= 0x80);
    if (byte & 0x40) result -= mul;
    if (!(result >= -TWO63 && result <= TWO64)) this.fail("LEB128 value wider than 64 bits", this.pos);
    this.pos = p;
    return result;
  }

  /** Skips a LEB128 without decoding it. */
  skipLeb(): void {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    while (p < end && b[p] >= 0x80) p++;
    if (p >= end) this.fail("truncated LEB128");
    this.pos = p + 1;
  }

  /** A NUL-terminated string (UTF-8). */
  cstr(): string {
    const start = this.pos;
    const nul = this.buf.indexOf(0, start);
    if (nul < 0 || nul >= this.end) this.fail("unterminated string");
    this.pos = nul + 1;
    return this.buf.toString("utf8", start, nul);
  }

  /** Skips a NUL-terminated string. */
  skipCstr(): void {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) this.fail("unterminated string");
    this.pos = nul + 1;
  }

  /** n bytes as a view (no copy). */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/** Reads a NUL-terminated string at `off` in `buf`, with a typed error when out of range. */
export function cstrAt(buf: Buffer, off: number, file: string, section: string): string {
  if (off < 0 || off >= buf.length)
    throw new TypegenFormatError(file, section, off, "string offset out of range");
  const nul = buf.indexOf(0, off);
  if (nul < 0) throw new TypegenFormatError(file, section, off, "unterminated string");
  return buf.toString("utf8", off, nul);
}

/**
 * `x` as a small integer when it is one. Unoptimised code reads a Float64Array element as a
 * boxed double even when it is integral; passed on where V8 has only seen small integers (a
 * Cursor's `pos`, an object's field) it deoptimises that code and turns the field's
 * representation to double for every object of its shape. Row values pass through this.
 */
export function smi(x: number): number {
  return (x | 0) === x ? x | 0 : x;
}

// Growing columns: a copy of `a` with room for `n` values (n >= a.length), one function per
// element type so each stays monomorphic. Every table that grows by doubling uses these.
export function grownF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
export function grownI32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
export function grownU32(a: Uint32Array, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
export function grownU8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
