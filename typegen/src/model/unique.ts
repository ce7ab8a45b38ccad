// Uniquing, unit by unit: raw records of one unit (plus, on demand, of units it references
// across, e.g. LTO's DW_FORM_ref_addr, dwz partial units, type units) are turned into ids in one
// growing list of distinct types, then dropped, so memory follows the largest unit, not the file.
//
// Internal keys: derived types are keyed by their components' ids ("P12" = pointer to type 12),
// so keys stay short; aggregates by kind, name and layout summary code (raw-names.ts, which also
// holds the per-unit memos' rules). Declaration-only aggregates get a "#?" key and are merged
// into complete ones at the end (merge.ts).

import { DW_ATE, DW_TAG } from "../dwarf/constants";
import { Dwarf } from "../dwarf/dwarf";
import { NO_STR } from "../dwarf/str-ref";
import { LS_COLS, LS_PARAM, LS_TYPE, LS_TYPEDEF, LazyFunction } from "./lazy-locations";
import { RawStatic } from "./raw";
import {
  K_ALIAS,
  K_ARRAY,
  K_BASE,
  K_ENUM,
  K_FUNCTION,
  K_POINTER,
  K_STRUCT,
  K_UNION,
  K_UNSPECIFIED,
  OPAQUE,
  RawNames,
  UnitLoader,
  VOID,
  or,
  tagClass,
  unspecifiedName,
} from "./raw-names";
import {
  DIMS,
  ENUMERATORS,
  F_BUSY,
  F_HAS_PROTOTYPED,
  F_PROTOTYPED,
  F_VARARGS,
  MEMBERS,
  PARAMS,
  RawTable,
} from "./raw-table";
import { AggKind, INCOMPLETE } from "./interner";
import { CType, Member, StaticVar, TypeId, TypeKind, Typedef } from "./types";
import { grownF64, grownI32 } from "../bytes";

export { UnitLoader } from "./raw-names";

export class Uniquer extends RawNames {
  readonly types: CType[] = this.ix.types;
  readonly typedefs: Typedef[] = [];
  readonly statics: StaticVar[] = [];
  readonly functions: LazyFunction[] = [];
  /** Spelled DWARF name of each base type's first definition (C spelling of plain char etc.). */
  readonly baseSpelled = new Map<TypeId, string>();
  /** Typedef names already listed, with the types they were listed for. */
  private readonly seenTypedef = new Map<string, TypeId[]>();
  /** Statics already listed, by address: names (TLS ones apart). */
  private readonly seenStatic = new Map<number, string[]>();
  private readonly seenTls = new Map<number, string[]>();
  /** Aggregates to fill: type id, table and record (three arrays: each keeps one element kind). */
  private readonly fillIds: number[] = [];
  private readonly fillTables: RawTable[] = [];
  private readonly fillRecords: number[] = [];
  /**
   * Parameter ids being gathered (nested types push above their callers'), up to `params`; typed
   * arrays with their own tops: setting a JS array's length to 0 drops its backing store, which
   * the next push allocated again (per function type of every unit).
   */
  private paramStack = new Int32Array(256);
  private params = 0;
  /** Array dimensions being gathered (likewise; NaN: unbounded), up to `dimTop`. */
  private dimStack = new Float64Array(64);
  private dimTop = 0;
  /** The opaque type's id, once made (-1 before). */
  private opaque = -1;

  constructor(dwarf: Dwarf, load: UnitLoader) {
    super(dwarf, load);
    const v = this.intern("void", "void", "void");
    this.types[v].name = "void";
  }

  // addUnit's work is split into small functions: TurboFan compiles each on its own, so a path
  // first taken late (a repeated static, a rare tag) deoptimises and recompiles only its own
  // small function, not one large function with everything inlined.

  /** Adds one unit's records. */
  addUnit(t: RawTable, functions: LazyFunction[], statics: RawStatic[]): void {
    this.cur = t;
    this.epoch++;
    const n = t.n;
    for (let r = 0; r < n; r++) {
      this.addRecord(t, r);
      this.drain();
    }
    for (let i = 0; i < functions.length; i++) this.addFunction(functions[i]);
    for (let i = 0; i < statics.length; i++) this.addStatic(statics[i]);
    this.drain();
  }

  private addRecord(t: RawTable, r: number): void {
    const tag = t.tag[r];
    if (tag === DW_TAG.typedef) {
      // An unnamed typedef makes no id (its drain finds nothing queued).
      const name = t.name[r];
      if (name) this.addTypedef(name, this.idOf(t.key[r]));
    } else if (tagClass(tag) !== K_ALIAS) this.idOf(t.key[r]);
  }

  // The two below run the same steps for a first and a repeated sight: a branch first taken in
  // a late unit would deoptimise the compiled addUnit they are inlined into.

  private addTypedef(name: string, type: TypeId): void {
    let seen = this.seenTypedef.get(name);
    if (seen === undefined) {
      seen = [];
      this.seenTypedef.set(name, seen);
    }
    if (seen.includes(type)) return;
    seen.push(type);
    this.typedefs.push({ name, type });
  }

  private addFunction(f: LazyFunction): void {
    f.type = this.idOf(f.type);
    // Parameters, then locals, each in DIE order (ids are made in the order types are met).
    this.locals(f, 1);
    this.locals(f, 0);
    this.functions.push(f);
  }

  private addStatic(s: RawStatic): void {
    const seen = s.tls ? this.seenTls : this.seenStatic;
    let names = seen.get(s.addr);
    if (names === undefined) {
      names = [];
      seen.set(s.addr, names);
    }
    if (names.includes(s.name)) return;
    names.push(s.name);
    const type = this.idOf(s.type);
    const out: StaticVar = {
      name: s.name,
      type,
      typedefName: this.typedefNameOf(s.type),
      addr: s.addr,
      size: null,
      external: s.external,
      tls: s.tls,
      scope: s.scope,
      unit: s.unit,
    };
    this.statics.push(out);
  }

  /** Turns the raw type keys of f's parameters (isParam 1) or locals (0) into type ids and typedef names. */
  private locals(f: LazyFunction, isParam: number): void {
    const rows = f.store.rows;
    for (let i = f.first; i < f.first + f.count; i++) {
      const o = i * LS_COLS;
      if (rows[o + LS_PARAM] !== isParam) continue;
      const raw = rows[o + LS_TYPE];
      rows[o + LS_TYPE] = this.idOf(raw);
      rows[o + LS_TYPEDEF] = this.typedefOf(raw) ? this.hitT.nameRef[this.hitR] : NO_STR;
    }
  }

  private intern(key: string, name: string, kind: TypeKind): TypeId {
    return this.ix.intern(key, name, kind);
  }

  /** The opaque type's id (made when first met, as every id is). */
  private opaqueId(): TypeId {
    if (this.opaque < 0) this.opaque = this.intern("__opaque", "__opaque", "opaque");
    return this.opaque;
  }

  /** The type id of a raw key (qualifiers and typedefs resolved). */
  idOf(key: number): TypeId {
    if (key === VOID) return 0;
    if (key === OPAQUE || !this.lookup(key)) return this.opaqueId();
    const t = this.hitT;
    const r = this.hitR;
    if (t.idEpoch[r] === this.epoch) return t.idMemo[r];
    if (t.flags[r] & F_BUSY) return this.opaqueId();
    t.flags[r] |= F_BUSY;
    const id = this.compute(t, r);
    t.flags[r] &= ~F_BUSY;
    t.idEpoch[r] = this.epoch;
    t.idMemo[r] = id;
    return id;
  }

  private compute(t: RawTable, r: number): TypeId {
    switch (tagClass(t.tag[r])) {
      case K_BASE:
        return this.baseId(t, r);
      case K_POINTER:
        return this.pointerId(t, r);
      case K_ARRAY:
        return this.arrayId(t, r);
      case K_FUNCTION:
        return this.functionId(t, r);
      case K_UNSPECIFIED:
        return this.unspecifiedId(t, r);
      case K_ALIAS:
        return this.idOf(t.target[r]);
      case K_STRUCT:
        return this.aggregateId(t, r, "struct");
      case K_UNION:
        return this.aggregateId(t, r, "union");
      case K_ENUM:
        return this.aggregateId(t, r, "enum");
      default:
        return this.opaqueId();
    }
  }

  private unspecifiedId(t: RawTable, r: number): TypeId {
    const n = unspecifiedName(t, r);
    return this.intern("U" + n, n, "opaque");
  }

  private baseId(t: RawTable, r: number): TypeId {
    const m = this.base(t, r);
    if (m.id >= 0) return m.id;
    const n = m.name;
    const id = this.intern("B" + n, n, "base");
    const ct = this.types[id];
    if (ct.encoding === undefined) {
      const bits = or(t.bitSize[r], or(t.byteSize[r], 0) * 8);
      ct.encoding = or(t.encoding[r], 0);
      ct.bitSize = bits;
      ct.byteSize = or(t.byteSize[r], Math.ceil(bits / 8));
      const spelled = t.name[r];
      if (spelled) this.baseSpelled.set(id, spelled);
    }
    m.id = id;
    return id;
  }

  private pointerId(t: RawTable, r: number): TypeId {
    const target = this.idOf(t.target[r]);
    const id = this.ix.pointer(target);
    const ct = this.types[id];
    ct.target = target;
    ct.byteSize = or(t.byteSize[r], 8);
    return id;
  }

  private arrayId(t: RawTable, r: number): TypeId {
    // Dimensions on their scratch stack (NaN: unbounded; none: one unbounded).
    const base = this.dimTop;
    for (let i = t.first(r, DIMS); i >= 0; i = t.itemNext[i]) this.pushDim(t.itemA[i]);
    if (this.dimTop === base) this.pushDim(NaN);
    const top = this.dimTop;
    // int[2][3] is an array of 2 arrays of 3 ints: build the inner arrays first (the element's
    // own dimensions are pushed above and popped again).
    let el = this.idOf(t.target[r]);
    for (let d = top - 1; d >= base; d--) {
      const n = this.dimStack[d];
      el = this.arrayOf(el, n === n ? n : null);
    }
    this.dimTop = base;
    return el;
  }

  private functionId(t: RawTable, r: number): TypeId {
    const ret = this.idOf(t.target[r]);
    // Parameter ids on the scratch stack (idOf may push and pop above them).
    const base = this.params;
    for (let i = t.first(r, PARAMS); i >= 0; i = t.itemNext[i]) this.pushParam(this.idOf(t.itemA[i]));
    const va = (t.flags[r] & F_VARARGS) !== 0;
    const id = this.ix.fn(ret, this.paramStack, base, this.params, va);
    const ct = this.types[id];
    // A new type (the interner filled its signature) takes this record's prototyped.
    if (ct.prototyped === undefined) {
      const f = t.flags[r];
      ct.prototyped = !(f & F_HAS_PROTOTYPED) || (f & F_PROTOTYPED) !== 0;
    }
    this.params = base;
    return id;
  }

  private pushParam(id: TypeId): void {
    if (this.params === this.paramStack.length) {
      this.paramStack = grownI32(this.paramStack, this.params * 2);
    }
    this.paramStack[this.params++] = id;
  }

  private pushDim(n: number): void {
    if (this.dimTop === this.dimStack.length) {
      this.dimStack = grownF64(this.dimStack, this.dimTop * 2);
    }
    this.dimStack[this.dimTop++] = n;
  }

  private aggregateId(t: RawTable, r: number, kind: AggKind): TypeId {
    const name = this.aggName(t, r);
    const code = this.codeOf(t, r);
    const complete = code !== INCOMPLETE;
    const id = this.ix.aggregate(kind, name, code);
    const ct = this.types[id];
    // The first complete definition fills the type (a declaration only fills it if nothing else does).
    if (ct.complete === undefined || (complete && !ct.complete)) {
      ct.complete = complete;
      this.fillIds.push(id);
      this.fillTables.push(t);
      this.fillRecords.push(r);
    }
    return id;
  }

  /** Fills queued aggregates (members may queue more aggregates). */
  private drain(): void {
    const ids = this.fillIds;
    if (ids.length === 0) return;
    const tables = this.fillTables;
    const records = this.fillRecords;
    for (let i = 0; i < ids.length; i++) this.fillAggregate(ids[i], tables[i], records[i]);
    ids.length = 0;
    tables.length = 0;
    records.length = 0;
  }

  private fillAggregate(id: TypeId, t: RawTable, r: number): void {
    const ct = this.types[id];
    const saved = this.cur;
    // Member references are relative to the aggregate's own unit.
    if (t !== this.cur) this.switchTo(t);
    const size = t.byteSize[r];
    ct.tag = t.name[r] ?? null;
    const code = this.codeOf(t, r);
    ct.complete = code !== INCOMPLETE;
    ct.summaryCode = this.codeText(code);
    ct.byteSize = ct.complete && size === size ? size : null;
    if (ct.kind === "enum") {
      const target = t.target[r];
      if (target >= 0) ct.target = this.idOf(target);
      const base = ct.target !== undefined ? this.types[ct.target] : undefined;
      const unsigned = base?.encoding === DW_ATE.unsigned || base?.encoding === DW_ATE.unsigned_char;
      const bits = (ct.byteSize ?? 4) * 8;
      const out: { name: string; value: number }[] = [];
      for (let i = t.first(r, ENUMERATORS); i >= 0; i = t.itemNext[i]) {
        const v = t.itemA[i];
        // Values are read as 64 bits at most; past that (a corrupt byte size) 2 ** bits is no
        // reinterpretation, and from 1024 bits on it is Infinity.
        out.push({ name: t.itemName(i) ?? "", value: unsigned && v < 0 && bits <= 64 ? v + 2 ** bits : v });
      }
      ct.enumerators = out;
    } else if (ct.complete) {
      const members: Member[] = [];
      for (let i = t.first(r, MEMBERS); i >= 0; i = t.itemNext[i]) {
        const type = t.itemA[i];
        const bs = t.itemBitSize[i];
        // Every field in one literal (one hidden class for every member).
        const m: Member = {
          name: t.itemName(i),
          type: this.idOf(type),
          offset: t.itemOffset[i],
          bitSize: bs === bs ? bs : undefined,
          bitOffset: bs === bs ? t.itemBitOffset[i] : undefined,
          typedefName: this.typedefNameOf(type),
        };
        members.push(m);
      }
      ct.members = members;
    }
    if (saved !== this.cur) this.switchTo(saved);
  }

  private arrayOf(el: TypeId, count: number | null): TypeId {
    const e = this.types[el];
    const id = this.ix.array(el, count);
    const ct = this.types[id];
    if (ct.target === undefined) {
      ct.target = el;
      ct.count = count;
      ct.byteSize = count !== null && e.byteSize !== null ? count * e.byteSize : null;
    }
    return id;
  }
}
