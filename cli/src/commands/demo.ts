// `allocs demo`: the liballocs demo, built with `allocs cc` and run with `allocs run`, showing
// the commands as it goes so a newcomer can repeat them by hand.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ccArguments, compilerCommand, metadataAfterLink } from "./cc";
import { preloadEnv } from "../preload";
import { ROOT } from "../paths";

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

export async function demoCommand(_args: string[]): Promise<number> {
  const { output } = buildAndRunDemo((line) => console.log(line));
  process.stdout.write(output);
  return 0;
}
