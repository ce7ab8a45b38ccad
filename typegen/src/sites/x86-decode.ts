// A small x86-64 instruction decoder: enough of the general-purpose integer instructions that
// compilers put around a call (moves, lea, ALU, shifts, compares, pushes and pops, branches,
// nops, SSE moves) to know each instruction's length, which general-purpose register it writes,
// and its operands when it moves or computes a value. Anything else (x87, 3-byte opcodes, VEX)
// decodes to undefined, and the caller stops there: its length is not known. Every read is
// bounds-checked against the buffer; no input makes it throw.

/** A general-purpose register, 0-15 in x86 numbering (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15). */
export type Reg = number;

export const RAX = 0;
export const RSP = 4;
export const RBP = 5;

/** x86 register number -> DWARF register number (x86-64 psABI). */
export const DWARF_OF: readonly number[] = [0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];

export interface Mem {
  /** Base register; "rip" for rip-relative (disp is then absolute); undefined for none. */
  base: Reg | "rip" | undefined;
  index: Reg | undefined;
  scale: number;
  disp: number;
}

export type Operand = { kind: "reg"; reg: Reg } | { kind: "mem"; mem: Mem };

export type Insn =
  /** mov (also movabs, movsxd, movzx/movsx with `extend`); `wide` for a 64-bit destination. */
  | { op: "mov"; len: number; dst: Operand; src: Operand | { kind: "imm"; value: number }; wide: boolean }
  | { op: "lea"; len: number; dst: Reg; mem: Mem; wide: boolean }
  /** add/sub of an immediate, or xor of a register with itself (a zero). */
  | { op: "addi"; len: number; dst: Operand; value: number; wide: boolean }
  | { op: "zero"; len: number; dst: Reg }
  /** A 64-bit add of a register or memory to a register (pointer arithmetic: base + index). */
  | { op: "add"; len: number; dst: Reg; src: Operand }
  /** Writes the registers in `regs` with values not followed (or memory: nothing followed). */
  | { op: "other"; len: number; regs: Reg[] }
  | { op: "call"; len: number; target?: number }
  | { op: "jmp"; len: number; target?: number; cond: boolean }
  | { op: "ret"; len: number }
  | { op: "leave"; len: number }
  | { op: "stop"; len: number };

interface ModRM {
  reg: Reg;
  rm: Operand;
  len: number;
}

/** Decodes the ModRM (and SIB, displacement) at code[o]; rex is the REX byte or 0. */
function modrm(code: Buffer, o: number, rex: number, end: number): ModRM | undefined {
  if (o >= end) return undefined;
  const m = code[o];
  const mod = m >> 6;
  const reg = ((m >> 3) & 7) | ((rex & 4) << 1);
  const rmLow = m & 7;
  let len = 1;
  if (mod === 3) return { reg, rm: { kind: "reg", reg: rmLow | ((rex & 1) << 3) }, len };
  let base: Reg | "rip" | undefined = rmLow | ((rex & 1) << 3);
  let index: Reg | undefined;
  let scale = 1;
  let dispBytes = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  if (rmLow === 4) {
    if (o + 1 >= end) return undefined;
    const sib = code[o + 1];
    len++;
    const idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
    if (idx !== 4) index = idx;
    scale = 1 << (sib >> 6);
    base = (sib & 7) | ((rex & 1) << 3);
    if ((sib & 7) === 5 && mod === 0) {
      base = undefined;
      dispBytes = 4;
    }
  } else if (rmLow === 5 && mod === 0) {
    base = "rip";
    dispBytes = 4;
  }
  if (o + len + dispBytes > end) return undefined;
  const disp = dispBytes === 1 ? code.readInt8(o + len) : dispBytes === 4 ? code.readInt32LE(o + len) : 0;
  len += dispBytes;
  return { reg, rm: { kind: "mem", mem: { base, index, scale, disp } }, len };
}

const regOp = (reg: Reg): Operand => ({ kind: "reg", reg });
const writes = (op: Operand): Reg[] => (op.kind === "reg" ? [op.reg] : []);

/** Fixes a rip-relative operand's displacement to the absolute address (known once the length is). */
function ripFix(op: Operand, next: number): Operand {
  if (op.kind === "mem" && op.mem.base === "rip")
    return { kind: "mem", mem: { ...op.mem, disp: next + op.mem.disp } };
  return op;
}

/** Decodes the instruction at code[o], whose virtual address is `pc`. */
export function decode(code: Buffer, o: number, pc: number): Insn | undefined {
  const end = code.length;
  const start = o;
  let opsize16 = false;
  // Legacy prefixes (operand size, segment, lock, rep), then at most one REX.
  for (let k = 0; k < 4 && o < end; k++) {
    const p = code[o];
    if (p === 0x66) opsize16 = true;
    else if (![0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0xf0, 0xf2, 0xf3, 0x67].includes(p)) break;
    o++;
  }
  if (o >= end) return undefined;
  const rep = o > start && (code[o - 1] === 0xf3 || code[o - 1] === 0xf2);
  let rex = 0;
  if (code[o] >= 0x40 && code[o] <= 0x4f) rex = code[o++];
  if (o >= end) return undefined;
  const w = (rex & 8) !== 0;
  // Without REX, byte registers 4-7 are ah, ch, dh, bh: parts of rax, rcx, rdx, rbx.
  const bytes = (op: Operand): Reg[] =>
    op.kind !== "reg" ? [] : [rex === 0 && op.reg >= 4 && op.reg < 8 ? op.reg - 4 : op.reg];
  const b = code[o++];
  const done = (len: number): number => len - start;
  const withModrm = (immBytes: number): { m: ModRM; next: number; imm: number } | undefined => {
    const m = modrm(code, o, rex, end);
    if (!m) return undefined;
    const at = o + m.len;
    if (at + immBytes > end) return undefined;
    const imm =
      immBytes === 1
        ? code.readInt8(at)
        : immBytes === 2
          ? code.readInt16LE(at)
          : immBytes === 4
            ? code.readInt32LE(at)
            : 0;
    const next = at + immBytes;
    return { m: { ...m, rm: ripFix(m.rm, pc + (next - start)) }, next, imm };
  };
  const immz = opsize16 ? 2 : 4;

  if (b === 0x0f) return decode0f(code, o, start, pc, rex, rep, opsize16);
  // ALU r/m,r and r,r/m forms (add, or, adc, sbb, and, sub, xor, cmp), and their accumulator forms.
  if (b < 0x40 && (b & 7) <= 5 && ![0x26, 0x2e, 0x36, 0x3e].includes(b)) {
    const kind = b >> 3; // 0 add, 1 or, 2 adc, 3 sbb, 4 and, 5 sub, 6 xor, 7 cmp
    if ((b & 7) === 4)
      return o + 1 <= end ? { op: "other", len: done(o + 1), regs: kind === 7 ? [] : [0] } : undefined;
    if ((b & 7) === 5)
      return o + immz <= end ? { op: "other", len: done(o + immz), regs: kind === 7 ? [] : [0] } : undefined;
    const d = withModrm(0);
    if (!d) return undefined;
    const toReg = (b & 2) !== 0;
    const dst = toReg ? regOp(d.m.reg) : d.m.rm;
    if (kind === 6 && d.m.rm.kind === "reg" && d.m.rm.reg === d.m.reg)
      return { op: "zero", len: done(d.next), dst: d.m.reg };
    if (kind === 0 && w && dst.kind === "reg")
      return { op: "add", len: done(d.next), dst: dst.reg, src: toReg ? d.m.rm : regOp(d.m.reg) };
    return {
      op: "other",
      len: done(d.next),
      regs: kind === 7 ? [] : (b & 1) === 0 ? bytes(dst) : writes(dst),
    };
  }
  if (b >= 0x50 && b <= 0x57) return { op: "other", len: done(o), regs: [] }; // push
  if (b >= 0x58 && b <= 0x5f) return { op: "other", len: done(o), regs: [(b & 7) | ((rex & 1) << 3)] }; // pop
  if (b === 0x63) {
    const d = withModrm(0); // movsxd: a sign-extended 32-bit value, not a pointer
    return d && { op: "other", len: done(d.next), regs: [d.m.reg] };
  }
  if (b === 0x68) return o + 4 <= end ? { op: "other", len: done(o + 4), regs: [] } : undefined;
  if (b === 0x6a) return o + 1 <= end ? { op: "other", len: done(o + 1), regs: [] } : undefined;
  if (b === 0x69 || b === 0x6b) {
    const d = withModrm(b === 0x69 ? immz : 1);
    return d && { op: "other", len: done(d.next), regs: [d.m.reg] };
  }
  if (b >= 0x70 && b <= 0x7f) {
    if (o + 1 > end) return undefined;
    return { op: "jmp", len: done(o + 1), target: pc + (o + 1 - start) + code.readInt8(o), cond: true };
  }
  if (b === 0x80 || b === 0x81 || b === 0x83) {
    const d = withModrm(b === 0x81 ? immz : 1);
    if (!d) return undefined;
    const ext = d.m.reg & 7;
    if (ext === 7) return { op: "other", len: done(d.next), regs: [] }; // cmp
    if ((ext === 0 || ext === 5) && b !== 0x80)
      return { op: "addi", len: done(d.next), dst: d.m.rm, value: ext === 0 ? d.imm : -d.imm, wide: w };
    return { op: "other", len: done(d.next), regs: b === 0x80 ? bytes(d.m.rm) : writes(d.m.rm) };
  }
  if (b === 0x84 || b === 0x85) {
    const d = withModrm(0);
    return d && { op: "other", len: done(d.next), regs: [] };
  }
  if (b === 0x86 || b === 0x87) {
    const d = withModrm(0);
    return d && { op: "other", len: done(d.next), regs: [d.m.reg, ...writes(d.m.rm)] };
  }
  if (b >= 0x88 && b <= 0x8b) {
    const d = withModrm(0);
    if (!d) return undefined;
    const byte = b === 0x88 || b === 0x8a;
    const toReg = b >= 0x8a;
    const dst = toReg ? regOp(d.m.reg) : d.m.rm;
    const src = toReg ? d.m.rm : regOp(d.m.reg);
    if (byte) return { op: "other", len: done(d.next), regs: bytes(dst) };
    if (opsize16) return { op: "other", len: done(d.next), regs: writes(dst) };
    return { op: "mov", len: done(d.next), dst, src, wide: w };
  }
  if (b === 0x8d) {
    const d = withModrm(0);
    if (!d || d.m.rm.kind !== "mem") return undefined;
    return { op: "lea", len: done(d.next), dst: d.m.reg, mem: d.m.rm.mem, wide: w };
  }
  if (b === 0x90) return { op: "other", len: done(o), regs: [] };
  if (b === 0x98 || b === 0x99) return { op: "other", len: done(o), regs: [b === 0x98 ? 0 : 2] };
  if (b >= 0xa4 && b <= 0xaf && b !== 0xa8 && b !== 0xa9)
    return { op: "other", len: done(o), regs: [1, 6, 7, 0] }; // movs, stos...
  if (b === 0xf4) return { op: "stop", len: done(o) }; // hlt
  if (b === 0xa8) return o + 1 <= end ? { op: "other", len: done(o + 1), regs: [] } : undefined;
  if (b === 0xa9) return o + immz <= end ? { op: "other", len: done(o + immz), regs: [] } : undefined;
  if (b >= 0xb0 && b <= 0xb7)
    return o + 1 <= end
      ? { op: "other", len: done(o + 1), regs: bytes(regOp((b & 7) | ((rex & 1) << 3))) }
      : undefined;
  if (b >= 0xb8 && b <= 0xbf) {
    const n = w ? 8 : immz;
    if (o + n > end) return undefined;
    const value =
      n === 8 ? Number(code.readBigUInt64LE(o)) : n === 4 ? code.readUInt32LE(o) : code.readUInt16LE(o);
    const r = (b & 7) | ((rex & 1) << 3);
    const dst = regOp(r);
    if (opsize16) return { op: "other", len: done(o + n), regs: [r] };
    return { op: "mov", len: done(o + n), dst, src: { kind: "imm", value }, wide: true };
  }
  if (b === 0xc0 || b === 0xc1 || b === 0xd0 || b === 0xd1 || b === 0xd2 || b === 0xd3) {
    const d = withModrm(b === 0xc0 || b === 0xc1 ? 1 : 0);
    return d && { op: "other", len: done(d.next), regs: (b & 1) === 0 ? bytes(d.m.rm) : writes(d.m.rm) };
  }
  if (b === 0xc3) return { op: "ret", len: done(o) };
  if (b === 0xc6 || b === 0xc7) {
    const d = withModrm(b === 0xc6 ? 1 : immz);
    if (!d || (d.m.reg & 7) !== 0) return undefined;
    if (b === 0xc6) return { op: "other", len: done(d.next), regs: bytes(d.m.rm) };
    if (opsize16) return { op: "other", len: done(d.next), regs: writes(d.m.rm) };
    // mov $imm32 sign-extended (REX.W) or zero-extended into 32 bits.
    const value = w ? d.imm : d.imm >>> 0;
    return { op: "mov", len: done(d.next), dst: d.m.rm, src: { kind: "imm", value }, wide: true };
  }
  if (b === 0xc9) return { op: "leave", len: done(o) };
  if (b === 0xcc) return { op: "stop", len: done(o) };
  if (b === 0xe8 || b === 0xe9) {
    if (o + 4 > end) return undefined;
    const target = pc + (o + 4 - start) + code.readInt32LE(o);
    if (b === 0xe8) return { op: "call", len: done(o + 4), target };
    return { op: "jmp", len: done(o + 4), target, cond: false };
  }
  if (b === 0xeb)
    return o + 1 <= end
      ? { op: "jmp", len: done(o + 1), target: pc + (o + 1 - start) + code.readInt8(o), cond: false }
      : undefined;
  if (b === 0xf6 || b === 0xf7) {
    const ext = o < end ? (code[o] >> 3) & 7 : -1;
    const d = withModrm(ext <= 1 ? (b === 0xf6 ? 1 : immz) : 0);
    if (!d) return undefined;
    if (ext <= 1) return { op: "other", len: done(d.next), regs: [] }; // test
    if (ext <= 3)
      return { op: "other", len: done(d.next), regs: b === 0xf6 ? bytes(d.m.rm) : writes(d.m.rm) }; // not, neg
    return { op: "other", len: done(d.next), regs: [0, 2] }; // mul, imul, div, idiv
  }
  if (b === 0xfe || b === 0xff) {
    const d = withModrm(0);
    if (!d) return undefined;
    const ext = d.m.reg & 7;
    if (ext <= 1)
      return { op: "other", len: done(d.next), regs: b === 0xfe ? bytes(d.m.rm) : writes(d.m.rm) }; // inc, dec
    if (b === 0xff && ext === 2) return { op: "call", len: done(d.next) };
    if (b === 0xff && ext === 4) return { op: "jmp", len: done(d.next), cond: false };
    if (b === 0xff && ext === 6) return { op: "other", len: done(d.next), regs: [] }; // push
    return undefined;
  }
  return undefined;
}

/** The two-byte opcodes (0F xx). */
function decode0f(
  code: Buffer,
  o: number,
  start: number,
  pc: number,
  rex: number,
  rep: boolean,
  opsize16: boolean,
): Insn | undefined {
  const end = code.length;
  if (o >= end) return undefined;
  const b = code[o++];
  const done = (len: number): number => len - start;
  const withModrm = (immBytes: number): { m: ModRM; next: number } | undefined => {
    const m = modrm(code, o, rex, end);
    if (!m || o + m.len + immBytes > end) return undefined;
    return { m, next: o + m.len + immBytes };
  };
  if (b === 0x05 || b === 0x0b) return { op: "stop", len: done(o) }; // syscall, ud2
  if (b === 0x1e && rep && o < end && code[o] === 0xfa) return { op: "other", len: done(o + 1), regs: [] }; // endbr64
  if (b >= 0x18 && b <= 0x1f) {
    const d = withModrm(0); // prefetch, hint nops, nop r/m
    return d && { op: "other", len: done(d.next), regs: [] };
  }
  if (b >= 0x80 && b <= 0x8f) {
    if (o + 4 > end) return undefined;
    return { op: "jmp", len: done(o + 4), target: pc + (o + 4 - start) + code.readInt32LE(o), cond: true };
  }
  if (b >= 0x40 && b <= 0x4f) {
    const d = withModrm(0); // cmovcc
    return d && { op: "other", len: done(d.next), regs: [d.m.reg] };
  }
  if (b >= 0x90 && b <= 0x9f) {
    const d = withModrm(0); // setcc
    if (!d) return undefined;
    const r = d.m.rm.kind === "reg" ? d.m.rm.reg : -1;
    return { op: "other", len: done(d.next), regs: r < 0 ? [] : [rex === 0 && r >= 4 && r < 8 ? r - 4 : r] };
  }
  if (b === 0xaf || b === 0xb6 || b === 0xb7 || b === 0xbe || b === 0xbf || b === 0xbc || b === 0xbd) {
    const d = withModrm(0); // imul, movzx, movsx, bsf, bsr
    return d && { op: "other", len: done(d.next), regs: [d.m.reg] };
  }
  if (b === 0xa2) return { op: "other", len: done(o), regs: [0, 1, 2, 3] }; // cpuid
  if (b >= 0xc8 && b <= 0xcf) return { op: "other", len: done(o), regs: [(b & 7) | ((rex & 1) << 3)] }; // bswap
  if (b === 0xa3 || b === 0xab || b === 0xb3 || b === 0xbb || b === 0xba) {
    const d = withModrm(b === 0xba ? 1 : 0); // bt, bts, btr, btc
    return d && { op: "other", len: done(d.next), regs: b === 0xa3 ? [] : writes(d.m.rm) };
  }
  if (b === 0xa4 || b === 0xa5 || b === 0xac || b === 0xad) {
    const d = withModrm(b === 0xa4 || b === 0xac ? 1 : 0); // shld, shrd
    return d && { op: "other", len: done(d.next), regs: writes(d.m.rm) };
  }
  if (b === 0xb0 || b === 0xb1 || b === 0xc0 || b === 0xc1) {
    const d = withModrm(0); // cmpxchg (writes rax), xadd
    return d && { op: "other", len: done(d.next), regs: [0, d.m.reg, ...writes(d.m.rm)] };
  }
  // SSE moves and arithmetic on xmm registers: no general-purpose register written, except the
  // few that move to one (movd/movq to r/m, pmovmskb, movmskps/pd, pextrw).
  const sse =
    (b >= 0x10 && b <= 0x17) ||
    (b >= 0x28 && b <= 0x2f) ||
    (b >= 0x50 && b <= 0x7f) ||
    (b >= 0xc2 && b <= 0xc6) ||
    b >= 0xd0;
  if (sse) {
    const imm = (b >= 0x70 && b <= 0x73) || b === 0xc2 || b === 0xc4 || b === 0xc5 || b === 0xc6 ? 1 : 0;
    const d = withModrm(imm);
    if (!d) return undefined;
    if (b === 0x7e && (opsize16 || !rep)) return { op: "other", len: done(d.next), regs: writes(d.m.rm) };
    if (b === 0xd7 || b === 0x50 || b === 0xc5 || b === 0x2c || b === 0x2d)
      return { op: "other", len: done(d.next), regs: [d.m.reg] };
    return { op: "other", len: done(d.next), regs: [] };
  }
  return undefined;
}

/** Decoded instructions kept by `decodeCached`, at most (then it starts over). */
const CACHE_LIMIT = 16384;
let cachedCode: Buffer | undefined;
let cachedDelta = 0;
const cached = new Map<number, Insn | null>();

/**
 * `decode`, remembering the instructions decoded last in one code buffer (by offset, for one
 * offset-to-address delta). The walks of the site analysis decode the code after each call, and
 * neighbouring calls' walks meet on shared paths (the same error exits and returns): on
 * PostgreSQL's backend 59,000 decodes were of 28,000 instructions. Insns are never modified by
 * their users, so one object may be shared.
 */
export function decodeCached(code: Buffer, o: number, pc: number): Insn | undefined {
  if (code !== cachedCode || pc - o !== cachedDelta || cached.size >= CACHE_LIMIT) {
    cachedCode = code;
    cachedDelta = pc - o;
    cached.clear();
  }
  const hit = cached.get(o);
  if (hit !== undefined) return hit ?? undefined;
  const insn = decode(code, o, pc);
  cached.set(o, insn ?? null);
  return insn;
}

/** Drops what decodeCached keeps (and its code buffer): called when an analysis ends. */
export function forgetDecoded(): void {
  cachedCode = undefined;
  cached.clear();
}
