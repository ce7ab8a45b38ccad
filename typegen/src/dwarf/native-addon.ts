// Loads the native DIE walk (typegen/native/, a Node-API addon; model/collect-native.ts drives
// it). Absent (not built, fails to load) or ALLOCS_TYPEGEN_NATIVE=off: null, and typegen walks in
// JS as it always did.

import * as path from "node:path";

/** What typegen/native/addon.c exports. */
export interface Addon {
  openFile(
    sections: Uint8Array[],
    typesBase: number,
    altInfoBase: number,
    hasAlt: number,
    units: Float64Array,
  ): object;
  newWalker(
    file: object,
    listStatic: (form: number, start: number, lo: number, hi: number) => Float64Array | null,
  ): object;
  bind(walker: object, columns: (Float64Array | Int32Array)[]): void;
  walk(walker: object, unit: number, code: number, state: Float64Array): number;
  why(walker: object): string;
  release(file: object): void;
  checkAbbrevs(
    abbrev: Uint8Array,
    offset: number,
    version: number,
    addrSize: number,
    offsetSize: number,
  ): boolean;
}

/** The repository root, from dist/typegen/src/dwarf (as cli/src/paths.ts finds it). */
const ROOT = path.resolve(__dirname, "..", "..", "..", "..");
export const NATIVE_ADDON = path.join(ROOT, "typegen", "native", "build", "allocs_walk.node");

let addon: Addon | null | undefined;

/** The addon, or null: ALLOCS_TYPEGEN_NATIVE=off, or not built, or it does not load. */
export function nativeAddon(): Addon | null {
  // Read each time (a Collector asks once): tests compare both walks in one process.
  if (process.env.ALLOCS_TYPEGEN_NATIVE === "off") return null;
  if (addon !== undefined) return addon;
  addon = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(NATIVE_ADDON) as Addon;
  } catch (e) {
    // Quietly slower, never wrong: the JS walk makes the same output. Say why when asked.
    if (process.env.ALLOCS_TYPEGEN_NATIVE === "verbose")
      process.stderr.write(
        `allocs typegen: the native DIE walk did not load (${(e as Error).message.split("\n")[0]}); walking in JS\n`,
      );
    addon = null;
  }
  return addon;
}
