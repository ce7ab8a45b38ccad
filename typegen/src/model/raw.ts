// Raw records of functions, their locals and statics, gathered by the DIE walk before uniquing
// (types are in raw-table.ts). Type references are DIE keys (see dwarf/dwarf.ts); -1 means "no
// type" (void).

import { Location } from "../dwarf/expr";
import { LazyLocal, LocationSource } from "./lazy-locations";

export interface RawRange {
  lo: number;
  hi: number;
  loc: Location;
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
  /** Their `type` is a raw DIE key until uniquing replaces it with the type's id. */
  params: LazyLocal[];
  locals: LazyLocal[];
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
