// `allocs typegen PROG [--out FILE] [--cache]`: writes PROG's type metadata (types, statics,
// frames, allocation sites) to PROG.allocsmeta, FILE, or the cache keyed by build-id, where the
// runtime finds it (docs/metadata-format.md). On a terminal, an input of 1 MB or more generates
// in a worker and a progress bar is drawn once the run is over a second; quiet otherwise. Allocation sites no source analysis covers are typed from DWARF alone
// (the variable receiving the result, flagged GUESSED); when some stay unknown, a summary on
// stderr says how many were typed and lists the unknown ones with function and file:line
// (--quiet: nothing). Bad input ends with one line naming the file and the offset.
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { UsageError } from "../paths";
import { exitWith } from "../exit";
import { releaseCodeCache } from "../compile-cache";
import type { GenerateOptions, GenerateResult } from "../../../typegen/src/meta/generate";

/** Generates in this thread: typegen's modules load only here, so a run on a terminal (which
 * generates in a worker) does not load them twice. */
function generateHere(prog: string, opts: GenerateOptions): GenerateResult {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { tuneV8ForTypegen } =
    require("../../../typegen/src/meta/v8-tuning") as typeof import("../../../typegen/src/meta/v8-tuning");
  const { generateMeta } =
    require("../../../typegen/src/meta/generate") as typeof import("../../../typegen/src/meta/generate");
  /* eslint-enable @typescript-eslint/no-require-imports */
  releaseCodeCache();
  tuneV8ForTypegen();
  return generateMeta(prog, opts);
}

export function parseTypegenArgs(args: string[]): {
  prog: string;
  opts: GenerateOptions;
  verbose: boolean;
  quiet: boolean;
} {
  let prog: string | undefined;
  const opts: GenerateOptions = {};
  let verbose = false;
  let quiet = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--out" || a === "-o") {
      if (i + 1 >= args.length) throw new UsageError("allocs typegen: --out needs a file");
      opts.out = args[++i];
    } else if (a.startsWith("--out=")) opts.out = a.slice(6);
    else if (a === "--cache") opts.cache = true;
    else if (a === "-v" || a === "--verbose") verbose = true;
    else if (a === "-q" || a === "--quiet") quiet = true;
    else if (a.startsWith("-")) throw new UsageError(`allocs typegen: unknown option ${a}`);
    else if (prog) throw new UsageError("allocs typegen: one program at a time");
    else prog = a;
  }
  if (!prog) throw new UsageError("usage: allocs typegen PROG [--out FILE] [--cache] [--quiet]");
  if (opts.out && opts.cache) throw new UsageError("allocs typegen: --out and --cache exclude each other");
  return { prog, opts, verbose, quiet };
}

/**
 * Whether a run on a terminal generates in a worker, for the progress bar. Typegen takes about a
 * second per 4 MB of DWARF (libc's debug file); a program under 1 MB is done before a bar would be
 * drawn, and a worker (a second Node environment, its own module loading) cost ~25 ms of CPU of a
 * ~150 ms run on a small test program. A small program whose DWARF is in a large separate debug
 * file generates without the bar.
 */
export const WORKER_FROM_BYTES = 1 << 20;
function worthAWorker(prog: string): boolean {
  try {
    return fs.statSync(prog).size >= WORKER_FROM_BYTES;
  } catch {
    return false; // the error is the same from this thread
  }
}

/** Runs generation in a worker and draws a bar on stderr once it has taken over a second. The
 * answer is taken when the worker has ended, so it ends cleanly (its code cache written). */
function generateWithProgress(prog: string, opts: GenerateOptions): Promise<GenerateResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, "typegen-worker.js"), { workerData: { prog, opts } });
    const start = Date.now();
    let stage = "starting";
    let fraction = 0;
    let drawn = false;
    const draw = (): void => {
      if (Date.now() - start < 1000) return;
      const width = 30;
      const filled = Math.round(fraction * width);
      const secs = ((Date.now() - start) / 1000).toFixed(1);
      process.stderr.write(`\r\x1b[K[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${stage} ${secs}s`);
      drawn = true;
    };
    const timer = setInterval(draw, 100);
    const finish = (): void => {
      clearInterval(timer);
      if (drawn) process.stderr.write("\r\x1b[K");
    };
    let result: GenerateResult | undefined;
    let failure: Error | undefined;
    worker.on(
      "message",
      (m: { stage?: string; fraction?: number; result?: GenerateResult; error?: { message: string } }) => {
        if (m.stage !== undefined) {
          stage = m.stage;
          fraction = m.fraction ?? fraction;
        } else if (m.result) result = m.result;
        else if (m.error) failure = new Error(m.error.message);
      },
    );
    worker.on("error", (e) => {
      failure ??= e;
    });
    worker.on("exit", (code) => {
      finish();
      if (result && !failure) resolve(result);
      else reject(failure ?? new Error(`the generating thread ended with status ${code} and no answer`));
    });
  });
}

export async function typegenCommand(args: string[]): Promise<number> {
  const { prog, opts, verbose, quiet } = parseTypegenArgs(args);
  let r: GenerateResult;
  try {
    // The worker tunes V8 for typegen itself (typegen/src/meta/worker.ts).
    r =
      process.stderr.isTTY && worthAWorker(prog)
        ? await generateWithProgress(prog, opts)
        : generateHere(prog, opts);
  } catch (e) {
    console.error(`allocs typegen: ${(e as Error).message}`);
    return 1;
  }
  if (!r.buildId)
    console.error(`allocs typegen: warning: ${prog} has no build-id; the runtime will not load its metadata`);
  if (quiet) return 0;
  if (verbose || process.stderr.isTTY)
    console.error(
      `allocs typegen: ${r.out}: ${r.types} types, ${r.statics} statics, ${r.frames} frames, ${r.sites} sites (${r.bytes} bytes)`,
    );
  if (verbose || process.stderr.isTTY || r.unknownSites.length > 0) {
    console.error(
      `allocs typegen: ${prog}: ${r.sites} of ${r.allocCalls} allocation sites typed (${r.guessedSites} guessed from DWARF), ${r.unknownSites.length} unknown`,
    );
    for (const u of r.unknownSites)
      console.error(
        `allocs typegen:   ${u.where}: in ${u.function ?? "?"}: ${u.callee}: type unknown (${u.why})`,
      );
  }
  return 0;
}

/** `allocs typegen ARGS` as bin/allocs.js runs it: without loading the other commands (a third
 * of the start-up of a run on a small program). */
export function typegenMain(args: string[]): void {
  exitWith(typegenCommand(args));
}
