// .symtab / .dynsym symbols. Names are resolved through the section named by sh_link. The tables
// are read for each walk and not kept by the ElfFile (ElfFile.transientData): a walk is a
// sub-millisecond read, a kept table ~1 MB for the rest of the run.

import { Cursor, cstrAt } from "../bytes";
import { SHN_UNDEF, SHT_DYNSYM, SHT_SYMTAB } from "./constants";
import { ElfFile, SectionHeader } from "./elf-file";

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_* */
  type: number;
  /** STB_* */
  bind: number;
  /** STV_* (low 2 bits of st_other) */
  visibility: number;
  shndx: number;
}

export function readSymbolTable(elf: ElfFile, s: SectionHeader): ElfSymbol[] {
  const data = elf.transientData(s);
  const strSec = elf.sections[s.link];
  if (!strSec) new Cursor(data, elf.path, s.name).fail(`sh_link ${s.link} names no section`, 0);
  const strtab = elf.transientData(strSec);
  const c = new Cursor(data, elf.path, s.name);
  const n = Math.floor(data.length / 24);
  const out: ElfSymbol[] = [];
  for (let i = 0; i < n; i++) {
    const nameOff = c.u32();
    const info = c.u8();
    const other = c.u8();
    const shndx = c.u16();
    const value = c.u64();
    const size = c.u64();
    out.push({
      name: nameOff === 0 ? "" : cstrAt(strtab, nameOff, elf.path, strSec.name),
      value,
      size,
      type: info & 0xf,
      bind: info >> 4,
      visibility: other & 3,
      shndx,
    });
  }
  return out;
}

/**
 * Calls `fn(name, value, size)` for each .symtab symbol whose type is one of `types`, that is defined
 * (not SHN_UNDEF) and whose value is in `values`, in file order. Only those symbols' names are
 * decoded (a large binary has ~10^5 symbols and the caller wants a few).
 */
export function forEachSymbolAt(
  elf: ElfFile,
  types: number[],
  values: Set<number>,
  fn: (name: string, value: number, size: number) => void,
): void {
  forEachSymtabEntry(
    elf,
    (info, shndx, value) => shndx !== SHN_UNDEF && types.includes(info & 0xf) && values.has(value),
    fn,
  );
}

/**
 * Calls `fn(name, value)` for each .symtab symbol of type `type` with a non-zero value, in file
 * order, decoding only those symbols' names (what readSymbols(elf).symtab gives, filtered so,
 * without an object and a name for every symbol).
 */
export function forEachSymbolOfType(
  elf: ElfFile,
  type: number,
  fn: (name: string, value: number) => void,
): void {
  forEachSymtabEntry(elf, (info, _shndx, value) => (info & 0xf) === type && value !== 0, fn);
}

/** The .symtab walk behind both: `keep` sees each entry's raw fields, and only the names of the
 * entries it keeps are decoded. */
function forEachSymtabEntry(
  elf: ElfFile,
  keep: (info: number, shndx: number, value: number) => boolean,
  fn: (name: string, value: number, size: number) => void,
): void {
  for (const s of elf.sections) {
    if (s.type !== SHT_SYMTAB) continue;
    const data = elf.transientData(s);
    const strSec = elf.sections[s.link];
    if (!strSec) new Cursor(data, elf.path, s.name).fail(`sh_link ${s.link} names no section`, 0);
    const strtab = elf.transientData(strSec);
    const c = new Cursor(data, elf.path, s.name);
    const n = Math.floor(data.length / 24);
    for (let i = 0; i < n; i++) {
      c.pos = i * 24;
      const nameOff = c.u32();
      const info = c.u8();
      c.u8(); // st_other
      const shndx = c.u16();
      const value = c.u64();
      const size = c.u64();
      if (!keep(info, shndx, value)) continue;
      fn(nameOff === 0 ? "" : cstrAt(strtab, nameOff, elf.path, strSec.name), value, size);
    }
  }
}

/** Symbols of .symtab (full) and .dynsym (exported), each in file order. */
export function readSymbols(elf: ElfFile): { symtab: ElfSymbol[]; dynsym: ElfSymbol[] } {
  const symtab: ElfSymbol[] = [];
  const dynsym: ElfSymbol[] = [];
  for (const s of elf.sections) {
    if (s.type === SHT_SYMTAB) symtab.push(...readSymbolTable(elf, s));
    else if (s.type === SHT_DYNSYM) dynsym.push(...readSymbolTable(elf, s));
  }
  return { symtab, dynsym };
}
