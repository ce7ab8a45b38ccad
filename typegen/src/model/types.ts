// The C type model typegen produces from DWARF: the input to metadata generation. Types are
// uniqued (one entry per distinct type across every unit) and referenced by index into
// `TypeModel.types`. Qualifiers and typedefs are resolved away; typedef names are kept in
// `typedefs` and, for members, variables and parameters, as `typedefName`.

import { Location } from "../dwarf/expr";

export type TypeKind =
  "void" | "base" | "pointer" | "array" | "struct" | "union" | "enum" | "function" | "opaque";

/** Index into TypeModel.types. */
export type TypeId = number;

export interface Member {
  /** null for an anonymous member (an unnamed struct/union whose fields are reached through it). */
  name: string | null;
  type: TypeId;
  /** Byte offset from the start of the enclosing struct (for a bit-field: floor(bitOffset / 8)). */
  offset: number;
  /** Bit-fields only: width in bits. */
  bitSize?: number;
  /** Bit-fields only: bit position of the field's least significant bit from the start of the struct. */
  bitOffset?: number;
  /** The typedef the member was declared with, when it was (e.g. "size_t"). */
  typedefName?: string;
}

export interface Enumerator {
  name: string;
  value: number;
}

export interface CType {
  id: TypeId;
  kind: TypeKind;
  /** Canonical, symbol-safe name (liballocs's UNIQTYPE_NAME style); see docs/type-names.md. */
  name: string;
  /** Unique key: equal keys mean the same type (name plus layout codes of aggregates). */
  key: string;
  /** C spelling for people: "int[42]", "char **", "struct point *", "int (int, char **)". */
  cName: string;
  /** Size in bytes; null for incomplete types, unbounded arrays, functions and void. */
  byteSize: number | null;
  /** base: DW_ATE_* encoding and width in bits. */
  encoding?: number;
  bitSize?: number;
  /** pointer: pointee; array: element; enum: underlying integer type (if known). */
  target?: TypeId;
  /** array: element count (null: unbounded, i.e. flexible, VLA or `[]`). */
  count?: number | null;
  /** struct/union/enum: tag (null if anonymous). */
  tag?: string | null;
  /** struct/union/enum: false for a declaration-only type that no unit completes. */
  complete?: boolean;
  /** struct/union/enum: 8 hex digits summarising the layout (liballocs's "summary code"). */
  summaryCode?: string;
  members?: Member[];
  enumerators?: Enumerator[];
  /** function: return type (void's id for void), parameter types, varargs. */
  returns?: TypeId;
  params?: TypeId[];
  varargs?: boolean;
  /** function: false for an old-style declaration `int f()` (spelled "int ()"). */
  prototyped?: boolean;
}

export interface Typedef {
  name: string;
  type: TypeId;
}

export interface StaticVar {
  name: string;
  type: TypeId;
  typedefName?: string;
  /** Link-time address (unrelocated), or the TLS offset when `tls`. */
  addr: number;
  /** Byte size (the type's size, or the ELF symbol's when the type is unbounded). */
  size: number | null;
  external: boolean;
  tls: boolean;
  /** The function a static local belongs to. */
  scope?: string;
  unit: string;
}

export interface LocatedRange {
  /** PC range [lo, hi) over which `loc` holds. */
  lo: number;
  hi: number;
  loc: Location;
}

export interface LocalVar {
  name: string;
  type: TypeId;
  typedefName?: string;
  isParam: boolean;
  /** Where the variable lives, per PC range (empty if optimised out or constant). */
  locations: LocatedRange[];
}

export interface FunctionInfo {
  name: string;
  linkageName?: string;
  /** A function type. */
  type: TypeId;
  lowPc: number;
  highPc: number;
  external: boolean;
  /** DW_AT_frame_base, per PC range (usually one range: DW_OP_call_frame_cfa, or rbp/rsp). */
  frameBase: LocatedRange[];
  params: LocalVar[];
  locals: LocalVar[];
  unit: string;
}

export interface TypeModel {
  file: string;
  /** The file the DWARF came from (the separate debug file, if one was used). */
  debugFile: string;
  buildId?: string;
  types: CType[];
  typedefs: Typedef[];
  statics: StaticVar[];
  functions: FunctionInfo[];
  /** Count of units read, for reporting. */
  units: number;
}
