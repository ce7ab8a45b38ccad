// The `allocs` command: one entry point for the runtime, the toolchain and the debugger parts.
import { UsageError, runtimeLibrary, requireBuilt } from "./paths";
import { exitWith } from "./exit";

type Command = (args: string[]) => Promise<number>;

// Each command's modules load only when it runs: `allocs --help` or `allocs run` does not pay for
// the debug adapter, gdb's drivers or typegen (a require is typed by its module's own type).
/* eslint-disable @typescript-eslint/no-require-imports */
const runCommand: Command = (a) =>
  (require("./commands/run") as typeof import("./commands/run")).runCommand(a);
const ccCommand: Command = (a) => (require("./commands/cc") as typeof import("./commands/cc")).ccCommand(a);
const cxxCommand: Command = (a) =>
  (require("./commands/cxx") as typeof import("./commands/cxx")).cxxCommand(a);
const demoCommand: Command = (a) =>
  (require("./commands/demo") as typeof import("./commands/demo")).demoCommand(a);
const gdbCommand: Command = (a) =>
  (require("./commands/gdb") as typeof import("./commands/gdb")).gdbCommand(a);
const lldbCommand: Command = (a) =>
  (require("./commands/lldb") as typeof import("./commands/lldb")).lldbCommand(a);
const coreCommand: Command = (a) =>
  (require("./commands/core") as typeof import("./commands/core")).coreCommand(a);
const diffCommand: Command = (a) =>
  (require("./commands/diff") as typeof import("./commands/diff")).diffCommand(a);
const adapterCommand: Command = (a) =>
  (require("./commands/adapter") as typeof import("./commands/adapter")).adapterCommand(a);
const typegenCommand: Command = (a) =>
  (require("./commands/typegen") as typeof import("./commands/typegen")).typegenCommand(a);
/* eslint-enable @typescript-eslint/no-require-imports */

const COMMANDS: Record<string, { summary: string; run: Command }> = {
  run: { summary: "run [--] PROG ARGS...   run a program with the runtime preloaded", run: runCommand },
  cc: {
    summary: "cc ARGS...              compile like cc, adding allocs.h and its stub library",
    run: ccCommand,
  },
  "c++": {
    summary: "c++ ARGS...             the same for C++ (g++; ALLOCS_CXX=clang++ for clang++)",
    run: cxxCommand,
  },
  demo: { summary: "demo                    build and run liballocs's demo program", run: demoCommand },
  gdb: {
    summary: "gdb [GDB ARGS...]       gdb with the alloc commands, the runtime preloaded into the program",
    run: gdbCommand,
  },
  lldb: {
    summary: "lldb [LLDB ARGS...]     lldb with the alloc commands, the runtime preloaded into the program",
    run: lldbCommand,
  },
  typegen: {
    summary: "typegen PROG [--out FILE] [--cache]  write PROG's type metadata (PROG.allocsmeta)",
    run: typegenCommand,
  },
  core: { summary: "core PROG CORE [EXPR...] [--json]  describe addresses in a core file", run: coreCommand },
  diff: {
    summary: "diff [PROG] A B [--json]  what grew between two cores or heap snapshots, by type and site",
    run: diffCommand,
  },
  adapter: {
    summary: "adapter [--port N]      the debug adapter (DAP, type allocs) on stdio or a TCP port",
    run: adapterCommand,
  },
  "runtime-path": {
    summary: "runtime-path            print the path of the runtime library (for LD_PRELOAD)",
    run: async () => {
      console.log(requireBuilt(runtimeLibrary()));
      return 0;
    },
  },
};

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  allocs ${c.summary}`);
  return ["usage:", ...lines, "", "What is at this address? See README.md."].join("\n");
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`allocs: unknown command '${name}'\n${usage()}`);
  return command.run(rest);
}

export function main(argv: string[]): void {
  exitWith(runCli(argv));
}
