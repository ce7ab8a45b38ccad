// Calls to allocation functions in a binary's code: `call rel32` (E8) to the function's PLT
// entry (.plt or .plt.sec, named through .rela.plt) or to a local definition, and
// `call *GOT(%rip)` (FF 15, -fno-plt) through a GOT slot named by .rela.dyn/.rela.plt. Each
// gives the call's address and its return address, the pc the runtime records as the site.

import { ElfFile, SectionHeader } from "../elf/elf-file";
import { readSymbolTable, readSymbols } from "../elf/symbols";

export interface AllocCall {
  call: number;
  ret: number;
  callee: string;
}

const STT_FUNC = 2;

/** GOT slot address -> symbol name, from the dynamic relocations. */
function gotSlots(elf: ElfFile): Map<number, string> {
  const out = new Map<number, string>();
  const dynsymSec = elf.section(".dynsym");
  if (!dynsymSec) return out;
  const syms = readSymbolTable(elf, dynsymSec);
  for (const name of [".rela.plt", ".rela.dyn"]) {
    const s = elf.section(name);
    if (!s) continue;
    const d = elf.data(s);
    for (let o = 0; o + 24 <= d.length; o += 24) {
      const off = Number(d.readBigUInt64LE(o));
      const sym = Number(d.readBigUInt64LE(o + 8) >> 32n);
      if (sym > 0 && sym < syms.length) out.set(off, syms[sym].name);
    }
  }
  return out;
}

/** PLT entry address -> the symbol its indirect jump goes through. */
function pltEntries(elf: ElfFile, slots: Map<number, string>): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of [".plt", ".plt.sec"]) {
    const s = elf.section(name);
    if (!s) continue;
    const d = elf.data(s);
    for (let o = 0; o + 6 <= d.length; o++) {
      if (d[o] !== 0xff || d[o + 1] !== 0x25) continue;
      const slot = s.addr + o + 6 + d.readInt32LE(o + 2);
      const sym = slots.get(slot);
      if (sym) out.set(s.addr + Math.floor(o / 16) * 16, sym);
    }
  }
  return out;
}

function execSections(elf: ElfFile): SectionHeader[] {
  const SHF_EXECINSTR = 0x4;
  return elf.sections.filter((s) => s.flags & SHF_EXECINSTR && s.type === 1 && !s.name.startsWith(".plt"));
}

export function findAllocCallsInBinary(elf: ElfFile, names: Set<string>): AllocCall[] {
  const slots = gotSlots(elf);
  const targets = new Map<number, string>();
  for (const [addr, sym] of pltEntries(elf, slots)) if (names.has(sym)) targets.set(addr, sym);
  // Local definitions, also under the optimiser's clone names (xmalloc.constprop.0, .isra.0).
  for (const s of readSymbols(elf).symtab) {
    const base = s.name.split(".")[0];
    if (s.type === STT_FUNC && s.value && names.has(base)) targets.set(s.value, base);
  }
  const gotTargets = new Map<number, string>();
  for (const [slot, sym] of slots) if (names.has(sym)) gotTargets.set(slot, sym);
  const out: AllocCall[] = [];
  for (const s of execSections(elf)) {
    const d = elf.data(s);
    for (let o = 0; o + 5 <= d.length; o++) {
      if (d[o] === 0xe8) {
        const to = s.addr + o + 5 + d.readInt32LE(o + 1);
        const callee = targets.get(to);
        if (callee) out.push({ call: s.addr + o, ret: s.addr + o + 5, callee });
      } else if (d[o] === 0xff && d[o + 1] === 0x15 && o + 6 <= d.length) {
        const slot = s.addr + o + 6 + d.readInt32LE(o + 2);
        const callee = gotTargets.get(slot);
        if (callee) out.push({ call: s.addr + o, ret: s.addr + o + 6, callee });
      }
    }
  }
  return out;
}
