// Helpers for the LLDB front's tests: `allocs lldb` runs (always with a timeout), labelled
// queries through a command file (lldb's --batch stops at the first failing -o command; a
// `command source -e false` file goes on, as a user's session does).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { parseProbes, runtimeLib } from "../lib/programs";
import { BIN, GDB_TIMEOUT_MS, type GdbRun, type Probes } from "./gdb";

export const LLDB = "lldb-16";

export function hasLldb(): boolean {
  return spawnSync(LLDB, ["--version"], { encoding: "utf8" }).status === 0;
}

/** Skips the test or hook CTX runs in, saying why, when lldb-16 is missing. */
export function skipWithoutLldb(ctx: Mocha.Context): void {
  if (!hasLldb()) {
    console.log("      skipped: lldb-16 is not installed (npm run setup installs it)");
    ctx.skip();
  }
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

/** The probe indices (static: the same in every run) from one plain preloaded run. */
export function probeIndices(exe: string, args = ["stop"]): Probes {
  const r = spawnSync(exe, args, {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, LD_PRELOAD: runtimeLib() },
  });
  return parseProbes(r.stdout);
}

/** A source file named relative to its compilation directory (glibc's `../include/x.h`): gdb
 * keeps DW_AT_name's spelling, LLDB normalises it (`include/x.h`); both name the same file, so
 * such names compare from their last `../` on. Absolute names (the test program's) compare whole. */
function sameFile(json: unknown): unknown {
  return JSON.parse(JSON.stringify(json), (key, v) =>
    key === "file" && typeof v === "string" && !v.startsWith("/") ? v.replace(/^(\.\.\/)+/, "") : v,
  );
}

/** Every answer gdb gave, given the same by lldb. */
export function sameJson(
  where: string,
  gdbAnswers: Map<string, unknown>,
  lldbAnswers: Map<string, unknown>,
): void {
  assert.ok(gdbAnswers.size > 10, `${where}: gdb answered ${gdbAnswers.size} queries`);
  for (const [label, g] of gdbAnswers) {
    assert.deepEqual(
      sameFile(lldbAnswers.get(label)),
      sameFile(g),
      `${where}: lldb and gdb differ on ${label}`,
    );
  }
}

/** Ends a DAP session on lldb-vscode: one disconnect, given at most 10 s (lldb-vscode answers one,
 * then exits: DebugClient.stop() would send a second), then the adapter process killed, and the
 * debuggee DEBUGGEE too if lldb left it running. */
export async function endLldbDap(
  dc: DebugClient,
  disconnect: DebugProtocol.DisconnectArguments,
  debuggee?: number,
): Promise<void> {
  const grace = new Promise((resolve) => setTimeout(resolve, 10_000));
  await Promise.race([dc.disconnectRequest(disconnect).catch(() => undefined), grace]);
  (dc as unknown as { stopAdapter(): void }).stopAdapter(); // kills the adapter process
  if (debuggee !== undefined) {
    try {
      process.kill(debuggee, "SIGKILL");
    } catch {
      // gone, as it should be
    }
  }
}
