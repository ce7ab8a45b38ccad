// Shared helpers for typegen tests: compile fixtures from test-programs/ into a per-run temp
// directory (cached per flag set), find tools, and run readelf for reference output.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "../../..");
export const FIXTURES = path.join(REPO, "test-programs");

let tmp: string | undefined;
export function tmpDir(): string {
  if (!tmp) tmp = mkdtempSync(path.join(os.tmpdir(), "allocs-typegen-"));
  return tmp;
}

const haveCache = new Map<string, boolean>();
export function have(cmd: string): boolean {
  let v = haveCache.get(cmd);
  if (v === undefined) {
    v = spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
    haveCache.set(cmd, v);
  }
  return v;
}

export interface Variant {
  /** Short label for test titles. */
  label: string;
  cc: "gcc" | "clang";
  flags: string[];
}

export const VARIANTS: Variant[] = [
  { label: "gcc -O0", cc: "gcc", flags: ["-g", "-O0"] },
  { label: "gcc -O2", cc: "gcc", flags: ["-g", "-O2"] },
  { label: "gcc -O0 -gdwarf-4", cc: "gcc", flags: ["-gdwarf-4", "-O0"] },
  { label: "gcc -O2 -gz", cc: "gcc", flags: ["-g", "-O2", "-gz"] },
  {
    label: "gcc -O0 -gdwarf-4 -fdebug-types-section",
    cc: "gcc",
    flags: ["-gdwarf-4", "-O0", "-fdebug-types-section"],
  },
  {
    label: "gcc -O0 -fdebug-types-section (DWARF 5 type units)",
    cc: "gcc",
    flags: ["-g", "-O0", "-fdebug-types-section"],
  },
  { label: "clang -O0", cc: "clang", flags: ["-g", "-O0"] },
  { label: "clang -O2", cc: "clang", flags: ["-g", "-O2"] },
  { label: "clang -O0 -gdwarf-4", cc: "clang", flags: ["-gdwarf-4", "-O0"] },
];

const built = new Map<string, string>();

/** Compiles `sources` (names under test-programs/) with a variant; returns the executable path. */
export function build(sources: string[], v: Variant, extra: string[] = []): string {
  const flags = [...v.flags, ...extra];
  const id = `${v.cc} ${flags.join(" ")} ${sources.join(" ")}`;
  const hit = built.get(id);
  if (hit) return hit;
  const out = path.join(tmpDir(), `${sources[0].replace(/\.c$/, "")}-${built.size}`);
  execFileSync(v.cc, [...flags, "-I", FIXTURES, "-o", out, ...sources.map((s) => path.join(FIXTURES, s))], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  built.set(id, out);
  return out;
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "pipe", "ignore"],
  });
}

/** Skips the current test (with a reason) when a tool is missing. */
export function requireTool(ctx: Mocha.Context, cmd: string): void {
  if (!have(cmd)) {
    console.log(
      `      (skipped: ${cmd} is not installed; apt-get install ${cmd === "clang" ? "clang" : cmd})`,
    );
    ctx.skip();
  }
}

export function ensureDir(p: string): string {
  if (!existsSync(p)) mkdirSync(p, { recursive: true });
  return p;
}
