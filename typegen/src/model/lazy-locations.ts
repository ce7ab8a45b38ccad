// Locations of parameters, locals and frame bases, decoded only when a consumer asks for them
// (frame metadata, allocation-site analysis, dumps). On optimised code most variables have a
// location list; decoding every list while reading the DIEs was a third of typegen's time on a
// large binary and most of its garbage, although building the type model never needs them.
// A record keeps where the attribute's value is (a block in .debug_info or a list offset) and
// decodes it on first access; a malformed list then ends in the same TypegenFormatError, only
// later.

import { Cursor, smi } from "../bytes";
import { DW_OP } from "../dwarf/constants";
import { Location, classifyExpr } from "../dwarf/expr";
import { LocListWalker } from "../dwarf/loclists";
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
 * them, without making the list. A malformed list fails with the same TypegenFormatError, after
 * the ranges before the fault were handed on.
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
    // A walker of its own: the sink may decode another location meanwhile.
    const w = new LocListWalker();
    w.open(u, ref.form, ref.start);
    while (w.next()) sink(w.lo, w.hi === Infinity ? ref.hi : w.hi, classifyExpr(u, w.c, w.start, w.end));
  } catch (e) {
    throw asFormatError(u, e);
  }
}

/** `e` if it is a TypegenFormatError, else one naming unit `u` (a bug met on its bytes). */
export function asFormatError(u: Unit, e: unknown): TypegenFormatError {
  if (e instanceof TypegenFormatError) return e;
  return new TypegenFormatError(
    u.file,
    u.src.secName,
    u.offset,
    `unexpected failure: ${(e as Error).message}`,
  );
}

/** The walker `mayBeStatic` reads first entries with (it calls nothing while walking). */
const probe = new LocListWalker();

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
  else {
    probe.open(u, ref.form, ref.start);
    if (probe.next()) op = probe.end > probe.start ? probe.c.buf[probe.start] : 0;
  }
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
    /** DW_AT_frame_base (`isBlock`, `form`, `start`, `end`): `fbUnit` null when there is none. */
    readonly fbUnit: Unit | null,
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

  /** The frame base if it was decoded (or set), else undefined: see `fbUnit` and the rest. */
  get decodedFrameBase(): LocatedRange[] | undefined {
    return this.fb;
  }

  /**
   * Whether `params`/`locals` were made (or set): then they are the variables; else the rows
   * [first, first + count) of `store` are, in DIE order (the metadata writer reads every
   * function's variables once, from the rows, keeping nothing: meta/frame-vars.ts).
   */
  get varsMade(): boolean {
    return this.ps !== undefined || this.ls !== undefined;
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
        smi(rows[o + LS_TYPE]),
        isParam,
        kind === 0 ? null : unit,
        kind === 1,
        smi(rows[o + LS_FORM]),
        smi(rows[o + LS_START]),
        smi(rows[o + LS_END]),
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
