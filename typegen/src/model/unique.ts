// Uniquing, unit by unit: raw records of one unit (plus, on demand, of units it references
// across, e.g. LTO's DW_FORM_ref_addr, dwz partial units, type units) are turned into ids in one
// growing list of distinct types, then dropped, so memory follows the largest unit, not the file.
//
// Internal keys: derived types are keyed by their components' ids ("P12" = pointer to type 12),
// so keys stay short; aggregates by kind, name and a layout summary code computed from member
// names, offsets and member type *names* (so a self-referential struct needs no recursion).
// Declaration-only aggregates get a "#?" key and are merged into complete ones at the end
// (merge.ts).

import { DW_ATE, DW_TAG } from "../dwarf/constants";
import { Dwarf } from "../dwarf/dwarf";
import { Unit } from "../dwarf/units";
import { LazyFunction, LazyLocal } from "./lazy-locations";
import { baseTypeName, summaryCode, symbolSafe } from "./names";
import { RawFunction, RawLocal, RawStatic, RawType, TAG_SIGNATURE_STUB } from "./raw";
import { CType, FunctionInfo, LocalVar, Member, StaticVar, TypeId, TypeKind, Typedef } from "./types";

const VOID = -1;
const OPAQUE = -2;
const CYCLE = "__cycle";

export function aggKind(tag: number): "struct" | "union" | "enum" | undefined {
  switch (tag) {
    case DW_TAG.structure_type:
    case DW_TAG.class_type:
      return "struct";
    case DW_TAG.union_type:
      return "union";
    case DW_TAG.enumeration_type:
      return "enum";
    default:
      return undefined;
  }
}

export const ALIAS_TAGS = new Set<number>([
  DW_TAG.typedef,
  DW_TAG.const_type,
  DW_TAG.volatile_type,
  DW_TAG.restrict_type,
  DW_TAG.atomic_type,
  DW_TAG.immutable_type,
  DW_TAG.packed_type,
  DW_TAG.shared_type,
  TAG_SIGNATURE_STUB,
]);

/** The raw types of one unit, and the typedef names of its anonymous aggregates. */
export class RawUnit {
  readonly anonTypedef = new Map<number, string>();
  constructor(
    readonly unit: Unit,
    readonly types: Map<number, RawType>,
  ) {
    for (const r of types.values()) {
      if (r.tag !== DW_TAG.typedef || !r.name) continue;
      // typedef struct { ... } name;  (possibly through qualifiers)
      let k = r.target;
      for (let i = 0; i < 8 && k >= 0; i++) {
        const t = types.get(k);
        if (!t) break;
        if (aggKind(t.tag)) {
          if (!t.name && !this.anonTypedef.has(k)) this.anonTypedef.set(k, r.name);
          break;
        }
        if (t.tag === DW_TAG.typedef || !ALIAS_TAGS.has(t.tag)) break;
        k = t.target;
      }
    }
  }
}

/** Loads the raw types of another unit (for cross-unit references). */
export type UnitLoader = (u: Unit) => RawUnit;

export class Uniquer {
  readonly types: CType[] = [];
  readonly typedefs: Typedef[] = [];
  readonly statics: StaticVar[] = [];
  readonly functions: FunctionInfo[] = [];
  /** Spelled DWARF name of each base type's first definition (C spelling of plain char etc.). */
  readonly baseSpelled = new Map<TypeId, string>();
  private readonly idByKey = new Map<string, TypeId>();
  /** Pointer types by pointee id (the commonest derived type; spares building "P<id>" keys). */
  private readonly pointerTo = new Map<TypeId, TypeId>();
  private readonly seenTypedef = new Set<string>();
  private readonly seenStatic = new Set<string>();
  private readonly foreign = new Map<Unit, RawUnit>();
  private cur!: RawUnit;
  // Per-unit memos (cleared for each unit; keys are only meaningful with `cur`).
  private idByRaw = new Map<number, TypeId>();
  private nameMemo = new Map<number, string>();
  private codeMemo = new Map<number, string>();
  /** Raw keys being resolved by idOf / named by nameOf (separate: one must not see the other's). */
  private busy = new Set<number>();
  private naming = new Set<number>();
  private readonly fillQueue: { id: TypeId; ru: RawUnit; key: number }[] = [];

  constructor(
    private readonly dwarf: Dwarf,
    private readonly load: UnitLoader,
  ) {
    const v = this.intern("void", "void", "void");
    this.types[v].name = "void";
  }

  /** Adds one unit's records. */
  addUnit(ru: RawUnit, functions: RawFunction[], statics: RawStatic[]): void {
    this.cur = ru;
    this.idByRaw = new Map();
    this.nameMemo = new Map();
    this.codeMemo = new Map();
    this.busy = new Set();
    this.naming = new Set();
    ru.types.forEach((r, k) => {
      if (r.tag === DW_TAG.typedef) {
        if (!r.name) return;
        const type = this.idOf(k);
        const sig = `${r.name}:${type}`;
        if (!this.seenTypedef.has(sig)) {
          this.seenTypedef.add(sig);
          this.typedefs.push({ name: r.name, type });
        }
      } else if (!ALIAS_TAGS.has(r.tag)) this.idOf(k);
      this.drain();
    });
    for (const f of functions) {
      const out = new LazyFunction(
        f.name,
        this.idOf(f.type),
        f.lowPc,
        f.highPc,
        f.external,
        f.frameBase,
        f.params.map((l) => this.local(l)),
        f.locals.map((l) => this.local(l)),
        f.unit,
      );
      if (f.linkageName) out.linkageName = f.linkageName;
      this.functions.push(out);
    }
    for (const s of statics) {
      const sig = `${s.name}@${s.addr}:${s.tls}`;
      if (this.seenStatic.has(sig)) continue;
      this.seenStatic.add(sig);
      const out: StaticVar = {
        name: s.name,
        type: this.idOf(s.type),
        addr: s.addr,
        size: null,
        external: s.external,
        tls: s.tls,
        unit: s.unit,
      };
      const td = this.typedefNameOf(s.type);
      if (td !== undefined) out.typedefName = td;
      if (s.scope !== undefined) out.scope = s.scope;
      this.statics.push(out);
    }
    this.drain();
  }

  private local(l: RawLocal): LocalVar {
    const out = new LazyLocal(l.name, this.idOf(l.type), l.isParam, l.loc, l.ranges);
    const td = this.typedefNameOf(l.type);
    if (td !== undefined) out.typedefName = td;
    return out;
  }

  /** The raw record for `key` and the unit it belongs to (loading another unit if needed). */
  private lookup(key: number): [RawType, RawUnit] | undefined {
    const r = this.cur.types.get(key);
    if (r) return [r, this.cur];
    const u = this.dwarf.unitFor(key);
    if (!u || u === this.cur.unit) return undefined;
    let ru = this.foreign.get(u);
    if (!ru) {
      ru = this.load(u);
      this.foreign.set(u, ru);
    }
    const fr = ru.types.get(key);
    return fr ? [fr, ru] : undefined;
  }

  private static isComplete(r: RawType): boolean {
    return !r.declaration && (r.byteSize !== undefined || r.members !== undefined);
  }

  /** Follows qualifiers and typedefs to a concrete raw key. */
  private strip(key: number): number {
    for (let i = 0; i < 64 && key >= 0; i++) {
      const hit = this.lookup(key);
      if (!hit) return OPAQUE;
      if (!ALIAS_TAGS.has(hit[0].tag)) return key;
      key = hit[0].target;
    }
    return key >= 0 ? OPAQUE : key;
  }

  /** Canonical name of a raw type, for layout codes (see the header comment). */
  private nameOf(k: number): string {
    if (k === VOID) return "void";
    if (k === OPAQUE) return "__opaque";
    const m = this.nameMemo.get(k);
    if (m !== undefined) return m;
    if (this.naming.has(k)) return CYCLE;
    const hit = this.lookup(k);
    if (!hit) return "__opaque";
    this.naming.add(k);
    const n = this.rawName(k, hit[0], hit[1]);
    this.naming.delete(k);
    this.nameMemo.set(k, n);
    return n;
  }

  private rawName(k: number, r: RawType, ru: RawUnit): string {
    const sub = (x: number): string => this.nameOf(this.strip(x));
    switch (r.tag) {
      case DW_TAG.base_type:
        return baseTypeName(r.encoding ?? 0, r.bitSize ?? (r.byteSize ?? 0) * 8, r.name).name;
      case DW_TAG.pointer_type:
      case DW_TAG.reference_type:
      case DW_TAG.rvalue_reference_type:
        return "__PTR_" + sub(r.target);
      case DW_TAG.array_type: {
        const dims = r.dims && r.dims.length > 0 ? r.dims : [null];
        return dims.map((d) => `__ARR${d ?? 0}_`).join("") + sub(r.target);
      }
      case DW_TAG.subroutine_type: {
        const params = (r.params ?? []).map((p, i) => `__ARG${i}_` + sub(p)).join("");
        return `__FUN_FROM_${params}${r.varargs ? "__VA_" : ""}__FUN_TO_` + sub(r.target);
      }
      case DW_TAG.unspecified_type:
        return symbolSafe(r.name ?? "unspecified");
    }
    return this.aggName(k, r, ru);
  }

  private aggName(k: number, r: RawType, ru: RawUnit): string {
    const kind = aggKind(r.tag);
    if (!kind) return "__opaque";
    return r.name ?? ru.anonTypedef.get(k) ?? `__anon_${kind}_${this.codeOf(k, r)}`;
  }

  /** Layout summary of an aggregate: kind, size, and each member's name, place and type name. */
  private codeOf(k: number, r: RawType): string {
    const m = this.codeMemo.get(k);
    if (m !== undefined) return m;
    if (!Uniquer.isComplete(r)) return "?";
    let s = `${aggKind(r.tag)}|${r.byteSize ?? ""}|`;
    if (r.enumerators) for (const e of r.enumerators) s += `${e.name}=${e.value};`;
    if (r.members)
      for (const mem of r.members)
        s += `${mem.name ?? ""}@${mem.offset}:${mem.bitSize ?? ""}:${mem.bitOffset ?? ""}:${this.nameOf(this.strip(mem.type))};`;
    const code = summaryCode(s);
    this.codeMemo.set(k, code);
    return code;
  }

  private intern(key: string, name: string, kind: TypeKind): TypeId {
    let id = this.idByKey.get(key);
    if (id === undefined) {
      id = this.types.length;
      this.types.push({ id, kind, name, key, cName: "", byteSize: null });
      this.idByKey.set(key, id);
    }
    return id;
  }

  /** The type id of a raw key (qualifiers and typedefs resolved). */
  idOf(key: number): TypeId {
    if (key === VOID) return 0;
    let id = this.idByRaw.get(key);
    if (id !== undefined) return id;
    const hit = key === OPAQUE ? undefined : this.lookup(key);
    if (!hit || this.busy.has(key)) return this.intern("__opaque", "__opaque", "opaque");
    const [r, ru] = hit;
    this.busy.add(key);
    id = this.compute(key, r, ru);
    this.busy.delete(key);
    this.idByRaw.set(key, id);
    return id;
  }

  private compute(key: number, r: RawType, ru: RawUnit): TypeId {
    switch (r.tag) {
      case DW_TAG.base_type: {
        const bits = r.bitSize ?? (r.byteSize ?? 0) * 8;
        const n = baseTypeName(r.encoding ?? 0, bits, r.name).name;
        const id = this.intern("B" + n, n, "base");
        const t = this.types[id];
        if (t.encoding === undefined) {
          t.encoding = r.encoding ?? 0;
          t.bitSize = bits;
          t.byteSize = r.byteSize ?? Math.ceil(bits / 8);
          if (r.name) this.baseSpelled.set(id, r.name);
        }
        return id;
      }
      case DW_TAG.pointer_type:
      case DW_TAG.reference_type:
      case DW_TAG.rvalue_reference_type: {
        const target = this.idOf(r.target);
        let id = this.pointerTo.get(target);
        if (id === undefined) {
          id = this.intern("P" + target, "", "pointer");
          this.pointerTo.set(target, id);
        }
        const t = this.types[id];
        t.target = target;
        t.byteSize = r.byteSize ?? 8;
        return id;
      }
      case DW_TAG.array_type: {
        const dims = r.dims && r.dims.length > 0 ? r.dims : [null];
        // int[2][3] is an array of 2 arrays of 3 ints: build the inner arrays first.
        let el = this.idOf(r.target);
        for (let d = dims.length - 1; d >= 0; d--) el = this.arrayOf(el, dims[d]);
        return el;
      }
      case DW_TAG.subroutine_type: {
        const ret = this.idOf(r.target);
        const params = (r.params ?? []).map((p) => this.idOf(p));
        const va = !!r.varargs;
        const id = this.intern(`F${ret}(${params.join(",")}${va ? ",..." : ""})`, "", "function");
        const t = this.types[id];
        if (t.returns === undefined) {
          t.returns = ret;
          t.params = params;
          t.varargs = va;
          t.prototyped = r.prototyped !== false;
        }
        return id;
      }
      case DW_TAG.unspecified_type: {
        const n = symbolSafe(r.name ?? "unspecified");
        return this.intern("U" + n, n, "opaque");
      }
    }
    if (ALIAS_TAGS.has(r.tag)) return this.idOf(r.target);
    const kind = aggKind(r.tag);
    if (!kind) return this.intern("__opaque", "__opaque", "opaque");
    const name = this.aggName(key, r, ru);
    const complete = Uniquer.isComplete(r);
    const code = this.codeOf(key, r);
    const id = this.intern(`S${kind}:${name}#${code}`, name, kind);
    const t = this.types[id];
    // The first complete definition fills the type (a declaration only fills it if nothing else does).
    if (t.complete === undefined || (complete && !t.complete)) {
      t.complete = complete;
      this.fillQueue.push({ id, ru, key });
    }
    return id;
  }

  /** Fills queued aggregates (members may queue more aggregates). */
  private drain(): void {
    const q = this.fillQueue;
    for (let i = 0; i < q.length; i++) this.fillAggregate(q[i].id, q[i].key, q[i].ru);
    q.length = 0;
  }

  private fillAggregate(id: TypeId, key: number, ru: RawUnit): void {
    const t = this.types[id];
    const r = ru.types.get(key);
    if (!r) return;
    const saved = this.cur;
    // Member references are relative to the aggregate's own unit.
    if (ru !== this.cur) this.switchTo(ru);
    t.tag = r.name ?? null;
    t.complete = Uniquer.isComplete(r);
    t.summaryCode = this.codeOf(key, r);
    t.byteSize = t.complete ? (r.byteSize ?? null) : null;
    if (t.kind === "enum") {
      if (r.target >= 0) t.target = this.idOf(r.target);
      const base = t.target !== undefined ? this.types[t.target] : undefined;
      const unsigned = base?.encoding === DW_ATE.unsigned || base?.encoding === DW_ATE.unsigned_char;
      const bits = (t.byteSize ?? 4) * 8;
      t.enumerators = (r.enumerators ?? []).map((e) => ({
        name: e.name,
        value: unsigned && e.value < 0 ? e.value + 2 ** bits : e.value,
      }));
    } else if (t.complete) {
      t.members = (r.members ?? []).map((m) => {
        const out: Member = { name: m.name, type: this.idOf(m.type), offset: m.offset };
        if (m.bitSize !== undefined) {
          out.bitSize = m.bitSize;
          out.bitOffset = m.bitOffset;
        }
        const td = this.typedefNameOf(m.type);
        if (td !== undefined) out.typedefName = td;
        return out;
      });
    }
    if (saved !== this.cur) this.switchTo(saved);
  }

  /** Changes the current unit (memos are per unit because raw keys are looked up through it). */
  private switchTo(ru: RawUnit): void {
    this.cur = ru;
    this.idByRaw = new Map();
    this.nameMemo = new Map();
    this.codeMemo = new Map();
  }

  /** The first typedef name on the way from `key` to its concrete type (through qualifiers). */
  private typedefNameOf(key: number): string | undefined {
    for (let i = 0; i < 16 && key >= 0; i++) {
      const hit = this.lookup(key);
      if (!hit || !ALIAS_TAGS.has(hit[0].tag)) return undefined;
      if (hit[0].tag === DW_TAG.typedef) return hit[0].name;
      key = hit[0].target;
    }
    return undefined;
  }

  private arrayOf(el: TypeId, count: number | null): TypeId {
    const e = this.types[el];
    const id = this.intern(`A${count ?? 0}:${el}`, "", "array");
    const t = this.types[id];
    if (t.target === undefined) {
      t.target = el;
      t.count = count;
      t.byteSize = count !== null && e.byteSize !== null ? count * e.byteSize : null;
    }
    return id;
  }
}
