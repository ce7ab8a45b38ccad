// Just enough x86-64 to see where an allocating call's result goes, and what constant size was
// passed to it. After the call, the result is in rax; we follow a few instructions:
//   mov %rax,%reg                  (REX.W 89 /r, mod 3)      the result now also in reg
//   mov %reg,disp(%rbp|%rsp)       (REX.W 89 /r, mod 1/2)    stored to a stack slot
//   mov %reg,disp(%rip)            (REX.W 89 /r, mod 0 rm 5) stored to a global
//   mov %reg,disp(%other)          stored through a pointer (a field, an array element)
//   mov/lea ...,%reg, mov $imm,%reg  reg overwritten (the compiler interleaves argument set-up)
//   leave / pop %rbp / ret         returned to the caller
// and stop at anything else. Every read is bounds-checked against the code buffer; hostile
// bytes end the walk, never throw.

export type ResultSink =
  | { kind: "stack"; base: "rbp" | "rsp"; disp: number; pc: number }
  | { kind: "global"; addr: number; pc: number }
  | { kind: "pointer"; pc: number }
  | { kind: "return"; pc: number }
  | { kind: "none" };

export interface ResultFlow {
  sink: ResultSink;
  /** At each instruction boundary followed (from the return address), the registers holding
   * the result, as DWARF register numbers. */
  held: { pc: number; regs: number[] }[];
}

/** x86 register number (with REX extension) -> DWARF register number (x86-64 psABI). */
const DWARF_REG = [0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * Follows the result of a call whose return address is at `code[off]` (virtual address
 * `vaddr`), for at most `maxInsns` instructions.
 */
export function followResult(code: Buffer, off: number, vaddr: number, maxInsns = 8): ResultFlow {
  const regs = new Set<number>([0]); // x86 numbering; rax
  const held: ResultFlow["held"] = [];
  let o = off;
  let pc = vaddr;
  const snapshot = (): void => {
    held.push({ pc, regs: [...regs].map((r) => DWARF_REG[r]) });
  };
  for (let n = 0; n < maxInsns && o < code.length; n++) {
    snapshot();
    const b0 = code[o];
    if (b0 === 0xc9 || b0 === 0xc3 || b0 === 0x5d)
      return regs.has(0) ? { sink: { kind: "return", pc }, held } : { sink: { kind: "none" }, held };
    if (b0 >= 0xb8 && b0 <= 0xbf) {
      // mov $imm32,%r32: overwrites a register.
      regs.delete(b0 & 7);
      o += 5;
      pc += 5;
      continue;
    }
    // REX.W 89 (mov r -> r/m), 8B (mov r/m -> r), 8D (lea m -> r).
    if (b0 < 0x48 || b0 > 0x4f || o + 3 > code.length) break;
    const opc = code[o + 1];
    if (opc !== 0x89 && opc !== 0x8b && opc !== 0x8d) break;
    const rex = b0;
    const modrm = code[o + 2];
    const mod = modrm >> 6;
    const reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
    const rmLow = modrm & 7;
    const rm = rmLow | ((rex & 1) << 3);
    let len = 3;
    let base: number | "rip" = rm;
    let disp = 0;
    if (mod !== 3) {
      let disp32 = mod === 2 || (mod === 0 && rmLow === 5);
      if (mod === 0 && rmLow === 5) base = "rip";
      if (rmLow === 4) {
        if (o + 4 > code.length) break;
        const sib = code[o + 3];
        len++;
        const index = ((sib >> 3) & 7) | ((rex & 2) << 2);
        base = (sib & 7) | ((rex & 1) << 3);
        if (index !== 4) base = -1; // indexed: an array element
        if ((sib & 7) === 5 && mod === 0) {
          base = -1; // no base register
          disp32 = true;
        }
      }
      if (mod === 1) {
        if (o + len + 1 > code.length) break;
        disp = code.readInt8(o + len);
        len += 1;
      } else if (disp32) {
        if (o + len + 4 > code.length) break;
        disp = code.readInt32LE(o + len);
        len += 4;
      }
    }
    if (opc === 0x89 && mod === 3) {
      if (regs.has(reg)) regs.add(rm);
      else regs.delete(rm);
    } else if (opc === 0x89) {
      if (regs.has(reg)) {
        if (base === "rip") return { sink: { kind: "global", addr: pc + len + disp, pc }, held };
        if (base === 5) return { sink: { kind: "stack", base: "rbp", disp, pc }, held };
        if (base === 4) return { sink: { kind: "stack", base: "rsp", disp, pc }, held };
        return { sink: { kind: "pointer", pc }, held };
      }
    } else {
      // A load or lea into reg: reg no longer holds the result.
      if (opc === 0x8b && mod === 3 && regs.has(rm)) regs.add(reg);
      else regs.delete(reg);
    }
    if (regs.size === 0) break;
    o += len;
    pc += len;
  }
  return { sink: { kind: "none" }, held };
}

/**
 * The constant loaded into argument register `arg` (0 edi, 1 esi, 2 edx, 3 ecx) by one of the
 * (at most three) `mov $imm32,%e?x` / `mov $imm32,%r?x` instructions right before the call at
 * `code[callOff]`; undefined when the code before the call is anything else.
 */
export function constantArg(code: Buffer, callOff: number, arg: number): number | undefined {
  const want = [7, 6, 2, 1][arg];
  if (want === undefined) return undefined;
  let o = callOff;
  for (let k = 0; k < 3; k++) {
    // mov $imm32,%r32: B8+r imm32 (5 bytes); mov $imm32,%r64: 48 C7 C0+r imm32 (7 bytes).
    if (
      o >= 7 &&
      code[o - 7] === 0x48 &&
      code[o - 6] === 0xc7 &&
      code[o - 5] >= 0xc0 &&
      code[o - 5] <= 0xc7
    ) {
      if ((code[o - 5] & 7) === want) return code.readInt32LE(o - 4);
      o -= 7;
    } else if (o >= 5 && code[o - 5] >= 0xb8 && code[o - 5] <= 0xbf) {
      if ((code[o - 5] & 7) === want) return code.readUInt32LE(o - 4);
      o -= 5;
    } else return undefined;
  }
  return undefined;
}
