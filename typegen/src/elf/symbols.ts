// .symtab / .dynsym symbols. Names are resolved through the section named by sh_link.

import { Cursor, cstrAt } from "../bytes";
import { SHT_DYNSYM, SHT_SYMTAB } from "./constants";
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
  const data = elf.data(s);
  const strSec = elf.sections[s.link];
  if (!strSec) new Cursor(data, elf.path, s.name).fail(`sh_link ${s.link} names no section`, 0);
  const strtab = elf.data(strSec);
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
