// Instruction boundaries, for the calls the runtime rewrites: a `call rel32` found by scanning
// bytes (calls.ts) may be an E8 byte inside another instruction (an immediate, a displacement, a
// ModRM or SIB byte) whose next four bytes happen to reach the callee, and patching it would
// corrupt the program. A linear sweep from a function's first instruction, one instruction
// length at a time, proves an address is an instruction start when it lands on it exactly
// (gcc and clang put no data in x86-64 code). Lengths come from the decoder (x86-decode.ts),
// and where it gives up, from a length-only decode here: VEX and EVEX instructions (whose
// length follows from the prefix, the opcode map, the ModRM and the map's immediate rule,
// whatever they mean), the 0F 38 / 0F 3A maps, x87 and the rarer one-byte opcodes.

import { ElfFile } from "../elf/elf-file";
import { ElfSymbol, readSymbols } from "../elf/symbols";
import { FunctionInfo } from "../model/types";
import { AllocCall } from "./calls";
import { CodeFacts } from "./callsites";
import { decode } from "./x86-decode";

/** The longest x86 instruction. */
const MAX_LEN = 15;
const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65]);

/** The bytes of a ModRM (with its SIB and displacement) at code[o], or undefined past the end. */
function modrmLen(code: Buffer, o: number): number | undefined {
  if (o >= code.length) return undefined;
  const mod = code[o] >> 6;
  const rm = code[o] & 7;
  if (mod === 3) return 1;
  let len = 1;
  let disp = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  if (rm === 4) {
    if (o + 1 >= code.length) return undefined;
    len++;
    if ((code[o + 1] & 7) === 5 && mod === 0) disp = 4;
  } else if (rm === 5 && mod === 0) disp = 4;
  return len + disp;
}

/** Immediate bytes of a VEX/EVEX instruction in opcode map 1 (0F): the SSE ones taking an imm8. */
const map1Imm = (op: number): number =>
  (op >= 0x70 && op <= 0x73) || op === 0xc2 || op === 0xc4 || op === 0xc5 || op === 0xc6 ? 1 : 0;

/** The length of what x86-decode.ts does not decode; undefined when not known. */
function lengthOnly(code: Buffer, start: number): number | undefined {
  const end = code.length;
  let o = start;
  let opsize16 = false;
  let addr32 = false;
  while (o < end && LEGACY_PREFIXES.has(code[o]) && o - start < MAX_LEN) {
    if (code[o] === 0x66) opsize16 = true;
    if (code[o] === 0x67) addr32 = true;
    o++;
  }
  if (o >= end) return undefined;
  // VEX (C5: one payload byte, map 0F; C4: two, map in the low five bits) and EVEX (62: three):
  // opcode, ModRM (but vzeroupper/vzeroall), imm8 by map. Always these in 64-bit mode.
  const b0 = code[o];
  if (b0 === 0xc5 || b0 === 0xc4 || b0 === 0x62) {
    const payload = b0 === 0xc5 ? 1 : b0 === 0xc4 ? 2 : 3;
    if (o + payload + 1 >= end) return undefined;
    const map = b0 === 0xc5 ? 1 : code[o + 1] & (b0 === 0x62 ? 0x07 : 0x1f);
    const op = code[o + payload + 1];
    o += payload + 2;
    if (map === 1 && op === 0x77 && b0 !== 0x62) return o - start;
    if (map < 1 || map > 3) return undefined;
    const m = modrmLen(code, o);
    if (m === undefined) return undefined;
    const imm = map === 3 ? 1 : map === 1 ? map1Imm(op) : 0;
    return fits(o + m + imm - start, start, end);
  }
  if (b0 >= 0x40 && b0 <= 0x4f) o++;
  if (o >= end) return undefined;
  const b = code[o++];
  const withModrm = (imm: number): number | undefined => {
    const m = modrmLen(code, o);
    return m === undefined ? undefined : fits(o + m + imm - start, start, end);
  };
  const plain = (imm: number): number | undefined => fits(o + imm - start, start, end);
  const immz = opsize16 ? 2 : 4;
  if (b === 0x0f) {
    if (o >= end) return undefined;
    const c = code[o++];
    if (c === 0x38) return o < end ? (o++, withModrm(0)) : undefined;
    if (c === 0x3a) return o < end ? (o++, withModrm(1)) : undefined;
    if ([0x06, 0x07, 0x08, 0x09, 0x0b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37].includes(c)) return plain(0);
    if ([0x77, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa].includes(c)) return plain(0);
    if (c >= 0xc8 && c <= 0xcf) return plain(0);
    if (c >= 0x80 && c <= 0x8f) return plain(4);
    // Every other two-byte opcode in use takes a ModRM (system, fences, SSE, popcnt, ...); 3DNow!
    // (0F 0F) and the undefined ones are not met in compiled code.
    if (c === 0x0f || c === 0x04 || c === 0x0a || c === 0x0c || c === 0x0e || c === 0x24 || c === 0x25)
      return undefined;
    if (c === 0x36 || (c >= 0x38 && c <= 0x3f) || c === 0x26 || c === 0x27) return undefined;
    if (c === 0xba || c === 0xa4 || c === 0xac || c === 0xc2 || c === 0xc4 || c === 0xc5 || c === 0xc6)
      return withModrm(1);
    if (c >= 0x70 && c <= 0x73) return withModrm(1);
    return withModrm(0);
  }
  if (b >= 0xd8 && b <= 0xdf) return withModrm(0); // x87
  if (b === 0x8c || b === 0x8e) return withModrm(0); // mov to or from a segment register
  if (b === 0x8f) return o < end && ((code[o] >> 3) & 7) === 0 ? withModrm(0) : undefined; // pop r/m, not XOP
  if (b === 0xc6 && o < end && code[o] === 0xf8) return plain(2); // xabort imm8
  if (b === 0xc7 && o < end && code[o] === 0xf8) return plain(1 + immz); // xbegin rel32
  if (b >= 0xa0 && b <= 0xa3) return plain(addr32 ? 4 : 8); // mov moffs
  if (b === 0xc2 || b === 0xca) return plain(2); // ret imm16
  if (b === 0xc8) return plain(3); // enter
  if (b === 0xcd || (b >= 0xe0 && b <= 0xe7)) return plain(1); // int, loop, jrcxz, in, out
  if ((b >= 0x91 && b <= 0x97) || (b >= 0x9b && b <= 0x9f) || b === 0xcb || b === 0xd7) return plain(0);
  if ((b >= 0xec && b <= 0xef) || b === 0xf1 || b === 0xf5 || (b >= 0xf8 && b <= 0xfd)) return plain(0);
  return undefined;
}

const fits = (len: number, start: number, end: number): number | undefined =>
  len > 0 && len <= MAX_LEN && start + len <= end ? len : undefined;

/** The length of the instruction at code[o], or undefined when not known. */
export function insnLength(code: Buffer, o: number): number | undefined {
  // emms (0F 77) has no ModRM, which the decoder's SSE range would read.
  let p = o;
  while (p < code.length && p - o < MAX_LEN && LEGACY_PREFIXES.has(code[p])) p++;
  if (p < code.length && code[p] >= 0x40 && code[p] <= 0x4f) p++;
  if (p + 1 < code.length && code[p] === 0x0f && code[p + 1] === 0x77) return p + 2 - o;
  const d = decode(code, o, 0);
  if (d) return d.len > 0 ? d.len : undefined;
  return lengthOnly(code, o);
}

/** Whether a linear sweep from code[from] (an instruction start) lands on code[to]: true when it
 * does, false when an instruction spans it, undefined when an unknown instruction comes first. */
export function sweepReaches(code: Buffer, from: number, to: number): boolean | undefined {
  if (to < from || to >= code.length) return false;
  let o = from;
  while (o < to) {
    const n = insnLength(code, o);
    if (n === undefined) return undefined;
    o += n;
  }
  return o === to;
}

const STT_FUNC = 2;

/** One function's sweep, kept so its later calls continue it (calls are scanned in address order). */
interface Sweep {
  code: Buffer;
  /** Offset of the next instruction to decode; starts holds every start before it. */
  pos: number;
  starts: Set<number>;
  stuck: boolean;
}

/** Proves a scanned `call rel32` is a real instruction before the runtime rewrites it. */
export class CallStartProver {
  private funcSyms?: ElfSymbol[];
  private readonly sweeps = new Map<number, Sweep>();

  constructor(
    private readonly elf: ElfFile,
    private readonly facts: Pick<CodeFacts, "callSites" | "ranges">,
  ) {}

  /** Why the call's E8 byte is not known to start an instruction, or undefined when it is: a call
   * site DIE calling the callee returns to the address after it (the only direct near call that
   * ends there is this `call rel32`; the compiler emits these DIEs for its own calls only), or a
   * linear sweep from the start of its function's code lands on it. A line-table row is no
   * proof: gas gives a row to the first instruction after `.loc`, so in inline asm that opens
   * with `.byte` data the row can fall inside the instruction those bytes begin. */
  whyNot(b: AllocCall, fn: FunctionInfo | undefined): string | undefined {
    const site = this.facts.callSites.get(b.ret);
    if (site && !site.tail && site.callee === b.callee && b.ret === b.call + 5) return undefined;
    const sec = this.elf.sections.find(
      (s) => s.flags & 0x4 && s.type === 1 && b.call >= s.addr && b.call < s.addr + s.size,
    );
    const from = sec && this.functionStart(b.call, fn);
    const where = `0x${b.call.toString(16)} in ${fn?.name ?? "an unknown function"}`;
    if (!sec || from === undefined || from < sec.addr || from > b.call)
      return `the call to suballocator ${b.callee} at ${where} is not redirected: no function start to prove it is an instruction`;
    const hit = this.reaches(sec.addr, this.elf.data(sec), from - sec.addr, b.call - sec.addr);
    if (hit) return undefined;
    return hit === false
      ? `bytes at ${where} look like a call to suballocator ${b.callee} but lie inside another instruction: not redirected`
      : `the call to suballocator ${b.callee} at ${where} is not redirected: an instruction before it could not be decoded to prove it is one`;
  }

  /** sweepReaches, continuing the sweep already made from the same start. */
  private reaches(secAddr: number, code: Buffer, from: number, to: number): boolean | undefined {
    let w = this.sweeps.get(secAddr + from);
    if (!w) this.sweeps.set(secAddr + from, (w = { code, pos: from, starts: new Set(), stuck: false }));
    while (!w.stuck && w.pos < to) {
      const n = insnLength(w.code, w.pos);
      if (n === undefined) {
        w.stuck = true;
      } else {
        w.starts.add(w.pos);
        w.pos += n;
      }
    }
    if (w.pos === to || w.starts.has(to)) return true;
    return w.pos < to ? undefined : false;
  }

  /** The first address of the code range of `fn` (or of the ELF function symbol) holding pc. */
  private functionStart(pc: number, fn: FunctionInfo | undefined): number | undefined {
    if (fn) {
      const r = this.facts.ranges.get(fn.lowPc)?.find(([lo, hi]) => pc >= lo && pc < hi);
      return r ? r[0] : fn.lowPc;
    }
    this.funcSyms ??= readSymbols(this.elf).symtab.filter((x) => x.type === STT_FUNC && x.value && x.size);
    return this.funcSyms.find((x) => pc >= x.value && pc < x.value + x.size)?.value;
  }
}
