// Uniquing: turns raw per-DIE records from every unit into one list of distinct types.
// Two raw types are the same type when their unique keys are equal. Keys are built from
// canonical names, with aggregates (struct/union/enum) keyed by name plus a layout summary code
// computed from member names, offsets and member type *names* (not keys), so a self-referential
// struct never recurses. A declaration-only aggregate takes the key of the complete aggregate
// with the same kind and tag, which makes an opaque `struct s *` equal the complete one.

import { DW_ATE, DW_TAG } from "../dwarf/constants";
import { baseTypeName, joinDecl, summaryCode, symbolSafe } from "./names";
import { Collected } from "./collect";
import { RawType } from "./raw";
import { CType, FunctionInfo, LocalVar, StaticVar, TypeId, TypeKind, TypeModel, Typedef } from "./types";

const VOID = -1;
const OPAQUE = -2;
const CYCLE = "__cycle";

interface Stripped {
  key: number;
  typedefName?: string;
}

function aggKind(tag: number): "struct" | "union" | "enum" | undefined {
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

const ALIAS_TAGS = new Set<number>([
  DW_TAG.typedef,
  DW_TAG.const_type,
  DW_TAG.volatile_type,
  DW_TAG.restrict_type,
  DW_TAG.atomic_type,
  DW_TAG.immutable_type,
  DW_TAG.packed_type,
  DW_TAG.shared_type,
]);

export class ModelBuilder {
  readonly types: CType[] = [];
  private readonly raw: Map<number, RawType>;
  private readonly stripMemo = new Map<number, Stripped>();
  private readonly nameMemo = new Map<number, string>();
  private readonly keyMemo = new Map<number, string>();
  private readonly codeMemo = new Map<number, string>();
  private readonly busy = new Set<number>();
  /** Typedef name for an anonymous aggregate, by raw key. */
  private readonly anonTypedef = new Map<number, string>();
  /** "struct:tag" -> key of the chosen complete aggregate. */
  private readonly completeByTag = new Map<string, string>();
  private readonly idByKey = new Map<string, TypeId>();
  private readonly idByRaw = new Map<number, TypeId>();
  /** Raw key each type was filled from; complete aggregates win over declarations. */
  private readonly rep: number[] = [];
  private readonly fillQueue: TypeId[] = [];

  constructor(private readonly c: Collected) {
    this.raw = c.types;
    this.intern("void", "void", "void", VOID);
    for (const [k, r] of this.raw) {
      if (r.tag === DW_TAG.typedef && r.name) {
        const t = this.strip(r.target, true).key;
        const tr = this.raw.get(t);
        if (tr && aggKind(tr.tag) && !tr.name && !this.anonTypedef.has(t)) this.anonTypedef.set(t, r.name);
      }
      void k;
    }
    for (const [k, r] of this.raw) {
      const kind = aggKind(r.tag);
      if (!kind || !r.name || !this.isComplete(r)) continue;
      const key = this.keyOf(k);
      const slot = `${kind}:${r.name}`;
      const prev = this.completeByTag.get(slot);
      if (prev === undefined || key < prev) this.completeByTag.set(slot, key);
    }
  }

  private isComplete(r: RawType): boolean {
    return !r.declaration && (r.byteSize !== undefined || r.members !== undefined);
  }

  /** Follows qualifiers (and typedefs unless `qualifiersOnly`) to a concrete raw key. */
  strip(key: number, qualifiersOnly = false): Stripped {
    if (!qualifiersOnly) {
      const m = this.stripMemo.get(key);
      if (m) return m;
    }
    let k = key;
    let typedefName: string | undefined;
    for (let i = 0; i < 64; i++) {
      if (k < 0) break;
      const r = this.raw.get(k);
      if (!r) {
        k = OPAQUE;
        break;
      }
      if (!ALIAS_TAGS.has(r.tag) || (qualifiersOnly && r.tag === DW_TAG.typedef)) break;
      if (r.tag === DW_TAG.typedef && typedefName === undefined) typedefName = r.name;
      k = r.target;
      if (i === 63) k = OPAQUE;
    }
    const out: Stripped = { key: k };
    if (typedefName !== undefined) out.typedefName = typedefName;
    if (!qualifiersOnly) this.stripMemo.set(key, out);
    return out;
  }

  private sk(key: number): number {
    return this.strip(key).key;
  }

  /** Canonical (codeless) name of a concrete raw type. */
  nameOf(k: number): string {
    if (k === VOID) return "void";
    if (k === OPAQUE) return "__opaque";
    const m = this.nameMemo.get(k);
    if (m !== undefined) return m;
    if (this.busy.has(k)) return CYCLE;
    this.busy.add(k);
    const n = this.compose(k, (x) => this.nameOf(x), false);
    this.busy.delete(k);
    this.nameMemo.set(k, n);
    return n;
  }

  /** Unique key of a concrete raw type. */
  keyOf(k: number): string {
    if (k === VOID) return "void";
    if (k === OPAQUE) return "__opaque";
    const m = this.keyMemo.get(k);
    if (m !== undefined) return m;
    if (this.busy.has(k)) return CYCLE;
    this.busy.add(k);
    const n = this.compose(k, (x) => this.keyOf(x), true);
    this.busy.delete(k);
    this.keyMemo.set(k, n);
    return n;
  }

  /** Shared shape of names and keys: `sub` names the components. */
  private compose(k: number, sub: (k: number) => string, isKey: boolean): string {
    const r = this.raw.get(k)!;
    switch (r.tag) {
      case DW_TAG.base_type:
        return baseTypeName(r.encoding ?? 0, r.bitSize ?? (r.byteSize ?? 0) * 8, r.name).name;
      case DW_TAG.pointer_type:
      case DW_TAG.reference_type:
      case DW_TAG.rvalue_reference_type:
        return "__PTR_" + sub(this.sk(r.target));
      case DW_TAG.array_type: {
        const dims = r.dims && r.dims.length > 0 ? r.dims : [null];
        return dims.map((d) => `__ARR${d ?? 0}_`).join("") + sub(this.sk(r.target));
      }
      case DW_TAG.subroutine_type: {
        const params = (r.params ?? []).map((p, i) => `__ARG${i}_` + sub(this.sk(p))).join("");
        return `__FUN_FROM_${params}${r.varargs ? "__VA_" : ""}__FUN_TO_` + sub(this.sk(r.target));
      }
      case DW_TAG.unspecified_type:
        return symbolSafe(r.name ?? "unspecified");
    }
    const kind = aggKind(r.tag);
    if (!kind) return "__opaque";
    const code = this.codeOf(k);
    const name = r.name ?? this.anonTypedef.get(k) ?? `__anon_${kind}_${code}`;
    if (!isKey) return name;
    if (this.isComplete(r)) return `${name}#${code}`;
    return this.completeByTag.get(`${kind}:${name}`) ?? `${name}#?`;
  }

  /** Layout summary of an aggregate: kind, size, and each member's name, place and type name. */
  private codeOf(k: number): string {
    const m = this.codeMemo.get(k);
    if (m !== undefined) return m;
    const r = this.raw.get(k)!;
    if (!this.isComplete(r)) return "?";
    const kind = aggKind(r.tag);
    let s = `${kind}|${r.byteSize ?? ""}|`;
    if (r.enumerators) for (const e of r.enumerators) s += `${e.name}=${e.value};`;
    if (r.members)
      for (const mem of r.members)
        s += `${mem.name ?? ""}@${mem.offset}:${mem.bitSize ?? ""}:${mem.bitOffset ?? ""}:${this.nameOf(this.sk(mem.type))};`;
    const code = summaryCode(s);
    this.codeMemo.set(k, code);
    return code;
  }

  private intern(key: string, name: string, kind: TypeKind, rawKey: number): TypeId {
    let id = this.idByKey.get(key);
    if (id === undefined) {
      id = this.types.length;
      this.types.push({ id, kind, name, key, cName: "", byteSize: null });
      this.idByKey.set(key, id);
      this.rep.push(rawKey);
      this.fillQueue.push(id);
    } else if (rawKey >= 0) {
      // Prefer a complete definition as the representative of an aggregate.
      const cur = this.raw.get(this.rep[id]);
      const mine = this.raw.get(rawKey);
      if (cur && mine && aggKind(cur.tag) && !this.isComplete(cur) && this.isComplete(mine)) this.rep[id] = rawKey;
    }
    return id;
  }

  /** The type id of a (possibly qualified or typedef'd) raw key. */
  idOf(key: number): TypeId {
    const k = this.sk(key);
    let id = this.idByRaw.get(k);
    if (id !== undefined) return id;
    if (k === VOID) id = 0;
    else if (k === OPAQUE) id = this.intern("__opaque", "__opaque", "opaque", OPAQUE);
    else id = this.intern(this.keyOf(k), this.nameOf(k), this.kindOf(this.raw.get(k)!), k);
    this.idByRaw.set(k, id);
    return id;
  }

  private kindOf(r: RawType): TypeKind {
    switch (r.tag) {
      case DW_TAG.base_type:
        return "base";
      case DW_TAG.pointer_type:
      case DW_TAG.reference_type:
      case DW_TAG.rvalue_reference_type:
        return "pointer";
      case DW_TAG.array_type:
        return "array";
      case DW_TAG.subroutine_type:
        return "function";
    }
    return aggKind(r.tag) ?? "opaque";
  }

  /** Fills every queued type's details from its representative raw record (which may queue more). */
  private drain(): void {
    for (let i = 0; i < this.fillQueue.length; i++) this.fill(this.fillQueue[i]);
    this.fillQueue.length = 0;
  }

  private fill(id: TypeId): void {
    const t = this.types[id];
    const r = this.raw.get(this.rep[id]);
    if (!r) return;
    switch (t.kind) {
      case "base":
        t.encoding = r.encoding ?? 0;
        t.bitSize = r.bitSize ?? (r.byteSize ?? 0) * 8;
        t.byteSize = r.byteSize ?? Math.ceil(t.bitSize / 8);
        return;
      case "pointer":
        t.target = this.idOf(r.target);
        t.byteSize = r.byteSize ?? 8;
        return;
      case "array": {
        const dims = r.dims && r.dims.length > 0 ? r.dims : [null];
        // int[2][3] is an array of 2 arrays of 3 ints: build the inner arrays first.
        let el = this.idOf(r.target);
        for (let d = dims.length - 1; d >= 1; d--) el = this.arrayOf(el, dims[d]);
        t.target = el;
        t.count = dims[0];
        const es = this.types[el].byteSize;
        t.byteSize = t.count !== null && es !== null ? t.count * es : null;
        return;
      }
      case "function":
        t.returns = this.idOf(r.target);
        t.params = (r.params ?? []).map((p) => this.idOf(p));
        t.varargs = !!r.varargs;
        t.prototyped = r.prototyped !== false;
        return;
      case "struct":
      case "union":
      case "enum":
        t.tag = r.name ?? null;
        t.complete = this.isComplete(r);
        t.summaryCode = this.codeOf(this.rep[id]);
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
            const s = this.strip(m.type);
            const out: NonNullable<CType["members"]>[number] = { name: m.name, type: this.idOf(m.type), offset: m.offset };
            if (m.bitSize !== undefined) {
              out.bitSize = m.bitSize;
              out.bitOffset = m.bitOffset;
            }
            if (s.typedefName !== undefined) out.typedefName = s.typedefName;
            return out;
          });
        }
        return;
    }
  }

  private arrayOf(el: TypeId, count: number | null): TypeId {
    const e = this.types[el];
    const prefix = `__ARR${count ?? 0}_`;
    const id = this.intern(prefix + e.key, prefix + e.name, "array", OPAQUE);
    const t = this.types[id];
    t.target = el;
    t.count = count;
    t.byteSize = count !== null && e.byteSize !== null ? count * e.byteSize : null;
    return id;
  }

  /** C spelling of type `id` around declarator text `inner`. */
  private spell(id: TypeId, inner: string, depth: number): string {
    const t = this.types[id];
    if (depth > 64) return joinDecl("...", inner);
    switch (t.kind) {
      case "void":
        return joinDecl("void", inner);
      case "base":
        return joinDecl(baseTypeName(t.encoding ?? 0, t.bitSize ?? 0, this.raw.get(this.rep[id])?.name).c, inner);
      case "pointer": {
        const target = this.types[t.target ?? 0];
        const p = "*" + inner;
        return this.spell(t.target ?? 0, target.kind === "array" || target.kind === "function" ? `(${p})` : p, depth + 1);
      }
      case "array":
        return this.spell(t.target ?? 0, `${inner}[${t.count ?? ""}]`, depth + 1);
      case "function": {
        const ps = (t.params ?? []).map((p) => this.spell(p, "", depth + 1));
        if (t.varargs) ps.push("...");
        const list = ps.length > 0 ? ps.join(", ") : t.prototyped === false ? "" : "void";
        return this.spell(t.returns ?? 0, `${inner}(${list})`, depth + 1);
      }
      case "struct":
      case "union":
      case "enum":
        return joinDecl(t.tag ? `${t.kind} ${t.tag}` : t.name.startsWith("__anon_") ? `${t.kind} {...}` : t.name, inner);
      default:
        return joinDecl(t.name, inner);
    }
  }

  build(file: string, debugFile: string, units: number): TypeModel {
    const c = this.c;
    for (const k of this.raw.keys()) {
      const r = this.raw.get(k)!;
      if (!ALIAS_TAGS.has(r.tag)) this.idOf(k);
      this.drain();
    }
    const typedefs: Typedef[] = [];
    const seenTd = new Set<string>();
    for (const r of this.raw.values()) {
      if (r.tag !== DW_TAG.typedef || !r.name) continue;
      const type = this.idOf(r.target);
      const sig = `${r.name}:${type}`;
      if (!seenTd.has(sig)) {
        seenTd.add(sig);
        typedefs.push({ name: r.name, type });
      }
    }
    const local = (l: { name: string; type: number; isParam: boolean; locations: LocalVar["locations"] }): LocalVar => {
      const out: LocalVar = { name: l.name, type: this.idOf(l.type), isParam: l.isParam, locations: l.locations };
      const td = this.strip(l.type).typedefName;
      if (td !== undefined) out.typedefName = td;
      return out;
    };
    const functions: FunctionInfo[] = c.functions.map((f) => {
      const out: FunctionInfo = {
        name: f.name,
        type: this.idOf(f.type),
        lowPc: f.lowPc,
        highPc: f.highPc,
        external: f.external,
        frameBase: f.frameBase,
        params: f.params.map(local),
        locals: f.locals.map(local),
        unit: f.unit,
      };
      if (f.linkageName) out.linkageName = f.linkageName;
      return out;
    });
    const statics: StaticVar[] = [];
    const seenStatic = new Set<string>();
    for (const s of c.statics) {
      const sig = `${s.name}@${s.addr}:${s.tls}`;
      if (seenStatic.has(sig)) continue;
      seenStatic.add(sig);
      const type = this.idOf(s.type);
      const out: StaticVar = {
        name: s.name,
        type,
        addr: s.addr,
        size: this.types[type].byteSize,
        external: s.external,
        tls: s.tls,
        unit: s.unit,
      };
      const td = this.strip(s.type).typedefName;
      if (td !== undefined) out.typedefName = td;
      if (s.scope !== undefined) out.scope = s.scope;
      statics.push(out);
    }
    this.drain();
    for (const t of this.types) t.cName = this.spell(t.id, "", 0);
    return { file, debugFile, types: this.types, typedefs, statics, functions, units };
  }
}
