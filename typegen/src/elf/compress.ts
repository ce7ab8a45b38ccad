// Decompression of SHF_COMPRESSED sections (gcc -gz, Debian's -dbg packages) and of the older
// ".zdebug_*" form. The size the header claims is checked against a cap before inflating, and
// inflateSync is given maxOutputLength, so a hostile header cannot make us allocate gigabytes.

import { inflateSync } from "node:zlib";
import { Cursor } from "../bytes";
import { TypegenFormatError } from "../errors";
import { ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD } from "./constants";

/** No real debug section is larger than this; a claim beyond it is treated as corruption. */
export const MAX_DECOMPRESSED = 1 << 30;

/** Ratio cap: zlib cannot expand by more than ~1032x, so a larger claim is a lie. */
const MAX_RATIO = 1100;

/** Inflates an SHF_COMPRESSED section (Elf64_Chdr followed by the zlib stream). */
export function inflateElfSection(raw: Buffer, file: string, section: string): Buffer {
  const c = new Cursor(raw, file, section);
  const type = c.u32();
  c.u32(); // ch_reserved
  const size = c.u64();
  c.u64(); // ch_addralign
  if (type === ELFCOMPRESS_ZSTD) c.fail("zstd-compressed section (ELFCOMPRESS_ZSTD) is not supported", 0);
  if (type !== ELFCOMPRESS_ZLIB) c.fail(`unknown compression type ${type}`, 0);
  return inflateChecked(raw.subarray(24), size, file, section, 24);
}

/** Inflates a legacy ".zdebug" section: "ZLIB" then the size as 8 big-endian bytes. */
export function inflateZdebug(raw: Buffer, file: string, section: string): Buffer {
  if (raw.length < 12 || raw.toString("latin1", 0, 4) !== "ZLIB")
    throw new TypegenFormatError(file, section, 0, "missing ZLIB header in .zdebug section");
  const size = raw.readUInt32BE(4) * 4294967296 + raw.readUInt32BE(8);
  return inflateChecked(raw.subarray(12), size, file, section, 12);
}

function inflateChecked(stream: Buffer, size: number, file: string, section: string, at: number): Buffer {
  if (!(size >= 0 && size <= MAX_DECOMPRESSED && size <= stream.length * MAX_RATIO + 64))
    throw new TypegenFormatError(file, section, at, `implausible decompressed size ${size}`);
  let out: Buffer;
  try {
    // One output chunk of the announced size: no concatenation copy of many 16 KB chunks.
    out = inflateSync(stream, { maxOutputLength: Math.max(size, 1), chunkSize: Math.max(size, 64) });
  } catch (e) {
    throw new TypegenFormatError(file, section, at, `zlib: ${(e as Error).message}`);
  }
  if (out.length !== size)
    throw new TypegenFormatError(file, section, at, `decompressed ${out.length} bytes, header says ${size}`);
  return out;
}
