// Locations of parameters, locals and frame bases, decoded only when a consumer asks for them
// (frame metadata, allocation-site analysis, dumps). On optimised code most variables have a
// location list; decoding every list while reading the DIEs was a third of typegen's time on a
// large binary and most of its garbage, although building the type model never needs them.
// A record keeps where the attribute's value is (a block in .debug_info or a list offset) and
// decodes it on first access; a malformed list then ends in the same TypegenFormatError, only
// later.

import { Cursor } from "../bytes";
import { DW_OP } from "../dwarf/constants";
import { Location, classifyExpr } from "../dwarf/expr";
import { forEachLoc } from "../dwarf/loclists";
import { StrSpace, resolveStr } from "../dwarf/str-ref";
import { Unit } from "../dwarf/units";
import { TypegenFormatError } from "../errors";
import { FunctionInfo, LocalVar, LocatedRange, TypeId } from "./types";

/**
 * Where an undecoded location attribute is, and the PC range [lo, hi) of its function. `start`
 * and `end` bound a block in the unit's section; a list has its attribute value in `start`.
 */
export interface LocationRef {
  /** null: no location (an optimised-out or constant variable). */
  readonly unit: Unit | null;
  readonly isBlock: boolean;
  /** DW_FORM of the value: a block form (exprloc, block*) or a list form (sec_offset, loclistx...). */
  readonly form: number;
  readonly start: number;
  readonly end: number;
  readonly lo: number;
  readonly hi: number;
}

/** The ranges, as the eager reader built them: one per list entry, or one for a block. */
export function decodeLocation(ref: LocationRef): LocatedRange[] {
  const out: LocatedRange[] = [];
  forEachRange(ref, (lo, hi, loc) => {
    out.push({ lo, hi, loc });
  });
  return out;
}

/** Receives one range of a location: [lo, hi) and its classified expression. */
export type RangeSink = (lo: number, hi: number, loc: Location) => void;

/**
 * Hands each range of the location to `sink`, in list order, as `decodeLocation` would list
 * them, without making the list (the metadata writer reads every variable's ranges once and
 * keeps a few; the list and its range objects were most of its garbage). A malformed list
 * fails with the same TypegenFormatError, after the ranges before the fault were handed on.
 */
export function forEachRange(ref: LocationRef, sink: RangeSink): void {
  const u = ref.unit;
  if (!u) return;
  try {
    if (ref.isBlock) {
      const c = new Cursor(u.src.buf, u.file, u.src.secName, 0, u.end);
      sink(ref.lo, ref.hi, classifyExpr(u, c, ref.start, ref.end));
      return;
    }
    const fnHi = ref.hi;
    forEachLoc(u, ref.form, ref.start, (l, h, c, s, e) => {
      sink(l, h === Infinity ? fnHi : h, classifyExpr(u, c, s, e));
    });
  } catch (e) {
    if (e instanceof TypegenFormatError) throw e;
    throw new TypegenFormatError(
      u.file,
      u.src.secName,
      u.offset,
      `unexpected failure: ${(e as Error).message}`,
    );
  }
}

/**
 * False when the location cannot be a single static address (DW_OP_addr/addrx) or TLS offset
 * (DW_OP_const4u/const8u ...): its first expression starts with another operation, or there is
 * none. Reads one entry at most, so the common case costs no decoding.
 */
export function mayBeStatic(ref: LocationRef): boolean {
  const u = ref.unit;
  if (!u) return false;
  let op = -1;
  if (ref.isBlock) op = ref.end > ref.start ? u.src.buf[ref.start] : -1;
  else
    forEachLoc(u, ref.form, ref.start, (_l, _h, c, s, e) => {
      op = e > s ? c.buf[s] : 0;
      return false;
    });
  return (
    op === DW_OP.addr ||
    op === DW_OP.addrx ||
    op === DW_OP.GNU_addr_index ||
    op === DW_OP.const4u ||
    op === DW_OP.const8u
  );
}

/**
 * A parameter or local whose `locations` are decoded on first access. It holds its location's
 * reference itself (one object per variable: there are ~10^5 in a large binary). Made by the DIE
 * walk with `type` still a raw DIE key; uniquing replaces it with the type's id.
 */
export class LazyLocal implements LocalVar, LocationRef {
  typedefName?: string = undefined;

  constructor(
    public name: string,
    public type: TypeId,
    public isParam: boolean,
    readonly unit: Unit | null,
    readonly isBlock: boolean,
    readonly form: number,
    readonly start: number,
    readonly end: number,
    readonly lo: number,
    readonly hi: number,
    /** Already decoded (a static candidate that turned out not to be one). */
    private ranges: LocatedRange[] | undefined,
  ) {}

  get locations(): LocatedRange[] {
    return (this.ranges ??= decodeLocation(this));
  }
  set locations(v: LocatedRange[]) {
    this.ranges = v;
  }

  /** The plain record, with the keys in the order the eager model had them. */
  toJSON(): LocalVar {
    const o: LocalVar = {
      name: this.name,
      type: this.type,
      isParam: this.isParam,
      locations: this.locations,
    };
    if (this.typedefName !== undefined) o.typedefName = this.typedefName;
    return o;
  }
}

/** Columns of a LocalStore row: the function's index in its unit, then the variable. */
export const LS_FN = 0;
export const LS_PARAM = 1;
export const LS_NAME = 2;
export const LS_TYPE = 3;
/** The typedef the variable was declared with (a string reference, NO_STR: none). */
export const LS_TYPEDEF = 4;
/** Location: 0 none, 1 block, 2 list; form, start, end (its PC range is the function's). */
export const LS_LOC = 5;
export const LS_FORM = 6;
export const LS_START = 7;
export const LS_END = 8;
export const LS_COLS = 9;

/**
 * The parameters and locals of one unit's functions as rows of numbers, function by function
 * (names as string references). A function makes its LazyLocal objects from its rows only when
 * asked for them: a large binary has ~10^5 variables, and the type model itself needs none.
 * Uniquing writes each row's type id and typedef name into it.
 */
export class LocalStore {
  constructor(
    readonly unit: Unit,
    readonly strs: StrSpace,
    readonly rows: Float64Array,
  ) {}
}

/** A function whose `frameBase` is decoded, and `params`/`locals` made, on first access. */
export class LazyFunction implements FunctionInfo {
  linkageName?: string = undefined;
  private fb: LocatedRange[] | undefined = undefined;
  private ps: LocalVar[] | undefined = undefined;
  private ls: LocalVar[] | undefined = undefined;

  constructor(
    public name: string,
    /** A raw DIE key until uniquing replaces it with the type's id. */
    public type: TypeId,
    public lowPc: number,
    public highPc: number,
    public external: boolean,
    public unit: string,
    /** DW_AT_frame_base: `unit` null when there is none. */
    private readonly fbUnit: Unit | null,
    readonly isBlock: boolean,
    readonly form: number,
    readonly start: number,
    readonly end: number,
    /** Rows [first, first + count) of `store` are its parameters and locals, in DIE order. */
    readonly store: LocalStore,
    readonly first: number,
    readonly count: number,
  ) {}

  get frameBase(): LocatedRange[] {
    return (this.fb ??= decodeLocation(this.frameBaseRef()));
  }
  set frameBase(v: LocatedRange[]) {
    this.fb = v;
  }

  get params(): LocalVar[] {
    if (!this.ps) this.makeLocals();
    return this.ps!;
  }
  set params(v: LocalVar[]) {
    if (!this.ps) this.makeLocals();
    this.ps = v;
  }

  get locals(): LocalVar[] {
    if (!this.ls) this.makeLocals();
    return this.ls!;
  }
  set locals(v: LocalVar[]) {
    if (!this.ls) this.makeLocals();
    this.ls = v;
  }

  /** Maps the types of the function and its variables (merge.ts renumbers the types). */
  remapTypes(map: (id: TypeId) => TypeId): void {
    this.type = map(this.type);
    const rows = this.store.rows;
    for (let i = this.first; i < this.first + this.count; i++)
      rows[i * LS_COLS + LS_TYPE] = map(rows[i * LS_COLS + LS_TYPE]);
    for (const l of this.ps ?? []) l.type = map(l.type);
    for (const l of this.ls ?? []) l.type = map(l.type);
  }

  /** The frame base, decoded now if it was not yet, and not kept (see `forEachVar`). */
  frameBaseOnce(): LocatedRange[] {
    return this.fb ?? decodeLocation(this.frameBaseRef());
  }

  /**
   * Calls `begin` for each parameter, then each local, in DIE order (as `[...params,
   * ...locals]`), then `range` for each range of its location; `name()` gives its name, decoded
   * only if asked for (most variables of optimised code have no frame slot, and GCC spells short
   * names inline, one string each). Variables not yet made into objects are decoded from their
   * rows and nothing is kept, not even the list of a variable's ranges: the metadata writer
   * visits every function once, and keeping every variable's objects alive until the end made
   * V8's young-generation collections copy them all.
   */
  forEachVar(begin: (name: () => string, type: TypeId, isParam: boolean) => void, range: RangeSink): void {
    if (this.ps || this.ls) {
      for (const vs of [this.params, this.locals])
        for (const v of vs) {
          begin(() => v.name, v.type, v.isParam);
          for (const r of v.locations) range(r.lo, r.hi, r.loc);
        }
      return;
    }
    const { rows, unit, strs } = this.store;
    const ref = {
      unit: null as Unit | null,
      isBlock: false,
      form: 0,
      start: 0,
      end: 0,
      lo: this.lowPc,
      hi: this.highPc,
    };
    let row = 0;
    let name: string | undefined;
    const nameOf = (): string => (name ??= resolveStr(strs, rows[row * LS_COLS + LS_NAME]) ?? "");
    for (let pass = 1; pass >= 0; pass--)
      for (let i = this.first; i < this.first + this.count; i++) {
        const o = i * LS_COLS;
        if (rows[o + LS_PARAM] !== pass) continue;
        const kind = rows[o + LS_LOC];
        row = i;
        name = undefined;
        begin(nameOf, rows[o + LS_TYPE], pass === 1);
        if (kind === 0) continue;
        ref.unit = unit;
        ref.isBlock = kind === 1;
        ref.form = rows[o + LS_FORM];
        ref.start = rows[o + LS_START];
        ref.end = rows[o + LS_END];
        forEachRange(ref, range);
      }
  }

  private frameBaseRef(): LocationRef {
    return {
      unit: this.fbUnit,
      isBlock: this.isBlock,
      form: this.form,
      start: this.start,
      end: this.end,
      lo: this.lowPc,
      hi: this.highPc,
    };
  }

  private makeLocals(): void {
    const { rows, unit, strs } = this.store;
    const ps: LocalVar[] = [];
    const ls: LocalVar[] = [];
    for (let i = this.first; i < this.first + this.count; i++) {
      const o = i * LS_COLS;
      const kind = rows[o + LS_LOC];
      const isParam = rows[o + LS_PARAM] !== 0;
      const v = new LazyLocal(
        resolveStr(strs, rows[o + LS_NAME]) ?? "",
        rows[o + LS_TYPE],
        isParam,
        kind === 0 ? null : unit,
        kind === 1,
        rows[o + LS_FORM],
        rows[o + LS_START],
        rows[o + LS_END],
        this.lowPc,
        this.highPc,
        undefined,
      );
      const td = resolveStr(strs, rows[o + LS_TYPEDEF]);
      if (td !== undefined) v.typedefName = td;
      (isParam ? ps : ls).push(v);
    }
    this.ps ??= ps;
    this.ls ??= ls;
  }

  toJSON(): FunctionInfo {
    const o: FunctionInfo = {
      name: this.name,
      type: this.type,
      lowPc: this.lowPc,
      highPc: this.highPc,
      external: this.external,
      frameBase: this.frameBase,
      params: this.params,
      locals: this.locals,
      unit: this.unit,
    };
    if (this.linkageName !== undefined) o.linkageName = this.linkageName;
    return o;
  }
}
