// Calls to allocation functions in a binary's code: `call rel32` (E8) to the function's PLT
// entry (.plt or .plt.sec, named through .rela.plt) or to a local definition, and
// `call *GOT(%rip)` (FF 15, -fno-plt) through a GOT slot named by .rela.dyn/.rela.plt. Each
// gives the call's address and its return address, the pc the runtime records as the site.
// On request also the jumps to them (tail calls: `jmp rel32` E9, `jcc rel32` 0F 8x, `jmp
// *GOT(%rip)` FF 25), whose site is the caller's call of the jumping function, and calls to
// more functions given by address (the functions found to tail-call an allocator).

import { ElfFile, SectionHeader } from "../elf/elf-file";
import { readSymbolTable, readSymbols } from "../elf/symbols";

export interface AllocCall {
  call: number;
  ret: number;
  callee: string;
  /** The callee's address (its PLT entry or definition), or undefined through the GOT. */
  target?: number;
  /** A jump, not a call: `ret` is only the address after it (no return address is pushed). */
  tail?: boolean;
  /** Known from DWARF only: `call` is just some address inside the instruction (ret - 1). */
  approx?: boolean;
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
  // .plt.got holds 8-byte entries for functions whose address is also taken (libc's own malloc).
  for (const name of [".plt", ".plt.sec", ".plt.got"]) {
    const s = elf.section(name);
    if (!s) continue;
    const d = elf.data(s);
    const size = s.entsize === 8 || s.entsize === 16 ? s.entsize : 16;
    for (let o = 0; o + 6 <= d.length; o++) {
      if (d[o] !== 0xff || d[o + 1] !== 0x25) continue;
      const slot = s.addr + o + 6 + d.readInt32LE(o + 2);
      const sym = slots.get(slot);
      if (sym) out.set(s.addr + Math.floor(o / size) * size, sym);
    }
  }
  return out;
}

export function execSections(elf: ElfFile): SectionHeader[] {
  const SHF_EXECINSTR = 0x4;
  return elf.sections.filter((s) => s.flags & SHF_EXECINSTR && s.type === 1 && !s.name.startsWith(".plt"));
}

/** Where calls to the named functions go: code addresses and GOT slots, each with its name. */
export interface AllocTargets {
  code: Map<number, string>;
  got: Map<number, string>;
}

export function allocTargets(elf: ElfFile, names: Set<string>): AllocTargets {
  const slots = gotSlots(elf);
  const code = new Map<number, string>();
  for (const [addr, sym] of pltEntries(elf, slots)) if (names.has(sym)) code.set(addr, sym);
  // Local definitions, also under the optimiser's clone names (xmalloc.constprop.0, .isra.0).
  for (const s of readSymbols(elf).symtab) {
    const base = s.name.split(".")[0];
    if (s.type === STT_FUNC && s.value && names.has(base)) code.set(s.value, base);
  }
  const got = new Map<number, string>();
  for (const [slot, sym] of slots) if (names.has(sym)) got.set(slot, sym);
  return { code, got };
}

/** Scans the code for calls (and, with `jumps`, jumps) to the targets. */
export function scanBranches(elf: ElfFile, t: AllocTargets, jumps: boolean): AllocCall[] {
  const out: AllocCall[] = [];
  for (const s of execSections(elf)) {
    const d = elf.data(s);
    for (let o = 0; o + 5 <= d.length; o++) {
      const b = d[o];
      if (b === 0xe8 || (jumps && b === 0xe9)) {
        const to = s.addr + o + 5 + d.readInt32LE(o + 1);
        const callee = t.code.get(to);
        if (callee) out.push({ call: s.addr + o, ret: s.addr + o + 5, callee, target: to, tail: b === 0xe9 });
      } else if (b === 0xff && o + 6 <= d.length && (d[o + 1] === 0x15 || (jumps && d[o + 1] === 0x25))) {
        const slot = s.addr + o + 6 + d.readInt32LE(o + 2);
        const callee = t.got.get(slot);
        if (callee) out.push({ call: s.addr + o, ret: s.addr + o + 6, callee, tail: d[o + 1] === 0x25 });
      } else if (jumps && b === 0x0f && o + 6 <= d.length && d[o + 1] >= 0x80 && d[o + 1] <= 0x8f) {
        const to = s.addr + o + 6 + d.readInt32LE(o + 2);
        const callee = t.code.get(to);
        if (callee) out.push({ call: s.addr + o, ret: s.addr + o + 6, callee, target: to, tail: true });
      }
    }
  }
  return out;
}

export function findAllocCallsInBinary(elf: ElfFile, names: Set<string>): AllocCall[] {
  return scanBranches(elf, allocTargets(elf, names), false).map(({ call, ret, callee }) => ({
    call,
    ret,
    callee,
  }));
}
