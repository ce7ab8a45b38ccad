// The code side of the DIE walk (collect.ts): a subprogram's range, name and synthesised
// function type, its frame base, its parameters and locals (frame rows in frame-table.ts), and
// statics, file-scope or function-scope. What it finds through DW_AT_abstract_origin /
// DW_AT_specification chains is left in fields (no object per DIE).

import { TWO64 } from "../bytes";
import { DW_AT, DW_FORM, DW_TAG } from "../dwarf/constants";
import { DieCursor } from "../dwarf/die";
import { Dwarf } from "../dwarf/dwarf";
import { Location } from "../dwarf/expr";
import { readRanges } from "../dwarf/ranges";
import { Unit } from "../dwarf/units";
import { EMPTY_STR, NO_STR } from "../dwarf/str-ref";
import { FrameTable, LOC_BLOCK, LOC_LIST, LOC_NONE } from "./frame-table";
import { LocationRef, decodeLocation, mayBeStatic } from "./lazy-locations";
import { F_HAS_PROTOTYPED, F_PROTOTYPED, PARAMS, RawTable } from "./raw-table";

/** The function whose children are being walked (a lexical block's too). */
export interface FuncCtx {
  /** Its index in the frame table; -1 outside a concrete function (an abstract inline instance, a declaration). */
  fn: number;
  /** Record of the function's synthesised type (-1 with no fn). */
  fnType: number;
  /** What its statics' scope is called (a string reference: name, else linkage name, else ""). */
  fnName: number;
  lo: number;
  hi: number;
}

/** A location reference the walk fills for each variable it looks at (one object, reused). */
class ScratchLocation implements LocationRef {
  unit: Unit | null = null;
  isBlock = false;
  form = 0;
  start = 0;
  end = 0;
  lo = 0;
  hi = 0;
}

/** Reads subprograms, variables and parameters at the walk's cursor into the unit's tables. */
export class CodeReader {
  types!: RawTable;
  frames!: FrameTable;
  unit!: Unit;
  private readonly scratch = new ScratchLocation();
  /** Keys for synthesised function types of subprograms, above every real DIE key (the native
   * walk takes it and gives it back: collect-native.ts). */
  synth: number;
  /** What `origin` found. */
  private oName = NO_STR;
  private oLinkage = NO_STR;
  private oType = -1;
  private oExternal = false;
  private oDeclaration = false;
  /**
   * Where the last location attribute found by `locationAt` is. A variable with no location
   * keeps the previous one's form and place in its row: the native walk takes these and gives
   * them back so that its rows are the same.
   */
  locIsBlock = false;
  locForm = 0;
  locStart = 0;
  locEnd = 0;

  /** `cur`: the walk's cursor; `aux`: a second one for following origins without losing its place. */
  constructor(
    private readonly dwarf: Dwarf,
    private readonly cur: DieCursor,
    private readonly aux: DieCursor,
  ) {
    const last = dwarf.units[dwarf.units.length - 1];
    this.synth = last ? last.keyEnd + 1 : 1;
  }

  /** Points the reader at the unit being walked and the tables it fills. */
  begin(u: Unit, types: RawTable, frames: FrameTable): void {
    this.unit = u;
    this.types = types;
    this.frames = frames;
  }

  /**
   * Name and linkage name (string references), type, external and declaration of the current
   * DIE, completed from its DW_AT_abstract_origin / DW_AT_specification chain. Left in the o*
   * fields (no object per DIE); `full` false reads only the name and type (all a local needs).
   */
  private origin(full: boolean): void {
    const cur = this.cur;
    this.oName = cur.strRef(DW_AT.name);
    this.oLinkage = full ? cur.strRef(DW_AT.linkage_name) : NO_STR;
    this.oType = cur.ref(DW_AT.type);
    this.oExternal = full && cur.flag(DW_AT.external);
    this.oDeclaration = full && cur.flag(DW_AT.declaration);
    let next = cur.ref(DW_AT.abstract_origin);
    if (next < 0) next = cur.ref(DW_AT.specification);
    const aux = this.aux;
    for (let i = 0; i < 8 && next >= 0; i++) {
      if (!this.dwarf.seek(aux, next)) break;
      if (this.oName === NO_STR) this.oName = aux.strRef(DW_AT.name);
      if (full && this.oLinkage === NO_STR) this.oLinkage = aux.strRef(DW_AT.linkage_name);
      if (this.oType < 0) this.oType = aux.ref(DW_AT.type);
      if (full) this.oExternal ||= aux.flag(DW_AT.external);
      let n = aux.ref(DW_AT.abstract_origin);
      if (n < 0) n = aux.ref(DW_AT.specification);
      next = n;
    }
  }

  readFunction(): FuncCtx {
    const cur = this.cur;
    this.origin(true);
    const nameRef = this.oName !== NO_STR ? this.oName : this.oLinkage !== NO_STR ? this.oLinkage : EMPTY_STR;
    let lo = cur.addr(DW_AT.low_pc);
    let hi = lo !== undefined ? cur.highPc(lo) : undefined;
    if (lo === undefined && cur.has(DW_AT.ranges)) {
      const rs = readRanges(this.unit, cur.form(DW_AT.ranges), cur.udata(DW_AT.ranges) ?? 0);
      if (rs.length > 0) {
        lo = Math.min(...rs.map((r) => r[0]));
        hi = Math.max(...rs.map((r) => r[1]));
      }
    }
    // A linker marks a function whose code it discarded with a tombstone low_pc (lld: -1 or -2,
    // both 2^64 as a double): no code, so no frame. Any other range past 2^64 is corrupt, and
    // no address field holds it.
    const discarded = this.unit.addrSize === 8 ? lo === TWO64 : lo === 0xffffffff || lo === 0xfffffffe;
    if (lo === undefined || hi === undefined || this.oDeclaration || discarded)
      return { fn: -1, fnType: -1, fnName: nameRef, lo: 0, hi: 0 };
    if (!(hi <= TWO64)) cur.fail(`function range 0x${lo.toString(16)}..0x${hi.toString(16)} beyond 2^64`);
    const fnKey = this.synth++;
    const t = this.types;
    const type = this.oType;
    const fr = this.frames.addFunction(nameRef, this.oLinkage, fnKey, lo, hi, this.oExternal);
    const prototyped = this.prototyped();
    const fnType = t.add(fnKey, DW_TAG.subroutine_type);
    t.target[fnType] = type;
    t.flags[fnType] = F_HAS_PROTOTYPED | (prototyped ? F_PROTOTYPED : 0);
    if (this.locationAt(DW_AT.frame_base))
      this.frames.setFrameBase(
        fr,
        this.locIsBlock ? LOC_BLOCK : LOC_LIST,
        this.locForm,
        this.locStart,
        this.locEnd,
      );
    return { fn: fr, fnType, fnName: nameRef, lo, hi };
  }

  /** DW_AT_prototyped of the current DIE or of its abstract origin / specification. */
  private prototyped(): boolean {
    const cur = this.cur;
    if (cur.flag(DW_AT.prototyped)) return true;
    let next = cur.ref(DW_AT.abstract_origin);
    if (next < 0) next = cur.ref(DW_AT.specification);
    for (let i = 0; i < 8 && next >= 0; i++) {
      if (!this.dwarf.seek(this.aux, next)) break;
      if (this.aux.flag(DW_AT.prototyped)) return true;
      let n = this.aux.ref(DW_AT.abstract_origin);
      if (n < 0) n = this.aux.ref(DW_AT.specification);
      next = n;
    }
    return false;
  }

  /** Whether attribute `at` has a location value this reader understands. */
  private static isListForm(form: number): boolean {
    return (
      form === DW_FORM.sec_offset ||
      form === DW_FORM.loclistx ||
      form === DW_FORM.data4 ||
      form === DW_FORM.data8
    );
  }

  /** Location attribute `at` as the scratch reference (its unit null when there is none). */
  private scratchLocation(at: number, lo: number, hi: number): ScratchLocation {
    const s = this.scratch;
    s.unit = this.locationAt(at) ? this.unit : null;
    s.isBlock = this.locIsBlock;
    s.form = this.locForm;
    s.start = this.locStart;
    s.end = this.locEnd;
    s.lo = lo;
    s.hi = hi;
    return s;
  }

  /**
   * Finds location attribute `at` and leaves where its value is in the loc* fields; false if it is
   * absent or of another form. A block's length is checked now, so a block running past its unit
   * fails here as it always did.
   */
  private locationAt(at: number): boolean {
    const cur = this.cur;
    const form = cur.form(at);
    if (form === 0) return false;
    this.locForm = form;
    if (cur.block(at)) {
      this.locIsBlock = true;
      this.locStart = cur.blockStart;
      this.locEnd = cur.blockEnd;
      return true;
    }
    if (!CodeReader.isListForm(form)) return false;
    this.locIsBlock = false;
    this.locStart = cur.udata(at) ?? 0;
    this.locEnd = 0;
    return true;
  }

  readLocal(ctx: FuncCtx, isParam: boolean): void {
    // Outside a concrete function (an abstract inline instance, a declaration) only a static
    // local matters, and that has a single-expression location: skip the rest unread.
    if (ctx.fn < 0) {
      if (isParam) return;
      const f = this.cur.form(DW_AT.location);
      if (f !== DW_FORM.exprloc && f !== DW_FORM.block1 && f !== DW_FORM.block) return;
    }
    this.origin(false);
    const name = this.oName;
    const type = this.oType;
    const loc = this.scratchLocation(DW_AT.location, ctx.lo, ctx.hi);
    // A function-scope static is a static variable, not part of the frame. Only a location whose
    // first operation can give an address is decoded to find out; the rest stay undecoded.
    if (!isParam && mayBeStatic(loc)) {
      const ranges = decodeLocation(loc);
      const l = ranges.length === 1 ? ranges[0].loc : undefined;
      if (l && (l.kind === "addr" || l.kind === "tls")) {
        this.pushStatic(name, type, l, false, ctx.fnName);
        return;
      }
    }
    if (isParam && ctx.fn >= 0) {
      const t = this.types;
      // The item first: addItem may replace itemA (`t.itemA[t.addItem(..)]` wrote to the old one).
      const i = t.addItem(ctx.fnType, PARAMS);
      t.itemA[i] = type;
    }
    if (ctx.fn < 0) return;
    const kind = loc.unit ? (loc.isBlock ? LOC_BLOCK : LOC_LIST) : LOC_NONE;
    this.frames.addLocal(ctx.fn, isParam, name, type, kind, loc.form, loc.start, loc.end);
  }

  readStatic(): void {
    const cur = this.cur;
    if (!cur.has(DW_AT.location)) return; // a declaration; its definition carries the location
    this.origin(true);
    const locs = decodeLocation(this.scratchLocation(DW_AT.location, 0, 0));
    if (locs.length !== 1) return;
    this.pushStatic(this.oName, this.oType, locs[0].loc, this.oExternal, null);
  }

  /**
   * The native walk's call for a location list that may be a static's (a function-scope one's
   * whose first operation can give an address, or a file-scope variable's): what `readLocal` /
   * `readStatic` decode from it, as [1, address] or [2, TLS offset]; null when it is neither or
   * not exactly one range. The C walker records the static itself.
   */
  nativeListStatic(form: number, start: number, lo: number, hi: number): Float64Array | null {
    const ranges = decodeLocation(this.nativeScratch(false, form, start, 0, lo, hi));
    if (ranges.length !== 1) return null;
    const l = ranges[0].loc;
    if (l.kind === "addr") return Float64Array.of(1, l.addr);
    if (l.kind === "tls") return Float64Array.of(2, l.offset);
    return null;
  }

  private nativeScratch(
    isBlock: boolean,
    form: number,
    start: number,
    end: number,
    lo: number,
    hi: number,
  ): ScratchLocation {
    const s = this.scratch;
    s.unit = this.unit;
    s.isBlock = isBlock;
    s.form = form;
    s.start = start;
    s.end = end;
    s.lo = lo;
    s.hi = hi;
    return s;
  }

  /** `scope`: the enclosing function's name reference (null at file scope). */
  private pushStatic(
    name: number,
    type: number,
    loc: Location,
    external: boolean,
    scope: number | null,
  ): void {
    if (loc.kind !== "addr" && loc.kind !== "tls") return;
    const addr = loc.kind === "addr" ? loc.addr : loc.offset;
    this.frames.addStatic(name, type, addr, external, loc.kind === "tls", scope);
  }
}
