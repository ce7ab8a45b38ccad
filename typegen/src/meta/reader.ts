// The metadata file -> validated records (the same checks the runtime's loader makes, in
// runtime/src/meta_load.c). Any inconsistency ends in TypegenFormatError naming the file, the
// section and the byte offset. Used by tests and by tools that read metadata from disk.

import { TypegenFormatError } from "../errors";
import {
  ENUMERATOR,
  FRAME,
  FRAME_VAR,
  HEADER,
  Kind,
  MEMBER,
  META_MAGIC,
  META_NONE,
  META_VERSION,
  NSECTIONS,
  SECTION_NAMES,
  SITE,
  SITE_INLINED,
  SITE_SUBALLOC,
  SITE_WRAPPER,
  STATIC,
  STATIC_FUNCTION,
  STATIC_VARIABLE,
  Section,
  TYPE,
  readRecord,
  recordSize,
} from "./format";

export interface MetaType {
  index: number;
  name: string;
  cName: string;
  size: number;
  kind: Kind;
  encoding: number;
  flags: number;
  bitSize: number;
  /** Type index or META_NONE. */
  related: number;
  count: number;
  first: number;
}
export interface MetaMember {
  name: string;
  type: number;
  offset: number;
  bitOffset: number;
  bitSize: number;
}
export interface MetaEnumerator {
  name: string;
  value: number;
}
export interface MetaStatic {
  vaddr: number;
  size: number;
  name: string;
  type: number;
  kind: number;
}
export interface MetaFrame {
  lo: number;
  hi: number;
  function: string;
  type: number;
  firstVar: number;
  nvars: number;
}
export interface MetaFrameVar {
  pcLo: number;
  pcHi: number;
  cfaOffset: number;
  name: string;
  type: number;
  flags: number;
}
export interface MetaSite {
  vaddr: number;
  type: number;
  flags: number;
}

export interface MetaFile {
  buildId: string;
  types: MetaType[];
  members: MetaMember[];
  enumerators: MetaEnumerator[];
  params: number[];
  statics: MetaStatic[];
  frames: MetaFrame[];
  frameVars: MetaFrameVar[];
  sites: MetaSite[];
  /** Canonical name -> type index. */
  byName: Map<string, number>;
}

export function readMeta(buf: Buffer, file = "(metadata)"): MetaFile {
  const fail = (section: string, offset: number, detail: string): never => {
    throw new TypegenFormatError(file, section, offset, detail);
  };
  if (buf.length < HEADER.size)
    fail("header", 0, `file is ${buf.length} bytes, shorter than the ${HEADER.size}-byte header`);
  if (buf.toString("latin1", 0, 8) !== META_MAGIC)
    fail("header", 0, "bad magic (not an allocs metadata file)");
  const h = readRecord(buf, 0, HEADER);
  if (h.version !== META_VERSION) fail("header", 8, `version ${h.version}, expected ${META_VERSION}`);
  if (h.header_size !== HEADER.size)
    fail("header", 12, `header_size ${h.header_size}, expected ${HEADER.size}`);
  if (h.file_size !== buf.length)
    fail("header", 16, `file_size ${h.file_size} but the file has ${buf.length} bytes`);
  if (h.build_id_len > 20) fail("header", 44, `build_id_len ${h.build_id_len} > 20`);
  const buildId = buf.toString("hex", 24, 24 + h.build_id_len);

  const off: number[] = [];
  const cnt: number[] = [];
  for (let s = 0; s < NSECTIONS; s++) {
    const o = h[`sections[${s}].offset`];
    const c = h[`sections[${s}].count`];
    const at = 56 + 16 * s;
    if (o % 8 !== 0) fail("header", at, `section ${SECTION_NAMES[s]} offset ${o} is not 8-byte aligned`);
    if (c > 0 && o < HEADER.size) fail("header", at, `section ${SECTION_NAMES[s]} overlaps the header`);
    const bytes = c * recordSize(s as Section);
    if (!Number.isSafeInteger(bytes) || o > buf.length || bytes > buf.length - o)
      fail("header", at, `section ${SECTION_NAMES[s]} [${o}, +${c} records) runs past the end of the file`);
    if (s !== Section.STRINGS && c > 0xfffffffe)
      fail("header", at + 8, `section ${SECTION_NAMES[s]} has too many records`);
    off.push(o);
    cnt.push(c);
  }
  const sOff = off[Section.STRINGS];
  const sLen = cnt[Section.STRINGS];
  if (sLen < 1 || buf[sOff] !== 0) fail("STRINGS", 0, "must start with the empty string");
  if (buf[sOff + sLen - 1] !== 0) fail("STRINGS", sLen - 1, "does not end with a NUL");
  const strCache = new Map<number, string>();
  const str = (o: number, section: string, at: number): string => {
    if (o >= sLen) fail(section, at, `string offset ${o} outside STRINGS (${sLen} bytes)`);
    let s = strCache.get(o);
    if (s === undefined) {
      const end = buf.indexOf(0, sOff + o);
      s = buf.toString("utf8", sOff + o, end);
      strCache.set(o, s);
    }
    return s;
  };
  const ntypes = cnt[Section.TYPES];
  const typeRef = (t: number, section: string, at: number, noneOk: boolean): number => {
    if (t === META_NONE && noneOk) return t;
    if (t >= ntypes) fail(section, at, `type index ${t} out of range (${ntypes} types)`);
    return t;
  };
  const range = (
    first: number,
    count: number,
    n: number,
    what: string,
    section: string,
    at: number,
  ): void => {
    if (first > n || count > n - first) fail(section, at, `${what} ${first} + ${count} out of range (${n})`);
  };
  const records = <T>(s: Section, l: typeof TYPE, f: (r: Record<string, number>, at: number) => T): T[] => {
    const out: T[] = [];
    for (let i = 0; i < cnt[s]; i++) out.push(f(readRecord(buf, off[s] + i * l.size, l), i * l.size));
    return out;
  };

  const types = records(Section.TYPES, TYPE, (r, at) => {
    const t: MetaType = {
      index: at / TYPE.size,
      name: str(r.name, "TYPES", at),
      cName: str(r.c_name, "TYPES", at + 4),
      size: r.size,
      kind: r.kind,
      encoding: r.encoding,
      flags: r.flags,
      bitSize: r.bit_size,
      related: r.related,
      count: r.count,
      first: r.first,
    };
    if (t.kind > Kind.FRAME) fail("TYPES", at + 16, `kind ${t.kind} unknown`);
    if (t.name === "") fail("TYPES", at, "a type without a name");
    typeRef(t.related, "TYPES", at + 24, true);
    if (t.kind === Kind.STRUCT || t.kind === Kind.UNION || t.kind === Kind.FRAME)
      range(t.first, t.count, cnt[Section.MEMBERS], "members", "TYPES", at + 28);
    else if (t.kind === Kind.ENUM)
      range(t.first, t.count, cnt[Section.ENUMERATORS], "enumerators", "TYPES", at + 28);
    else if (t.kind === Kind.FUNCTION)
      range(t.first, t.count, cnt[Section.PARAMS], "params", "TYPES", at + 28);
    else if (t.kind === Kind.ARRAY && t.related === META_NONE)
      fail("TYPES", at + 24, "an array without an element type");
    return t;
  });
  const byName = new Map<string, number>();
  for (const t of types) {
    if (byName.has(t.name)) fail("TYPES", t.index * TYPE.size, `canonical name ${t.name} is not unique`);
    byName.set(t.name, t.index);
  }
  const members = records(Section.MEMBERS, MEMBER, (r, at) => ({
    name: str(r.name, "MEMBERS", at),
    type: typeRef(r.type, "MEMBERS", at + 4, true),
    offset: r.offset,
    bitOffset: r.bit_offset,
    bitSize: r.bit_size,
  }));
  const enumerators = records(Section.ENUMERATORS, ENUMERATOR, (r, at) => ({
    name: str(r.name, "ENUMERATORS", at),
    value: r.value,
  }));
  const params: number[] = [];
  for (let i = 0; i < cnt[Section.PARAMS]; i++)
    params.push(typeRef(buf.readUInt32LE(off[Section.PARAMS] + 4 * i), "PARAMS", 4 * i, true));
  let prev = 0;
  const statics = records(Section.STATICS, STATIC, (r, at) => {
    if (r.vaddr < prev) fail("STATICS", at, "not sorted by vaddr");
    prev = r.vaddr;
    if (r.kind !== STATIC_FUNCTION && r.kind !== STATIC_VARIABLE)
      fail("STATICS", at + 24, `kind ${r.kind} unknown`);
    return {
      vaddr: r.vaddr,
      size: r.size,
      name: str(r.name, "STATICS", at + 16),
      type: typeRef(r.type, "STATICS", at + 20, true),
      kind: r.kind,
    };
  });
  prev = 0;
  const frames = records(Section.FRAMES, FRAME, (r, at) => {
    if (r.lo < prev) fail("FRAMES", at, "not sorted by lo");
    prev = r.lo;
    if (r.hi < r.lo) fail("FRAMES", at + 8, "hi < lo");
    const type = typeRef(r.type, "FRAMES", at + 20, false);
    if (types[type].kind !== Kind.FRAME) fail("FRAMES", at + 20, `type ${type} is not a FRAME type`);
    range(r.first_var, r.nvars, cnt[Section.FRAME_VARS], "frame vars", "FRAMES", at + 24);
    return {
      lo: r.lo,
      hi: r.hi,
      function: str(r.function, "FRAMES", at + 16),
      type,
      firstVar: r.first_var,
      nvars: r.nvars,
    };
  });
  const frameVars = records(Section.FRAME_VARS, FRAME_VAR, (r, at) => {
    if (r.pc_hi < r.pc_lo) fail("FRAME_VARS", at + 8, "pc_hi < pc_lo");
    return {
      pcLo: r.pc_lo,
      pcHi: r.pc_hi,
      cfaOffset: r.cfa_offset,
      name: str(r.name, "FRAME_VARS", at + 24),
      type: typeRef(r.type, "FRAME_VARS", at + 28, true),
      flags: r.flags,
    };
  });
  prev = 0;
  const sites = records(Section.SITES, SITE, (r, at) => {
    if (r.vaddr < prev) fail("SITES", at, "not sorted by vaddr");
    prev = r.vaddr;
    // A WRAPPER, INLINED or SUBALLOC record may have no type.
    const noneOk = (r.flags & (SITE_WRAPPER | SITE_INLINED | SITE_SUBALLOC)) !== 0;
    return { vaddr: r.vaddr, type: typeRef(r.type, "SITES", at + 8, noneOk), flags: r.flags };
  });
  return { buildId, types, members, enumerators, params, statics, frames, frameVars, sites, byName };
}
