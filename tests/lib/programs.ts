// Builds the C programs under test-programs/ and runs them with or without the runtime.
// Every test that needs a real program goes through here, so flags and paths live in one place.
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const PROGRAMS_DIR = path.join(ROOT, "test-programs");
export const BUILD_DIR = path.join(PROGRAMS_DIR, "build");
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

function newestMtime(files: string[]): number {
  return Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
}

/** Compiles test-programs/NAME.c (or .c files given) and returns the output path. Rebuilds only
 * when a source, a header in test-programs/ or the API header is newer than the output. */
export function buildProgram(name: string, opts: BuildOptions = {}): string {
  const cc = opts.cc ?? "gcc";
  const suffix = [opts.variant, cc].filter(Boolean).join("-");
  const out = path.join(BUILD_DIR, `${name}-${suffix}${opts.shared ? ".so" : ""}`);
  const sources = [
    path.join(PROGRAMS_DIR, `${name}.c`),
    ...(opts.extraSources ?? []).map((s) => path.join(PROGRAMS_DIR, s)),
  ];
  const headers = fs
    .readdirSync(PROGRAMS_DIR)
    .filter((f) => f.endsWith(".h"))
    .map((f) => path.join(PROGRAMS_DIR, f));
  const inputs = [...sources, ...headers, path.join(RUNTIME_INCLUDE, "allocs.h")];
  if (opts.api) inputs.push(stubLib());
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newestMtime(inputs)) return out;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const args = ["-g", "-O0", "-Wall", "-Wextra", ...(opts.cflags ?? [])];
  if (opts.shared) args.push("-shared", "-fPIC");
  args.push("-o", out, ...sources);
  if (opts.api) {
    args.push(`-I${RUNTIME_INCLUDE}`, stubLib(), `-Wl,-rpath,${path.dirname(stubLib())}`);
  }
  args.push(...(opts.ldflags ?? []), "-ldl", "-lpthread");
  const r = spawnSync(cc, args, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${cc} ${args.join(" ")} failed:\n${r.stderr}`);
  }
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
