// The UI test's workspace: the .vsix under test, a folder with the C program built by
// `allocs cc` and a launch.json naming it, and the processes the run may leave behind in it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import { ROOT } from "./code-server";
import { allocsCc } from "../lib/programs";

export const PROGRAM = "ui_heap";
export const CONFIG_NAME = "allocs: ui heap";

/** The packaged extension: $ALLOCS_VSIX, or what `npm run package` wrote. */
export function vsixPath(): string {
  if (process.env.ALLOCS_VSIX) return process.env.ALLOCS_VSIX;
  const version = (
    JSON.parse(fs.readFileSync(path.join(ROOT, "extension", "package.json"), "utf8")) as { version: string }
  ).version;
  return path.join(ROOT, "dist", `allocs-${version}.vsix`);
}

/** The workspace: the program's source, its `allocs cc` build (debug info and type metadata,
 * PROGRAM.allocsmeta beside it), and a launch.json naming it. */
export function makeWorkspace(dir: string): { source: string; breakLine: number } {
  fs.mkdirSync(path.join(dir, ".vscode"), { recursive: true });
  const source = path.join(dir, `${PROGRAM}.c`);
  fs.copyFileSync(path.join(ROOT, "test-programs", `${PROGRAM}.c`), source);
  allocsCc(["-O0", "-o", path.join(dir, PROGRAM), source]);
  const launch = {
    version: "0.2.0",
    configurations: [
      {
        name: CONFIG_NAME,
        type: "allocs",
        request: "launch",
        program: `\${workspaceFolder}/${PROGRAM}`,
        args: [],
        cwd: "${workspaceFolder}",
        stopAtEntry: false,
        preload: true,
      },
    ],
  };
  fs.writeFileSync(path.join(dir, ".vscode", "launch.json"), JSON.stringify(launch, null, 2));
  const lines = fs.readFileSync(source, "utf8").split("\n");
  const breakLine = lines.findIndex((l) => l.includes("/* BREAK */")) + 1;
  assert.ok(breakLine > 0, "the program marks its breakpoint line with BREAK");
  return { source, breakLine };
}

/** Processes still running from the workspace (the debuggee, if gdb left it behind). */
export function leftovers(workspace: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const exe = fs.readlinkSync(`/proc/${entry}/exe`);
      if (exe.startsWith(workspace + path.sep)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Kills whatever leftovers() finds, by process id. */
export function killLeftovers(workspace: string): void {
  for (const pid of leftovers(workspace)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}
