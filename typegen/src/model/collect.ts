// The one pass over every unit's DIE tree. It copies out of each DIE only what the type model
// needs (types, members, enumerators, array bounds, function signatures, statics, functions and
// their locals) into raw records keyed by DIE key; uniquing and naming happen afterwards.

import { DW_AT, DW_FORM, DW_TAG } from "../dwarf/constants";
import { DieCursor } from "../dwarf/die";
import { CodeDies, Dwarf } from "../dwarf/dwarf";
import { Unit } from "../dwarf/units";
import { EMPTY_STR, NO_STR } from "../dwarf/str-ref";
import { CodeReader, FuncCtx } from "./collect-code";
import { NativeWalk, nativeAddon } from "./collect-native";
import { FrameTable } from "./frame-table";
import {
  DIMS,
  ENUMERATORS,
  F_DECLARATION,
  F_HAS_PROTOTYPED,
  F_PROTOTYPED,
  F_VARARGS,
  MEMBERS,
  PARAMS,
  RawTable,
} from "./raw-table";
import { TAG_SIGNATURE_STUB } from "./tags";

const MAX_DEPTH = 256;
/** DW_LANG_C_plus_plus, _03, _11, _14 (DWARF 5 table 7.17). */
const CXX_LANGUAGES = [0x4, 0x19, 0x1a, 0x21];
/** Aggregates that name a C++ scope (and are qualified by theirs). */
function isScopeTag(tag: number): boolean {
  return (
    tag === DW_TAG.class_type ||
    tag === DW_TAG.structure_type ||
    tag === DW_TAG.union_type ||
    tag === DW_TAG.enumeration_type
  );
}

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

/** The raw records of one unit, names as string references (dwarf/str-ref.ts). */
export interface UnitRecords {
  types: RawTable;
  frames: FrameTable;
}

export class Collector {
  private types: RawTable;
  /** The enclosing C++ namespaces and classes of the DIE being read (C++ units only). */
  private scope: string[] = [];
  private cxxUnit = false;
  private frames: FrameTable;
  private readonly cur: DieCursor;
  /** A second cursor for following DW_AT_type without losing our place. */
  private readonly aux: DieCursor;
  private unit!: Unit;
  /** Functions, their variables and statics. */
  private readonly code: CodeReader;
  /** The walk in C (collect-native.ts), when the addon is there; units it hands back are walked here. */
  private readonly native: NativeWalk | null;

  /**
   * `reuse`: one table for every unit (the main walk, whose records are done with once the unit
   * is uniqued); otherwise each unit gets its own (units loaded for cross-unit references stay).
   */
  constructor(
    private readonly dwarf: Dwarf,
    private readonly reuse: boolean,
  ) {
    this.cur = dwarf.cursor();
    this.aux = dwarf.cursor();
    this.code = new CodeReader(dwarf, this.cur, this.aux);
    this.types = new RawTable();
    this.frames = new FrameTable();
    const a = nativeAddon();
    this.native = a ? new NativeWalk(a, dwarf, this.code) : null;
  }

  /** Walks one unit's DIE tree. Names stay references: see `resolveUnit`. */
  collectUnit(u: Unit): UnitRecords {
    if (!this.reuse) {
      this.types = new RawTable();
      this.frames = new FrameTable();
    }
    this.types.reset(u);
    this.frames.reset();
    this.code.begin(u, this.types, this.frames);
    // The C walker reads the unit's root DIE as DieCursor.initUnit does; a unit it hands back is
    // read here from the start, root included, so its errors are the JS walk's.
    if (this.native && this.native.walkUnit(u, this.types, this.frames, this.codeDies))
      return { types: this.types, frames: this.frames };
    this.walkUnit(u);
    return { types: this.types, frames: this.frames };
  }

  /** Where to record the DIEs the site analysis reads call facts from (the main walk only). */
  codeDies?: CodeDies;

  private walkUnit(u: Unit): void {
    const cur = this.cur;
    cur.setUnit(u);
    this.unit = u;
    if (u.dieOffset >= u.end) return;
    if (!cur.read(u.dieOffset)) return;
    this.cxxUnit = CXX_LANGUAGES.includes(u.language); // read from the root DIE by setUnit
    this.scope = [];
    // Type units hold no code (callsites.ts skips them too).
    if (cur.hasChildren)
      this.walkSiblings(cur.next, 1, -1, null, !!this.codeDies && u.typeSignature === undefined);
  }

  /**
   * Walks a sibling list starting at `off`, whose parent is type record `typeRec` (-1: not a type)
   * or function `fc`; returns the offset after its terminating null entry.
   */
  private walkSiblings(
    off: number,
    depth: number,
    typeRec: number,
    fc: FuncCtx | null,
    code: boolean,
  ): number {
    if (depth > MAX_DEPTH) this.cur.fail("DIE tree nested too deeply", off);
    const cur = this.cur;
    const t = this.types;
    const end = this.unit.end;
    while (off < end) {
      if (!cur.read(off)) return cur.next;
      const tag = cur.tag;
      const hasChildren = cur.hasChildren;
      let childRec = -1;
      let childFn: FuncCtx | null = null;
      let skipKids = false;
      // A sibling list reached through subprograms and lexical blocks only: what callsites.ts
      // reads (its own walk's choices, kept in step with it).
      if (
        code &&
        (tag === DW_TAG.call_site ||
          tag === DW_TAG.GNU_call_site ||
          (tag === DW_TAG.inlined_subroutine && hasChildren) ||
          (tag === DW_TAG.subprogram && cur.has(DW_AT.ranges)))
      )
        this.codeDies!.add(cur.key, depth);
      if (tag < 0x50 && IS_TYPE_TAG[tag]) childRec = this.readType(tag);
      else
        switch (tag) {
          case DW_TAG.member:
            if (typeRec >= 0) this.readMember(typeRec);
            break;
          case DW_TAG.inheritance:
            // A C++ base class: an anonymous member (paths go through it: `.id` of a Circle's
            // Shape part), except a virtual base, whose offset is computed at run time.
            if (typeRec >= 0 && !this.isVirtualBase()) this.readMember(typeRec);
            break;
          case DW_TAG.enumerator:
            if (typeRec >= 0) {
              const i = t.addItem(typeRec, ENUMERATORS);
              const name = cur.strRef(DW_AT.name);
              t.itemNameRef[i] = name === NO_STR ? EMPTY_STR : name;
              t.itemA[i] = cur.sdata(DW_AT.const_value) ?? 0;
            }
            break;
          case DW_TAG.subrange_type:
          case DW_TAG.generic_subrange:
            if (typeRec >= 0) {
              const n = this.readBound();
              // The item first: addItem may replace itemA (a value stored as
              // `t.itemA[t.addItem(..)] = v` went to the old array when it grew).
              const i = t.addItem(typeRec, DIMS);
              t.itemA[i] = n ?? NaN;
            }
            break;
          case DW_TAG.formal_parameter:
            if (typeRec >= 0) {
              const ty = cur.ref(DW_AT.type);
              const i = t.addItem(typeRec, PARAMS);
              t.itemA[i] = ty;
            } else if (fc && fc.fn >= 0) this.code.readLocal(fc, true);
            break;
          case DW_TAG.unspecified_parameters:
            if (typeRec >= 0) t.flags[typeRec] |= F_VARARGS;
            else if (fc && fc.fn >= 0) t.flags[fc.fnType] |= F_VARARGS;
            break;
          case DW_TAG.variable:
            if (fc) this.code.readLocal(fc, false);
            else this.code.readStatic();
            break;
          case DW_TAG.subprogram:
            childFn = this.code.readFunction();
            break;
          case DW_TAG.lexical_block:
            childFn = fc;
            break;
          case DW_TAG.inlined_subroutine:
          case DW_TAG.call_site:
          case DW_TAG.GNU_call_site:
            skipKids = true; // inlined locals live in the caller's frame under other names
            break;
        }
      if (hasChildren) {
        // C++: the names of enclosing namespaces and classes qualify the aggregates inside.
        const scopeName = !this.cxxUnit
          ? undefined
          : tag === DW_TAG.namespace
            ? (cur.str(DW_AT.name) ?? "(anonymous namespace)")
            : childRec >= 0 && isScopeTag(tag)
              ? cur.str(DW_AT.name)
              : undefined;
        const scoped = scopeName !== undefined;
        if (scoped) this.scope.push(scopeName);
        if (skipKids) off = cur.skipChildren();
        else {
          const childCode = code && (tag === DW_TAG.subprogram || tag === DW_TAG.lexical_block);
          off = this.walkSiblings(cur.next, depth + 1, childRec, childFn, childCode);
        }
        if (scoped) this.scope.pop();
      } else off = cur.next;
    }
    return off;
  }

  /** Adds the current type DIE's record; returns its index. */
  private readType(dwarfTag: number): number {
    const cur = this.cur;
    let size = cur.udata(DW_AT.byte_size);
    if (
      size === undefined &&
      (dwarfTag === DW_TAG.pointer_type ||
        dwarfTag === DW_TAG.reference_type ||
        dwarfTag === DW_TAG.rvalue_reference_type)
    )
      size = this.unit.addrSize;
    const sig = cur.ref(DW_AT.signature); // -1 when absent
    const t = this.types;
    const r = t.add(cur.key, sig >= 0 ? TAG_SIGNATURE_STUB : dwarfTag);
    t.nameRef[r] = cur.strRef(DW_AT.name);
    if (this.scope.length > 0 && isScopeTag(dwarfTag)) t.scope[r] = this.scope.join("::");
    if (size !== undefined) t.byteSize[r] = size;
    if (dwarfTag === DW_TAG.base_type) {
      t.encoding[r] = cur.udata(DW_AT.encoding) ?? 0;
      t.bitSize[r] = cur.udata(DW_AT.bit_size) ?? NaN;
    }
    t.target[r] = sig >= 0 ? sig : cur.ref(DW_AT.type);
    let flags = cur.flag(DW_AT.declaration) ? F_DECLARATION : 0;
    if (dwarfTag === DW_TAG.subroutine_type && sig < 0)
      flags |= F_HAS_PROTOTYPED | (cur.flag(DW_AT.prototyped) ? F_PROTOTYPED : 0);
    t.flags[r] = flags;
    return r;
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

  /** The current DW_TAG_inheritance's offset is an expression (a virtual base's). */
  private isVirtualBase(): boolean {
    const cur = this.cur;
    const f = cur.form(DW_AT.data_member_location);
    if (f !== DW_FORM.exprloc && f !== DW_FORM.block1 && f !== DW_FORM.block) return false;
    return !cur.block(DW_AT.data_member_location) || cur.c.buf[cur.blockStart] !== 0x23;
  }

  private readMember(parent: number): void {
    const cur = this.cur;
    const name = cur.strRef(DW_AT.name);
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
    const bitSize = cur.udata(DW_AT.bit_size);
    let bitOffset = NaN;
    if (bitSize !== undefined) {
      const dbo = cur.udata(DW_AT.data_bit_offset);
      if (dbo !== undefined) bitOffset = dbo;
      else {
        // DWARF 2-4 DW_AT_bit_offset counts from the storage unit's most significant bit.
        const bo = cur.udata(DW_AT.bit_offset) ?? 0;
        const storage = cur.udata(DW_AT.byte_size) ?? this.sizeOfType(type);
        bitOffset = offset * 8 + storage * 8 - bo - bitSize;
      }
      offset = Math.floor(bitOffset / 8);
    }
    // A negative offset (DW_FORM_sdata, or a DWARF 2-4 bit offset counting past the storage
    // unit's start) puts the member before its struct; nothing downstream can place it.
    if (!(offset >= 0))
      cur.fail(
        bitSize === undefined
          ? `member offset ${offset} before the start of its type`
          : `bit-field at bit ${bitOffset} before the start of its type`,
      );
    const t = this.types;
    const i = t.addItem(parent, MEMBERS);
    t.itemNameRef[i] = name;
    t.itemA[i] = type;
    t.itemOffset[i] = offset;
    if (bitSize !== undefined) {
      t.itemBitSize[i] = bitSize;
      t.itemBitOffset[i] = bitOffset;
    }
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
}
