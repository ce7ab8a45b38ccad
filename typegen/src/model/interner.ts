// The growing list of distinct types and the lookups that make each one once. Keys are strings
// ("P12": pointer to type 12, "A3:7", "F0(1,2)", "Sstruct:point#3f2a...", "Bint$32"); derived
// types and aggregates are found through maps keyed by their components instead, so a unit that
// repeats known types (every unit of a large binary does) builds no key string: a type's key is
// written once, when it is made.

import { codeHex } from "./layout-code";
import { CType, Enumerator, Member, TypeId, TypeKind } from "./types";
import { grownI32 } from "../bytes";

/** The layout code of an incomplete aggregate (spelled "?"); every real code is a 32-bit int. */
export const INCOMPLETE = 2 ** 32;

/**
 * A type as made here: every field from the start, so all types share one hidden class (the code
 * reading them stays monomorphic and no later field addition deoptimises it).
 */
class TypeRecord implements CType {
  cName = "";
  byteSize: number | null = null;
  encoding: number | undefined = undefined;
  bitSize: number | undefined = undefined;
  target: TypeId | undefined = undefined;
  count: number | null | undefined = undefined;
  tag: string | null | undefined = undefined;
  complete: boolean | undefined = undefined;
  summaryCode: string | undefined = undefined;
  members: Member[] | undefined = undefined;
  enumerators: Enumerator[] | undefined = undefined;
  returns: TypeId | undefined = undefined;
  params: TypeId[] | undefined = undefined;
  varargs: boolean | undefined = undefined;
  prototyped: boolean | undefined = undefined;
  constructor(
    public id: TypeId,
    public kind: TypeKind,
    public name: string,
    public key: string,
  ) {}
}

/**
 * The types found under one map key (an aggregate's name, an array's element): the first inline,
 * the rest (other layout codes, other counts) in a map made only when there are some.
 */
class Slot {
  more: Map<number, TypeId> | undefined = undefined;
  constructor(
    readonly code: number,
    readonly id: TypeId,
  ) {}
}

const FNV_PRIME = 0x01000193;

export type AggKind = "struct" | "union" | "enum";

export class Interner {
  readonly types: CType[] = [];
  private readonly idByKey = new Map<string, TypeId>();
  /** Aggregates by kind, name and numeric layout code. */
  private readonly structs = new Map<string, Slot>();
  private readonly unions = new Map<string, Slot>();
  private readonly enums = new Map<string, Slot>();
  /**
   * Pointer type id + 1 by target id (0: none yet); ids are dense, so an array beats a Map.
   * Sized for most binaries' types from the start: growing is a path first taken late, which
   * would deoptimise the compiled code around it.
   */
  private pointerTo = new Int32Array(1 << 16);
  /** Arrays by element, then count (0 for unbounded, as in the key). */
  private readonly arrays = new Map<TypeId, Slot>();
  /**
   * Function types by a hash of return, parameter ids and varargs: an open-addressed table of
   * id + 1 (0: empty) and each one's hash. A Map keyed by the 32-bit hash boxed most keys (a
   * small integer is 31 bits) and took a hash-table call per function type of every unit.
   */
  private fnSlots = new Int32Array(1 << 12);
  private fnHashes = new Int32Array(1 << 12);
  private fnCount = 0;
  private readonly hex = new Map<number, string>();

  private make(key: string, name: string, kind: TypeKind): TypeId {
    const id = this.types.length;
    this.types.push(new TypeRecord(id, kind, name, key));
    return id;
  }

  /** The type with this key (base, void, opaque and unspecified types), made on first sight. */
  intern(key: string, name: string, kind: TypeKind): TypeId {
    let id = this.idByKey.get(key);
    if (id === undefined) {
      id = this.make(key, name, kind);
      this.idByKey.set(key, id);
    }
    return id;
  }

  /** A layout code as written (8 hex digits, "?" when incomplete); one string per code. */
  codeText(code: number): string {
    if (code === INCOMPLETE) return "?";
    let s = this.hex.get(code);
    if (s === undefined) {
      s = codeHex(code);
      this.hex.set(code, s);
    }
    return s;
  }

  /** The aggregate of this kind, name and layout code. */
  aggregate(kind: AggKind, name: string, code: number): TypeId {
    const byName = kind === "struct" ? this.structs : kind === "union" ? this.unions : this.enums;
    const slot = byName.get(name);
    if (slot === undefined) {
      const id = this.makeAggregate(kind, name, code);
      byName.set(name, new Slot(code, id));
      return id;
    }
    if (slot.code === code) return slot.id;
    return this.otherAggregate(slot, kind, name, code);
  }

  /** An aggregate whose name is known with another layout code. */
  private otherAggregate(slot: Slot, kind: AggKind, name: string, code: number): TypeId {
    if (slot.more === undefined) slot.more = new Map();
    let id = slot.more.get(code);
    if (id === undefined) {
      id = this.makeAggregate(kind, name, code);
      slot.more.set(code, id);
    }
    return id;
  }

  private makeAggregate(kind: AggKind, name: string, code: number): TypeId {
    return this.make(`S${kind}:${name}#${this.codeText(code)}`, name, kind);
  }

  pointer(target: TypeId): TypeId {
    let p = this.pointerTo;
    if (target < p.length) {
      const known = p[target];
      if (known > 0) return known - 1;
    }
    const id = this.make("P" + target, "", "pointer");
    if (target >= p.length) {
      p = this.pointerTo = grownI32(p, Math.max(target + 1, p.length * 2));
    }
    p[target] = id + 1;
    return id;
  }

  array(el: TypeId, count: number | null): TypeId {
    const n = count ?? 0;
    const slot = this.arrays.get(el);
    if (slot === undefined) {
      const id = this.make(`A${n}:${el}`, "", "array");
      this.arrays.set(el, new Slot(n, id));
      return id;
    }
    if (slot.code === n) return slot.id;
    if (slot.more === undefined) slot.more = new Map();
    let id = slot.more.get(n);
    if (id === undefined) {
      id = this.make(`A${n}:${el}`, "", "array");
      slot.more.set(n, id);
    }
    return id;
  }

  /**
   * The function type returning `ret` with parameters `params[from, to)` (a slice of the
   * caller's scratch stack: a type seen before costs no array) and varargs; a new one gets its
   * returns, params and varargs here.
   */
  fn(ret: TypeId, params: Int32Array, from: number, to: number, varargs: boolean): TypeId {
    let h = Math.imul(0x811c9dc5 ^ ret, FNV_PRIME);
    for (let i = from; i < to; i++) h = Math.imul(h ^ params[i], FNV_PRIME);
    h = Math.imul(h ^ (varargs ? 1 : 0), FNV_PRIME);
    const slots = this.fnSlots;
    const hashes = this.fnHashes;
    const mask = slots.length - 1;
    let i = (h ^ (h >>> 16)) & mask;
    for (let s = slots[i]; s !== 0; s = slots[i]) {
      if (hashes[i] === h && this.sameFn(this.types[s - 1], ret, params, from, to, varargs)) return s - 1;
      i = (i + 1) & mask;
    }
    const id = this.makeFn(ret, params, from, to, varargs);
    slots[i] = id + 1;
    hashes[i] = h;
    if (++this.fnCount * 2 > slots.length) this.growFns();
    return id;
  }

  private makeFn(ret: TypeId, params: Int32Array, from: number, to: number, varargs: boolean): TypeId {
    let list = "";
    for (let i = from; i < to; i++) list += (i > from ? "," : "") + params[i];
    const id = this.make(`F${ret}(${list}${varargs ? ",..." : ""})`, "", "function");
    const ct = this.types[id];
    const ps: TypeId[] = [];
    for (let i = from; i < to; i++) ps.push(params[i]);
    ct.returns = ret;
    ct.params = ps;
    ct.varargs = varargs;
    return id;
  }

  /** Doubles the function table (kept at most half full). */
  private growFns(): void {
    const oldSlots = this.fnSlots;
    const oldHashes = this.fnHashes;
    const slots = new Int32Array(oldSlots.length * 2);
    const hashes = new Int32Array(slots.length);
    const mask = slots.length - 1;
    for (let j = 0; j < oldSlots.length; j++) {
      const s = oldSlots[j];
      if (s === 0) continue;
      const h = oldHashes[j];
      let i = (h ^ (h >>> 16)) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = s;
      hashes[i] = h;
    }
    this.fnSlots = slots;
    this.fnHashes = hashes;
  }

  private sameFn(
    t: CType,
    ret: TypeId,
    params: Int32Array,
    from: number,
    to: number,
    varargs: boolean,
  ): boolean {
    const ps = t.params!;
    if (t.returns !== ret || t.varargs !== varargs || ps.length !== to - from) return false;
    for (let i = 0; i < ps.length; i++) if (ps[i] !== params[from + i]) return false;
    return true;
  }
}
