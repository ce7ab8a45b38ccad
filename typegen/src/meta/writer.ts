// TypeModel (+ allocation-site types) -> the metadata file (docs/metadata-format.md). File type
// index i is model type id i; FRAME types are appended after the model's types. Strings are
// deduplicated; statics, frames and sites are sorted by address as the format requires.

import { CType, FunctionInfo, LocatedRange, TypeModel, TypeId } from "../model/types";
import { LazyFunction } from "../model/lazy-locations";
import { summaryCode } from "../model/names";
import {
  ENUMERATOR,
  FRAME,
  FRAME_VAR,
  FRAME_VAR_PARAM,
  HEADER,
  Kind,
  MEMBER,
  META_MAGIC,
  META_NONE,
  META_VERSION,
  NSECTIONS,
  SITE,
  SITE_INLINED,
  SITE_SUBALLOC,
  SITE_WRAPPER,
  STATIC,
  STATIC_FUNCTION,
  STATIC_VARIABLE,
  Section,
  TYPE,
  TYPE_F_FLEXIBLE,
  TYPE_F_INCOMPLETE,
  TYPE_F_VARARGS,
  RecordLayout,
  Values,
  recordSize,
  writeRecord,
} from "./format";

/**
 * One allocation site's type: the input the allocation-site analysis (typegen/src/sites/, or
 * later the DWARF-only inference) gives the writer. `vaddr` is the return address of the
 * allocating call (ELF virtual address), `type` a model type id, `flags` ALLOCS_SITE_*.
 */
export interface SiteType {
  vaddr: number;
  type: TypeId;
  flags: number;
}
export type SiteTypes = SiteType[];

/** x86-64 with a frame pointer: after `push %rbp; mov %rsp,%rbp`, rbp = CFA - 16. */
const RBP_FROM_CFA = -16;
const DWARF_RBP = 6;
const DWARF_RSP = 7;

/** The string table: each distinct string once, NUL-terminated, written straight into one growing
 * buffer (a Buffer per string was most of the writer's garbage). */
class Strings {
  private map = new Map<string, number>([["", 0]]);
  private buf = Buffer.alloc(1 << 16);
  size = 1;
  add(s: string | null | undefined): number {
    if (!s) return 0;
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const need = this.size + 3 * s.length + 1;
    if (need > this.buf.length) {
      const b = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(b, 0, 0, this.size);
      this.buf = b;
    }
    const off = this.size;
    this.size += this.buf.write(s, off, "utf8");
    this.buf[this.size++] = 0;
    this.map.set(s, off);
    return off;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.size);
  }
}

/** One section's records, appended into a growing buffer (zeroed: fields not written stay 0). */
class Records {
  buf: Buffer;
  n = 0;
  constructor(readonly size: number) {
    this.buf = Buffer.alloc(size * 1024);
  }
  /** Appends a record; returns its byte offset in `buf`. */
  add(): number {
    const at = this.n * this.size;
    if (at + this.size > this.buf.length) {
      const b = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(b);
      this.buf = b;
    }
    this.n++;
    return at;
  }
}

/** Byte offsets of a record's fields, by name (format.ts is the one source of the layouts). */
function fieldsOf(l: RecordLayout): Record<string, number> {
  const o: Record<string, number> = {};
  for (const f of l.fields) o[f.name] = f.offset;
  return o;
}
const T_ = fieldsOf(TYPE);
const M_ = fieldsOf(MEMBER);
const E_ = fieldsOf(ENUMERATOR);
const S_ = fieldsOf(STATIC);
const F_ = fieldsOf(FRAME);
const V_ = fieldsOf(FRAME_VAR);
const SI_ = fieldsOf(SITE);

const TWO32 = 2 ** 32;

/**
 * A 64-bit field, as writeRecord writes it: a number is exact up to 2^53 and goes as two 32-bit
 * halves; anything else (2^64 standing for 2^64 - 1, or a value writeRecord refuses) goes
 * through the same BigInt path as before, with the same result or error.
 */
function u64(b: Buffer, at: number, x: number): void {
  if (x >= 0 && x <= Number.MAX_SAFE_INTEGER && Math.floor(x) === x) {
    b.writeUInt32LE(x % TWO32, at);
    b.writeUInt32LE(Math.floor(x / TWO32), at + 4);
  } else b.writeBigUInt64LE(x === 2 ** 64 ? 2n ** 64n - 1n : BigInt(x), at);
}
function i64(b: Buffer, at: number, x: number): void {
  if (x >= -Number.MAX_SAFE_INTEGER && x <= Number.MAX_SAFE_INTEGER && Math.floor(x) === x) {
    b.writeUInt32LE(x >>> 0, at);
    b.writeInt32LE(Math.floor(x / TWO32), at + 4);
  } else b.writeBigInt64LE(x === 2 ** 63 ? 2n ** 63n - 1n : BigInt(x), at);
}

interface FrameVarOut {
  pcLo: number;
  pcHi: number;
  cfaOffset: number;
  name: string;
  type: TypeId;
  param: boolean;
}

/** The CFA-relative offset of a frame base location, or null when it is not expressible. */
function frameBaseOffset(loc: FunctionInfo["frameBase"][number]["loc"]): number | null {
  if (loc.kind === "cfa") return 0;
  if (loc.kind === "reg" && loc.reg === DWARF_RBP) return RBP_FROM_CFA;
  if (loc.kind === "breg" && loc.reg === DWARF_RBP) return RBP_FROM_CFA + loc.offset;
  return null;
}

/** Where each of a function's variables lives relative to the CFA, per PC range. An
 * rsp-relative location (clang's frame base without a frame pointer) is placed through the CFA
 * rule over its range, where that rule is "CFA = rsp + N". */
export function frameVars(f: FunctionInfo, cfa?: CfaSegments): FrameVarOut[] {
  const out: FrameVarOut[] = [];
  const lazy = f instanceof LazyFunction ? f : undefined;
  // Decoded only when a variable is frame-base relative, as before (a malformed one fails then).
  let frameBase: LocatedRange[] | undefined;
  let segments: ReturnType<CfaSegments> | undefined;
  const one = (name: () => string, type: TypeId, param: boolean, locations: LocatedRange[]): void => {
    const add = (lo: number, hi: number, cfaOffset: number): void => {
      if (hi > lo) out.push({ pcLo: lo, pcHi: hi, cfaOffset, name: name(), type, param });
    };
    const fromRsp = (lo: number, hi: number, off: number): void => {
      segments ??= cfa ? cfa(f.lowPc) : [];
      for (const s of segments)
        if (s.rule?.reg === DWARF_RSP) add(Math.max(lo, s.lo), Math.min(hi, s.hi), off - s.rule.offset);
    };
    for (const r of locations) {
      if (r.loc.kind === "fbreg") {
        const off = r.loc.offset;
        frameBase ??= lazy ? lazy.frameBaseOnce() : f.frameBase;
        for (const fb of frameBase) {
          const lo = Math.max(r.lo, fb.lo);
          const hi = Math.min(r.hi, fb.hi);
          if (fb.loc.kind === "reg" && fb.loc.reg === DWARF_RSP) {
            fromRsp(lo, hi, off);
            continue;
          }
          const base = frameBaseOffset(fb.loc);
          if (base === null) continue;
          add(lo, hi, base + off);
        }
      } else if (r.loc.kind === "breg" && r.loc.reg === DWARF_RBP) {
        add(r.lo, r.hi, RBP_FROM_CFA + r.loc.offset);
      } else if (r.loc.kind === "breg" && r.loc.reg === DWARF_RSP) {
        fromRsp(r.lo, r.hi, r.loc.offset);
      }
    }
  };
  if (lazy) lazy.forEachVar(one);
  else for (const v of [...f.params, ...f.locals]) one(() => v.name, v.type, v.isParam, v.locations);
  return out;
}

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

export interface WriteOptions {
  /** Overrides the model's build-id (hex). */
  buildId?: string;
  /** The binary's CFA rules (.eh_frame, sites/cfi.ts): rsp-relative locations become
   * CFA-relative where the rule is "CFA = rsp + N" (clang without a frame pointer). */
  cfa?: CfaSegments;
}

/** The CFA rule over each stretch of the function holding a pc (CfaRules.segments). */
export type CfaSegments = (
  pc: number,
) => { lo: number; hi: number; rule: { reg: number; offset: number } | undefined }[];

export function writeMeta(model: TypeModel, sites: SiteTypes = [], o: WriteOptions = {}): Buffer {
  const strings = new Strings();
  const types = new Records(TYPE.size);
  const members = new Records(MEMBER.size);
  const enumerators = new Records(ENUMERATOR.size);
  const params: number[] = [];
  const nModel = model.types.length;
  const isVoid = (id: TypeId | undefined): boolean => id === undefined || model.types[id]?.kind === "void";
  const ref = (id: TypeId | undefined): number =>
    id === undefined || id < 0 || id >= nModel ? META_NONE : id;
  const names = uniqueNames(model.types);

  // Records are written field by field in the order writeRecord took them from a record object;
  // strings are added in the same order, so the string table is laid out as it always was.
  for (const t of model.types) {
    const kind = kindOf(t);
    const at = types.add();
    let b = types.buf;
    b.writeUInt32LE(strings.add(names[t.id]), at + T_.name);
    b.writeUInt32LE(strings.add(t.cName), at + T_.c_name);
    u64(b, at + T_.size, t.byteSize ?? 0);
    b.writeUInt8(kind, at + T_.kind);
    b.writeUInt8(t.encoding ?? 0, at + T_.encoding);
    b.writeUInt32LE(t.bitSize ?? 0, at + T_.bit_size);
    let related = META_NONE;
    let count = 0;
    let first = 0;
    let flags = 0;
    if ((t.kind === "struct" || t.kind === "union" || t.kind === "enum") && t.complete === false)
      flags |= TYPE_F_INCOMPLETE;
    if (t.kind === "opaque") flags |= TYPE_F_INCOMPLETE;
    if (kind === Kind.POINTER) related = isVoid(t.target) ? META_NONE : ref(t.target);
    if (kind === Kind.ARRAY) {
      related = ref(t.target);
      // The count is 32 bits: a longer array is written as unbounded; its size (64 bits) stays.
      count = t.count !== null && t.count !== undefined && t.count <= 0xffffffff ? t.count : 0;
    }
    if (kind === Kind.ENUM) {
      related = ref(t.target);
      const es = t.enumerators ?? [];
      first = enumerators.n;
      count = es.length;
      for (const e of es) {
        const ea = enumerators.add();
        const eb = enumerators.buf;
        eb.writeUInt32LE(strings.add(e.name), ea + E_.name);
        // An unsigned 2^64 - 1 is 2^64 as a double; wrapped to 64 bits that would be 0.
        const v = Math.trunc(e.value);
        if (e.value >= 2 ** 64) i64(eb, ea + E_.value, -1);
        else if (v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER) i64(eb, ea + E_.value, v);
        else eb.writeBigInt64LE(BigInt.asIntN(64, BigInt(v)), ea + E_.value);
      }
    }
    if (kind === Kind.STRUCT || kind === Kind.UNION) {
      const ms = t.members ?? [];
      first = members.n;
      count = ms.length;
      for (const m of ms) {
        const bitSize = m.bitSize ?? 0;
        const bitOffset = bitSize ? (m.bitOffset ?? m.offset * 8) - m.offset * 8 : 0;
        const ma = members.add();
        const mb = members.buf;
        mb.writeUInt32LE(strings.add(m.name), ma + M_.name);
        mb.writeUInt32LE(ref(m.type), ma + M_.type);
        u64(mb, ma + M_.offset, m.offset);
        mb.writeUInt16LE(bitOffset, ma + M_.bit_offset);
        mb.writeUInt16LE(bitSize, ma + M_.bit_size);
      }
      const last = ms[ms.length - 1];
      if (
        kind === Kind.STRUCT &&
        last &&
        model.types[last.type]?.kind === "array" &&
        (model.types[last.type].count === null || model.types[last.type].count === undefined)
      )
        flags |= TYPE_F_FLEXIBLE;
    }
    if (kind === Kind.FUNCTION) {
      related = isVoid(t.returns) ? META_NONE : ref(t.returns);
      if (t.varargs) flags |= TYPE_F_VARARGS;
      const ps = t.params ?? [];
      first = params.length;
      count = ps.length;
      for (const p of ps) params.push(ref(p));
    }
    b = types.buf;
    b.writeUInt16LE(flags, at + T_.flags);
    b.writeUInt32LE(related, at + T_.related);
    b.writeUInt32LE(count, at + T_.count);
    b.writeUInt32LE(first, at + T_.first);
  }

  // Statics: variables (TLS ones have no address) and functions, sorted by address.
  const statics: { vaddr: number; size: number; name: string; type: number; kind: number }[] = [];
  for (const s of model.statics) {
    if (s.tls) continue;
    statics.push({
      vaddr: s.addr,
      size: s.size ?? model.types[s.type]?.byteSize ?? 0,
      name: s.name,
      type: ref(s.type),
      kind: STATIC_VARIABLE,
    });
  }
  const fns = model.functions.filter((f) => f.highPc > f.lowPc);
  for (const f of fns)
    statics.push({
      vaddr: f.lowPc,
      size: f.highPc - f.lowPc,
      name: f.name,
      type: ref(f.type),
      kind: STATIC_FUNCTION,
    });
  statics.sort(
    (a, b) => a.vaddr - b.vaddr || a.kind - b.kind || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );

  // Frames: one FRAME type per function (appended after the model's types).
  const frames = new Records(FRAME.size);
  const frameVarsOut = new Records(FRAME_VAR.size);
  const usedNames = new Set(names);
  const byLo = [...fns].sort((a, b) => a.lowPc - b.lowPc);
  let lastLo = -1;
  for (const f of byLo) {
    if (f.lowPc === lastLo) continue; /* an alias of the previous function */
    lastLo = f.lowPc;
    const vars = frameVars(f, o.cfa);
    let size = 0;
    for (const v of vars) if (v.cfaOffset < 0) size = Math.max(size, -v.cfaOffset);
    // Each (name, offset, type) once, the first met; by offset, variables at one offset compared
    // by name and type (no key string per variable).
    const fm: FrameMember[] = [];
    const atOffset = new Map<number, FrameMember[]>();
    for (const v of vars) {
      if (v.cfaOffset >= 0) continue;
      let same = atOffset.get(v.cfaOffset);
      if (same === undefined) atOffset.set(v.cfaOffset, (same = []));
      else if (same.some((m) => m.name === v.name && m.rawType === v.type)) continue;
      const m = { name: v.name, rawType: v.type, type: ref(v.type), offset: v.cfaOffset + size };
      same.push(m);
      fm.push(m);
    }
    fm.sort((a, b) => a.offset - b.offset || (a.name < b.name ? -1 : 1));
    let tname = `__FRAME_${f.name}`;
    if (usedNames.has(tname)) tname = `__FRAME_${f.name}$${f.lowPc.toString(16)}`;
    usedNames.add(tname);
    const typeIndex = types.n;
    const at = types.add();
    const b = types.buf;
    b.writeUInt32LE(strings.add(tname), at + T_.name);
    b.writeUInt32LE(strings.add(`frame of ${f.name}`), at + T_.c_name);
    u64(b, at + T_.size, size);
    b.writeUInt8(Kind.FRAME, at + T_.kind);
    b.writeUInt32LE(META_NONE, at + T_.related);
    b.writeUInt32LE(fm.length, at + T_.count);
    b.writeUInt32LE(members.n, at + T_.first);
    for (const m of fm) {
      const ma = members.add();
      const mb = members.buf;
      mb.writeUInt32LE(strings.add(m.name), ma + M_.name);
      mb.writeUInt32LE(m.type, ma + M_.type);
      u64(mb, ma + M_.offset, m.offset);
    }
    const fa = frames.add();
    const fb = frames.buf;
    u64(fb, fa + F_.lo, f.lowPc);
    u64(fb, fa + F_.hi, f.highPc);
    fb.writeUInt32LE(strings.add(f.name), fa + F_.function);
    fb.writeUInt32LE(typeIndex, fa + F_.type);
    fb.writeUInt32LE(frameVarsOut.n, fa + F_.first_var);
    fb.writeUInt32LE(vars.length, fa + F_.nvars);
    for (const v of vars) {
      const va = frameVarsOut.add();
      const vb = frameVarsOut.buf;
      u64(vb, va + V_.pc_lo, v.pcLo);
      u64(vb, va + V_.pc_hi, v.pcHi);
      i64(vb, va + V_.cfa_offset, v.cfaOffset);
      vb.writeUInt32LE(strings.add(v.name), va + V_.name);
      vb.writeUInt32LE(ref(v.type), va + V_.type);
      vb.writeUInt32LE(v.param ? FRAME_VAR_PARAM : 0, va + V_.flags);
    }
  }

  // A WRAPPER, INLINED or SUBALLOC record may have no type (META_NONE): it still says where
  // the site is.
  const siteRecs = [...sites]
    .filter(
      (s) =>
        (s.type >= 0 && s.type < nModel) ||
        (s.type === -1 && s.flags & (SITE_WRAPPER | SITE_INLINED | SITE_SUBALLOC)),
    )
    .map((s) => (s.type === -1 ? { ...s, type: META_NONE } : s))
    .sort((a, b) => a.vaddr - b.vaddr)
    .filter((s, i, a) => i === 0 || a[i - 1].vaddr !== s.vaddr);

  const staticRecs = new Records(STATIC.size);
  for (const s of statics) {
    const at = staticRecs.add();
    const b = staticRecs.buf;
    u64(b, at + S_.vaddr, s.vaddr);
    u64(b, at + S_.size, s.size);
    b.writeUInt32LE(strings.add(s.name), at + S_.name);
    b.writeUInt32LE(s.type, at + S_.type);
    b.writeUInt32LE(s.kind, at + S_.kind);
  }
  const siteOut = new Records(SITE.size);
  for (const s of siteRecs) {
    const at = siteOut.add();
    const b = siteOut.buf;
    u64(b, at + SI_.vaddr, s.vaddr);
    b.writeUInt32LE(s.type, at + SI_.type);
    b.writeUInt32LE(s.flags, at + SI_.flags);
  }

  // Lay out: the header, then each section 8-byte aligned, in section order.
  const strBytes = strings.bytes();
  const sections: (Records | null)[] = [
    null,
    types,
    members,
    enumerators,
    null,
    staticRecs,
    frames,
    frameVarsOut,
    siteOut,
  ];
  const counts = sections.map((r, s) => (r ? r.n : s === Section.STRINGS ? strBytes.length : params.length));
  const offsets: number[] = [];
  let at = HEADER.size;
  for (let s = 0; s < NSECTIONS; s++) {
    at = (at + 7) & ~7;
    offsets.push(at);
    at += counts[s] * recordSize(s as Section);
  }
  const fileSize = (at + 7) & ~7;
  const buf = Buffer.alloc(fileSize);
  const idHex = o.buildId ?? model.buildId ?? "";
  const id = Buffer.from(idHex, "hex").subarray(0, 20);
  const header: Values = {
    magic: META_MAGIC,
    version: META_VERSION,
    header_size: HEADER.size,
    file_size: fileSize,
    build_id: id,
    build_id_len: id.length,
    flags: 0,
  };
  for (let s = 0; s < NSECTIONS; s++) {
    header[`sections[${s}].offset`] = offsets[s];
    header[`sections[${s}].count`] = counts[s];
  }
  writeRecord(buf, 0, HEADER, header);
  strBytes.copy(buf, offsets[Section.STRINGS]);
  for (let s = 0; s < NSECTIONS; s++) {
    const r = sections[s];
    if (r) r.buf.copy(buf, offsets[s], 0, r.n * r.size);
  }
  for (let i = 0; i < params.length; i++) buf.writeUInt32LE(params[i], offsets[Section.PARAMS] + 4 * i);
  return buf;
}

/** A frame's member: a variable at one CFA offset (`rawType` the model id, `type` as written). */
interface FrameMember {
  name: string;
  rawType: TypeId;
  type: number;
  offset: number;
}
