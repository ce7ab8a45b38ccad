// The raw type records of one unit as columns (typed arrays and a few arrays of strings), not an
// object per DIE. A large binary repeats the same headers' types in every unit (python3.11d:
// 180 units, ~200,000 type DIEs and ~230,000 members for 6,900 distinct types); as objects and
// Maps they all lived just long enough for V8's young-generation collector to copy them, which
// was a fifth of typegen's time. The main walk reuses one table for every unit, so the columns
// soon live in the old generation and a unit costs no allocation per DIE.
//
// Records are numbered in DIE order (the order uniquing visits them). Children (members,
// enumerators, array dimensions, parameters) are "items" chained per record and kind, because a
// record's children may interleave with a nested type's. Absent numbers are NaN. The walk
// stores names as string references (dwarf/str-ref.ts); `resolveNames` turns them into the
// strings uniquing reads (each decoded once, through the sections' string caches).

import { DW_TAG } from "../dwarf/constants";
import { LINE_STR, NO_STR, StrSpace, checkStrRef, resolveStr } from "../dwarf/str-ref";
import { Unit } from "../dwarf/units";
import { aggKind, isAliasTag } from "./tags";
import { grownF64, grownI32 } from "../bytes";

/** Item list kinds of a record. */
export const MEMBERS = 0;
export const ENUMERATORS = 1;
export const DIMS = 2;
export const PARAMS = 3;
const KINDS = 4;

/** Record flag bits. */
export const F_DECLARATION = 1;
export const F_VARARGS = 2;
/** DW_AT_prototyped was read (subroutine types only); F_PROTOTYPED is its value. */
export const F_HAS_PROTOTYPED = 4;
export const F_PROTOTYPED = 8;
/** Uniquing's marks: the record's id / name is being computed (a reference back is a cycle). */
export const F_BUSY = 16;
export const F_NAMING = 32;

export class RawTable {
  unit!: Unit;
  /** Number of records / items. */
  n = 0;
  items = 0;
  // Per record.
  key = new Float64Array(256);
  tag = new Int32Array(256);
  nameRef = new Float64Array(256);
  /** The names, once resolved (a C++ aggregate's qualified by its scope: `geo::Circle`). */
  name: (string | undefined)[] = [];
  /** A C++ aggregate's enclosing namespaces and classes (`geo`, `std`), else undefined. */
  scope: (string | undefined)[] = [];
  byteSize = new Float64Array(256);
  encoding = new Float64Array(256);
  bitSize = new Float64Array(256);
  /** DW_AT_type (or the signature's target) as a DIE key; -1: none (void). */
  target = new Float64Array(256);
  flags = new Int32Array(256);
  /** First and last item of each kind: head[r * KINDS + kind], -1 when none. */
  head = new Int32Array(256 * KINDS);
  tail = new Int32Array(256 * KINDS);
  /** The typedef naming an anonymous aggregate (set by `nameAnonymous`). */
  anonTypedef: (string | undefined)[] = [];
  // Per item: member (name, type key, offset, bit size, bit offset), enumerator (name, value),
  // dimension (count, NaN: unbounded) or parameter (type key).
  itemNameRef = new Float64Array(1024);
  /** Where the names are (set by `resolveNames`; item names are decoded on demand: `itemName`). */
  strs!: StrSpace;
  itemA = new Float64Array(1024);
  itemOffset = new Float64Array(1024);
  itemBitSize = new Float64Array(1024);
  itemBitOffset = new Float64Array(1024);
  itemNext = new Int32Array(1024);
  // Uniquing's memos per record, valid while their epoch is the uniquer's (see unique.ts).
  idEpoch = new Int32Array(256);
  idMemo = new Int32Array(256);
  nameEpoch = new Int32Array(256);
  nameMemo: string[] = [];
  codeEpoch = new Int32Array(256);
  codeMemo = new Int32Array(256);
  /** Record index + 1 by section offset within the unit (0: none); synthesised keys apart. */
  private slots = new Int32Array(0);
  private readonly synth = new Map<number, number>();

  /** Empties the table for `u` (reusing its columns). */
  reset(u: Unit): void {
    const len = u.end - u.offset;
    if (this.slots.length < len) this.slots = new Int32Array(Math.max(len, this.slots.length * 2));
    else if (this.unit) this.clearSlots();
    this.synth.clear();
    this.unit = u;
    this.n = 0;
    this.items = 0;
  }

  /**
   * Clears the slots the previous unit's records set (`add` sets one per record keyed inside its
   * unit). Its records are ~1 per 20 bytes of DIEs: clearing the unit's whole range was a
   * memset of 4 bytes per byte of .debug_info, 1% of PostgreSQL's time.
   */
  private clearSlots(): void {
    const start = this.unit.keyStart;
    const end = this.unit.keyEnd;
    const slots = this.slots;
    const keys = this.key;
    for (let r = 0; r < this.n; r++) {
      const k = keys[r];
      if (k >= start && k < end) slots[k - start] = 0;
    }
  }

  /** Record index of DIE key `key`, or -1. */
  indexOf(key: number): number {
    const u = this.unit;
    if (key >= u.keyStart && key < u.keyEnd) return this.slots[key - u.keyStart] - 1;
    return this.synth.get(key) ?? -1;
  }

  /**
   * Takes the records and items the native walk wrote into the columns (collect-native.ts): it
   * wrote every column and slot `add`/`addItem` write but the synthesised keys' map and the
   * scopes (`scopes`: the C++ aggregates' scopes, decoded).
   */
  adoptNative(n: number, items: number, scopes: Map<number, string> | null): void {
    const u = this.unit;
    const start = u.keyStart;
    const end = u.keyEnd;
    for (let r = 0; r < n; r++) {
      const key = this.key[r];
      if (!(key >= start && key < end)) this.synth.set(key, r);
      this.scope[r] = undefined;
    }
    if (scopes) for (const [r, s] of scopes) this.scope[r] = s;
    this.n = n;
    this.items = items;
  }

  /** The slots, for the native walk (sized for the unit by `reset`). */
  get slotColumn(): Int32Array {
    return this.slots;
  }

  /** Adds a record (a DIE of this unit, or a synthesised key outside it); returns its index. */
  add(key: number, tag: number): number {
    const r = this.n;
    if (r === this.tag.length) this.growRecords(r * 2);
    this.n = r + 1;
    const u = this.unit;
    if (key >= u.keyStart && key < u.keyEnd) this.slots[key - u.keyStart] = r + 1;
    else this.synth.set(key, r);
    this.key[r] = key;
    this.tag[r] = tag;
    this.nameRef[r] = NO_STR;
    this.scope[r] = undefined;
    this.byteSize[r] = NaN;
    this.encoding[r] = NaN;
    this.bitSize[r] = NaN;
    this.target[r] = -1;
    this.flags[r] = 0;
    // Four stores, not head.fill (a call into the runtime per record).
    const h = r * KINDS;
    const head = this.head;
    head[h] = -1;
    head[h + 1] = -1;
    head[h + 2] = -1;
    head[h + 3] = -1;
    this.idEpoch[r] = 0;
    this.nameEpoch[r] = 0;
    this.codeEpoch[r] = 0;
    return r;
  }

  /** Appends an item to record r's list of `kind`; returns its index. */
  addItem(r: number, kind: number): number {
    const i = this.items;
    if (i === this.itemNext.length) this.growItems(i * 2);
    this.items = i + 1;
    this.itemNameRef[i] = NO_STR;
    this.itemA[i] = NaN;
    this.itemOffset[i] = 0;
    this.itemBitSize[i] = NaN;
    this.itemBitOffset[i] = NaN;
    this.itemNext[i] = -1;
    const h = r * KINDS + kind;
    if (this.head[h] < 0) this.head[h] = i;
    else this.itemNext[this.tail[h]] = i;
    this.tail[h] = i;
    return i;
  }

  /** First item of record r's list of `kind` (-1: the list is empty). */
  first(r: number, kind: number): number {
    return this.head[r * KINDS + kind];
  }

  /** Number of items in record r's list of `kind`. */
  count(r: number, kind: number): number {
    let n = 0;
    for (let i = this.head[r * KINDS + kind]; i >= 0; i = this.itemNext[i]) n++;
    return n;
  }

  /** Decodes the record names (strings shared through the sections' caches), then names anonymous aggregates. */
  resolveNames(d: StrSpace): void {
    for (let r = 0; r < this.n; r++) {
      const name = resolveStr(d, this.nameRef[r]);
      const scope = this.scope[r];
      this.name[r] = name !== undefined && scope !== undefined ? `${scope}::${name}` : name;
      this.anonTypedef[r] = undefined;
    }
    // Item names are hashed from their references (unique.ts) and decoded only for the first
    // definition of a type; a reference naming no string fails here all the same.
    // A .debug_str offset inside a section ending in a terminator needs no check (as checkStrRef).
    const strs = d.main;
    const plainEnd = strs.strTerminated ? Math.min(strs.strBytes.length, LINE_STR) : 0;
    const refs = this.itemNameRef;
    for (let i = 0; i < this.items; i++) {
      const ref = refs[i];
      if (!(ref >= 0 && ref < plainEnd)) checkStrRef(d, ref);
    }
    this.strs = d;
    this.nameAnonymous();
  }

  /** Item i's name (null: none). */
  itemName(i: number): string | null {
    return resolveStr(this.strs, this.itemNameRef[i]) ?? null;
  }

  /** Names each anonymous aggregate after the first typedef of it (through qualifiers) in the unit. */
  private nameAnonymous(): void {
    for (let r = 0; r < this.n; r++) {
      const name = this.name[r];
      if (this.tag[r] !== DW_TAG.typedef || !name) continue;
      // typedef struct { ... } name;  (possibly through qualifiers)
      let k = this.target[r];
      for (let i = 0; i < 8 && k >= 0; i++) {
        const t = this.indexOf(k);
        if (t < 0) break;
        const tag = this.tag[t];
        if (aggKind(tag)) {
          if (!this.name[t] && this.anonTypedef[t] === undefined) this.anonTypedef[t] = name;
          break;
        }
        if (tag === DW_TAG.typedef || !isAliasTag(tag)) break;
        k = this.target[t];
      }
    }
  }

  growRecords(n: number): void {
    this.key = grownF64(this.key, n);
    this.tag = grownI32(this.tag, n);
    this.nameRef = grownF64(this.nameRef, n);
    this.byteSize = grownF64(this.byteSize, n);
    this.encoding = grownF64(this.encoding, n);
    this.bitSize = grownF64(this.bitSize, n);
    this.target = grownF64(this.target, n);
    this.flags = grownI32(this.flags, n);
    this.head = grownI32(this.head, n * KINDS);
    this.tail = grownI32(this.tail, n * KINDS);
    this.idEpoch = grownI32(this.idEpoch, n);
    this.idMemo = grownI32(this.idMemo, n);
    this.nameEpoch = grownI32(this.nameEpoch, n);
    this.codeEpoch = grownI32(this.codeEpoch, n);
    this.codeMemo = grownI32(this.codeMemo, n);
  }

  growItems(n: number): void {
    this.itemNameRef = grownF64(this.itemNameRef, n);
    this.itemA = grownF64(this.itemA, n);
    this.itemOffset = grownF64(this.itemOffset, n);
    this.itemBitSize = grownF64(this.itemBitSize, n);
    this.itemBitOffset = grownF64(this.itemBitOffset, n);
    this.itemNext = grownI32(this.itemNext, n);
  }
}
