// The model's types as TYPE records (file type index i is model type id i), with their
// MEMBER, ENUMERATOR and PARAMS entries.

import { CType, TypeModel, TypeId } from "../model/types";
import { summaryCode } from "../model/names";
import {
  ENUMERATOR,
  Kind,
  MEMBER,
  META_NONE,
  TYPE,
  TYPE_F_FLEXIBLE,
  TYPE_F_INCOMPLETE,
  TYPE_F_VARARGS,
} from "./format";
import { MetaSections } from "./file-layout";
import { fieldsOf } from "./record-buffer";

const T_ = fieldsOf(TYPE);
const M_ = fieldsOf(MEMBER);
const E_ = fieldsOf(ENUMERATOR);

function kindOf(t: CType): Kind {
  switch (t.kind) {
    case "base":
      return Kind.BASE;
    case "pointer":
      return Kind.POINTER;
    case "array":
      return Kind.ARRAY;
    case "struct":
      return Kind.STRUCT;
    case "union":
      return Kind.UNION;
    case "enum":
      return Kind.ENUM;
    case "function":
      return Kind.FUNCTION;
    default:
      return Kind.VOID; /* void and opaque (an unresolvable type) */
  }
}

/** Canonical names unique in the file: a name seen again (two unrelated `struct s` in
 * different units) gets `$` and 8 hex digits of its unique key appended. */
function uniqueNames(types: CType[]): string[] {
  const seen = new Set<string>();
  return types.map((t) => {
    let n = t.name;
    if (seen.has(n)) {
      n = `${t.name}$${summaryCode(t.key)}`;
      for (let k = 2; seen.has(n); k++) n = `${t.name}$${summaryCode(t.key + "#" + k)}`;
    }
    seen.add(n);
    return n;
  });
}

/** A model type id as written: META_NONE when it is none or out of the model. */
export function typeRef(model: TypeModel): (id: TypeId | undefined) => number {
  const nModel = model.types.length;
  return (id) => (id === undefined || id < 0 || id >= nModel ? META_NONE : id);
}

/** Writes every model type (their names noted in `out.typeNames`). Fields are written in
 * the order writeRecord took them from a record object and strings added in that order, so the
 * string table is laid out as it always was. */
export function writeTypes(model: TypeModel, out: MetaSections): void {
  const names = uniqueNames(model.types);
  const w = new TypeWriter(model, out);
  const types = model.types;
  for (let i = 0; i < types.length; i++) w.write(types[i], names[types[i].id]);
}

/**
 * Writes one type at a time. The per-type work is in these small methods, not in the loop over
 * the types: V8 would otherwise compile the whole loop on stack replacement, a large compile of
 * a function that runs once.
 */
class TypeWriter {
  private readonly ref: (id: TypeId | undefined) => number;

  constructor(
    private readonly model: TypeModel,
    private readonly out: MetaSections,
  ) {
    this.ref = typeRef(model);
  }

  private isVoid(id: TypeId | undefined): boolean {
    return id === undefined || this.model.types[id]?.kind === "void";
  }

  write(t: CType, name: string): void {
    const { strings, types } = this.out;
    const kind = kindOf(t);
    const at = types.add();
    const nameOff = strings.add(name);
    this.out.typeNames.add(nameOff);
    types.u32(at + T_.name, nameOff);
    types.u32(at + T_.c_name, strings.add(t.cName));
    types.u64(at + T_.size, t.byteSize ?? 0);
    types.u8(at + T_.kind, kind);
    types.u8(at + T_.encoding, t.encoding ?? 0);
    types.u32(at + T_.bit_size, t.bitSize ?? 0);
    let related = META_NONE;
    let count = 0;
    let first = 0;
    let flags = 0;
    if ((t.kind === "struct" || t.kind === "union" || t.kind === "enum") && t.complete === false)
      flags |= TYPE_F_INCOMPLETE;
    if (t.kind === "opaque") flags |= TYPE_F_INCOMPLETE;
    if (kind === Kind.POINTER) related = this.isVoid(t.target) ? META_NONE : this.ref(t.target);
    if (kind === Kind.ARRAY) {
      related = this.ref(t.target);
      // The count is 32 bits: a longer array is written as unbounded; its size (64 bits) stays.
      count = t.count !== null && t.count !== undefined && t.count <= 0xffffffff ? t.count : 0;
    }
    if (kind === Kind.ENUM) {
      related = this.ref(t.target);
      first = this.out.enumerators.n;
      count = this.enumerators(t);
    }
    if (kind === Kind.STRUCT || kind === Kind.UNION) {
      first = this.out.members.n;
      count = this.members(t);
      if (kind === Kind.STRUCT && this.endsFlexible(t)) flags |= TYPE_F_FLEXIBLE;
    }
    if (kind === Kind.FUNCTION) {
      related = this.isVoid(t.returns) ? META_NONE : this.ref(t.returns);
      if (t.varargs) flags |= TYPE_F_VARARGS;
      first = this.out.params.n;
      count = this.params(t);
    }
    types.u16(at + T_.flags, flags);
    types.u32(at + T_.related, related);
    types.u32(at + T_.count, count);
    types.u32(at + T_.first, first);
  }

  /** Writes the enumerators of `t`; returns how many. */
  private enumerators(t: CType): number {
    const { strings, enumerators } = this.out;
    const es = t.enumerators ?? [];
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      const ea = enumerators.add();
      enumerators.u32(ea + E_.name, strings.add(e.name));
      // An unsigned 2^64 - 1 is 2^64 as a double; wrapped to 64 bits that would be 0.
      const v = Math.trunc(e.value);
      if (e.value >= 2 ** 64) enumerators.i64(ea + E_.value, -1);
      else if (v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER)
        enumerators.i64(ea + E_.value, v);
      else enumerators.buf.writeBigInt64LE(BigInt.asIntN(64, BigInt(v)), ea + E_.value);
    }
    return es.length;
  }

  /** Writes the members of `t`; returns how many. */
  private members(t: CType): number {
    const { strings, members } = this.out;
    const ms = t.members ?? [];
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      const bitSize = m.bitSize ?? 0;
      const bitOffset = bitSize ? (m.bitOffset ?? m.offset * 8) - m.offset * 8 : 0;
      const ma = members.add();
      members.u32(ma + M_.name, strings.add(m.name));
      members.u32(ma + M_.type, this.ref(m.type));
      members.u64(ma + M_.offset, m.offset);
      members.u16(ma + M_.bit_offset, bitOffset);
      members.u16(ma + M_.bit_size, bitSize);
    }
    return ms.length;
  }

  /** Whether struct `t` ends in an array of no count (a flexible array member). */
  private endsFlexible(t: CType): boolean {
    const ms = t.members ?? [];
    const last = ms[ms.length - 1];
    if (!last) return false;
    const lt = this.model.types[last.type];
    return lt?.kind === "array" && (lt.count === null || lt.count === undefined);
  }

  /** Appends the parameter types of function type `t`; returns how many. */
  private params(t: CType): number {
    const ps = t.params ?? [];
    const params = this.out.params;
    for (let i = 0; i < ps.length; i++) params.u32(params.add(), this.ref(ps[i]));
    return ps.length;
  }
}
