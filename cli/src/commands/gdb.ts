// `allocs gdb [GDB ARGS...]`: gdb with the bridge loaded and the runtime preloaded into the
// inferior only. The preload goes through gdb's exec-wrapper (`env LD_PRELOAD=... PROG`), so
// neither gdb nor the shell that starts the program loads it; every gdb option passes through.
import { runtimeFirst } from "../ld-preload";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInherited } from "../preload";
import { ROOT, requireBuilt, runtimeLibrary } from "../paths";
import { prepareMetadata } from "../meta-setup";
import { coreObjects, processObjects, programObjects } from "../../../typegen/src/meta/objects";

export const BRIDGE = path.join(ROOT, "gdb-python-bridge", "allocs_gdb.py");

export function gdbCommandName(): string {
  return process.env.ALLOCS_GDB ?? "gdb";
}

/** gdb run to completion with `args`, its output captured: a missing gdb or one that overruns
 * `timeoutMs` (ALLOCS_GDB_TIMEOUT_MS overrides) is an error saying so, `late` naming what it
 * was doing. */
export function runGdbBatch(
  args: string[],
  timeoutMs: number,
  late: (ms: number) => string,
): { stdout: string; stderr: string } {
  const timeout = Number(process.env.ALLOCS_GDB_TIMEOUT_MS ?? timeoutMs);
  const r = spawnSync(gdbCommandName(), args, { encoding: "utf8", timeout, maxBuffer: 256 << 20 });
  if (r.error) {
    const e = r.error as NodeJS.ErrnoException;
    if (e.code === "ENOENT") throw new Error(`${gdbCommandName()}: command not found`);
    if (e.code === "ETIMEDOUT") throw new Error(late(timeout));
    throw e;
  }
  return { stdout: r.stdout, stderr: r.stderr };
}

/** The LD_PRELOAD value for the inferior: the runtime first, the user's own preloads kept. */
export function inferiorPreload(lib: string, base: NodeJS.ProcessEnv = process.env): string {
  return runtimeFirst(lib, base.LD_PRELOAD);
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

/** gdb's options that take a value as the next argument (or after `=`). */
const GDB_VALUE_OPTIONS = new Set(
  (
    "ex eval-command iex init-eval-command x command ix init-command eix early-init-command " +
    "eiex early-init-eval-command p pid c core e exec se s symbols d directory cd data-directory " +
    "D b l t tty i interpreter ui"
  ).split(" "),
);

/** What gdb will open: the program, and a core file or a process (as gdb reads its arguments:
 * `PROG [CORE|PID]`, `--args PROG ARGS...`, `-p PID`, `-c CORE`, `-e`/`-se PROG`). */
export function gdbTargets(args: string[]): { program?: string; core?: string; pid?: number } {
  const out: { program?: string; core?: string; pid?: number } = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--args") {
      if (i + 1 < args.length) positional.unshift(args[i + 1]);
      break;
    }
    if (a.startsWith("-") && a.length > 1) {
      const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
      const name = m?.[1] ?? "";
      if (!GDB_VALUE_OPTIONS.has(name)) continue;
      const value = m?.[2] ?? args[++i];
      if (value === undefined) break;
      if (name === "p" || name === "pid") out.pid = Number(value);
      else if (name === "c" || name === "core") out.core = value;
      else if (name === "e" || name === "exec" || name === "se") out.program = value;
      continue;
    }
    positional.push(a);
  }
  if (out.program === undefined && positional.length > 0) out.program = positional[0];
  if (positional.length > 1 && out.core === undefined && out.pid === undefined) {
    if (/^\d+$/.test(positional[1]) && !fs.existsSync(positional[1])) out.pid = Number(positional[1]);
    else out.core = positional[1];
  }
  return out;
}

/** The objects whose metadata the session will want: the process's or the core's, else the
 * program's and its libraries'. */
export function gdbObjects(args: string[]): string[] {
  const t = gdbTargets(args);
  const files: string[] = [];
  if (t.pid !== undefined) files.push(...processObjects(t.pid));
  else if (t.core !== undefined) files.push(...coreObjects(t.core));
  if (t.program !== undefined) files.push(...programObjects(t.program));
  return files;
}

export async function gdbCommand(args: string[]): Promise<number> {
  const lib = requireBuilt(runtimeLibrary());
  const pid = gdbTargets(args).pid ?? attachPid(args);
  if (pid !== undefined) {
    const note = attachNote(pid);
    if (note) console.error(note);
  }
  await prepareMetadata("allocs gdb", gdbObjects(args));
  return runInherited(gdbCommandName(), [...bridgeArguments(lib), ...args], process.env);
}
