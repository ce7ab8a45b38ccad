// The one pass over every unit's DIE tree. It copies out of each DIE only what the type model
// needs (types, members, enumerators, array bounds, function signatures, statics, functions and
// their locals) into raw records keyed by DIE key; uniquing and naming happen afterwards.

import { DW_AT, DW_FORM, DW_TAG } from "../dwarf/constants";
import { DieCursor } from "../dwarf/die";
import { Dwarf } from "../dwarf/dwarf";
import { Location } from "../dwarf/expr";
import { readRanges } from "../dwarf/ranges";
import { Unit } from "../dwarf/units";
import { LocationSource } from "./lazy-locations";
import { RawFunction, RawLocal, RawMember, RawRange, RawStatic, RawType, TAG_SIGNATURE_STUB } from "./raw";

const MAX_DEPTH = 256;

const TYPE_TAG_LIST: number[] = [
  DW_TAG.base_type,
  DW_TAG.pointer_type,
  DW_TAG.reference_type,
  DW_TAG.rvalue_reference_type,
  DW_TAG.array_type,
  DW_TAG.structure_type,
  DW_TAG.class_type,
  DW_TAG.union_type,
  DW_TAG.enumeration_type,
  DW_TAG.typedef,
  DW_TAG.subroutine_type,
  DW_TAG.const_type,
  DW_TAG.volatile_type,
  DW_TAG.restrict_type,
  DW_TAG.atomic_type,
  DW_TAG.unspecified_type,
  DW_TAG.immutable_type,
  DW_TAG.packed_type,
  DW_TAG.shared_type,
];
/** Indexed by tag (all type tags are below 0x50): a lookup per DIE without hashing. */
const IS_TYPE_TAG: boolean[] = [];
for (let t = 0; t < 0x50; t++) IS_TYPE_TAG.push(TYPE_TAG_LIST.includes(t));

type Ctx =
  | { kind: "none" }
  | { kind: "type"; raw: RawType }
  | { kind: "func"; fn: RawFunction | null; fnName: string; lo: number; hi: number };

const NONE: Ctx = { kind: "none" };

/** The raw records of one unit. */
export interface UnitRecords {
  types: Map<number, RawType>;
  functions: RawFunction[];
  statics: RawStatic[];
}

export class Collector {
  private types = new Map<number, RawType>();
  private functions: RawFunction[] = [];
  private statics: RawStatic[] = [];
  private readonly cur: DieCursor;
  /** A second cursor for following abstract_origin / specification without losing our place. */
  private readonly aux: DieCursor;
  private unit!: Unit;
  /** Keys for synthesised function types of subprograms, above every real DIE key. */
  private synth: number;

  constructor(private readonly dwarf: Dwarf) {
    this.cur = dwarf.cursor();
    this.aux = dwarf.cursor();
    const last = dwarf.units[dwarf.units.length - 1];
    this.synth = last ? last.keyEnd + 1 : 1;
  }

  /** Walks one unit's DIE tree. */
  collectUnit(u: Unit): UnitRecords {
    this.types = new Map();
    this.functions = [];
    this.statics = [];
    this.walkUnit(u);
    return { types: this.types, functions: this.functions, statics: this.statics };
  }

  private walkUnit(u: Unit): void {
    const cur = this.cur;
    cur.setUnit(u);
    this.unit = u;
    if (u.dieOffset >= u.end) return;
    if (!cur.read(u.dieOffset)) return;
    if (cur.hasChildren) this.walkSiblings(cur.next, 1, NONE);
  }

  /** Walks a sibling list starting at `off`; returns the offset after its terminating null entry. */
  private walkSiblings(off: number, depth: number, ctx: Ctx): number {
    if (depth > MAX_DEPTH) this.cur.fail("DIE tree nested too deeply", off);
    const cur = this.cur;
    const end = this.unit.end;
    while (off < end) {
      if (!cur.read(off)) return cur.next;
      const tag = cur.tag;
      const hasChildren = cur.hasChildren;
      const key = cur.key;
      let childCtx: Ctx = NONE;
      let skipKids = false;
      if (tag < 0x50 && IS_TYPE_TAG[tag]) {
        const raw = this.readType(tag);
        this.types.set(key, raw);
        childCtx = { kind: "type", raw };
      } else
        switch (tag) {
          case DW_TAG.member:
            if (ctx.kind === "type") this.readMember(ctx.raw);
            break;
          case DW_TAG.enumerator:
            if (ctx.kind === "type")
              (ctx.raw.enumerators ??= []).push({
                name: cur.str(DW_AT.name) ?? "",
                value: cur.sdata(DW_AT.const_value) ?? 0,
              });
            break;
          case DW_TAG.subrange_type:
          case DW_TAG.generic_subrange:
            if (ctx.kind === "type") (ctx.raw.dims ??= []).push(this.readBound());
            break;
          case DW_TAG.formal_parameter:
            if (ctx.kind === "type") (ctx.raw.params ??= []).push(cur.ref(DW_AT.type));
            else if (ctx.kind === "func" && ctx.fn) this.readLocal(ctx, true);
            break;
          case DW_TAG.unspecified_parameters:
            if (ctx.kind === "type") ctx.raw.varargs = true;
            else if (ctx.kind === "func" && ctx.fn) this.types.get(ctx.fn.type)!.varargs = true;
            break;
          case DW_TAG.variable:
            if (ctx.kind === "func") this.readLocal(ctx, false);
            else this.readStatic();
            break;
          case DW_TAG.subprogram:
            childCtx = this.readFunction();
            break;
          case DW_TAG.lexical_block:
            childCtx = ctx.kind === "func" ? ctx : NONE;
            break;
          case DW_TAG.inlined_subroutine:
          case DW_TAG.call_site:
          case DW_TAG.GNU_call_site:
            skipKids = true; // inlined locals live in the caller's frame under other names
            break;
        }
      if (hasChildren) {
        if (skipKids) off = cur.skipChildren();
        else off = this.walkSiblings(cur.next, depth + 1, childCtx);
      } else off = cur.next;
    }
    return off;
  }

  private readType(dwarfTag: number): RawType {
    let tag = dwarfTag;
    const cur = this.cur;
    let size = cur.udata(DW_AT.byte_size);
    if (
      size === undefined &&
      (tag === DW_TAG.pointer_type || tag === DW_TAG.reference_type || tag === DW_TAG.rvalue_reference_type)
    )
      size = this.unit.addrSize;
    const isBase = tag === DW_TAG.base_type;
    const sig = cur.has(DW_AT.signature) ? cur.ref(DW_AT.signature) : -1;
    if (sig >= 0) tag = TAG_SIGNATURE_STUB;
    // Every field is set, always in this order, so all raw records share one hidden class and the
    // uniquing code's property reads stay monomorphic.
    return {
      tag,
      name: cur.str(DW_AT.name),
      byteSize: size,
      encoding: isBase ? (cur.udata(DW_AT.encoding) ?? 0) : undefined,
      bitSize: isBase ? cur.udata(DW_AT.bit_size) : undefined,
      target: sig >= 0 ? sig : cur.ref(DW_AT.type),
      declaration: cur.flag(DW_AT.declaration),
      members: undefined,
      dims: tag === DW_TAG.array_type ? [] : undefined,
      enumerators: undefined,
      params: tag === DW_TAG.subroutine_type ? [] : undefined,
      varargs: false,
      prototyped: tag === DW_TAG.subroutine_type ? cur.flag(DW_AT.prototyped) : undefined,
    };
  }

  /** An array dimension: DW_AT_count, or upper - lower + 1; null when unbounded or dynamic (VLA). */
  private readBound(): number | null {
    const cur = this.cur;
    const count = cur.sdata(DW_AT.count);
    if (count !== undefined) return count > 0 ? count : null;
    const upper = cur.sdata(DW_AT.upper_bound);
    if (upper === undefined) return null; // flexible array member, [] or a VLA bound held elsewhere
    const lower = cur.sdata(DW_AT.lower_bound) ?? 0;
    const n = upper - lower + 1;
    return n > 0 ? n : null;
  }

  private readMember(parent: RawType): void {
    const cur = this.cur;
    const name = cur.str(DW_AT.name) ?? null;
    const type = cur.ref(DW_AT.type);
    let offset = 0;
    const f = cur.form(DW_AT.data_member_location);
    if (f === DW_FORM.exprloc || f === DW_FORM.block1 || f === DW_FORM.block) {
      // DWARF 2 style: DW_OP_plus_uconst <n>
      if (cur.block(DW_AT.data_member_location)) {
        const b = cur.c.buf;
        if (cur.blockEnd > cur.blockStart && b[cur.blockStart] === 0x23) {
          cur.c.pos = cur.blockStart + 1;
          offset = cur.c.uleb();
        }
      }
    } else if (f !== 0) offset = cur.udata(DW_AT.data_member_location) ?? 0;
    const m: RawMember = { name, type, offset };
    const bitSize = cur.udata(DW_AT.bit_size);
    if (bitSize !== undefined) {
      m.bitSize = bitSize;
      const dbo = cur.udata(DW_AT.data_bit_offset);
      if (dbo !== undefined) m.bitOffset = dbo;
      else {
        // DWARF 2-4 DW_AT_bit_offset counts from the storage unit's most significant bit.
        const bo = cur.udata(DW_AT.bit_offset) ?? 0;
        const storage = cur.udata(DW_AT.byte_size) ?? this.sizeOfType(type);
        m.bitOffset = offset * 8 + storage * 8 - bo - bitSize;
      }
      m.offset = Math.floor(m.bitOffset / 8);
    }
    (parent.members ??= []).push(m);
  }

  /** Byte size of a type DIE (following typedefs/qualifiers), for old-style bit offsets. */
  private sizeOfType(key: number): number {
    const aux = this.aux;
    for (let i = 0; i < 16 && key >= 0; i++) {
      if (!this.dwarf.seek(aux, key)) return 0;
      const s = aux.udata(DW_AT.byte_size);
      if (s !== undefined) return s;
      key = aux.ref(DW_AT.type);
    }
    return 0;
  }

  /** Name, type, external of a DIE, following DW_AT_abstract_origin / DW_AT_specification. */
  private origin(): {
    name?: string;
    linkageName?: string;
    type: number;
    external: boolean;
    declaration: boolean;
  } {
    const cur = this.cur;
    const out = {
      name: cur.str(DW_AT.name),
      linkageName: cur.str(DW_AT.linkage_name),
      type: cur.ref(DW_AT.type),
      external: cur.flag(DW_AT.external),
      declaration: cur.flag(DW_AT.declaration),
    };
    let next = cur.ref(DW_AT.abstract_origin);
    if (next < 0) next = cur.ref(DW_AT.specification);
    const aux = this.aux;
    for (let i = 0; i < 8 && next >= 0; i++) {
      if (!this.dwarf.seek(aux, next)) break;
      out.name ??= aux.str(DW_AT.name);
      out.linkageName ??= aux.str(DW_AT.linkage_name);
      if (out.type < 0) out.type = aux.ref(DW_AT.type);
      out.external ||= aux.flag(DW_AT.external);
      let n = aux.ref(DW_AT.abstract_origin);
      if (n < 0) n = aux.ref(DW_AT.specification);
      next = n;
    }
    return out;
  }

  private readFunction(): Ctx {
    const cur = this.cur;
    const o = this.origin();
    const name = o.name ?? o.linkageName ?? "";
    let lo = cur.addr(DW_AT.low_pc);
    let hi = lo !== undefined ? cur.highPc(lo) : undefined;
    if (lo === undefined && cur.has(DW_AT.ranges)) {
      const rs = readRanges(this.unit, cur.form(DW_AT.ranges), cur.udata(DW_AT.ranges) ?? 0);
      if (rs.length > 0) {
        lo = Math.min(...rs.map((r) => r[0]));
        hi = Math.max(...rs.map((r) => r[1]));
      }
    }
    if (lo === undefined || hi === undefined || o.declaration)
      return { kind: "func", fn: null, fnName: name, lo: 0, hi: 0 };
    const fnType = this.synth++;
    this.types.set(fnType, {
      tag: DW_TAG.subroutine_type,
      name: undefined,
      byteSize: undefined,
      encoding: undefined,
      bitSize: undefined,
      target: o.type,
      declaration: false,
      members: undefined,
      dims: undefined,
      enumerators: undefined,
      params: [],
      varargs: false,
      prototyped: this.prototyped(),
    });
    const fn: RawFunction = {
      name,
      type: fnType,
      lowPc: lo,
      highPc: hi,
      external: o.external,
      frameBase: this.locationSource(DW_AT.frame_base, lo, hi),
      params: [],
      locals: [],
      unit: this.unit.name,
    };
    if (o.linkageName) fn.linkageName = o.linkageName;
    this.functions.push(fn);
    return { kind: "func", fn, fnName: name, lo, hi };
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

  /** Location attribute `at`, decoded now (statics need theirs at once). */
  private readLocation(at: number, lo: number, hi: number): RawRange[] {
    const src = this.locationSource(at, lo, hi);
    return src ? src.decode() : [];
  }

  /**
   * Where location attribute `at` is, for decoding later; null if absent or of another form. A
   * block's length is checked now, so a block running past its unit fails here as it always did.
   */
  private locationSource(at: number, lo: number, hi: number): LocationSource | null {
    const cur = this.cur;
    const form = cur.form(at);
    if (form === 0) return null;
    if (cur.block(at)) return new LocationSource(this.unit, true, form, cur.blockStart, cur.blockEnd, lo, hi);
    if (Collector.isListForm(form))
      return new LocationSource(this.unit, false, form, cur.udata(at) ?? 0, 0, lo, hi);
    return null;
  }

  private readLocal(ctx: Extract<Ctx, { kind: "func" }>, isParam: boolean): void {
    // Outside a concrete function (an abstract inline instance, a declaration) only a static
    // local matters, and that has a single-expression location: skip the rest unread.
    if (!ctx.fn) {
      if (isParam) return;
      const f = this.cur.form(DW_AT.location);
      if (f !== DW_FORM.exprloc && f !== DW_FORM.block1 && f !== DW_FORM.block) return;
    }
    const o = this.origin();
    const src = this.locationSource(DW_AT.location, ctx.lo, ctx.hi);
    // A function-scope static is a static variable, not part of the frame. Only a location whose
    // first operation can give an address is decoded to find out; the rest stay undecoded.
    let ranges: RawRange[] | undefined;
    if (!isParam && src && src.mayBeStatic()) {
      ranges = src.decode();
      const loc = ranges.length === 1 ? ranges[0].loc : undefined;
      if (loc && (loc.kind === "addr" || loc.kind === "tls")) {
        this.pushStatic(o.name ?? "", o.type, loc, false, ctx.fnName);
        return;
      }
    }
    if (isParam && ctx.fn) this.types.get(ctx.fn.type)!.params!.push(o.type);
    if (!ctx.fn) return;
    const local: RawLocal = { name: o.name ?? "", type: o.type, isParam, loc: src, ranges };
    (isParam ? ctx.fn.params : ctx.fn.locals).push(local);
  }

  private readStatic(): void {
    const cur = this.cur;
    if (!cur.has(DW_AT.location)) return; // a declaration; its definition carries the location
    const o = this.origin();
    const locs = this.readLocation(DW_AT.location, 0, 0);
    if (locs.length !== 1) return;
    this.pushStatic(o.name ?? "", o.type, locs[0].loc, o.external);
  }

  private pushStatic(name: string, type: number, loc: Location, external: boolean, scope?: string): void {
    if (loc.kind !== "addr" && loc.kind !== "tls") return;
    const s: RawStatic = {
      name,
      type,
      addr: loc.kind === "addr" ? loc.addr : loc.offset,
      external,
      tls: loc.kind === "tls",
      unit: this.unit.name,
    };
    if (scope !== undefined) s.scope = scope;
    this.statics.push(s);
  }
}
