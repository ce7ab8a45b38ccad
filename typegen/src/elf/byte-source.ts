// Where an ElfFile's bytes come from: a buffer already in memory, or the file itself, read one
// range at a time. Reading only the headers and the sections asked for skips most of a large
// binary (python3.11d: the DWARF the type model needs is 11 of its 24 MB), and on a VM where
// populating fresh memory is slow the whole-file read was ~8% of typegen's time.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { TypegenFormatError } from "../errors";

export interface ByteSource {
  readonly size: number;
  /** `length` bytes at `offset` (the caller has checked the range against `size`). */
  read(offset: number, length: number): Buffer;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, read: (offset, length) => buf.subarray(offset, offset + length) };
}

/**
 * The file at `path`, opened for each read so no descriptor outlives the call (ElfFile has no
 * close). Throws the file system's error when it cannot be opened or read.
 */
export function fileSource(path: string): ByteSource {
  const fd = openSync(path, "r");
  let size: number;
  try {
    size = fstatSync(fd).size;
    // A directory opens fine; reading it raises the error a whole-file read would have.
    readSync(fd, Buffer.alloc(1), 0, Math.min(1, size), 0);
  } finally {
    closeSync(fd);
  }
  return {
    size,
    read(offset: number, length: number): Buffer {
      const out = Buffer.allocUnsafe(length);
      const f = openSync(path, "r");
      try {
        let done = 0;
        while (done < length) {
          const n = readSync(f, out, done, length - done, offset + done);
          if (n === 0)
            throw new TypegenFormatError(path, "file", offset + done, "file shrank while being read");
          done += n;
        }
      } finally {
        closeSync(f);
      }
      return out;
    },
  };
}
