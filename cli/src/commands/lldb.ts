// `allocs lldb [LLDB ARGS...]`: lldb with the bridge's LLDB front loaded and the runtime preloaded
// into the program only. The preload is a target setting (`target.env-vars`), given before lldb
// reads its arguments, so it reaches every process lldb launches and never lldb itself; the
// plugin is imported the same way, so every lldb option (`--batch`, `-o`, `-c CORE`, `-p PID`,
// `--`) passes through unchanged.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { runInherited } from "../preload";
import { ROOT, requireBuilt, runtimeLibrary } from "../paths";
import { attachNote, inferiorPreload } from "./gdb";

export const LLDB_PLUGIN = path.join(ROOT, "gdb-python-bridge", "allocs_lldb.py");

/** The lldb to run: $ALLOCS_LLDB, else the first of lldb-16 (Debian's) and lldb on the PATH. */
export function lldbCommandName(): string {
  if (process.env.ALLOCS_LLDB) return process.env.ALLOCS_LLDB;
  for (const name of ["lldb-16", "lldb"]) {
    if (spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).status === 0) return name;
  }
  return "lldb";
}

/** lldb's own arguments that load the plugin and arrange the preload, placed before the user's
 * (-O runs before the target is created, so the setting is every target's default). */
export function lldbBridgeArguments(lib: string, base: NodeJS.ProcessEnv = process.env): string[] {
  return [
    "-O",
    `settings set target.env-vars LD_PRELOAD=${inferiorPreload(lib, base)}`,
    "-O",
    `command script import ${LLDB_PLUGIN}`,
  ];
}

/** The pid of lldb's `-p PID` / `--attach-pid PID` / `--attach-pid=PID`, if the user attaches. */
export function lldbAttachPid(args: string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return undefined;
    const eq = /^--attach-pid=(\d+)$/.exec(a);
    if (eq) return Number(eq[1]);
    if ((a === "-p" || a === "--attach-pid") && /^\d+$/.test(args[i + 1] ?? "")) return Number(args[i + 1]);
  }
  return undefined;
}

export async function lldbCommand(args: string[]): Promise<number> {
  const lib = requireBuilt(runtimeLibrary());
  const pid = lldbAttachPid(args);
  if (pid !== undefined) {
    const note = attachNote(pid);
    if (note)
      console.error(note.replace(/^allocs gdb/, "allocs lldb").replace("what gdb knows", "what lldb knows"));
  }
  return runInherited(lldbCommandName(), [...lldbBridgeArguments(lib), ...args], process.env);
}
