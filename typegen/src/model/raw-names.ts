// Naming raw types, for uniquing (unique.ts): a raw record's canonical name and an aggregate's
// layout code, both computed from the raw records of the current unit (and of the units it
// references across), before any id exists.
//
// Aggregates are keyed by kind, name and a layout summary code computed from member names,
// offsets and member type *names* (so a self-referential struct needs no recursion); a derived
// type's name is composed from its target's ("__PTR_" + name).
//
// Memos (a raw record's id, name and layout code) are kept in the records' tables and belong to
// one "epoch": they are only meaningful relative to the current unit (raw keys are looked up
// through it), so changing the current unit starts a new epoch, which voids them all at once.
// The records being resolved or named (cycle breaking) are marked in their flags; no unit
// change happens while any is marked, so within an epoch a key has exactly one record to mark.

import { ALL_TAGS, DW_TAG } from "../dwarf/constants";
import { Dwarf } from "../dwarf/dwarf";
import { Unit } from "../dwarf/units";
import { Interner, INCOMPLETE } from "./interner";
import {
  C_BAR,
  C_SEMI,
  fnvChar,
  fnvNum,
  fnvStr,
  hashEnumerators,
  hashMemberPlace,
  kindHash,
} from "./layout-code";
import { baseTypeName, symbolSafe } from "./names";
import {
  DIMS,
  ENUMERATORS,
  F_DECLARATION,
  F_NAMING,
  F_VARARGS,
  MEMBERS,
  PARAMS,
  RawTable,
} from "./raw-table";
import { TAG_SIGNATURE_STUB, aggKind, isAliasTag } from "./tags";

/** The raw key of void (no DW_AT_type), and of an unresolvable type (as `strip` gives it). */
export const VOID = -1;
export const OPAQUE = -2;
const CYCLE = "__cycle";

/** A base type's canonical name, and its id once made (-1 before). */
export class BaseMemo {
  id = -1;
  constructor(readonly name: string) {}
}

/** The name of an unspecified type (C++'s decltype(nullptr) and the like). */
export function unspecifiedName(t: RawTable, r: number): string {
  return symbolSafe(t.name[r] ?? "unspecified");
}

// What uniquing does with a tag, from one table lookup (a switch over DW_TAG's members loads each
// case's value from the constants module).
export const K_OTHER = 0;
export const K_BASE = 1;
export const K_POINTER = 2;
export const K_ARRAY = 3;
export const K_FUNCTION = 4;
export const K_UNSPECIFIED = 5;
export const K_ALIAS = 6;
export const K_STRUCT = 7;
export const K_UNION = 8;
export const K_ENUM = 9;
const TAG_CLASSES = ((): Uint8Array => {
  const c = new Uint8Array(TAG_SIGNATURE_STUB + 1);
  // Every other tag is K_OTHER (neither an alias nor an aggregate: tags.ts tests DW_TAG's members).
  const tags: number[] = [...ALL_TAGS];
  tags.push(TAG_SIGNATURE_STUB);
  for (const tag of tags) {
    const kind = aggKind(tag);
    if (isAliasTag(tag)) c[tag] = K_ALIAS;
    else if (kind === "struct") c[tag] = K_STRUCT;
    else if (kind === "union") c[tag] = K_UNION;
    else if (kind === "enum") c[tag] = K_ENUM;
  }
  c[DW_TAG.base_type] = K_BASE;
  c[DW_TAG.pointer_type] = K_POINTER;
  c[DW_TAG.reference_type] = K_POINTER;
  c[DW_TAG.rvalue_reference_type] = K_POINTER;
  c[DW_TAG.array_type] = K_ARRAY;
  c[DW_TAG.subroutine_type] = K_FUNCTION;
  c[DW_TAG.unspecified_type] = K_UNSPECIFIED;
  return c;
})();

export function tagClass(tag: number): number {
  return tag >= 0 && tag <= TAG_SIGNATURE_STUB ? TAG_CLASSES[tag] : K_OTHER;
}

/** Loads the raw types of another unit (for cross-unit references). */
export type UnitLoader = (u: Unit) => RawTable;

/** An absent number in a raw table is NaN. */
export function or(v: number, d: number): number {
  return v === v ? v : d;
}

/**
 * Raw records' names and layout codes, and the lookup of raw keys through the current unit: the
 * base of the uniquer, which shares its current unit, epoch and last lookup.
 */
export class RawNames {
  protected readonly ix = new Interner();
  protected cur: RawTable;
  /** Memos in the tables count only when stamped with this epoch (see the header comment). */
  protected epoch = 0;
  /** Where the last successful `lookup` found its key. */
  protected hitT: RawTable;
  protected hitR = -1;
  private readonly foreign = new Map<Unit, RawTable>();
  /** Base types by spelled name, then encoding and width (`baseKey`): their canonical name and id. */
  private readonly bases = new Map<string | undefined, Map<number, BaseMemo>>();

  constructor(
    private readonly dwarf: Dwarf,
    private readonly load: UnitLoader,
  ) {
    // A table from the start, so these fields only ever hold tables (one field type).
    this.cur = this.hitT = new RawTable();
  }

  /**
   * Finds the raw record of `key` (in the current unit, or in the unit holding it, loaded if
   * needed) and leaves it in hitT/hitR; false if there is none.
   */
  protected lookup(key: number): boolean {
    const cur = this.cur;
    let r = cur.indexOf(key);
    if (r >= 0) {
      this.hitT = cur;
      this.hitR = r;
      return true;
    }
    const u = this.dwarf.unitFor(key);
    if (!u || u === cur.unit) return false;
    let t = this.foreign.get(u);
    if (!t) {
      t = this.load(u);
      this.foreign.set(u, t);
    }
    r = t.indexOf(key);
    if (r < 0) return false;
    this.hitT = t;
    this.hitR = r;
    return true;
  }

  private static isComplete(t: RawTable, r: number): boolean {
    return !(t.flags[r] & F_DECLARATION) && (t.byteSize[r] === t.byteSize[r] || t.first(r, MEMBERS) >= 0);
  }

  /** Follows qualifiers and typedefs to a concrete raw key. */
  private strip(key: number): number {
    for (let i = 0; i < 64 && key >= 0; i++) {
      if (!this.lookup(key)) return OPAQUE;
      const t = this.hitT;
      const r = this.hitR;
      if (tagClass(t.tag[r]) !== K_ALIAS) return key;
      key = t.target[r];
    }
    return key >= 0 ? OPAQUE : key;
  }

  /** Canonical name of a raw type, for layout codes (see the header comment). */
  private nameOf(k: number): string {
    if (k === VOID) return "void";
    if (k === OPAQUE) return "__opaque";
    if (!this.lookup(k)) return "__opaque";
    const t = this.hitT;
    const r = this.hitR;
    if (t.nameEpoch[r] === this.epoch) return t.nameMemo[r];
    if (t.flags[r] & F_NAMING) return CYCLE;
    t.flags[r] |= F_NAMING;
    const n = this.rawName(t, r);
    t.flags[r] &= ~F_NAMING;
    t.nameEpoch[r] = this.epoch;
    t.nameMemo[r] = n;
    return n;
  }

  private rawName(t: RawTable, r: number): string {
    switch (t.tag[r]) {
      case DW_TAG.base_type:
        return this.base(t, r).name;
      case DW_TAG.pointer_type:
      case DW_TAG.reference_type:
      case DW_TAG.rvalue_reference_type:
        return "__PTR_" + this.nameOf(this.strip(t.target[r]));
      case DW_TAG.array_type: {
        let dims = "";
        for (let i = t.first(r, DIMS); i >= 0; i = t.itemNext[i]) dims += `__ARR${or(t.itemA[i], 0)}_`;
        return (dims || "__ARR0_") + this.nameOf(this.strip(t.target[r]));
      }
      case DW_TAG.subroutine_type: {
        let params = "";
        let n = 0;
        for (let i = t.first(r, PARAMS); i >= 0; i = t.itemNext[i])
          params += `__ARG${n++}_` + this.nameOf(this.strip(t.itemA[i]));
        const va = t.flags[r] & F_VARARGS ? "__VA_" : "";
        return `__FUN_FROM_${params}${va}__FUN_TO_` + this.nameOf(this.strip(t.target[r]));
      }
      case DW_TAG.unspecified_type:
        return unspecifiedName(t, r);
    }
    return this.aggName(t, r);
  }

  protected aggName(t: RawTable, r: number): string {
    const kind = aggKind(t.tag[r]);
    if (!kind) return "__opaque";
    return t.name[r] ?? t.anonTypedef[r] ?? `__anon_${kind}_${this.codeText(this.codeOf(t, r))}`;
  }

  /**
   * Layout summary of an aggregate: kind, size, and each member's name, place and type name,
   * hashed as the text `kind|size|name@offset:bits:bitoffset:typename;...` (enumerators
   * `name=value;`); INCOMPLETE for a declaration.
   */
  protected codeOf(t: RawTable, r: number): number {
    if (t.codeEpoch[r] === this.epoch) return t.codeMemo[r];
    if (!RawNames.isComplete(t, r)) return INCOMPLETE;
    const size = t.byteSize[r];
    let h = kindHash(t.tag[r]);
    if (size === size) h = fnvNum(h, size);
    h = fnvChar(h, C_BAR);
    if (t.first(r, ENUMERATORS) >= 0) h = hashEnumerators(t, r, h);
    if (t.first(r, MEMBERS) >= 0) h = this.hashMembers(t, r, h);
    t.codeEpoch[r] = this.epoch;
    t.codeMemo[r] = h;
    return h;
  }

  /** `name@offset:bits:bitoffset:typename;` of each member, continuing hash h. */
  private hashMembers(t: RawTable, r: number, h: number): number {
    for (let i = t.first(r, MEMBERS); i >= 0; i = t.itemNext[i])
      h = fnvChar(fnvStr(hashMemberPlace(t, i, h), this.nameOf(this.strip(t.itemA[i]))), C_SEMI);
    return h;
  }

  /** A layout code as written (8 hex digits, "?" when incomplete); one string per code. */
  protected codeText(code: number): string {
    return this.ix.codeText(code);
  }

  /** A base type's canonical name and id (memoised: every unit repeats its base types). */
  protected base(t: RawTable, r: number): BaseMemo {
    const bits = or(t.bitSize[r], or(t.byteSize[r], 0) * 8);
    const enc = or(t.encoding[r], 0);
    const spelled = t.name[r];
    let byKey = this.bases.get(spelled);
    if (byKey === undefined) {
      byKey = new Map();
      this.bases.set(spelled, byKey);
    }
    // Exact for the widths and encodings DWARF gives; anything else gets a key of its own too.
    const key = (bits & 0xffff) === bits && (enc & 0xffff) === enc ? enc * 0x10000 + bits : -1;
    let m = key >= 0 ? byKey.get(key) : undefined;
    if (m === undefined) {
      m = new BaseMemo(baseTypeName(enc, bits, spelled).name);
      if (key >= 0) byKey.set(key, m);
    }
    return m;
  }

  /** Changes the current unit (memos are per unit because raw keys are looked up through it). */
  protected switchTo(t: RawTable): void {
    this.cur = t;
    this.epoch++;
  }

  /** The first typedef name on the way from `key` to its concrete type (through qualifiers). */
  protected typedefNameOf(key: number): string | undefined {
    return this.typedefOf(key) ? this.hitT.name[this.hitR] : undefined;
  }

  /** Finds the first typedef on the way from `key` to its concrete type (in hitT/hitR); false if none. */
  protected typedefOf(key: number): boolean {
    for (let i = 0; i < 16 && key >= 0; i++) {
      if (!this.lookup(key)) return false;
      const t = this.hitT;
      const r = this.hitR;
      const tag = t.tag[r];
      if (!isAliasTag(tag)) return false;
      if (tag === DW_TAG.typedef) return true;
      key = t.target[r];
    }
    return false;
  }
}
