// `allocs cc ARGS...`: a drop-in for cc that adds what a client of allocs.h needs (the include
// path, debug info, and when linking, the stub library with an rpath to it); everything else
// passes through. After a successful link it writes the output's type metadata next to it
// (OUTPUT.allocsmeta), with allocation-site types from the C sources it compiled (clang's AST,
// typegen/src/sites/). With separate compile and link (`-c`), each object's source analysis is
// written next to it (OBJECT.allocsites, docs/metadata-format.md) and gathered at the link from
// the object and archive inputs. Sites no source analysis covers are guessed from DWARF.
// Works in Makefiles: same flags, same exit status, nothing on stdout; a metadata problem is a
// warning on stderr and never fails the build.
import { runInherited } from "../preload";
import { cxxDriverOf, hasCxxInput } from "./cxx";
import { RUNTIME_INCLUDE, requireBuilt, stubLibrary } from "../paths";
import * as fs from "node:fs";
import * as path from "node:path";
import { analyseSource, parseFlags } from "../../../typegen/src/sites/source";
import type { SourceUnit } from "../../../typegen/src/sites/index";
import { gatherSidecars, sidecarPath, writeSidecar } from "../../../typegen/src/sites/sidecar";

/** Flags after which cc does not link. */
const NO_LINK_FLAGS = new Set(["-c", "-S", "-E", "-M", "-MM", "-fsyntax-only"]);

export function isLinking(args: string[]): boolean {
  if (args.some((a) => NO_LINK_FLAGS.has(a))) return false;
  if (args.includes("--version") || (args.includes("-v") && args.length === 1)) return false;
  return args.some((a) => !a.startsWith("-") || a === "-");
}

/** True when the arguments ask for debug info (any -g other than -g0 as the last one). */
export function hasDebugFlag(args: string[]): boolean {
  const g = args.filter((a) => /^-g/.test(a) && !a.startsWith("-gz") && !a.startsWith("-gsplit"));
  return g.length > 0 && g[g.length - 1] !== "-g0";
}

function compiles(args: string[]): boolean {
  return (
    !args.includes("-E") &&
    !args.includes("-M") &&
    !args.includes("-MM") &&
    args.some((a) => !a.startsWith("-"))
  );
}

export function ccArguments(args: string[]): string[] {
  const out = [`-I${RUNTIME_INCLUDE}`, ...args];
  if (compiles(args) && !hasDebugFlag(args)) out.push("-g");
  if (isLinking(args)) {
    const stub = requireBuilt(stubLibrary());
    out.push(stub, `-Wl,-rpath,${path.dirname(stub)}`);
  }
  return out;
}

/** The linked output: the last -o FILE / -oFILE (cc's rule: automake writes `-o x -o y`),
 * else a.out. */
export function outputOf(args: string[]): string {
  let out = "a.out";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-o" && i + 1 < args.length) out = args[++i];
    else if (args[i].startsWith("-o") && args[i].length > 2) out = args[i].slice(2);
  }
  return out;
}

/** The operands on the command line (skipping options and their arguments). */
export function operands(args: string[]): string[] {
  const takesArg = new Set([
    "-o",
    "-I",
    "-D",
    "-U",
    "-include",
    "-isystem",
    "-iquote",
    "-idirafter",
    "-x",
    "-MF",
    "-MT",
    "-MQ",
    "-L",
    "-l",
  ]);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (takesArg.has(a)) i++;
    else if (!a.startsWith("-")) out.push(a);
  }
  return out;
}

/** The C sources on the command line (operands ending in .c). */
export function cSources(args: string[]): string[] {
  return operands(args).filter((a) => a.endsWith(".c"));
}

/** `-c`: the object each C source compiles to (-o FILE for a single source, else NAME.o here). */
export function objectsOf(args: string[]): { source: string; object: string }[] {
  const srcs = cSources(args);
  const hasOut = args.some((a) => a === "-o" || (a.startsWith("-o") && a.length > 2));
  return srcs.map((source) => ({
    source,
    object: hasOut && srcs.length === 1 ? outputOf(args) : path.basename(source).replace(/\.c$/, ".o"),
  }));
}

/** After `cc -c`: the source analysis of each object next to it; problems are warnings. */
export function sidecarsAfterCompile(args: string[]): void {
  if (process.env.ALLOCS_CC_NO_META) return;
  const flags = [`-I${RUNTIME_INCLUDE}`, ...parseFlags(args)];
  for (const { source, object } of objectsOf(args)) {
    try {
      writeSidecar(object, analyseSource(source, flags));
    } catch (e) {
      fs.rmSync(sidecarPath(object), { force: true });
      process.stderr.write(
        `allocs cc: warning: allocation sites of ${source} not analysed: ${(e as Error).message.split("\n")[0]}\n`,
      );
    }
  }
}

export function compilerCommand(): string {
  return process.env.ALLOCS_CC ?? "cc";
}

/** Metadata for a freshly linked output; problems are warnings (the build still succeeded). */
export function metadataAfterLink(args: string[]): void {
  if (process.env.ALLOCS_CC_NO_META) return;
  // Only a link makes metadata: `allocs cc -c` (once per object in a build) does not load the
  // model, the site analysis of binaries or the writer.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { generateMeta } =
    require("../../../typegen/src/meta/generate") as typeof import("../../../typegen/src/meta/generate");
  const { analyseUnits } =
    require("../../../typegen/src/sites/index") as typeof import("../../../typegen/src/sites/index");
  const { linkIntoCache } =
    require("../../../typegen/src/meta/ensure") as typeof import("../../../typegen/src/meta/ensure");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const out = outputOf(args);
  if (args.includes("-shared") && !fs.existsSync(out)) return;
  const flags = [`-I${RUNTIME_INCLUDE}`, ...parseFlags(args)];
  const sources: SourceUnit[] = cSources(args)
    .filter((f) => fs.existsSync(f))
    .map((file) => ({ file, flags }));
  const warn = (m: string): void => void process.stderr.write(`allocs cc: warning: ${m}\n`);
  const sidecarCalls = gatherSidecars(
    operands(args).filter((f) => !f.endsWith(".c")),
    warn,
  );
  // Each source on its own: one clang failure loses that source's site types (said), not all.
  const calls = [...sidecarCalls];
  const analysed = analyseUnits(sources, (file, e) =>
    warn(`allocation sites of ${file} not analysed (typed from DWARF alone): ${e.message.split("\n")[0]}`),
  );
  for (const c of analysed) calls.push(c);
  try {
    const r = generateMeta(out, { calls });
    if (r.buildId) linkIntoCache(r.out, r.buildId);
    for (const u of r.unknownSites)
      if (u.route === "source")
        process.stderr.write(`allocs cc: ${u.where}: ${u.callee}: allocated type unknown (${u.why})\n`);
  } catch (e) {
    try {
      // Without the source analysis (its matching failing), types and frames still help.
      const r = generateMeta(out, { calls: sidecarCalls });
      if (r.buildId) linkIntoCache(r.out, r.buildId);
      process.stderr.write(
        `allocs cc: warning: allocation sites of ${out} not analysed: ${(e as Error).message}\n`,
      );
    } catch (e2) {
      process.stderr.write(`allocs cc: warning: no type metadata for ${out}: ${(e2 as Error).message}\n`);
    }
  }
}

/** `compiler`: the C++ driver for `allocs c++`; else ALLOCS_CC, or its C++ driver when an
 * input is C++ (cxx.ts). */
export async function ccCommand(args: string[], compiler?: string): Promise<number> {
  const cc = compiler ?? (hasCxxInput(args) ? cxxDriverOf(compilerCommand()) : compilerCommand());
  const status = await runInherited(cc, ccArguments(args), process.env);
  if (status === 0 && args.includes("-c") && !args.includes("-E") && !args.includes("-S"))
    sidecarsAfterCompile(args);
  if (status === 0 && isLinking(args)) metadataAfterLink(args);
  return status;
}
