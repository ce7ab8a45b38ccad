// Where each of a function's variables lives relative to the CFA, per PC range: what a FRAME
// type's members and a function's FRAME_VAR records are made from.
//
// The writer asks this of every function, so it reads the variables' rows (model/lazy-locations.ts)
// and steps through their location lists itself (a LocListWalker, expressions classified by
// `exprShape` into numbers): no object per variable, per list entry or per classified expression,
// no closure per function, and each method small (V8 compiles the hot ones; a large function
// costs more to compile than it saves in a run this short).

import { Cursor, smi } from "../bytes";
import {
  ExprOperands,
  Location,
  SHAPE_BREG,
  SHAPE_CFA,
  SHAPE_FBREG,
  READS_OPERANDS,
  SHAPE_REG,
  exprShape,
} from "../dwarf/expr";
import { LocListWalker } from "../dwarf/loclists";
import { StrSpace, resolveStr } from "../dwarf/str-ref";
import { Unit } from "../dwarf/units";
import {
  LS_COLS,
  LS_END,
  LS_FORM,
  LS_LOC,
  LS_NAME,
  LS_PARAM,
  LS_START,
  LS_TYPE,
  LazyFunction,
  asFormatError,
} from "../model/lazy-locations";
import { FunctionInfo, LocalVar, LocatedRange, TypeId } from "../model/types";

/** x86-64 with a frame pointer: after `push %rbp; mov %rsp,%rbp`, rbp = CFA - 16. */
const RBP_FROM_CFA = -16;
const DWARF_RBP = 6;
const DWARF_RSP = 7;

/** The CFA rule over each stretch of the function holding a pc (CfaRules.segments). */
export type CfaSegments = (
  pc: number,
) => { lo: number; hi: number; rule: { reg: number; offset: number } | undefined }[];

export interface FrameVarOut {
  pcLo: number;
  pcHi: number;
  cfaOffset: number;
  name: string;
  type: TypeId;
  param: boolean;
}

/** What a frame base range gives: nothing usable, an offset from the CFA, or rsp. */
const FB_NONE = 0;
const FB_CFA = 1;
const FB_RSP = 2;

/** Location kinds of a LocalStore row (model/frame-table.ts LOC_*). */
const ROW_BLOCK = 1;

const NO_BYTES = Buffer.alloc(0);

/**
 * Finds the frame slots of one function at a time (`collect`), reusing its walkers, scratch
 * and output list between functions.
 */
export class FrameVarCollector {
  /** The last function's slots, in variable order then range order (until the next `collect`,
   * which reuses the objects). */
  out: FrameVarOut[] = [];
  /** The slot objects, reused from function to function (the writer keeps none of them past
   * writing the function): `used` of them are this function's. */
  private readonly pool: FrameVarOut[] = [];
  private used = 0;
  private fn: FunctionInfo | null = null;
  private readonly walker = new LocListWalker();
  private readonly ops = new ExprOperands();
  private fbReader: FrameBaseReader | undefined;
  private block = new Cursor(NO_BYTES, "", "");
  /** The frame base over [fbLo, fbHi): FB_* and the CFA offset; decoded at the first fbreg. */
  private fbDecoded = false;
  private fbN = 0;
  private readonly fbLo: number[] = [];
  private readonly fbHi: number[] = [];
  private readonly fbMode: number[] = [];
  private readonly fbBase: number[] = [];
  private segments: ReturnType<CfaSegments> | undefined;
  /** The variable being read: its name (decoded from `nameRef` when it has a slot), type, kind. */
  private name: string | undefined;
  private strs: StrSpace | null = null;
  /** A string reference (dwarf/str-ref.ts; NaN: a double field from the start, as they may be). */
  private nameRef = NaN;
  private type: TypeId = 0;
  private param = false;

  constructor(private readonly cfa: CfaSegments | undefined) {}

  /** Fills `out` with the slots of `f`'s parameters, then its locals, in DIE order. */
  collect(f: FunctionInfo): FrameVarOut[] {
    this.fn = f;
    this.out = [];
    this.used = 0;
    this.fbDecoded = false;
    this.segments = undefined;
    if (f instanceof LazyFunction && !f.varsMade) {
      this.fromRows(f, 1);
      this.fromRows(f, 0);
    } else {
      this.fromObjects(f.params);
      this.fromObjects(f.locals);
    }
    this.fn = null;
    return this.out;
  }

  /** The parameters (`param` 1) or the locals (0) of `f` from its rows. */
  private fromRows(f: LazyFunction, param: number): void {
    const { rows, unit, strs } = f.store;
    this.strs = strs;
    const end = (f.first + f.count) * LS_COLS;
    for (let o = f.first * LS_COLS; o < end; o += LS_COLS) {
      if (rows[o + LS_PARAM] !== param) continue;
      const kind = rows[o + LS_LOC];
      if (kind === 0) continue;
      this.name = undefined;
      this.nameRef = rows[o + LS_NAME];
      this.type = smi(rows[o + LS_TYPE]);
      this.param = param === 1;
      const start = smi(rows[o + LS_START]);
      this.walk(unit, kind === ROW_BLOCK, smi(rows[o + LS_FORM]), start, smi(rows[o + LS_END]));
    }
  }

  private fromObjects(vs: LocalVar[]): void {
    for (const v of vs) {
      this.name = v.name;
      this.type = v.type;
      this.param = v.isParam;
      for (const r of v.locations) this.rangeOf(r);
    }
  }

  /** A range given as an object: as `range` would take it from the bytes. */
  private rangeOf(r: LocatedRange): void {
    const loc = r.loc;
    if (loc.kind === "fbreg") this.range(r.lo, r.hi, SHAPE_FBREG, 0, loc.offset);
    else if (loc.kind === "breg") this.range(r.lo, r.hi, SHAPE_BREG, loc.reg, loc.offset);
  }

  /** Each range of a variable's location (a block or list at `start`), handed to `range`. */
  private walk(u: Unit, isBlock: boolean, form: number, start: number, end: number): void {
    const ops = this.ops;
    const fnHi = this.fn!.highPc;
    try {
      if (isBlock) {
        const shape = exprShape(u, this.blockCursor(u), start, end, ops);
        this.range(this.fn!.lowPc, fnHi, shape, ops.reg, ops.value);
        return;
      }
      const w = this.walker;
      w.open(u, form, start);
      const buf = w.c.buf;
      while (w.next()) {
        // Only an expression whose first operation has operands (fbreg, bregN...) can place a
        // variable in the frame; the rest (registers, computed values: most entries of
        // optimised code) are told from that byte, so they are skipped without a call.
        if (w.end === w.start || READS_OPERANDS[buf[w.start]] !== 1) continue;
        const shape = exprShape(u, w.c, w.start, w.end, ops);
        this.range(w.lo, w.hi === Infinity ? fnHi : w.hi, shape, ops.reg, ops.value);
      }
    } catch (e) {
      throw asFormatError(u, e);
    }
  }

  /** A cursor over the unit's section, for blocks (kept while the section is the same). */
  private blockCursor(u: Unit): Cursor {
    const c = this.block;
    if (c.buf === u.src.buf && c.file === u.file && c.section === u.src.secName) return c;
    return (this.block = new Cursor(u.src.buf, u.file, u.src.secName, 0, u.end));
  }

  /** One range [lo, hi) of the variable, where its location has shape `shape`. */
  private range(lo: number, hi: number, shape: number, reg: number, value: number): void {
    if (shape === SHAPE_FBREG) this.fromFrameBase(lo, hi, value);
    else if (shape === SHAPE_BREG && reg === DWARF_RBP) this.add(lo, hi, RBP_FROM_CFA + value);
    else if (shape === SHAPE_BREG && reg === DWARF_RSP) this.fromRsp(lo, hi, value);
  }

  /** DW_OP_fbreg `off` over [rLo, rHi): through each frame base range it overlaps. */
  private fromFrameBase(rLo: number, rHi: number, off: number): void {
    if (!this.fbDecoded) this.decodeFrameBase();
    for (let i = 0; i < this.fbN; i++) {
      const lo = Math.max(rLo, this.fbLo[i]);
      const hi = Math.min(rHi, this.fbHi[i]);
      const mode = this.fbMode[i];
      if (mode === FB_RSP) this.fromRsp(lo, hi, off);
      else if (mode === FB_CFA) this.add(lo, hi, this.fbBase[i] + off);
    }
  }

  /** rsp + `off` over [lo, hi): placed through each CFA rule "CFA = rsp + N" there. */
  private fromRsp(lo: number, hi: number, off: number): void {
    const f = this.fn!;
    const segments = (this.segments ??= this.cfa ? this.cfa(f.lowPc) : []);
    for (const s of segments)
      if (s.rule?.reg === DWARF_RSP) this.add(Math.max(lo, s.lo), Math.min(hi, s.hi), off - s.rule.offset);
  }

  private add(lo: number, hi: number, cfaOffset: number): void {
    if (hi <= lo) return;
    const name = (this.name ??= resolveStr(this.strs!, this.nameRef) ?? "");
    let o = this.pool[this.used];
    if (o === undefined) {
      o = { pcLo: lo, pcHi: hi, cfaOffset, name, type: this.type, param: this.param };
      this.pool.push(o);
    } else {
      o.pcLo = lo;
      o.pcHi = hi;
      o.cfaOffset = cfaOffset;
      o.name = name;
      o.type = this.type;
      o.param = this.param;
    }
    this.used++;
    this.out.push(o);
  }

  /** The function's frame base as FB_* per range, from its bytes or its decoded ranges. */
  private decodeFrameBase(): void {
    this.fbDecoded = true;
    this.fbN = 0;
    const f = this.fn!;
    const decoded = f instanceof LazyFunction ? f.decodedFrameBase : f.frameBase;
    if (decoded) {
      for (const r of decoded) this.frameBaseRange(r.lo, r.hi, r.loc);
      return;
    }
    const lazy = f as LazyFunction;
    const u = lazy.fbUnit;
    if (!u) return;
    (this.fbReader ??= new FrameBaseReader(this)).read(u, lazy);
  }

  /** Notes one frame base range [lo, hi) of location `loc`. */
  frameBaseRange(lo: number, hi: number, loc: Location): void {
    let mode = FB_NONE;
    let base = 0;
    if (loc.kind === "cfa") mode = FB_CFA;
    else if (loc.kind === "reg" && loc.reg === DWARF_RSP) mode = FB_RSP;
    else if ((loc.kind === "reg" || loc.kind === "breg") && loc.reg === DWARF_RBP) {
      mode = FB_CFA;
      base = RBP_FROM_CFA + (loc.kind === "breg" ? loc.offset : 0);
    }
    this.frameBaseShape(lo, hi, mode, base);
  }

  /** Notes one frame base range [lo, hi): FB_* `mode`, and its CFA offset for FB_CFA. */
  frameBaseShape(lo: number, hi: number, mode: number, base: number): void {
    const i = this.fbN++;
    this.fbLo[i] = lo;
    this.fbHi[i] = hi;
    this.fbMode[i] = mode;
    this.fbBase[i] = base;
  }
}

/**
 * Reads a function's undecoded frame base into its collector's frame base ranges, with a walker
 * of its own (it is called while the collector's walker is inside a variable's list).
 */
class FrameBaseReader {
  private readonly ops = new ExprOperands();
  private readonly walker = new LocListWalker();
  private block = new Cursor(NO_BYTES, "", "");

  constructor(private readonly into: FrameVarCollector) {}

  read(u: Unit, f: LazyFunction): void {
    try {
      if (f.isBlock) {
        let c = this.block;
        if (c.buf !== u.src.buf || c.file !== u.file || c.section !== u.src.secName)
          c = this.block = new Cursor(u.src.buf, u.file, u.src.secName, 0, u.end);
        this.shape(f.lowPc, f.highPc, exprShape(u, c, f.start, f.end, this.ops));
        return;
      }
      const w = this.walker;
      w.open(u, f.form, f.start);
      while (w.next())
        this.shape(w.lo, w.hi === Infinity ? f.highPc : w.hi, exprShape(u, w.c, w.start, w.end, this.ops));
    } catch (e) {
      throw asFormatError(u, e);
    }
  }

  private shape(lo: number, hi: number, shape: number): void {
    const { reg, value } = this.ops;
    if (shape === SHAPE_CFA) this.into.frameBaseShape(lo, hi, FB_CFA, 0);
    else if (shape === SHAPE_REG && reg === DWARF_RSP) this.into.frameBaseShape(lo, hi, FB_RSP, 0);
    else if (shape === SHAPE_REG && reg === DWARF_RBP) this.into.frameBaseShape(lo, hi, FB_CFA, RBP_FROM_CFA);
    else if (shape === SHAPE_BREG && reg === DWARF_RBP)
      this.into.frameBaseShape(lo, hi, FB_CFA, RBP_FROM_CFA + value);
    else this.into.frameBaseShape(lo, hi, FB_NONE, 0);
  }
}

/** Where each of a function's variables lives relative to the CFA, per PC range. An
 * rsp-relative location (clang's frame base without a frame pointer) is placed through the CFA
 * rule over its range, where that rule is "CFA = rsp + N". */
export function frameVars(f: FunctionInfo, cfa?: CfaSegments): FrameVarOut[] {
  return new FrameVarCollector(cfa).collect(f);
}
