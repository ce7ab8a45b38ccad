// V8 settings for a process that generates metadata (`allocs typegen`, the zero-setup worker).
//
// TurboFan's compile of the x86 decoder (`sites/x86-decode.ts` decode, ~5,500 bytes of bytecode)
// and of `inferDwarfSites` (~5,900, run once) took ~0.4 s each time on the compiler thread, and
// the decoder was compiled three times (deoptimised twice on paths first met later) on PostgreSQL's
// backend: more CPU than the optimised code saved. Functions over the limit below stay in
// Sparkplug's baseline code; every hot function of the DWARF walk, the model and the writer is
// far below it (the largest, writeTypes, ~2,500 bytes), so keep any new hot loop under it.
// Measured (issue 16, load ~14, 4 alternated runs, minimum CPU): the site analysis on
// PostgreSQL's backend 1.10 s -> 0.98 s.
//
// The flag is read when V8 decides to optimise a function, so setting it after start-up works;
// it only ever keeps large functions in baseline code, never changes a result.

import * as v8 from "node:v8";

/** Largest bytecode (bytes) TurboFan optimises in a typegen process (V8's default: 61440). */
export const TYPEGEN_MAX_OPTIMIZED_BYTECODE = 4096;

let applied = false;

/** Applies the settings once per process. */
export function tuneV8ForTypegen(): void {
  if (applied) return;
  applied = true;
  v8.setFlagsFromString(`--max-optimized-bytecode-size=${TYPEGEN_MAX_OPTIMIZED_BYTECODE}`);
}
