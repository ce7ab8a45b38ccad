// The metadata file's record layouts, mirroring runtime/include/allocs_meta_format.h (which is
// normative). One table of fields and byte offsets per record; the writer and the reader both
// go through it, and tests/typegen/meta-format.test.ts compiles a C program printing sizeof and
// offsetof of every record and field and compares them with this table, and every constant of the
// header (magic, version, sections, kinds, flags) with its twin here.

export const META_MAGIC = "ALLOCSMD";
export const META_VERSION = 1;
export const META_SUFFIX = ".allocsmeta";
export const META_NONE = 0xffffffff;

export enum Section {
  STRINGS = 0,
  TYPES,
  MEMBERS,
  ENUMERATORS,
  PARAMS,
  STATICS,
  FRAMES,
  FRAME_VARS,
  SITES,
}
export const NSECTIONS = 9;
export const SECTION_NAMES = [
  "STRINGS",
  "TYPES",
  "MEMBERS",
  "ENUMERATORS",
  "PARAMS",
  "STATICS",
  "FRAMES",
  "FRAME_VARS",
  "SITES",
];

export enum Kind {
  VOID = 0,
  BASE,
  POINTER,
  ARRAY,
  STRUCT,
  UNION,
  ENUM,
  FUNCTION,
  FRAME,
}

export const TYPE_F_INCOMPLETE = 0x1;
export const TYPE_F_VARARGS = 0x2;
export const TYPE_F_FLEXIBLE = 0x4;
export const STATIC_FUNCTION = 1;
export const STATIC_VARIABLE = 2;
export const FRAME_VAR_PARAM = 0x1;
export const SITE_ARRAY = 0x1;
export const SITE_TRAILING = 0x2;
export const SITE_GUESSED = 0x4;
/** The call is inside an allocation wrapper: the site is its caller; SITE_ARG = CFA offset. */
export const SITE_WRAPPER = 0x8;
/** The call is in an inlined allocation wrapper's body: SITE_ARG = the inlined call's line. */
export const SITE_INLINED = 0x10;
/** The chunk starts with a SITE_ARG-byte header, then the type (a wrapper returning p + H). */
export const SITE_HEADER = 0x20;
/** A direct call to a declared suballocator (LIBALLOCS_SUBALLOC_FNS) or its free function: the
 * runtime patches it to register what it returns as a pool object of this record's type. */
export const SITE_SUBALLOC = 0x40;
/** The call enters C++ standard-library code that made the allocation (a container's push_back,
 * insert, make_shared): the site is the user's call, the library's callee its detail. */
export const SITE_LIBRARY = 0x80;
export const SITE_ARG_SHIFT = 8;
/** Every flag bit in the low byte a reader knows (the runtime refuses a file with another set). */
export const SITE_KNOWN_FLAGS =
  SITE_ARRAY |
  SITE_TRAILING |
  SITE_GUESSED |
  SITE_WRAPPER |
  SITE_INLINED |
  SITE_HEADER |
  SITE_SUBALLOC |
  SITE_LIBRARY;
/** flags with `arg` in bits 8-31 (the argument of WRAPPER or INLINED). */
export function siteFlagsWithArg(flags: number, arg: number): number {
  return (flags | (Math.min(arg, 0xffffff) << SITE_ARG_SHIFT)) >>> 0;
}

export type FieldType = "u8" | "u16" | "u32" | "u64" | "i64" | "magic8" | "bytes20";

export interface Field {
  /** The C field name (sections[i].offset for the header's array). */
  name: string;
  type: FieldType;
  offset: number;
}

export interface RecordLayout {
  /** The C struct (without "struct "). */
  cName: string;
  size: number;
  fields: Field[];
}

function layout(cName: string, size: number, fields: [string, FieldType, number][]): RecordLayout {
  return { cName, size, fields: fields.map(([name, type, offset]) => ({ name, type, offset })) };
}

const sectionFields: [string, FieldType, number][] = [];
for (let i = 0; i < NSECTIONS; i++) {
  sectionFields.push(
    [`sections[${i}].offset`, "u64", 56 + 16 * i],
    [`sections[${i}].count`, "u64", 64 + 16 * i],
  );
}

export const HEADER = layout("allocs_meta_header", 200, [
  ["magic", "magic8", 0],
  ["version", "u32", 8],
  ["header_size", "u32", 12],
  ["file_size", "u64", 16],
  ["build_id", "bytes20", 24],
  ["build_id_len", "u32", 44],
  ["flags", "u32", 48],
  ...sectionFields,
]);

export const TYPE = layout("allocs_meta_type", 40, [
  ["name", "u32", 0],
  ["c_name", "u32", 4],
  ["size", "u64", 8],
  ["kind", "u8", 16],
  ["encoding", "u8", 17],
  ["flags", "u16", 18],
  ["bit_size", "u32", 20],
  ["related", "u32", 24],
  ["count", "u32", 28],
  ["first", "u32", 32],
  ["reserved", "u32", 36],
]);

export const MEMBER = layout("allocs_meta_member", 24, [
  ["name", "u32", 0],
  ["type", "u32", 4],
  ["offset", "u64", 8],
  ["bit_offset", "u16", 16],
  ["bit_size", "u16", 18],
  ["reserved", "u32", 20],
]);

export const ENUMERATOR = layout("allocs_meta_enumerator", 16, [
  ["name", "u32", 0],
  ["reserved", "u32", 4],
  ["value", "i64", 8],
]);

export const STATIC = layout("allocs_meta_static", 32, [
  ["vaddr", "u64", 0],
  ["size", "u64", 8],
  ["name", "u32", 16],
  ["type", "u32", 20],
  ["kind", "u32", 24],
  ["reserved", "u32", 28],
]);

export const FRAME = layout("allocs_meta_frame", 32, [
  ["lo", "u64", 0],
  ["hi", "u64", 8],
  ["function", "u32", 16],
  ["type", "u32", 20],
  ["first_var", "u32", 24],
  ["nvars", "u32", 28],
]);

export const FRAME_VAR = layout("allocs_meta_frame_var", 40, [
  ["pc_lo", "u64", 0],
  ["pc_hi", "u64", 8],
  ["cfa_offset", "i64", 16],
  ["name", "u32", 24],
  ["type", "u32", 28],
  ["flags", "u32", 32],
  ["reserved", "u32", 36],
]);

export const SITE = layout("allocs_meta_site", 16, [
  ["vaddr", "u64", 0],
  ["type", "u32", 8],
  ["flags", "u32", 12],
]);

/** Every record, for the layout test; PARAMS is a plain uint32_t array (4 bytes each). */
export const RECORDS: RecordLayout[] = [HEADER, TYPE, MEMBER, ENUMERATOR, STATIC, FRAME, FRAME_VAR, SITE];

/** Record size per section (STRINGS counts bytes). */
export const SECTION_RECORD: (RecordLayout | number)[] = [
  1,
  TYPE,
  MEMBER,
  ENUMERATOR,
  4,
  STATIC,
  FRAME,
  FRAME_VAR,
  SITE,
];

export function recordSize(s: Section): number {
  const r = SECTION_RECORD[s];
  return typeof r === "number" ? r : r.size;
}

export type Values = Record<string, number | bigint | Buffer | string>;

/**
 * A 64-bit field's value as a bigint. Model numbers are doubles, and a double cannot hold
 * 2^64 - 1 or 2^63 - 1: it rounds them (and their neighbours) up to 2^64 or 2^63, one past the
 * field's range. Those are written as the largest value the field holds, the one they stand for.
 */
function int64(x: number | bigint, top: number): bigint {
  return x === top ? BigInt(top) - 1n : BigInt(x);
}

/** Writes one record's fields (missing ones stay zero) at `at`. */
export function writeRecord(buf: Buffer, at: number, l: RecordLayout, v: Values): void {
  for (const f of l.fields) {
    const x = v[f.name];
    if (x === undefined) continue;
    const o = at + f.offset;
    switch (f.type) {
      case "u8":
        buf.writeUInt8(Number(x), o);
        break;
      case "u16":
        buf.writeUInt16LE(Number(x), o);
        break;
      case "u32":
        buf.writeUInt32LE(Number(x), o);
        break;
      case "u64":
        buf.writeBigUInt64LE(int64(x as number | bigint, 2 ** 64), o);
        break;
      case "i64":
        buf.writeBigInt64LE(int64(x as number | bigint, 2 ** 63), o);
        break;
      case "magic8":
        buf.write(String(x), o, 8, "latin1");
        break;
      case "bytes20":
        (x as Buffer).copy(buf, o, 0, Math.min(20, (x as Buffer).length));
        break;
    }
  }
}

/** Reads one record's fields; 64-bit fields become numbers (exact up to 2^53; larger values
 * only occur in enumerator values, which are read as bigint-exact numbers when safe). */
export function readRecord(buf: Buffer, at: number, l: RecordLayout): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of l.fields) {
    const o = at + f.offset;
    switch (f.type) {
      case "u8":
        out[f.name] = buf.readUInt8(o);
        break;
      case "u16":
        out[f.name] = buf.readUInt16LE(o);
        break;
      case "u32":
        out[f.name] = buf.readUInt32LE(o);
        break;
      case "u64":
        out[f.name] = Number(buf.readBigUInt64LE(o));
        break;
      case "i64":
        out[f.name] = Number(buf.readBigInt64LE(o));
        break;
      default:
        break; /* magic and build-id are read by the reader itself */
    }
  }
  return out;
}
