// `allocs cc ARGS...`: a drop-in for cc that adds what a client of allocs.h needs (the include
// path, and when linking, the stub library with an rpath to it); everything else passes through.
import { runInherited } from "../preload";
import { RUNTIME_INCLUDE, requireBuilt, stubLibrary } from "../paths";
import * as path from "node:path";

/** Flags after which cc does not link. */
const NO_LINK_FLAGS = new Set(["-c", "-S", "-E", "-M", "-MM", "-fsyntax-only"]);

export function isLinking(args: string[]): boolean {
  if (args.some((a) => NO_LINK_FLAGS.has(a))) return false;
  if (args.includes("--version") || (args.includes("-v") && args.length === 1)) return false;
  return args.some((a) => !a.startsWith("-") || a === "-");
}

export function ccArguments(args: string[]): string[] {
  const out = [`-I${RUNTIME_INCLUDE}`, ...args];
  if (isLinking(args)) {
    const stub = requireBuilt(stubLibrary());
    out.push(stub, `-Wl,-rpath,${path.dirname(stub)}`);
  }
  return out;
}

export function compilerCommand(): string {
  return process.env.ALLOCS_CC ?? "cc";
}

export async function ccCommand(args: string[]): Promise<number> {
  return runInherited(compilerCommand(), ccArguments(args), process.env);
}
