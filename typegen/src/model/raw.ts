// Raw records of statics and location ranges, gathered by the DIE walk before uniquing (types
// are in raw-table.ts, functions and their variables in frame-table.ts). Type references are
// DIE keys (see dwarf/dwarf.ts); -1 means "no type" (void).

import { Location } from "../dwarf/expr";

export interface RawRange {
  lo: number;
  hi: number;
  loc: Location;
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
