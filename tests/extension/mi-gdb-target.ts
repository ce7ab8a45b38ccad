// mi_target (test-programs/mi_target.c, built with gcc -g -O0 into test-programs/build/) under
// real gdb 13 through GdbConnection and MICommands, for the mi-connection*.test.ts suites: gdb
// started and cleaned up after each test, the next stop, the run to add_points.
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";

import {
  decodeStopped,
  decodeThreadGroupEvent,
  GdbConnection,
  MICommands,
  type MIStoppedEvent,
} from "../../extension/src/mi";

const ROOT = path.resolve(__dirname, "../../..");
export const PROGRAMS = path.join(ROOT, "test-programs");
export const SOURCE = path.join(PROGRAMS, "mi_target.c");
const BINARY = path.join(PROGRAMS, "build", "mi_target");

function buildTarget(): void {
  const stale = ((): boolean => {
    try {
      return statSync(BINARY).mtimeMs < statSync(SOURCE).mtimeMs;
    } catch {
      return true;
    }
  })();
  if (stale) {
    execFileSync("mkdir", ["-p", path.dirname(BINARY)]);
    // Relative names, as the captured fixtures were built: gdb reports the file as compiled.
    execFileSync("gcc", ["-g", "-O0", "-pthread", "-o", path.relative(PROGRAMS, BINARY), "mi_target.c"], {
      cwd: PROGRAMS,
    });
  }
}

/** Every gdb and debuggee a test started, so afterEach can make sure they are gone. */
const started: GdbConnection[] = [];
const debuggees = new Set<number>();

/** Kills GDB after the test, as for the gdbs startGdb starts (for one started with its own options). */
export function killAfterTest(gdb: GdbConnection): void {
  started.push(gdb);
}

export async function startGdb(commandTimeoutMs?: number): Promise<{ gdb: GdbConnection; mi: MICommands }> {
  const gdb = await GdbConnection.start({ cwd: PROGRAMS, commandTimeoutMs });
  started.push(gdb);
  gdb.on("notify", (r) => {
    if (r.asyncClass === "thread-group-started") {
      const { pid } = decodeThreadGroupEvent(r);
      if (pid !== undefined) debuggees.add(pid);
    }
  });
  return { gdb, mi: new MICommands(gdb) };
}

/** Resolves with the next `*stopped`; create it before the command that causes the stop. */
export function nextStop(gdb: GdbConnection, timeoutMs = 20000): Promise<MIStoppedEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no *stopped within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = gdb.on("exec", (r) => {
      if (r.asyncClass !== "stopped") return;
      clearTimeout(timer);
      off();
      resolve(decodeStopped(r));
    });
  });
}

/** Loads mi_target and runs it to a breakpoint in add_points. */
export async function runToAddPoints(gdb: GdbConnection, mi: MICommands): Promise<MIStoppedEvent> {
  await mi.fileExecAndSymbols("build/mi_target");
  await mi.breakInsert({ kind: "function", name: "add_points" });
  const stopped = nextStop(gdb);
  await mi.execRun();
  return stopped;
}

/** Kills a leftover debuggee, but only if it really is our test program. */
function killDebuggee(pid: number): void {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
    if (cmdline.includes("mi_target")) process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** For a describe block of tests on real gdb: builds mi_target before them, and after each test
 * kills every gdb it started and every debuggee those left behind. */
export function useGdbConnections(): void {
  before(buildTarget);
  afterEach(async () => {
    for (const gdb of started.splice(0)) await gdb.kill();
    for (const pid of debuggees) killDebuggee(pid);
    debuggees.clear();
  });
}
