// Finding the DWARF for a binary when it lives elsewhere: .gnu_debuglink (file name + CRC32),
// the build-id tree under /usr/lib/debug/.build-id, and .gnu_debugaltlink (the dwz common file
// that DW_FORM_GNU_ref_alt / GNU_strp_alt point into). The search order is gdb's.

import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Cursor } from "../bytes";
import { ElfFile } from "./elf-file";
import { buildId } from "./notes";

export interface DebugLink {
  file: string;
  crc: number;
}

export interface DebugAltLink {
  file: string;
  buildId: string;
}

export function readDebugLink(elf: ElfFile): DebugLink | undefined {
  const data = elf.sectionData(".gnu_debuglink");
  if (!data) return undefined;
  const c = new Cursor(data, elf.path, ".gnu_debuglink");
  const file = c.cstr();
  c.seek(Math.min(c.end, Math.ceil(c.pos / 4) * 4));
  return { file, crc: c.u32() };
}

export function readDebugAltLink(elf: ElfFile): DebugAltLink | undefined {
  const data = elf.sectionData(".gnu_debugaltlink");
  if (!data) return undefined;
  const c = new Cursor(data, elf.path, ".gnu_debugaltlink");
  const file = c.cstr();
  return { file, buildId: data.subarray(c.pos).toString("hex") };
}

export interface LookupOptions {
  /** Global debug directories (gdb's debug-file-directory); default ["/usr/lib/debug"]. */
  debugDirs?: string[];
}

function defaultDirs(o?: LookupOptions): string[] {
  return o?.debugDirs ?? ["/usr/lib/debug"];
}

/** Path of the build-id file in each debug dir: <dir>/.build-id/ab/cdef....debug */
export function buildIdPaths(id: string, o?: LookupOptions): string[] {
  if (id.length < 4) return [];
  return defaultDirs(o).map((d) => path.join(d, ".build-id", id.slice(0, 2), id.slice(2) + ".debug"));
}

function crc32Of(file: string): number | undefined {
  const fn = (zlib as unknown as { crc32?: (b: Buffer) => number }).crc32;
  if (!fn) return undefined; // Node without zlib.crc32: accept the name match alone.
  return fn(readFileSync(file)) >>> 0;
}

/**
 * Finds the separate debug file for `elf`: first by build-id (the build-id must match), then by
 * the debuglink name next to the file, in its .debug/ directory, and under each debug dir with
 * the file's directory appended (the CRC must match). Returns undefined if none exists.
 */
export function findDebugFile(elf: ElfFile, o?: LookupOptions): string | undefined {
  const id = buildId(elf);
  if (id) {
    for (const p of buildIdPaths(id, o)) {
      if (p !== elf.path && existsSync(p) && safeBuildId(p) === id) return p;
    }
  }
  const link = readDebugLink(elf);
  if (link) {
    const dir = path.dirname(path.resolve(elf.path));
    const candidates = [
      path.join(dir, link.file),
      path.join(dir, ".debug", link.file),
      ...defaultDirs(o).map((d) => path.join(d, dir, link.file)),
    ];
    for (const p of candidates) {
      if (path.resolve(p) === path.resolve(elf.path) || !existsSync(p)) continue;
      const crc = crc32Of(p);
      if (crc === undefined || crc === link.crc) return p;
    }
  }
  return undefined;
}

/** Finds the dwz alt file named by .gnu_debugaltlink (relative to the debug file's directory). */
export function findAltFile(elf: ElfFile, o?: LookupOptions): string | undefined {
  const alt = readDebugAltLink(elf);
  if (!alt) return undefined;
  const candidates = [path.resolve(path.dirname(elf.path), alt.file), ...buildIdPaths(alt.buildId, o)];
  for (const p of candidates) if (existsSync(p)) return p;
  return undefined;
}

function safeBuildId(p: string): string | undefined {
  try {
    return buildId(ElfFile.open(p));
  } catch {
    return undefined;
  }
}
