// `allocs gdb [GDB ARGS...]`: gdb with the bridge loaded and the runtime preloaded into the
// inferior only. The preload goes through gdb's exec-wrapper (`env LD_PRELOAD=... PROG`), so
// neither gdb nor the shell that starts the program loads it; every gdb option passes through.
import * as fs from "node:fs";
import * as path from "node:path";
import { runInherited } from "../preload";
import { ROOT, requireBuilt, runtimeLibrary } from "../paths";

export const BRIDGE = path.join(ROOT, "gdb-python-bridge", "allocs_gdb.py");

export function gdbCommandName(): string {
  return process.env.ALLOCS_GDB ?? "gdb";
}

/** The LD_PRELOAD value for the inferior: the runtime first, the user's own preloads kept. */
export function inferiorPreload(lib: string, base: NodeJS.ProcessEnv = process.env): string {
  const others = (base.LD_PRELOAD ?? "").split(/[: ]/).filter((p) => p && p !== lib);
  return [lib, ...others].join(":");
}

/** gdb's own arguments that load the bridge and arrange the preload, placed before the user's. */
export function bridgeArguments(lib: string, base: NodeJS.ProcessEnv = process.env): string[] {
  return [
    "-iex",
    `set exec-wrapper env 'LD_PRELOAD=${inferiorPreload(lib, base)}'`,
    "-iex",
    `source ${BRIDGE}`,
  ];
}

/** The pid of `-p PID` / `--pid=PID` / `--pid PID`, if the user attaches. */
export function attachPid(args: string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--args") return undefined;
    const eq = /^--?pid=(\d+)$/.exec(a);
    if (eq) return Number(eq[1]);
    if ((a === "-p" || a === "--pid" || a === "-pid") && /^\d+$/.test(args[i + 1] ?? ""))
      return Number(args[i + 1]);
  }
  return undefined;
}

/** A note for attaching: a running process cannot be given the preload after the fact. */
export function attachNote(pid: number): string | undefined {
  let maps: string;
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8");
  } catch {
    return undefined; // gdb will say what is wrong with the pid
  }
  // The runtime (liballocs.so, liballocs-ubsan.so), not the stub a client links against.
  if (/\/liballocs(-\w+)?\.so$/m.test(maps)) return undefined;
  return (
    `allocs gdb: process ${pid} was not started with the allocs runtime, and a running process ` +
    "cannot be given it: the alloc commands will show only what gdb knows (start it with `allocs run`)"
  );
}

export async function gdbCommand(args: string[]): Promise<number> {
  const lib = requireBuilt(runtimeLibrary());
  const pid = attachPid(args);
  if (pid !== undefined) {
    const note = attachNote(pid);
    if (note) console.error(note);
  }
  return runInherited(gdbCommandName(), [...bridgeArguments(lib), ...args], process.env);
}
