// Locations of parameters, locals and frame bases, decoded only when a consumer asks for them
// (frame metadata, allocation-site analysis, dumps). On optimised code most variables have a
// location list; decoding every list while reading the DIEs was a third of typegen's time on a
// large binary and most of its garbage, although building the type model never needs them.
// A record keeps where the attribute's value is (a block in .debug_info or a list offset) and
// decodes it on first access; a malformed list then ends in the same TypegenFormatError, only
// later.

import { Cursor } from "../bytes";
import { DW_OP } from "../dwarf/constants";
import { classifyExpr } from "../dwarf/expr";
import { forEachLoc } from "../dwarf/loclists";
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
  const u = ref.unit;
  if (!u) return [];
  try {
    if (ref.isBlock) {
      const c = new Cursor(u.src.buf, u.file, u.src.secName, 0, u.end);
      return [{ lo: ref.lo, hi: ref.hi, loc: classifyExpr(u, c, ref.start, ref.end) }];
    }
    const out: LocatedRange[] = [];
    const fnHi = ref.hi;
    forEachLoc(u, ref.form, ref.start, (l, h, c, s, e) => {
      out.push({ lo: l, hi: h === Infinity ? fnHi : h, loc: classifyExpr(u, c, s, e) });
    });
    return out;
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

/** A frame base's location. */
export class LocationSource implements LocationRef {
  constructor(
    readonly unit: Unit,
    readonly isBlock: boolean,
    readonly form: number,
    readonly start: number,
    readonly end: number,
    readonly lo: number,
    readonly hi: number,
  ) {}
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

/** A function whose `frameBase` is decoded on first access. */
export class LazyFunction implements FunctionInfo {
  linkageName?: string = undefined;
  private ranges: LocatedRange[] | undefined = undefined;

  constructor(
    public name: string,
    public type: TypeId,
    public lowPc: number,
    public highPc: number,
    public external: boolean,
    private readonly src: LocationRef | null,
    public params: LocalVar[],
    public locals: LocalVar[],
    public unit: string,
  ) {}

  get frameBase(): LocatedRange[] {
    return (this.ranges ??= this.src ? decodeLocation(this.src) : []);
  }
  set frameBase(v: LocatedRange[]) {
    this.ranges = v;
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
