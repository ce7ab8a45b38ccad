// `allocs demo`: the liballocs demo, built with `allocs cc` and run with `allocs run`, showing
// the commands as it goes so a newcomer can repeat them by hand.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ccArguments, compilerCommand, metadataAfterLink } from "./cc";
import { bridgeArguments, gdbCommandName } from "./gdb";
import { preloadEnv } from "../preload";
import { ROOT, runtimeLibrary } from "../paths";

export const DEMO_SOURCE = path.join(ROOT, "test-programs", "seed_demo.c");

export interface DemoResult {
  exe: string;
  output: string;
}

/** Builds and runs the demo; throws with the compiler's or the program's message on failure. */
export function buildAndRunDemo(log: (line: string) => void = () => {}): DemoResult {
  const dir = path.join(os.tmpdir(), `allocs-demo-${process.getuid?.() ?? 0}`);
  fs.mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, "test");
  const ccArgs = ["-g", "-o", exe, DEMO_SOURCE];
  log(`$ allocs cc ${ccArgs.join(" ")}`);
  const cc = spawnSync(compilerCommand(), ccArguments(ccArgs), { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`building the demo failed:\n${cc.stderr}`);
  metadataAfterLink(ccArgs); /* as `allocs cc` does after a link: test.allocsmeta */
  log(`$ allocs run ${exe}`);
  const run = spawnSync(exe, [], { encoding: "utf8", env: preloadEnv() });
  if (run.status !== 0) {
    throw new Error(`the demo exited with status ${run.status ?? run.signal}:\n${run.stderr}`);
  }
  return { exe, output: run.stdout };
}

/** The gdb commands the demo shows: stop at the first printf, then ask about the same
 * addresses from outside the process (an interior pointer into p, &p, argv). */
export const DEMO_GDB_COMMANDS = [
  "break printf",
  "run",
  "up",
  "alloc info (char *)p + 10",
  "alloc info &p",
  "alloc info argv",
];

/** Runs the demo under gdb with the bridge; returns gdb's output, or a note when gdb is absent. */
export function demoInGdb(exe: string, log: (line: string) => void = () => {}): string {
  const exArgs = DEMO_GDB_COMMANDS.flatMap((c) => ["-ex", c]);
  const shown = DEMO_GDB_COMMANDS.map((c) => `-ex '${c}'`).join(" ");
  log(`$ allocs gdb -q --batch ${shown} ${exe}`);
  const args = [...bridgeArguments(runtimeLibrary()), "-nx", "-q", "--batch", ...exArgs, exe];
  const r = spawnSync(gdbCommandName(), args, { encoding: "utf8", timeout: 120_000, killSignal: "SIGKILL" });
  if (r.error) return `(gdb could not be run: ${r.error.message}; install gdb to see this part)\n`;
  // Keep what the alloc commands print; gdb's own chatter (breakpoint, frame lines) stays out.
  return r.stdout
    .split("\n")
    .filter((l) => /^(address|chain|allocator|base|size|offset|type|path|site|what|\s{2,}\S)/.test(l))
    .map((l) => (l.startsWith("address") ? `\n${l}` : l))
    .join("\n")
    .replace(/^\n/, "")
    .concat("\n");
}

export async function demoCommand(_args: string[]): Promise<number> {
  const log = (line: string) => console.log(line);
  const { exe, output } = buildAndRunDemo(log);
  process.stdout.write(output);
  console.log("\nThe same process seen from gdb, reading the runtime's memory (works on core files too):");
  process.stdout.write(demoInGdb(exe, log));
  return 0;
}
