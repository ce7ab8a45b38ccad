// typegen's library entry: readTypes(path) -> the C type model of a binary, read from its own
// DWARF or from its separate debug file (build-id or .gnu_debuglink), with the dwz alt file when
// the DWARF names one. Malformed input ends in TypegenFormatError, never another exception.

import * as fs from "node:fs";
import { Dwarf } from "./dwarf/dwarf";
import { TypegenFormatError } from "./errors";
import { STT_OBJECT, STT_TLS } from "./elf/constants";
import { findAltFile, findDebugFile, LookupOptions } from "./elf/debuglink";
import { ElfFile } from "./elf/elf-file";
import { buildId } from "./elf/notes";
import { forEachSymbolAt } from "./elf/symbols";
import { buildModel } from "./model/build";
import { StaticVar, TypeModel } from "./model/types";

export * from "./model/types";
export { TypegenFormatError } from "./errors";
export { ElfFile } from "./elf/elf-file";
export { Dwarf } from "./dwarf/dwarf";

export interface ReadOptions extends LookupOptions {
  /** Do not look for a separate debug file even when the binary has no DWARF. */
  noSeparateDebug?: boolean;
}

/** Opens the ELF that holds the DWARF for `elf`: itself, or its separate debug file. */
export function openDebugElf(elf: ElfFile, o?: ReadOptions): ElfFile {
  if (elf.hasDwarf() || o?.noSeparateDebug) return elf;
  const p = findDebugFile(elf, o);
  return p ? ElfFile.open(p) : elf;
}

/**
 * The last DWARF view built, by the identity of its files: `allocs typegen` reads the types, then
 * the allocation-site analysis opens the same DWARF again (call sites, line tables, C++
 * allocators), which re-read and re-parsed the sections, unit headers and abbrev tables (~5% of a
 * run on python3.11d). A WeakRef keeps nothing alive: within one synchronous run the view is
 * still there; later it may be gone, and is then built again.
 */
let lastDwarf: { key: string; ref: WeakRef<Dwarf> } | undefined;

/** Path, inode, size and modification time: a file rewritten in place is another file. */
function fileIdentity(path: string): string {
  try {
    const st = fs.statSync(path);
    return `${path}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return `${path}\0?`;
  }
}

/** Builds the DWARF view of a file (with its alt file, if it names one and it exists). */
export function openDwarf(debugElf: ElfFile, o?: LookupOptions): Dwarf {
  const altPath = findAltFile(debugElf, o);
  // Only files read from disk are known by their identity (an image in memory may share a name).
  const key = debugElf.fromFile
    ? `${fileIdentity(debugElf.path)}\0${debugElf.size}\0${altPath ? fileIdentity(altPath) : ""}`
    : undefined;
  const seen = key !== undefined && lastDwarf?.key === key ? lastDwarf.ref.deref() : undefined;
  if (seen) return seen;
  const dwarf = new Dwarf(debugElf, altPath ? ElfFile.open(altPath) : undefined);
  if (key !== undefined) lastDwarf = { key, ref: new WeakRef(dwarf) };
  return dwarf;
}

export function readTypes(path: string, o?: ReadOptions): TypeModel {
  const elf = ElfFile.open(path);
  return readTypesFromElf(elf, o);
}

export function readTypesFromElf(elf: ElfFile, o?: ReadOptions): TypeModel {
  try {
    const debugElf = openDebugElf(elf, o);
    const dwarf = openDwarf(debugElf, o);
    const model = buildModel(dwarf, elf.path, debugElf.path);
    const id = buildId(elf) ?? buildId(debugElf);
    if (id) model.buildId = id;
    fillSizesFromSymbols(model, debugElf);
    return model;
  } catch (e) {
    if (e instanceof TypegenFormatError) throw e;
    // A bug or an engine limit (stack, allocation) on hostile input still names the file.
    throw new TypegenFormatError(elf.path, "(whole file)", 0, `unexpected failure: ${(e as Error).message}`);
  }
}

/** Statics whose type has no size (extern int a[]) take the size of their ELF symbol. */
function fillSizesFromSymbols(model: TypeModel, elf: ElfFile): void {
  // Symbols are matched by address, then name: only the few candidates' names are decoded.
  const want = new Map<number, StaticVar[]>();
  for (let i = 0; i < model.statics.length; i++) {
    const v = model.statics[i];
    if (v.size !== null) continue;
    const list = want.get(v.addr);
    if (list) list.push(v);
    else want.set(v.addr, [v]);
  }
  if (want.size === 0) return;
  const found = new Map<StaticVar, number>();
  forEachSymbolAt(elf, [STT_OBJECT, STT_TLS], new Set(want.keys()), (name, value, size) => {
    // The last symbol of that name and address wins, as in a map built over the whole table.
    for (const v of want.get(value) ?? []) if (v.name === name) found.set(v, size);
  });
  for (const [v, size] of found) v.size = size;
}
