// Calls to allocation functions in a binary's code: `call rel32` (E8) to the function's PLT
// entry (.plt or .plt.sec, named through .rela.plt) or to a local definition, and
// `call *GOT(%rip)` (FF 15, -fno-plt) through a GOT slot named by .rela.dyn/.rela.plt. Each
// gives the call's address and its return address, the pc the runtime records as the site.
// On request also the jumps to them (tail calls: `jmp rel32` E9, `jcc rel32` 0F 8x, `jmp
// *GOT(%rip)` FF 25), whose site is the caller's call of the jumping function, and calls to
// more functions given by address (the functions found to tail-call an allocator).

import { ElfFile, SectionHeader } from "../elf/elf-file";
import { cstrAt, grownI32, grownU32, grownU8 } from "../bytes";
import { forEachSymbolOfType, readSymbolTable } from "../elf/symbols";
import { stableOrderBy } from "./sort-order";

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

/** GOT slot address -> symbol name, from the dynamic relocations. Only the names of the
 * symbols relocations use are decoded (a program exporting 10^4 symbols relocates a few hundred
 * GOT slots), when every name offset is known to be readable: inside a string table that ends
 * in a terminator; otherwise every name is, as readSymbolTable does (and fails as it does). */
function gotSlots(elf: ElfFile): Map<number, string> {
  const dynsymSec = elf.section(".dynsym");
  if (!dynsymSec) return new Map();
  const strSec = elf.sections[dynsymSec.link];
  const strtab = strSec ? elf.data(strSec) : undefined;
  const symData = elf.data(dynsymSec);
  let nameOf: (sym: number) => string;
  if (strSec && strtab && strtab.length > 0 && strtab[strtab.length - 1] === 0) {
    let max = 0;
    for (let o = 0; o + 24 <= symData.length; o += 24) max = Math.max(max, symData.readUInt32LE(o));
    if (max >= strtab.length) return allNamed(elf, dynsymSec);
    const names = new Map<number, string>();
    nameOf = (sym) => {
      let n = names.get(sym);
      if (n === undefined) {
        const off = symData.readUInt32LE(sym * 24);
        names.set(sym, (n = off === 0 ? "" : cstrAt(strtab, off, elf.path, strSec.name)));
      }
      return n;
    };
  } else return allNamed(elf, dynsymSec);
  return gotSlotsOf(elf, Math.floor(symData.length / 24), nameOf);
}

/** gotSlots with every symbol's name decoded first. */
function allNamed(elf: ElfFile, dynsymSec: SectionHeader): Map<number, string> {
  const syms = readSymbolTable(elf, dynsymSec);
  return gotSlotsOf(elf, syms.length, (sym) => syms[sym].name);
}

/** The GOT slots of .rela.plt and .rela.dyn with the names of their symbols (of `count`). */
function gotSlotsOf(elf: ElfFile, count: number, nameOf: (sym: number) => string): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of [".rela.plt", ".rela.dyn"]) {
    const s = elf.section(name);
    if (!s) continue;
    const d = elf.data(s);
    for (let o = 0; o + 24 <= d.length; o += 24) {
      // r_offset, and r_info's symbol (its high half), without a BigInt each.
      const off = d.readUInt32LE(o + 4) * 2 ** 32 + d.readUInt32LE(o);
      const sym = d.readUInt32LE(o + 12);
      if (sym > 0 && sym < count) out.set(off, nameOf(sym));
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

/** What allocTargets reads of a binary, whatever the names: read once per ElfFile (the site
 * analysis asks for the malloc family, the functions returning their first argument and the
 * declared suballocators, and decoding every function symbol's name each time was most of it). */
interface TargetSources {
  slots: Map<number, string>;
  plt: Map<number, string>;
  /** Function symbols with a value, in file order: their names without a clone suffix. */
  funcNames: string[];
  funcValues: number[];
}

const targetSourceCache = new WeakMap<ElfFile, TargetSources>();

function targetSources(elf: ElfFile): TargetSources {
  let t = targetSourceCache.get(elf);
  if (t) return t;
  const slots = gotSlots(elf);
  const funcNames: string[] = [];
  const funcValues: number[] = [];
  // Local definitions, also under the optimiser's clone names (xmalloc.constprop.0, .isra.0).
  forEachSymbolOfType(elf, STT_FUNC, (name, value) => {
    const dot = name.indexOf(".");
    funcNames.push(dot < 0 ? name : name.slice(0, dot));
    funcValues.push(value);
  });
  t = { slots, plt: pltEntries(elf, slots), funcNames, funcValues };
  targetSourceCache.set(elf, t);
  return t;
}

export function allocTargets(elf: ElfFile, names: Set<string>): AllocTargets {
  const { slots, plt, funcNames, funcValues } = targetSources(elf);
  const code = new Map<number, string>();
  for (const [addr, sym] of plt) if (names.has(sym)) code.set(addr, sym);
  for (let i = 0; i < funcNames.length; i++)
    if (names.has(funcNames[i])) code.set(funcValues[i], funcNames[i]);
  const got = new Map<number, string>();
  for (const [slot, sym] of slots) if (names.has(sym)) got.set(slot, sym);
  return { code, got };
}

/** Every instruction-shaped call or jump in the code, whatever it goes to, in scan order (by
 * section, then offset): where it is, its kind, and its rel32 target or GOT slot. The site
 * analysis scans for branches to a growing set of targets many times (tail allocators and
 * wrappers, round after round); reading the code once and filtering this list each time gives
 * the same branches, in the same order, for a fraction of the cost.
 *
 * Nine bytes a candidate (its offset in its section, its rel32, its kind and opcode length),
 * from which its address and target are worked out: the columns are given room before the scan
 * knows how many there are (one pass over the code), and an address and a target as doubles
 * (17 bytes a candidate) made that room, and the copy to the exact size, show in the process's
 * peak RSS. */
class BranchCandidates {
  off: Uint32Array<ArrayBuffer>;
  rel: Int32Array<ArrayBuffer>;
  /** KIND_OF_OPCODE's value: kind | (opcode length << 3). */
  kindLen: Uint8Array<ArrayBuffer>;
  length = 0;
  /** Each section's first candidate and address, in scan order. */
  readonly secFirst: number[] = [];
  readonly secAddr: number[] = [];
  /** Candidate indexes by target (ties in scan order): made on the first scan. */
  private byTo?: Int32Array;

  /** Room for `capacity` candidates first (grown by doubling while the code is scanned). */
  constructor(capacity: number) {
    this.off = new Uint32Array(capacity);
    this.rel = new Int32Array(capacity);
    this.kindLen = new Uint8Array(capacity);
  }

  grow(): void {
    const cap = this.kindLen.length * 2;
    this.off = grownU32(this.off, cap);
    this.rel = grownI32(this.rel, cap);
    this.kindLen = grownU8(this.kindLen, cap);
  }

  /** The address of candidate i. */
  at(i: number): number {
    const first = this.secFirst;
    let s = first.length - 1;
    while (s > 0 && first[s] > i) s--;
    return this.secAddr[s] + this.off[i];
  }

  /** Where candidate i goes: its rel32 from the end of its instruction. */
  to(i: number): number {
    return this.at(i) + (this.kindLen[i] >> 3) + 4 + this.rel[i];
  }

  kind(i: number): number {
    return this.kindLen[i] & 7;
  }

  /** Calls `fn` with the index of each candidate going to `target`, in scan order. */
  forEachTo(target: number, fn: (i: number) => void): void {
    this.byTo ??= this.orderByTarget();
    const byTo = this.byTo;
    let lo = 0;
    let hi = byTo.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.to(byTo[mid]) < target) lo = mid + 1;
      else hi = mid;
    }
    for (let j = lo; j < byTo.length && this.to(byTo[j]) === target; j++) fn(byTo[j]);
  }

  private orderByTarget(): Int32Array {
    const keys = new Float64Array(this.length);
    for (let s = 0; s < this.secFirst.length; s++) {
      const end = s + 1 < this.secFirst.length ? this.secFirst[s + 1] : this.length;
      targetsOf(this.secAddr[s], this.secFirst[s], end, this.off, this.rel, this.kindLen, keys);
    }
    return stableOrderBy(keys);
  }
}

/** The targets of candidates [first, end) of a section at `addr`, into keys. */
function targetsOf(
  addr: number,
  first: number,
  end: number,
  off: Uint32Array,
  rel: Int32Array,
  kindLen: Uint8Array,
  keys: Float64Array,
): void {
  for (let i = first; i < end; i++) keys[i] = addr + off[i] + (kindLen[i] >> 3) + 4 + rel[i];
}

const K_CALL = 0; // E8 call rel32
const K_JMP = 1; // E9 jmp rel32
const K_CALL_GOT = 2; // FF 15 call *GOT(%rip)
const K_JMP_GOT = 3; // FF 25 jmp *GOT(%rip)
const K_JCC = 4; // 0F 8x jcc rel32

const candidateCache = new WeakMap<ElfFile, BranchCandidates>();

/** By an instruction's first two bytes: its candidate kind | (opcode length << 3), or NONE.
 * One table lookup and one path for every kind: V8 optimised a branch per opcode before the loop
 * met its rarer branches, then deoptimised and recompiled it when it did. */
const NONE = 255;
const KIND_OF_OPCODE = new Uint8Array(1 << 16).fill(NONE);
for (let x = 0; x < 256; x++) {
  KIND_OF_OPCODE[(0xe8 << 8) | x] = K_CALL | 8;
  KIND_OF_OPCODE[(0xe9 << 8) | x] = K_JMP | 8;
}
KIND_OF_OPCODE[0xff15] = K_CALL_GOT | 16;
KIND_OF_OPCODE[0xff25] = K_JMP_GOT | 16;
for (let x = 0x80; x <= 0x8f; x++) KIND_OF_OPCODE[(0x0f << 8) | x] = K_JCC | 16;

/** Adds one section's candidates (code d) from index n on; the next index. One pass, growing
 * the columns as needed: counting first, for columns of the exact size, was a second pass over
 * the code (~17 ms of PostgreSQL's backend's 5 MB, cold). */
function scanSection(d: Uint8Array, c: BranchCandidates, n: number): number {
  const len = d.length;
  for (let o = 0; o + 5 <= len; o++) {
    const k = KIND_OF_OPCODE[(d[o] << 8) | d[o + 1]];
    if (k === NONE) continue;
    const p = o + (k >> 3); // the rel32
    if (p + 4 > len) continue;
    if (n === c.kindLen.length) c.grow();
    c.off[n] = o;
    c.rel[n] = d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24);
    c.kindLen[n] = k;
    n++;
  }
  return n;
}

/** Candidates a code's bytes are first given room for: one per 16 bytes (PostgreSQL's backend
 * has one per 23). */
const CANDIDATE_DENSITY_SHIFT = 4;

function branchCandidates(elf: ElfFile): BranchCandidates {
  let c = candidateCache.get(elf);
  if (c) return c;
  const code = execSections(elf).map((s) => {
    const buf = elf.data(s);
    return { addr: s.addr, d: new Uint8Array(buf.buffer, buf.byteOffset, buf.length) };
  });
  let bytes = 0;
  for (const s of code) bytes += s.d.length;
  c = new BranchCandidates(Math.max(1024, bytes >> CANDIDATE_DENSITY_SHIFT));
  let n = 0;
  for (const s of code) {
    c.secFirst.push(n);
    c.secAddr.push(s.addr);
    n = scanSection(s.d, c, n);
  }
  c.length = n;
  candidateCache.set(elf, c);
  return c;
}

/** Scans the code for calls (and, with `jumps`, jumps) to the targets: the candidates going
 * to each target are found by target (a few hundred targets among ~10^6 candidates on a large
 * program, asked round after round), then listed in scan order. */
export function scanBranches(elf: ElfFile, t: AllocTargets, jumps: boolean): AllocCall[] {
  const c = branchCandidates(elf);
  const hits: number[] = [];
  const callees: string[] = [];
  const collect = (map: Map<number, string>, got: boolean): void => {
    for (const [target, callee] of map) {
      if (!callee) continue;
      c.forEachTo(target, (i) => {
        const k = c.kind(i);
        if (!jumps && k !== K_CALL && k !== K_CALL_GOT) return;
        if ((k === K_CALL_GOT || k === K_JMP_GOT) !== got) return;
        hits.push(i);
        callees.push(callee);
      });
    }
  };
  collect(t.code, false);
  collect(t.got, true);
  const out: AllocCall[] = [];
  for (const h of stableOrderBy(Float64Array.from(hits))) {
    const i = hits[h];
    const k = c.kind(i);
    const call = c.at(i);
    const callee = callees[h];
    if (k === K_CALL || k === K_JMP)
      out.push({ call, ret: call + 5, callee, target: c.to(i), tail: k === K_JMP });
    else if (k === K_JCC) out.push({ call, ret: call + 6, callee, target: c.to(i), tail: true });
    else out.push({ call, ret: call + 6, callee, tail: k === K_JMP_GOT });
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
