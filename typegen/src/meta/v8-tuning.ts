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
// TurboFan's compiles were about a third of the CPU of `allocs typegen` on PostgreSQL's backend
// (perf, cpu-clock samples), and more of a run's CPU than the optimised code saved: a typegen
// run is warm-up from start to end. Half V8's cumulative inlining budget per function (920 ->
// 460 bytes of bytecode) makes each compile cheaper; measured at load ~12 (alternated runs,
// minimum CPU), `allocs typegen` on libc's debug file 1.29 s -> 1.18 s, python3.11d 1.81 s ->
// 1.56 s, PostgreSQL 3.14 s -> 3.05 s. No inlining at all gave about the same CPU then; half kept
// the small accessors of the DWARF reader inlined where they were hottest. Since the DIE walk runs
// in C (typegen/native/), those accessors are no longer hot, and no cumulative budget at all is
// cheaper: measured on a quiet machine (load 1.2-2.1, 2026-12-08, alternated, minimum CPU, the
// code cache off on both sides) libc's debug file 0.96x and 0.95x (5 and 7 runs), PostgreSQL
// 0.96x (5 runs).
//
// The flags are read when V8 decides to optimise a function and when it compiles one, so setting
// them before the work starts works; they only change which code V8 makes, never a result.
//
// V8 counts a function's executed bytecode against an interrupt budget before it considers
// optimising it; twice V8's budget (67,584 -> 135,168 bytes) optimises fewer functions that would
// soon stop running (`--trace-opt` on python3.11d: 586 -> 528 compiles). Measured (load ~10,
// alternated runs, minimum CPU): libc's debug file 1.13 s -> 1.05 s (6 runs each), PostgreSQL
// 2.94 s -> 2.80 s, python3.11d unchanged (4 each); four times the budget was no better.
//
// The young generation stays at its initial size (two 1 MB semi-spaces) instead of growing to
// V8's maximum (two 16 MB ones, reached within the model build on every large input): that was
// ~30 MB of the peak RSS, and with the smaller space the scavenges, each as long as what survives
// it, also free the dead typed arrays of the model's growing columns sooner. `--max-semi-space-size`
// is read only when the heap is set up (set from here it changes nothing: `new_space` in
// v8.getHeapSpaceStatistics() still reaches 32 MB); the growth factor is read at each growth.
// Measured (load ~10-12, 3 alternated runs): peak RSS libc's debug file ~142 -> ~117 MB,
// python3.11d ~158 -> ~136 MB, PostgreSQL ~229 -> ~197 MB, CPU unchanged within noise (more
// scavenges, 27 -> 127 on python3.11d, each shorter).
//
// Tried from here and not kept (python3.11d unless said, load ~10-13, 3-5 alternated runs):
// `--single-threaded-gc` and `--no-parallel-marking` stop V8 with a failed check when set after
// start; `--optimize-for-size` peak RSS -13 MB but CPU +18% (12 full collections instead of 4);
// `--heap-growing-percent` 10-50 (more full collections, same peak: the peak is the external
// memory of typed arrays and the malloc heap, not the old generation); no change beyond the
// noise from `--no-concurrent-array-buffer-sweeping`, `--no-parallel-scavenge`,
// `--no-concurrent-sweeping`, `--no-turbo-loop-peeling`, `--no-turbo-escape` or
// `--max-inlined-bytecode-size=200` (libc, python3.11d, PostgreSQL).

import * as v8 from "node:v8";

/** Largest bytecode (bytes) TurboFan optimises in a typegen process (V8's default: 61440). */
export const TYPEGEN_MAX_OPTIMIZED_BYTECODE = 4096;

/** V8's cumulative inlining budget (bytes of bytecode inlined into one function) here (V8's
 * default: 920). */
export const TYPEGEN_MAX_INLINED_CUMULATIVE = 0;

/** Bytecode a function executes between V8's looks at whether to optimise it (V8's default:
 * 67584). */
export const TYPEGEN_INTERRUPT_BUDGET = 135168;

/** Factor by which the young generation grows when V8 decides it should (V8's default: 2; 1
 * keeps it at its initial size). */
export const TYPEGEN_SEMI_SPACE_GROWTH = 1;

/** Every flag set here, with its value in a typegen process and V8's default (Node 20's V8), the
 * one list both tuneV8ForTypegen and restoreV8Defaults read. */
export const TYPEGEN_V8_FLAGS: ReadonlyArray<{ flag: string; value: number; v8Default: number }> = [
  { flag: "max-optimized-bytecode-size", value: TYPEGEN_MAX_OPTIMIZED_BYTECODE, v8Default: 61440 },
  { flag: "max-inlined-bytecode-size-cumulative", value: TYPEGEN_MAX_INLINED_CUMULATIVE, v8Default: 920 },
  { flag: "interrupt-budget", value: TYPEGEN_INTERRUPT_BUDGET, v8Default: 67584 },
  { flag: "semi-space-growth-factor", value: TYPEGEN_SEMI_SPACE_GROWTH, v8Default: 2 },
];

let applied = false;

/** Applies the settings once per process. */
export function tuneV8ForTypegen(): void {
  if (applied) return;
  applied = true;
  for (const f of TYPEGEN_V8_FLAGS) v8.setFlagsFromString(`--${f.flag}=${f.value}`);
}

/** Puts back V8's defaults for every flag this file sets: the code
 * cache (cli/src/compile-cache.ts) makes its data at exit under the flags the next run starts
 * with, since V8 refuses data made under other flags. */
export function restoreV8Defaults(): void {
  for (const f of TYPEGEN_V8_FLAGS) v8.setFlagsFromString(`--${f.flag}=${f.v8Default}`);
}
