// DW_TAG_call_site (DWARF 5) and DW_TAG_GNU_call_site (the DWARF 4 GNU extension), which
// optimising compilers emit for every call they can describe (gcc -O1 and up; clang only for
// calls to functions it has a DIE for, so not for malloc): the return address
// (DW_AT_call_return_pc, or DW_AT_low_pc in the GNU form), the callee (DW_AT_call_origin /
// DW_AT_abstract_origin: its DIE, named by its linkage name or name), whether it is a tail
// call (DW_AT_call_tail_call / DW_AT_GNU_tail_call; the return pc is then the address after the
// jump), and for each DW_TAG_call_site_parameter the register it is passed in (DW_AT_location)
// and its value as a DWARF expression (DW_AT_call_value / DW_AT_GNU_call_site_value), of which
// we keep constants and "the caller's own argument register at entry" (DW_OP_entry_value).
// The type model does not collect these, so they are read here with the dwarf/ reader, walking
// only the DIEs that can hold calls (subprograms, lexical blocks, inlined subroutines); when the
// model's walk noted where those DIEs are (dwarf.ts CodeDies), only those are visited. The same
// walk keeps the exact address ranges of functions split by DW_AT_ranges (a hot part and a
// `.cold` part far away), of which the model keeps only the lowest and highest address.

import { Cursor } from "../bytes";
import { DW_AT, DW_OP, DW_TAG } from "../dwarf/constants";
import { DieCursor } from "../dwarf/die";
import { CodeDies, Dwarf } from "../dwarf/dwarf";
import { Range, readRanges } from "../dwarf/ranges";
import { Unit } from "../dwarf/units";
import { CallSiteTable, DwarfCallSite } from "./callsite-table";

export { DwarfCallSite } from "./callsite-table";

// Attribute codes not (yet) in dwarf/constants.ts: DWARF 5 section 7.5.4, table 7.5, and the GNU
// extensions gcc emits with -gdwarf-4.
const AT_call_return_pc = 0x7d;
const AT_call_value = 0x7e;
const AT_call_origin = 0x7f;
const AT_call_tail_call = 0x82;
const AT_GNU_call_site_value = 0x2111;
const AT_GNU_tail_call = 0x2115;
// Operations beyond dwarf/constants.ts: DWARF 5 section 7.7.1, table 7.9.
const OP_minus = 0x1c;
const OP_mul = 0x1e;
const OP_plus = 0x22;
const OP_shl = 0x24;
const OP_regx = 0x90;

export type CallValue = { k: "const"; v: number } | { k: "entry"; reg: number } | { k: "unknown" };

const MAX_DEPTH = 256;
/** The largest unit (bytes of DIEs) whose callee names are cached in a typed array (4 bytes a
 * byte, at most 2 MB: PostgreSQL's largest unit is ~0.3 MB; python3.11d's ~1 MB one uses the
 * Map). */
const MAX_CACHED_UNIT = 512 << 10;
const AT_call_line = 0x59;

/** A DW_TAG_inlined_subroutine: a function's body inlined into another at a call line. */
export interface InlinedCall {
  ranges: Range[];
  /** DW_AT_call_line: the line of the call in the function it was inlined into. */
  line: number;
  /** The inlined function's name (its abstract origin's). */
  callee?: string;
  /** The inlined function returns a pointer (an allocation wrapper may). */
  returnsPointer: boolean;
  /** The inlined call this one is nested in (its index), or -1. */
  parent: number;
}
const UNKNOWN: CallValue = { k: "unknown" };

/** Evaluates a DW_AT_call_value expression held in c.buf[start, end) as far as constants go. */
export function evalCallValue(c: Cursor, start: number, end: number): CallValue {
  const stack: CallValue[] = [];
  const saved = c.pos;
  const savedEnd = c.end;
  c.pos = start;
  c.end = end;
  try {
    while (c.pos < end) {
      const op = c.u8();
      const num = (): number | undefined => {
        const v = stack.pop();
        return v?.k === "const" ? v.v : undefined;
      };
      if (op >= DW_OP.lit0 && op <= DW_OP.lit31) stack.push({ k: "const", v: op - DW_OP.lit0 });
      else if (op === DW_OP.const1u) stack.push({ k: "const", v: c.u8() });
      else if (op === DW_OP.const1s) stack.push({ k: "const", v: c.i8() });
      else if (op === DW_OP.const2u) stack.push({ k: "const", v: c.u16() });
      else if (op === DW_OP.const4u) stack.push({ k: "const", v: c.u32() });
      else if (op === DW_OP.const4s) stack.push({ k: "const", v: c.i32() });
      else if (op === DW_OP.const8u) stack.push({ k: "const", v: c.u64() });
      else if (op === DW_OP.constu) stack.push({ k: "const", v: c.uleb() });
      else if (op === DW_OP.consts) stack.push({ k: "const", v: c.sleb() });
      else if (op === DW_OP.plus_uconst) {
        const a = num();
        const n = c.uleb();
        stack.push(a === undefined ? UNKNOWN : { k: "const", v: a + n });
      } else if (op === OP_plus || op === OP_minus || op === OP_mul || op === OP_shl) {
        const b = num();
        const a = num();
        if (a === undefined || b === undefined) stack.push(UNKNOWN);
        else if (op === OP_plus) stack.push({ k: "const", v: a + b });
        else if (op === OP_minus) stack.push({ k: "const", v: a - b });
        else if (op === OP_mul) stack.push({ k: "const", v: a * b });
        else stack.push(b < 53 ? { k: "const", v: a * 2 ** b } : UNKNOWN);
      } else if (op === DW_OP.entry_value || op === DW_OP.GNU_entry_value) {
        const n = c.uleb();
        c.need(n);
        const sub = c.pos;
        c.pos += n;
        // DW_OP_entry_value(DW_OP_regN): the caller's own argument, as it was passed to it.
        const r = c.buf[sub];
        if (n === 1 && r >= DW_OP.reg0 && r <= DW_OP.reg31) stack.push({ k: "entry", reg: r - DW_OP.reg0 });
        else stack.push(UNKNOWN);
      } else if (op === DW_OP.stack_value) break;
      else return UNKNOWN; // a register's value at the call, memory, or an operation not followed
    }
    return stack.length === 1 ? stack[0] : UNKNOWN;
  } finally {
    c.pos = saved;
    c.end = savedEnd;
  }
}

/** The register of a DW_OP_regN / DW_OP_regx location in c.buf[start, end). */
function locationReg(c: Cursor, start: number, end: number): number | undefined {
  const op = c.buf[start];
  if (end - start === 1 && op >= DW_OP.reg0 && op <= DW_OP.reg31) return op - DW_OP.reg0;
  if (op !== OP_regx) return undefined;
  const saved = c.pos;
  c.pos = start + 1;
  try {
    return c.uleb();
  } finally {
    c.pos = saved;
  }
}

class CallSiteReader {
  private readonly cur: DieCursor;
  private readonly aux: DieCursor;
  /** Callee DIEs' names (ids among `out`'s names, -1 for none) by DIE key, for DIEs outside
   * the unit being read (`unitNameIds` holds those inside). */
  private readonly names = new Map<number, number>();
  /** The unit whose DIEs' name ids `unitNameIds` holds, by key - nameBase: 2 + the id, 0 when
   * not looked up yet. A call site's callee is almost always a declaration in its own unit: a
   * Map of every callee DIE (~37,000 on PostgreSQL's backend) was ~4 MB of young-generation
   * garbage and survivors. */
  private nameUnit?: Unit;
  private nameBase = 0;
  private unitNameIds = new Int32Array(0);
  /** The memory `unitNameIds` views (the largest unit's size so far). */
  private nameIdBuf = new Int32Array(0);
  /** The indexes set in `unitNameIds` (cleared when the unit changes). */
  private readonly touched: number[] = [];
  private readonly pointerReturns = new Map<number, boolean>();
  readonly out = new CallSiteTable();
  /** Functions with DW_AT_ranges: their ranges, by their lowest address. */
  readonly ranges = new Map<number, Range[]>();
  /** Every inlined subroutine with code, in DIE order (parents before children). */
  readonly inlined: InlinedCall[] = [];
  private inlineParent = -1;

  constructor(private readonly dwarf: Dwarf) {
    this.cur = dwarf.cursor();
    this.aux = dwarf.cursor();
  }

  readAll(): void {
    try {
      this.readEveryDie();
    } finally {
      // The name caches are not needed after reading (`params` keeps this reader alive).
      this.names.clear();
      this.touched.length = 0;
      this.nameUnit = undefined;
      this.nameIdBuf = this.unitNameIds = new Int32Array(0);
    }
  }

  private readEveryDie(): void {
    if (this.dwarf.codeDies) {
      this.readRecorded(this.dwarf.codeDies);
      return;
    }
    const cur = this.cur;
    for (const u of this.dwarf.units) {
      if (u.typeSignature !== undefined) continue;
      cur.setUnit(u);
      if (u.dieOffset >= u.end || !cur.read(u.dieOffset) || !cur.hasChildren) continue;
      this.walk(cur.next, 1, u.end);
    }
  }

  /** What `walk` reads, from the DIEs the model's walk noted (dwarf.ts CodeDies): each DIE as
   * walk's loop handles it, the subprograms' and lexical blocks' children being noted too. */
  private readRecorded(dies: CodeDies): void {
    const cur = this.cur;
    for (let i = 0; i < dies.length; i++) {
      if (!this.dwarf.seek(cur, dies.keys[i])) continue;
      const tag = cur.tag;
      if (tag === DW_TAG.subprogram && cur.has(DW_AT.ranges)) {
        const rs = readRanges(cur.unit, cur.form(DW_AT.ranges), cur.udata(DW_AT.ranges) ?? 0);
        if (rs.length > 0) this.ranges.set(Math.min(...rs.map((r) => r[0])), rs);
      }
      // Its children (parameters) are not skipped: nothing needs the offset after them, and the
      // model's walk has already skipped them without fault.
      if (tag === DW_TAG.call_site || tag === DW_TAG.GNU_call_site) this.callSite(tag, false);
      else if (tag === DW_TAG.inlined_subroutine && cur.hasChildren) {
        // Directly in a function's body: no inlined call around it.
        this.inlineParent = this.inlinedCall();
        this.walk(cur.next, dies.depths[i] + 1, cur.unit.end);
        this.inlineParent = -1;
      }
    }
  }

  /** Walks a sibling list; returns the offset after its null entry. */
  private walk(off: number, depth: number, end: number): number {
    const cur = this.cur;
    if (depth > MAX_DEPTH) cur.fail("DIE tree nested too deeply", off);
    while (off < end) {
      if (!cur.read(off)) return cur.next;
      const tag = cur.tag;
      if (tag === DW_TAG.subprogram && cur.has(DW_AT.ranges)) {
        const rs = readRanges(cur.unit, cur.form(DW_AT.ranges), cur.udata(DW_AT.ranges) ?? 0);
        if (rs.length > 0) this.ranges.set(Math.min(...rs.map((r) => r[0])), rs);
      }
      if (tag === DW_TAG.call_site || tag === DW_TAG.GNU_call_site) off = this.callSite(tag);
      else if (!cur.hasChildren) off = cur.next;
      else if (tag === DW_TAG.inlined_subroutine) {
        const saved = this.inlineParent;
        this.inlineParent = this.inlinedCall();
        off = this.walk(cur.next, depth + 1, end);
        this.inlineParent = saved;
      } else if (tag === DW_TAG.subprogram || tag === DW_TAG.lexical_block)
        off = this.walk(cur.next, depth + 1, end);
      else off = cur.skipChildren();
    }
    return off;
  }

  /** Records the inlined subroutine DIE the cursor is on (without moving it); its index. */
  private inlinedCall(): number {
    const cur = this.cur;
    let ranges: Range[] = [];
    const lo = cur.addr(DW_AT.low_pc);
    if (lo !== undefined) {
      const hi = cur.highPc(lo);
      if (hi !== undefined && hi > lo) ranges = [[lo, hi]];
    } else if (cur.has(DW_AT.ranges)) {
      ranges = readRanges(cur.unit, cur.form(DW_AT.ranges), cur.udata(DW_AT.ranges) ?? 0);
    }
    const line = cur.udata(AT_call_line) ?? 0;
    const origin = cur.ref(DW_AT.abstract_origin);
    const id = origin >= 0 ? this.nameId(origin) : -1;
    const callee = id >= 0 ? this.out.nameAt(id) : undefined;
    const returnsPointer = origin >= 0 && this.returnsPointer(origin);
    const pos = cur.c.pos;
    this.inlined.push({ ranges, line, callee, returnsPointer, parent: this.inlineParent });
    cur.c.pos = pos;
    return this.inlined.length - 1;
  }

  /** Whether the function DIE at `key` returns a pointer (through typedefs and qualifiers);
   * remembered per DIE (a static inline function is inlined in many places). */
  private returnsPointer(key: number): boolean {
    let r = this.pointerReturns.get(key);
    if (r === undefined) this.pointerReturns.set(key, (r = this.readReturnsPointer(key)));
    return r;
  }

  private readReturnsPointer(key: number): boolean {
    const aux = this.aux;
    if (!this.dwarf.seek(aux, key)) return false;
    let t = aux.ref(DW_AT.type);
    for (let i = 0; i < 8 && t >= 0; i++) {
      if (!this.dwarf.seek(aux, t)) return false;
      if (aux.tag === DW_TAG.pointer_type) return true;
      if (aux.tag !== DW_TAG.typedef && aux.tag !== DW_TAG.const_type && aux.tag !== DW_TAG.volatile_type)
        return false;
      t = aux.ref(DW_AT.type);
    }
    return false;
  }

  /** Reads the call site DIE the cursor is on; returns the offset after it and its parameters
   * (with `skip` false: after the DIE itself). */
  private callSite(tag: number, skip = true): number {
    const cur = this.cur;
    const ret = tag === DW_TAG.call_site ? cur.addr(AT_call_return_pc) : cur.addr(DW_AT.low_pc);
    const tail = cur.flag(AT_call_tail_call) || cur.flag(AT_GNU_tail_call);
    let origin = cur.ref(AT_call_origin);
    if (origin < 0) origin = cur.ref(DW_AT.abstract_origin);
    // Parameters are decoded only for the few sites asked about (paramsOf).
    const key = cur.key;
    const off = cur.hasChildren && skip ? cur.skipChildren() : cur.next;
    const callee = origin >= 0 ? this.nameId(origin) : -1;
    // A callee named "" is none (as CallSiteTable.add has it).
    if (ret !== undefined)
      this.out.addNamed(ret, tail, key, callee >= 0 && this.out.nameAt(callee) ? callee : -1);
    return off;
  }

  /** The parameters of a call site read before, by DWARF register. */
  paramsOf(site: DwarfCallSite): Map<number, CallValue> {
    const out = new Map<number, CallValue>();
    const cur = this.aux;
    if (!this.dwarf.seek(cur, site.key) || !cur.hasChildren) return out;
    let off = cur.next;
    const end = cur.unit.end;
    while (off < end && cur.read(off)) {
      if (cur.tag === DW_TAG.call_site_parameter || cur.tag === DW_TAG.GNU_call_site_parameter) {
        const reg = cur.block(DW_AT.location) ? locationReg(cur.c, cur.blockStart, cur.blockEnd) : undefined;
        const has = cur.block(AT_call_value) || cur.block(AT_GNU_call_site_value);
        if (reg !== undefined && has) out.set(reg, evalCallValue(cur.c, cur.blockStart, cur.blockEnd));
      }
      off = cur.hasChildren ? cur.skipChildren() : cur.next;
    }
    return out;
  }

  /** nameOf(key) as an id among `out`'s callee names (-1: none), remembered per DIE. */
  private nameId(key: number): number {
    const u = this.cur.unit;
    if (u !== this.nameUnit) this.cacheNamesOf(u);
    const i = key - this.nameBase;
    const ids = this.unitNameIds;
    if (i >= 0 && i < ids.length) {
      let v = ids[i];
      if (v === 0) {
        const name = this.nameOf(key);
        v = ids[i] = (name === undefined ? -1 : this.out.nameId(name)) + 2;
        this.touched.push(i);
      }
      return v - 2;
    }
    let id = this.names.get(key);
    if (id === undefined) {
      const name = this.nameOf(key);
      this.names.set(key, (id = name === undefined ? -1 : this.out.nameId(name)));
    }
    return id;
  }

  /** Makes `unitNameIds` the (empty) cache of unit u's DIEs. */
  private cacheNamesOf(u: Unit): void {
    const ids = this.unitNameIds;
    const touched = this.touched;
    for (let j = 0; j < touched.length; j++) ids[touched[j]] = 0;
    touched.length = 0;
    this.nameUnit = u;
    this.nameBase = u.keyStart;
    // A huge unit (one LTO unit for a whole program) keeps its names in the Map instead.
    const size = u.keyEnd - u.keyStart;
    if (size > MAX_CACHED_UNIT) this.unitNameIds = this.nameIdBuf.subarray(0, 0);
    else {
      if (this.nameIdBuf.length < size) this.nameIdBuf = new Int32Array(size);
      this.unitNameIds = this.nameIdBuf.subarray(0, size);
    }
  }

  /** The callee DIE's linkage name or name, following abstract origins and specifications. */
  private nameOf(key: number): string | undefined {
    const aux = this.aux;
    let name: string | undefined;
    let next = key;
    for (let i = 0; i < 8 && next >= 0 && !name; i++) {
      if (!this.dwarf.seek(aux, next)) break;
      name = aux.str(DW_AT.linkage_name) ?? aux.str(DW_AT.name);
      let n = aux.ref(DW_AT.abstract_origin);
      if (n < 0) n = aux.ref(DW_AT.specification);
      next = n;
    }
    // gcc names the malloc family's declarations after its builtins (linkage name "malloc").
    if (name?.startsWith("__builtin_")) name = name.slice("__builtin_".length);
    return name;
  }
}

export interface CodeFacts {
  /** Every call site DIE, by return address (the first one for an address). */
  callSites: CallSiteTable;
  /** The address ranges of functions described with DW_AT_ranges, by lowest address. */
  ranges: Map<number, Range[]>;
  /** A call site's parameter values by DWARF register (constants and entry values only). */
  params(site: DwarfCallSite): Map<number, CallValue>;
  /** Inlined subroutines with code (parents before children). */
  inlined: InlinedCall[];
}

export function readCodeFacts(dwarf: Dwarf): CodeFacts {
  const r = new CallSiteReader(dwarf);
  r.readAll();
  r.out.seal();
  const cache = new Map<number, Map<number, CallValue>>();
  const params = (site: DwarfCallSite): Map<number, CallValue> => {
    let m = cache.get(site.key);
    if (!m) {
      try {
        m = r.paramsOf(site);
      } catch {
        m = new Map(); // a malformed parameter only loses the constant it would give
      }
      cache.set(site.key, m);
    }
    return m;
  };
  return { callSites: r.out, ranges: r.ranges, params, inlined: r.inlined };
}

/** Facts for a binary whose DWARF could not be read for them. */
export function noCodeFacts(): CodeFacts {
  return { callSites: new CallSiteTable().seal(), ranges: new Map(), params: () => new Map(), inlined: [] };
}
