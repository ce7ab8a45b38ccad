// Helpers for the bridge tests: gdb runs (always with a timeout), probe parsing, core files, and a
// describe block's program, scratch folder and kernel core (useProgram, useKernelCore).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, runtimeLib } from "../lib/programs";
import { useScratchDir } from "../lib/scratch";

export const BRIDGE = path.join(ROOT, "gdb-python-bridge", "allocs_gdb.py");
export const BIN = path.join(ROOT, "bin", "allocs.js");
export const GDB_TIMEOUT_MS = 120_000;

/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are checked field by field */
export type Json = any;
/** Probes by name, each its key/value map (parseProbes). */
export type Probes = Map<string, Record<string, string>>;

/** An address as the bridge's JSON spells it (0x, lower case, no leading zeros). */
export function hex(s: string | undefined): string {
  assert.ok(s, "missing address");
  return "0x" + BigInt(s).toString(16);
}

export interface GdbRun {
  stdout: string;
  stderr: string;
  status: number | null;
}

function finish(r: ReturnType<typeof spawnSync>, what: string): GdbRun {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  return { stdout: String(r.stdout), stderr: String(r.stderr), status: r.status };
}

/** `allocs gdb -nx -q --batch ARGS...` (the CLI adds the bridge and the preload). */
export function allocsGdb(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): GdbRun {
  const r = spawnSync(process.execPath, [BIN, "gdb", "-nx", "-q", "--batch", ...args], {
    encoding: "utf8",
    timeout: GDB_TIMEOUT_MS,
    maxBuffer: 256 << 20,
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
  });
  return finish(r, "allocs gdb");
}

/** `allocs gdb` runs EXE with ARG to the breakpoint at the function `stop`, then runs `cmds`. */
export function runToStop(
  exe: string,
  stop: string,
  cmds: string[] = [],
  arg = "stop",
  env: NodeJS.ProcessEnv = {},
): GdbRun {
  return allocsGdb(["-ex", `break ${stop}`, "-ex", "run", ...cmds, "--args", exe, arg], { env });
}

/** The environment of a run without type metadata: zero setup off and a cache of its own, empty
 * (the user's cache may hold the program's metadata, made by an earlier `allocs gdb`). */
export function withoutMetadata(dir: string): NodeJS.ProcessEnv {
  return { ALLOCS_AUTO_META: "off", XDG_CACHE_HOME: path.join(dir, "no-metadata-cache") };
}

/** Writes a gcore of EXE stopped at `stop` (after `before`), run with `env` (e.g. withoutMetadata);
 * returns that run, whose stdout has the program's probes. */
export function makeGcore(
  exe: string,
  stop: string,
  gcore: string,
  before: string[] = [],
  env: NodeJS.ProcessEnv = {},
): GdbRun {
  const r = runToStop(exe, stop, [...before, "-ex", `gcore ${gcore}`], "stop", env);
  assert.ok(fs.existsSync(gcore), r.stderr);
  return r;
}

/** Asks the labelled queries about a core file of EXE: their answers, with no traceback allowed. */
export function queryCore(exe: string, core: string, queries: Array<[string, string]>): Map<string, unknown> {
  const r = allocsGdb([...queryCommands(queries), exe, core]);
  assert.doesNotMatch(r.stderr, /Traceback/);
  return answers(r.stdout);
}

/** Plain gdb with the bridge sourced and no preload (a process without the runtime). */
export function plainGdb(args: string[], input?: string): GdbRun {
  const r = spawnSync("gdb", ["-nx", "-q", "-iex", `source ${BRIDGE}`, ...args], {
    encoding: "utf8",
    timeout: GDB_TIMEOUT_MS,
    maxBuffer: 256 << 20,
    input,
  });
  return finish(r, "gdb");
}

/** gdb commands that print a marker before each query so answers can be matched to probes. */
export function queryCommands(queries: Array<[string, string]>): string[] {
  const out: string[] = [];
  for (const [label, cmd] of queries) out.push("-ex", `echo @@${label}\\n`, "-ex", cmd);
  return out;
}

/** The first JSON line after each `@@label` marker in gdb's output. */
export function answers(stdout: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  let label: string | undefined;
  for (const line of stdout.split("\n")) {
    const m = /^@@(\S+)$/.exec(line);
    if (m) {
      label = m[1];
      continue;
    }
    if (label && line.startsWith("{")) {
      out.set(label, JSON.parse(line));
      label = undefined;
    }
  }
  return out;
}

/** The kernel's core pattern, or why kernel cores cannot be collected here. */
export function kernelCoreProblem(): string | undefined {
  let pattern: string;
  try {
    pattern = fs.readFileSync("/proc/sys/kernel/core_pattern", "utf8").trim();
  } catch {
    return "cannot read /proc/sys/kernel/core_pattern";
  }
  if (pattern.startsWith("|")) return `cores are piped to ${pattern}, not written to a file`;
  if (pattern.includes("/")) return `cores go to ${pattern}, outside the working directory`;
  return undefined;
}

/** Skips the running test, saying why, where kernel cores cannot be collected. */
export function skipWithoutKernelCores(ctx: Mocha.Context): void {
  const problem = kernelCoreProblem();
  if (problem) {
    console.log(`      skipped: ${problem}`);
    ctx.skip();
  }
}

/** Runs EXE ARGS preloaded with cores enabled in dir; returns its stdout and the core's path. */
export function makeKernelCore(
  exe: string,
  args: string[],
  dir: string,
  env: NodeJS.ProcessEnv = {},
): { stdout: string; core: string } {
  const script = 'ulimit -c unlimited; LD_PRELOAD="$1" exec "$2" "$3"';
  const r = spawnSync("sh", ["-c", script, "sh", runtimeLib(), exe, ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  const core = fs.readdirSync(dir).find((f) => f === "core" || /^core\.\d+$/.test(f));
  if (!core) throw new Error(`no core file in ${dir} (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  return { stdout: r.stdout, core: path.join(dir, core) };
}

/** The alloc subcommands that describe memory (each front's `help alloc` lists them). */
export const DESCRIBE_COMMANDS = [
  "info",
  "whatis",
  "whereis",
  "whyis",
  "print",
  "ls",
  "census",
  "maps",
  "type",
  "who-points-to",
];
/** The heap-graph subcommands (docs/leaks.md). */
export const GRAPH_COMMANDS = ["leaks", "retainers", "snapshot", "diff"];

/** A program built for a describe block's tests, and a scratch folder for them. */
export interface ProgramFixture {
  exe: string;
  dir: string;
}

/** For a describe block: before its tests, `requireDebugger` (which skips the block when its
 * debugger is missing), a scratch folder (lib/scratch.ts) named from `tmpPrefix`, and the program
 * built by `build`; after them, the folder removed. */
export function useProgram(
  tmpPrefix: string,
  requireDebugger: (ctx: Mocha.Context) => void,
  build: () => string,
): ProgramFixture {
  const scratch = useScratchDir(tmpPrefix, requireDebugger);
  const fixture: ProgramFixture = {
    exe: "",
    get dir() {
      return scratch.dir;
    },
  };
  before(() => {
    fixture.exe = build();
  });
  return fixture;
}

/** For a describe block inside one using `program`: the kernel core of its program run with ARGS
 * (in a fresh folder inside the scratch one, with ENV's variables), made before the block's
 * tests; the block is skipped, saying why, where the kernel writes no cores here. */
export function useKernelCore(
  program: ProgramFixture,
  args: string[],
  env: () => NodeJS.ProcessEnv = () => ({}),
): { stdout: string; core: string } {
  const kernel = { stdout: "", core: "" };
  before(function () {
    skipWithoutKernelCores(this);
    const kdir = fs.mkdtempSync(path.join(program.dir, "kernel-"));
    Object.assign(kernel, makeKernelCore(program.exe, args, kdir, env()));
  });
  return kernel;
}

/** Lines gdb printed for our commands' errors: each must be one line starting with `alloc`. */
export function allocErrors(stderr: string): string[] {
  // `alloc:` and `alloc NAME:` are the bridge's one-line errors; `allocs gdb: making type
  // metadata ...` (zero setup's progress line) is not an error
  return stderr.split("\n").filter((l) => /^alloc(:| [\w-]+:)/.test(l));
}
