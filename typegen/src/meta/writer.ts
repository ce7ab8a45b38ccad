// TypeModel (+ allocation-site types) -> the metadata file (docs/metadata-format.md). File type
// index i is model type id i; FRAME types are appended after the model's types. Strings are
// deduplicated; statics, frames and sites are sorted by address as the format requires.

import { CType, FunctionInfo, LocalVar, TypeModel, TypeId } from "../model/types";
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

class Strings {
  private map = new Map<string, number>([["", 0]]);
  private parts: Buffer[] = [Buffer.alloc(1)];
  size = 1;
  add(s: string | null | undefined): number {
    if (!s) return 0;
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    const b = Buffer.from(s + "\0", "utf8");
    const off = this.size;
    this.parts.push(b);
    this.size += b.length;
    this.map.set(s, off);
    return off;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
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
  const add = (v: LocalVar, lo: number, hi: number, cfaOffset: number): void => {
    if (hi > lo) out.push({ pcLo: lo, pcHi: hi, cfaOffset, name: v.name, type: v.type, param: v.isParam });
  };
  let segments: ReturnType<CfaSegments> | undefined;
  const fromRsp = (v: LocalVar, lo: number, hi: number, off: number): void => {
    segments ??= cfa ? cfa(f.lowPc) : [];
    for (const s of segments)
      if (s.rule?.reg === DWARF_RSP) add(v, Math.max(lo, s.lo), Math.min(hi, s.hi), off - s.rule.offset);
  };
  for (const v of [...f.params, ...f.locals]) {
    for (const r of v.locations) {
      if (r.loc.kind === "fbreg") {
        const off = r.loc.offset;
        for (const fb of f.frameBase) {
          const lo = Math.max(r.lo, fb.lo);
          const hi = Math.min(r.hi, fb.hi);
          if (fb.loc.kind === "reg" && fb.loc.reg === DWARF_RSP) {
            fromRsp(v, lo, hi, off);
            continue;
          }
          const base = frameBaseOffset(fb.loc);
          if (base === null) continue;
          add(v, lo, hi, base + off);
        }
      } else if (r.loc.kind === "breg" && r.loc.reg === DWARF_RBP) {
        add(v, r.lo, r.hi, RBP_FROM_CFA + r.loc.offset);
      } else if (r.loc.kind === "breg" && r.loc.reg === DWARF_RSP) {
        fromRsp(v, r.lo, r.hi, r.loc.offset);
      }
    }
  }
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
  const types: Values[] = [];
  const members: Values[] = [];
  const enumerators: Values[] = [];
  const params: number[] = [];
  const nModel = model.types.length;
  const isVoid = (id: TypeId | undefined): boolean => id === undefined || model.types[id]?.kind === "void";
  const ref = (id: TypeId | undefined): number =>
    id === undefined || id < 0 || id >= nModel ? META_NONE : id;
  const names = uniqueNames(model.types);

  for (const t of model.types) {
    const kind = kindOf(t);
    const rec: Values = {
      name: strings.add(names[t.id]),
      c_name: strings.add(t.cName),
      size: t.byteSize ?? 0,
      kind,
      encoding: t.encoding ?? 0,
      flags: 0,
      bit_size: t.bitSize ?? 0,
      related: META_NONE,
      count: 0,
      first: 0,
    };
    let flags = 0;
    if ((t.kind === "struct" || t.kind === "union" || t.kind === "enum") && t.complete === false)
      flags |= TYPE_F_INCOMPLETE;
    if (t.kind === "opaque") flags |= TYPE_F_INCOMPLETE;
    if (kind === Kind.POINTER) rec.related = isVoid(t.target) ? META_NONE : ref(t.target);
    if (kind === Kind.ARRAY) {
      rec.related = ref(t.target);
      // The count is 32 bits: a longer array is written as unbounded; its size (64 bits) stays.
      rec.count = t.count !== null && t.count !== undefined && t.count <= 0xffffffff ? t.count : 0;
    }
    if (kind === Kind.ENUM) {
      rec.related = ref(t.target);
      const es = t.enumerators ?? [];
      rec.first = enumerators.length;
      rec.count = es.length;
      for (const e of es)
        enumerators.push({
          name: strings.add(e.name),
          // An unsigned 2^64 - 1 is 2^64 as a double; wrapped to 64 bits that would be 0.
          value: e.value >= 2 ** 64 ? -1n : BigInt.asIntN(64, BigInt(Math.trunc(e.value))),
        });
    }
    if (kind === Kind.STRUCT || kind === Kind.UNION) {
      const ms = t.members ?? [];
      rec.first = members.length;
      rec.count = ms.length;
      for (const m of ms) {
        const bitSize = m.bitSize ?? 0;
        const bitOffset = bitSize ? (m.bitOffset ?? m.offset * 8) - m.offset * 8 : 0;
        members.push({
          name: strings.add(m.name),
          type: ref(m.type),
          offset: m.offset,
          bit_offset: bitOffset,
          bit_size: bitSize,
        });
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
      rec.related = isVoid(t.returns) ? META_NONE : ref(t.returns);
      if (t.varargs) flags |= TYPE_F_VARARGS;
      const ps = t.params ?? [];
      rec.first = params.length;
      rec.count = ps.length;
      for (const p of ps) params.push(ref(p));
    }
    rec.flags = flags;
    types.push(rec);
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
  const frames: Values[] = [];
  const frameVarsOut: Values[] = [];
  const usedNames = new Set(names);
  const byLo = [...fns].sort((a, b) => a.lowPc - b.lowPc);
  let lastLo = -1;
  for (const f of byLo) {
    if (f.lowPc === lastLo) continue; /* an alias of the previous function */
    lastLo = f.lowPc;
    const vars = frameVars(f, o.cfa);
    const inFrame = vars.filter((v) => v.cfaOffset < 0);
    const size = inFrame.reduce((m, v) => Math.max(m, -v.cfaOffset), 0);
    const seen = new Set<string>();
    const fm: { name: string; type: number; offset: number }[] = [];
    for (const v of inFrame) {
      const k = `${v.name}@${v.cfaOffset}:${v.type}`;
      if (seen.has(k)) continue;
      seen.add(k);
      fm.push({ name: v.name, type: ref(v.type), offset: v.cfaOffset + size });
    }
    fm.sort((a, b) => a.offset - b.offset || (a.name < b.name ? -1 : 1));
    let tname = `__FRAME_${f.name}`;
    if (usedNames.has(tname)) tname = `__FRAME_${f.name}$${f.lowPc.toString(16)}`;
    usedNames.add(tname);
    const typeIndex = types.length;
    types.push({
      name: strings.add(tname),
      c_name: strings.add(`frame of ${f.name}`),
      size,
      kind: Kind.FRAME,
      encoding: 0,
      flags: 0,
      bit_size: 0,
      related: META_NONE,
      count: fm.length,
      first: members.length,
    });
    for (const m of fm) members.push({ name: strings.add(m.name), type: m.type, offset: m.offset });
    frames.push({
      lo: f.lowPc,
      hi: f.highPc,
      function: strings.add(f.name),
      type: typeIndex,
      first_var: frameVarsOut.length,
      nvars: vars.length,
    });
    for (const v of vars)
      frameVarsOut.push({
        pc_lo: v.pcLo,
        pc_hi: v.pcHi,
        cfa_offset: v.cfaOffset,
        name: strings.add(v.name),
        type: ref(v.type),
        flags: v.param ? FRAME_VAR_PARAM : 0,
      });
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

  const staticRecs: Values[] = statics.map((s) => ({
    vaddr: s.vaddr,
    size: s.size,
    name: strings.add(s.name),
    type: s.type,
    kind: s.kind,
  }));

  // Lay out: the header, then each section 8-byte aligned, in section order.
  const strBytes = strings.bytes();
  const counts = [
    strBytes.length,
    types.length,
    members.length,
    enumerators.length,
    params.length,
    staticRecs.length,
    frames.length,
    frameVarsOut.length,
    siteRecs.length,
  ];
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
  const put = (s: Section, recs: Values[], l: typeof TYPE): void => {
    for (let i = 0; i < recs.length; i++) writeRecord(buf, offsets[s] + i * l.size, l, recs[i]);
  };
  put(Section.TYPES, types, TYPE);
  put(Section.MEMBERS, members, MEMBER);
  put(Section.ENUMERATORS, enumerators, ENUMERATOR);
  for (let i = 0; i < params.length; i++) buf.writeUInt32LE(params[i], offsets[Section.PARAMS] + 4 * i);
  put(Section.STATICS, staticRecs, STATIC);
  put(Section.FRAMES, frames, FRAME);
  put(Section.FRAME_VARS, frameVarsOut, FRAME_VAR);
  put(
    Section.SITES,
    siteRecs.map((s) => ({ vaddr: s.vaddr, type: s.type, flags: s.flags })),
    SITE,
  );
  return buf;
}
