// Builds the C programs under test-programs/ and runs them with or without the runtime.
// Every test that needs a real program goes through here, so flags and paths live in one place.
import { strict as assert } from "node:assert";
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const PROGRAMS_DIR = path.join(ROOT, "test-programs");
export const BUILD_DIR = path.join(PROGRAMS_DIR, "build");

/** The tests' own cache (type metadata made by zero setup, the bridge's bytecode), kept across
 * runs in build/: what the user's ~/.cache holds (metadata of another typegen, or of these very
 * programs) must not change an answer. ALLOCS_TEST_USER_CACHE=1 keeps the user's. */
if (process.env.ALLOCS_TEST_USER_CACHE !== "1")
  process.env.XDG_CACHE_HOME = path.join(BUILD_DIR, "xdg-cache");
export const RUNTIME_INCLUDE = path.join(ROOT, "runtime", "include");

export function runtimeLib(): string {
  return path.join(ROOT, "runtime", "build", "liballocs.so");
}

/** The UBSan build of the runtime (make -C runtime ubsan), built on first use. */
export function ubsanRuntimeLib(): string {
  const lib = path.join(ROOT, "runtime", "build", "liballocs-ubsan.so");
  const m = spawnSync("make", ["-s", "-C", path.join(ROOT, "runtime"), "ubsan"], { encoding: "utf8" });
  if (m.status !== 0 || !fs.existsSync(lib)) throw new Error(`make -C runtime ubsan failed:\n${m.stderr}`);
  return lib;
}

export function stubLib(): string {
  return path.join(ROOT, "runtime", "build", "liballocs_stub.so");
}

export interface BuildOptions {
  cc?: "gcc" | "clang";
  /** Link against allocs.h's stub library (the runtime's API). */
  api?: boolean;
  /** Build a shared library (-shared -fPIC) instead of an executable. */
  shared?: boolean;
  cflags?: string[];
  ldflags?: string[];
  /** Extra source files under test-programs/. */
  extraSources?: string[];
  /** Distinguishes builds of the same source with different flags. */
  variant?: string;
}

/** A file built from `inputs` is up to date when it exists and is no older than any of them. */
function upToDate(file: string, inputs: string[]): boolean {
  return (
    fs.existsSync(file) && fs.statSync(file).mtimeMs >= Math.max(...inputs.map((f) => fs.statSync(f).mtimeMs))
  );
}

/** test-programs/NAME.c and the extra sources, and everything a build of them depends on: those,
 * the headers in test-programs/ and the API header. */
function programInputs(name: string, extraSources: string[] = []): { sources: string[]; inputs: string[] } {
  const sources = [mainSource(name), ...extraSources].map((s) => path.join(PROGRAMS_DIR, s));
  const headers = fs
    .readdirSync(PROGRAMS_DIR)
    .filter((f) => f.endsWith(".h"))
    .map((f) => path.join(PROGRAMS_DIR, f));
  return { sources, inputs: [...sources, ...headers, path.join(RUNTIME_INCLUDE, "allocs.h")] };
}

/** test-programs/NAME.cpp when there is one (a C++ program), else NAME.c. */
function mainSource(name: string): string {
  return fs.existsSync(path.join(PROGRAMS_DIR, name + ".cpp")) ? name + ".cpp" : name + ".c";
}

/** The compiler for a program: the C++ driver of `cc` for a C++ program. */
function driverFor(name: string, cc: "gcc" | "clang"): string {
  if (!mainSource(name).endsWith(".cpp")) return cc;
  return cc === "clang" ? "clang++" : "g++";
}

const CFLAGS = ["-g", "-O0", "-Wall", "-Wextra"];
const LIBS = ["-ldl", "-lpthread"];

/** Compiles test-programs/NAME.c (or .c files given) and returns the output path. Rebuilds only
 * when a source, a header in test-programs/ or the API header is newer than the output. */
export function buildProgram(name: string, opts: BuildOptions = {}): string {
  const cc = opts.cc ?? "gcc";
  const suffix = [opts.variant, cc].filter(Boolean).join("-");
  const out = path.join(BUILD_DIR, `${name}-${suffix}${opts.shared ? ".so" : ""}`);
  const { sources, inputs } = programInputs(name, opts.extraSources);
  if (opts.api) inputs.push(stubLib());
  if (upToDate(out, inputs)) return out;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const args = [
    ...CFLAGS,
    ...(mainSource(name).endsWith(".cpp") ? ["-std=c++17"] : []),
    ...(opts.cflags ?? []),
  ];
  if (opts.shared) args.push("-shared", "-fPIC");
  args.push("-o", out, ...sources);
  if (opts.api) {
    args.push(`-I${RUNTIME_INCLUDE}`, stubLib(), `-Wl,-rpath,${path.dirname(stubLib())}`);
  }
  args.push(...(opts.ldflags ?? []), ...LIBS);
  const driver = driverFor(name, cc);
  const r = spawnSync(driver, args, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${driver} ${args.join(" ")} failed:\n${r.stderr}`);
  }
  return out;
}

/** The allocation wrappers test-programs/sites_sizeof.c and sites_dso.c declare (liballocs's
 * syntax): `allocs cc` needs them to type their callers' sites, the runtime to find those sites. */
export const SITES_ENV = { LIBALLOCS_ALLOC_FNS: "xmalloc(Z)p xcalloc(zZ)p dso_xmalloc(Z)p" };

export interface AllocsCcOptions {
  /** The compiler `allocs cc` drives (ALLOCS_CC). */
  cc?: "gcc" | "clang";
  /** Added to the build's environment (LIBALLOCS_ALLOC_FNS decides which calls are sites). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs `allocs cc ARGS` as a user or a Makefile does, through bin/allocs.js; any status. */
export function runAllocsCc(args: string[], opts: AllocsCcOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(ROOT, "bin", "allocs.js"), "cc", ...args], {
    encoding: "utf8",
    cwd: opts.cwd,
    env: { ...process.env, ALLOCS_CC: opts.cc ?? "gcc", ...opts.env },
    // clang's source analysis on a loaded machine is slow, but must not hang a suite.
    timeout: 300_000,
  });
}

export interface TypegenOptions {
  /** Added to typegen's environment (the allocator declarations: LIBALLOCS_SUBALLOC_FNS ...). */
  env?: NodeJS.ProcessEnv;
  quiet?: boolean;
  /** none unless given */
  timeoutMs?: number;
}

/** `allocs typegen [--quiet] EXE` as a user runs it, through bin/allocs.js; it must succeed. Its
 * output, for the tests that read what it reports. */
export function typegen(exe: string, opts: TypegenOptions = {}): SpawnSyncReturns<string> {
  const quiet = opts.quiet ? ["--quiet"] : [];
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "allocs.js"), "typegen", ...quiet, exe], {
    encoding: "utf8",
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs,
  });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

/** `allocs cc ARGS`, which must succeed and, being a drop-in `cc`, print nothing on stdout; a link
 * (`-o OUT` without `-c`) must also write OUT.allocsmeta. Always builds: the metadata is what the
 * callers test. Returns stderr, where allocs cc warns. */
export function allocsCc(args: string[], opts: AllocsCcOptions = {}): string {
  const r = runAllocsCc(args, opts);
  const what = `allocs cc ${args.join(" ")}`;
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed:\n${r.stderr}`);
  if (r.stdout !== "") throw new Error(`${what} printed on stdout:\n${r.stdout}`);
  const o = args.indexOf("-o");
  if (o >= 0 && !args.includes("-c")) {
    const meta = path.resolve(opts.cwd ?? ".", `${args[o + 1]}.allocsmeta`);
    if (!fs.existsSync(meta)) throw new Error(`${what} wrote no ${meta}:\n${r.stderr}`);
  }
  return r.stderr;
}

/** The builds whose `allocs cc` metadata the tests check: gcc unoptimised and optimised (sites and
 * locals move), and clang when it is installed. */
export const ALLOCS_CC_VARIANTS: { cc: "gcc" | "clang"; flags: string[]; label: string }[] = [
  { cc: "gcc", flags: ["-O0"], label: "gcc -O0" },
  { cc: "gcc", flags: ["-O2"], label: "gcc -O2" },
  ...(hasCommand("clang") ? [{ cc: "clang" as const, flags: ["-O0"], label: "clang -O0" }] : []),
];

/** Builds test-programs/NAME.c (and the extra sources) with `allocs cc`, so with its type metadata
 * in OUT.allocsmeta, and returns OUT; for tests that read the metadata, not test how it is made.
 * Rebuilds only when a source, a header in test-programs/ or the API header is newer than the
 * metadata, which allocs cc writes after the executable. */
export function buildWithAllocsCc(
  name: string,
  opts: Omit<BuildOptions, "api" | "shared"> & AllocsCcOptions = {},
): string {
  const cc = opts.cc ?? "gcc";
  const out = path.join(BUILD_DIR, `${name}-${[opts.variant, "allocscc", cc].filter(Boolean).join("-")}`);
  const { sources, inputs } = programInputs(name, opts.extraSources);
  if (upToDate(out + ".allocsmeta", inputs)) return out;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  allocsCc(
    [...CFLAGS, ...(opts.cflags ?? []), "-o", out, ...sources, ...(opts.ldflags ?? []), ...LIBS],
    opts,
  );
  return out;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Which runtime library to preload (default: the normal build). */
  runtime?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

function toResult(r: SpawnSyncReturns<string>, what: string): RunResult {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

function run(exe: string, args: string[], opts: RunOptions, env: NodeJS.ProcessEnv, what: string): RunResult {
  const r = spawnSync(exe, args, {
    env,
    cwd: opts.cwd,
    input: opts.input,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 60_000,
    // A deadlocked runtime may have every signal blocked: only SIGKILL is sure to end it.
    killSignal: "SIGKILL",
    maxBuffer: 64 << 20,
  });
  return toResult(r, what);
}

/** Runs a program with the runtime preloaded (children inherit it through the environment). */
export function runPreloaded(exe: string, args: string[] = [], opts: RunOptions = {}): RunResult {
  const env = { ...process.env, ...opts.env, LD_PRELOAD: opts.runtime ?? runtimeLib() };
  return run(exe, args, opts, env, `${exe} (preloaded)`);
}

/** Runs a program without the runtime. */
export function runPlain(exe: string, args: string[] = [], opts: RunOptions = {}): RunResult {
  const env = { ...process.env, ...opts.env };
  delete env.LD_PRELOAD;
  return run(exe, args, opts, env, exe);
}

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
}

/** gcc and clang (when installed), each at -O0 and -O2: the builds a C test runs over. */
export function compilerVariants(): ["gcc" | "clang", string][] {
  const ccs: ("gcc" | "clang")[] = hasCommand("clang") ? ["gcc", "clang"] : ["gcc"];
  return ccs.flatMap((cc): ["gcc" | "clang", string][] => [
    [cc, "-O0"],
    [cc, "-O2"],
  ]);
}

/** Test programs print one line per probe: `probe NAME key=value key=value ...`.
 * Returns the probes by name, each as its key/value map. */
export function parseProbes(stdout: string): Map<string, Record<string, string>> {
  const probes = new Map<string, Record<string, string>>();
  for (const line of stdout.split("\n")) {
    const m = /^probe (\S+)(.*)$/.exec(line);
    if (!m) continue;
    const fields: Record<string, string> = {};
    for (const kv of m[2].trim().split(/\s+/)) {
      const eq = kv.indexOf("=");
      if (eq > 0) fields[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    probes.set(m[1], fields);
  }
  return probes;
}
