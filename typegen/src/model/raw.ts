// Raw, per-DIE records gathered by the DIE walk, before uniquing. Type references are DIE keys
// (see dwarf/dwarf.ts); -1 means "no type" (void).

import { Location } from "../dwarf/expr";
import { LocationSource } from "./lazy-locations";

export interface RawMember {
  name: string | null;
  type: number;
  offset: number;
  bitSize?: number;
  bitOffset?: number;
}

/**
 * Pseudo tag for a declaration stub that names its type by DW_AT_signature (the type itself is
 * in a type unit): uniquing treats it as an alias of the signature's target. Above every DW_TAG.
 */
export const TAG_SIGNATURE_STUB = 0x10000;

export interface RawType {
  tag: number;
  name: string | undefined;
  byteSize: number | undefined;
  encoding: number | undefined;
  bitSize: number | undefined;
  /** DW_AT_type: pointee, element, typedef target, return type, enum base. */
  target: number;
  declaration: boolean;
  members: RawMember[] | undefined;
  /** Array dimensions, outermost first (null: unbounded). */
  dims: (number | null)[] | undefined;
  enumerators: { name: string; value: number }[] | undefined;
  params: number[] | undefined;
  varargs: boolean;
  prototyped: boolean | undefined;
}

export interface RawRange {
  lo: number;
  hi: number;
  loc: Location;
}

export interface RawLocal {
  name: string;
  type: number;
  isParam: boolean;
  /** DW_AT_location, not decoded yet (null: none). */
  loc: LocationSource | null;
  /** The decoded ranges, when reading had to decode them (a possible static). */
  ranges: RawRange[] | undefined;
}

export interface RawFunction {
  name: string;
  linkageName?: string;
  /** Key of the synthesised function type. */
  type: number;
  lowPc: number;
  highPc: number;
  external: boolean;
  /** DW_AT_frame_base, not decoded yet (null: none). */
  frameBase: LocationSource | null;
  params: RawLocal[];
  locals: RawLocal[];
  unit: string;
}

export interface RawStatic {
  name: string;
  type: number;
  addr: number;
  external: boolean;
  tls: boolean;
  scope?: string;
  unit: string;
}
