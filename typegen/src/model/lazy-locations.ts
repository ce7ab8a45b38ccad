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

/** Where an undecoded location attribute is, and the PC range of the function it belongs to. */
export class LocationSource {
  constructor(
    readonly unit: Unit,
    /** DW_FORM of the value: a block form (exprloc, block*) or a list form (sec_offset, loclistx...). */
    readonly isBlock: boolean,
    readonly form: number,
    /** Block: its start in the unit's section; list: the attribute's value. */
    readonly start: number,
    /** Block: its end. */
    readonly end: number,
    readonly lo: number,
    readonly hi: number,
  ) {}

  /** The ranges, as the eager reader built them: one per list entry, or one for a block. */
  decode(): LocatedRange[] {
    const u = this.unit;
    try {
      if (this.isBlock) {
        const c = new Cursor(u.src.buf, u.file, u.src.secName, 0, u.end);
        return [{ lo: this.lo, hi: this.hi, loc: classifyExpr(u, c, this.start, this.end) }];
      }
      const out: LocatedRange[] = [];
      const fnHi = this.hi;
      forEachLoc(u, this.form, this.start, (l, h, c, s, e) => {
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
  mayBeStatic(): boolean {
    const u = this.unit;
    let op = -1;
    if (this.isBlock) op = this.end > this.start ? u.src.buf[this.start] : -1;
    else
      forEachLoc(u, this.form, this.start, (_l, _h, c, s, e) => {
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
}

function decodeOnce(src: LocationSource | null): LocatedRange[] {
  return src ? src.decode() : [];
}

/** A parameter or local whose `locations` are decoded on first access. */
export class LazyLocal implements LocalVar {
  declare typedefName?: string;
  private ranges: LocatedRange[] | undefined;

  constructor(
    public name: string,
    public type: TypeId,
    public isParam: boolean,
    private readonly src: LocationSource | null,
    /** Already decoded (a static candidate that turned out not to be one). */
    ranges?: LocatedRange[],
  ) {
    this.ranges = ranges;
  }

  get locations(): LocatedRange[] {
    return (this.ranges ??= decodeOnce(this.src));
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
  declare linkageName?: string;
  private ranges: LocatedRange[] | undefined = undefined;

  constructor(
    public name: string,
    public type: TypeId,
    public lowPc: number,
    public highPc: number,
    public external: boolean,
    private readonly src: LocationSource | null,
    public params: LocalVar[],
    public locals: LocalVar[],
    public unit: string,
  ) {}

  get frameBase(): LocatedRange[] {
    return (this.ranges ??= decodeOnce(this.src));
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
