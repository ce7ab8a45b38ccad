// Helpers for the LLDB front's tests: `allocs lldb` runs (always with a timeout), labelled
// queries through a command file (lldb's --batch stops at the first failing -o command; a
// `command source -e false` file goes on, as a user's session does).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, GDB_TIMEOUT_MS, type GdbRun } from "./gdb";

export const LLDB = "lldb-16";

export function hasLldb(): boolean {
  return spawnSync(LLDB, ["--version"], { encoding: "utf8" }).status === 0;
}

/** `allocs lldb --no-lldbinit --batch ARGS...` (the CLI adds the plugin and the preload). */
export function allocsLldb(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): GdbRun {
  const r = spawnSync(process.execPath, [BIN, "lldb", "--no-lldbinit", "--batch", ...args], {
    encoding: "utf8",
    timeout: GDB_TIMEOUT_MS,
    maxBuffer: 256 << 20,
    env: { ...process.env, ALLOCS_LLDB: LLDB, ...opts.env },
  });
  if (r.error) throw new Error(`allocs lldb: ${r.error.message}`);
  // The program writes through lldb's pseudo-terminal: its lines end in \r\n.
  const lf = (t: unknown) => String(t).replace(/\r\n/g, "\n");
  return { stdout: lf(r.stdout), stderr: lf(r.stderr), status: r.status };
}

/** lldb arguments that run `lines` from a command file in dir, going on after a failure. */
export function commandFile(dir: string, name: string, lines: string[]): string[] {
  const file = path.join(dir, `${name}.lldb`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return ["-o", `command source -e false ${file}`];
}

/** Commands that print `@@label` before each query, so answers(stdout) matches them up. */
export function lldbQueryLines(queries: Array<[string, string]>): string[] {
  const out: string[] = [];
  for (const [label, cmd] of queries) out.push(`script print("@@${label}")`, cmd);
  return out;
}
