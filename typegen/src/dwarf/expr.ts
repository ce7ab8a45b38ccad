// Classifies DWARF location expressions into the few shapes frame layouts and statics need:
// a frame-base offset (DW_OP_fbreg), a register+offset (DW_OP_bregN), a static address
// (DW_OP_addr / DW_OP_addrx), a register, the CFA. Anything else is kept as opaque bytes.

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

/**
 * Decodes a one-operation expression held in c.buf[start, end) (the shapes compilers use for
 * variables in memory), reading through the caller's cursor so no view or cursor is allocated
 * per expression; errors name the section offset. The cursor's pos/end are restored.
 */
export function classifyExpr(u: Unit, c: Cursor, start: number, end: number): Location {
  if (end <= start) return { kind: "expr", op: 0, length: 0 };
  const savedPos = c.pos;
  const savedEnd = c.end;
  c.pos = start;
  c.end = end;
  try {
    return classify(u, c, start, end);
  } finally {
    c.pos = savedPos;
    c.end = savedEnd;
  }
}

function classify(u: Unit, c: Cursor, start: number, end: number): Location {
  const opaque = (): Location => ({ kind: "expr", op: c.buf[start], length: end - start });
  const op = c.u8();
  let loc: Location;
  if (op === DW_OP.fbreg) loc = { kind: "fbreg", offset: c.sleb() };
  else if (op >= DW_OP.breg0 && op <= DW_OP.breg31)
    loc = { kind: "breg", reg: op - DW_OP.breg0, offset: c.sleb() };
  else if (op === DW_OP.bregx) {
    const reg = c.uleb();
    loc = { kind: "breg", reg, offset: c.sleb() };
  } else if (op === DW_OP.addr) loc = { kind: "addr", addr: c.addr(u.addrSize) };
  else if (op === DW_OP.addrx || op === DW_OP.GNU_addr_index)
    loc = { kind: "addr", addr: readAddrIndex(u, c.uleb()) };
  else if (op >= DW_OP.reg0 && op <= DW_OP.reg31) loc = { kind: "reg", reg: op - DW_OP.reg0 };
  else if (op === DW_OP.regx) loc = { kind: "reg", reg: c.uleb() };
  else if (op === DW_OP.call_frame_cfa) loc = { kind: "cfa" };
  else if ((op === DW_OP.const8u || op === DW_OP.const4u) && end - start >= 2) {
    // Thread-local: DW_OP_const{4,8}u <offset> DW_OP_GNU_push_tls_address / DW_OP_form_tls_address.
    const off = op === DW_OP.const8u ? c.u64() : c.u32();
    const last = c.buf[c.pos];
    if (c.pos === end - 1 && (last === DW_OP.GNU_push_tls_address || last === DW_OP.form_tls_address))
      return { kind: "tls", offset: off };
    return opaque();
  } else return opaque();
  // A trailing piece/stack_value etc. means the simple reading would be wrong.
  return c.pos === end ? loc : opaque();
}
