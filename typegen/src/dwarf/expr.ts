// Classifies DWARF location expressions into the few shapes frame layouts and statics need:
// a frame-base offset (DW_OP_fbreg), a register+offset (DW_OP_bregN), a static address
// (DW_OP_addr / DW_OP_addrx), a register, the CFA. Anything else is kept as opaque bytes.
// `exprShape` gives the shape as numbers (no object: the metadata writer classifies every
// location-list entry of every variable, ~10^5 on libc, and keeps a few); `classifyExpr` gives
// it as a Location object.

import { Cursor } from "../bytes";
import { DW_OP } from "./constants";
import { readAddrIndex } from "./die";
import { Unit } from "./units";

export type Location =
  | { kind: "fbreg"; offset: number }
  | { kind: "breg"; reg: number; offset: number }
  | { kind: "addr"; addr: number }
  | { kind: "reg"; reg: number }
  | { kind: "cfa" }
  | { kind: "tls"; offset: number }
  /**
   * Any other expression (register pieces, DW_OP_entry_value, computed values...): its first
   * operation and length only. Frame layouts cannot use these, and formatting every one as hex
   * cost a string per location-list entry on optimised code.
   */
  | { kind: "expr"; op: number; length: number };

/** Shapes `exprShape` returns; the operands are left in an ExprOperands. */
export const SHAPE_EXPR = 0;
/** DW_OP_fbreg: `value` is the offset. */
export const SHAPE_FBREG = 1;
/** DW_OP_bregN / bregx: `reg`, and `value` the offset. */
export const SHAPE_BREG = 2;
/** DW_OP_addr / addrx: `value` is the address. */
export const SHAPE_ADDR = 3;
/** DW_OP_regN / regx: `reg`. */
export const SHAPE_REG = 4;
export const SHAPE_CFA = 5;
/** DW_OP_const4u/8u then a TLS operation: `value` is the offset. */
export const SHAPE_TLS = 6;

/** The operands of the expression `exprShape` last classified into it. */
export class ExprOperands {
  reg = 0;
  /** NaN at first, so V8 makes the field a double from the start: addresses may exceed its
   * small integers, and changing a field's representation later deoptimises its readers. */
  value = NaN;
}

/**
 * The shape of the one-operation expression held in c.buf[start, end) (the shapes compilers use
 * for variables in memory), its operands left in `out`. Reads through the caller's cursor, so
 * no view or cursor is allocated per expression; errors name the section offset. The cursor's
 * pos/end are restored. An operation with no operand to read is told from its first byte.
 */
export function exprShape(u: Unit, c: Cursor, start: number, end: number, out: ExprOperands): number {
  if (end <= start) return SHAPE_EXPR;
  const op = c.buf[start];
  if (op >= DW_OP.reg0 && op <= DW_OP.reg31) {
    out.reg = op - DW_OP.reg0;
    return end - start === 1 ? SHAPE_REG : SHAPE_EXPR;
  }
  if (op === DW_OP.call_frame_cfa) return end - start === 1 ? SHAPE_CFA : SHAPE_EXPR;
  if (READS_OPERANDS[op] !== 1) return SHAPE_EXPR;
  const savedPos = c.pos;
  const savedEnd = c.end;
  c.pos = start + 1;
  c.end = end;
  try {
    return operandShape(u, c, op, end, out);
  } finally {
    c.pos = savedPos;
    c.end = savedEnd;
  }
}

/**
 * 1 for each first operation whose operands `exprShape` reads (fbreg, bregN, bregx, addr,
 * addrx, GNU_addr_index, regx, const4u/8u); an expression starting with any other is told from that byte alone,
 * so a caller interested only in these can skip the rest without a call.
 */
export const READS_OPERANDS = new Uint8Array(256);
for (const op of [
  DW_OP.fbreg,
  DW_OP.bregx,
  DW_OP.addr,
  DW_OP.addrx,
  DW_OP.GNU_addr_index,
  DW_OP.regx,
  DW_OP.const8u,
  DW_OP.const4u,
])
  READS_OPERANDS[op] = 1;
for (let op = DW_OP.breg0; op <= DW_OP.breg31; op++) READS_OPERANDS[op] = 1;

/** The shape of an expression whose first operation `op` has operands; c.pos is after `op`. */
function operandShape(u: Unit, c: Cursor, op: number, end: number, out: ExprOperands): number {
  let shape: number;
  if (op === DW_OP.fbreg) {
    out.value = c.sleb();
    shape = SHAPE_FBREG;
  } else if (op >= DW_OP.breg0 && op <= DW_OP.breg31) {
    out.reg = op - DW_OP.breg0;
    out.value = c.sleb();
    shape = SHAPE_BREG;
  } else if (op === DW_OP.bregx) {
    out.reg = c.uleb();
    out.value = c.sleb();
    shape = SHAPE_BREG;
  } else if (op === DW_OP.addr) {
    out.value = c.addr(u.addrSize);
    shape = SHAPE_ADDR;
  } else if (op === DW_OP.addrx || op === DW_OP.GNU_addr_index) {
    out.value = readAddrIndex(u, c.uleb());
    shape = SHAPE_ADDR;
  } else if (op === DW_OP.regx) {
    out.reg = c.uleb();
    shape = SHAPE_REG;
  } else return tlsShape(c, op, end, out);
  // A trailing piece/stack_value etc. means the simple reading would be wrong.
  return c.pos === end ? shape : SHAPE_EXPR;
}

/** Thread-local: DW_OP_const{4,8}u <offset> DW_OP_GNU_push_tls_address / DW_OP_form_tls_address. */
function tlsShape(c: Cursor, op: number, end: number, out: ExprOperands): number {
  if (end - (c.pos - 1) < 2) return SHAPE_EXPR;
  const off = op === DW_OP.const8u ? c.u64() : c.u32();
  const last = c.buf[c.pos];
  if (c.pos === end - 1 && (last === DW_OP.GNU_push_tls_address || last === DW_OP.form_tls_address)) {
    out.value = off;
    return SHAPE_TLS;
  }
  return SHAPE_EXPR;
}

const scratch = new ExprOperands();

/**
 * Decodes a one-operation expression held in c.buf[start, end) as a Location (`exprShape`, as
 * an object).
 */
export function classifyExpr(u: Unit, c: Cursor, start: number, end: number): Location {
  const s = scratch;
  switch (exprShape(u, c, start, end, s)) {
    case SHAPE_FBREG:
      return { kind: "fbreg", offset: s.value };
    case SHAPE_BREG:
      return { kind: "breg", reg: s.reg, offset: s.value };
    case SHAPE_ADDR:
      return { kind: "addr", addr: s.value };
    case SHAPE_REG:
      return { kind: "reg", reg: s.reg };
    case SHAPE_CFA:
      return { kind: "cfa" };
    case SHAPE_TLS:
      return { kind: "tls", offset: s.value };
    default:
      return end <= start
        ? { kind: "expr", op: 0, length: 0 }
        : { kind: "expr", op: c.buf[start], length: end - start };
  }
}
