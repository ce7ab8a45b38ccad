// `allocs core PROG CORE [ADDR|EXPR ...] [--json]`: non-interactive answers from a core file.
// Runs gdb in batch mode with the bridge loaded and asks it to describe each address (or, with
// none, to take a census of the heap). Colour on a TTY (not with --json, not with NO_COLOR).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { BRIDGE, gdbCommandName } from "./gdb";
import { UsageError } from "../paths";
import { prepareMetadata } from "../meta-setup";
import { coreObjects } from "../../../typegen/src/meta/objects";

const USAGE = "usage: allocs core PROG CORE [ADDR|EXPR ...] [--json]";

export interface CoreArgs {
  prog: string;
  core: string;
  exprs: string[];
  json: boolean;
}

export function parseCoreArgs(args: string[]): CoreArgs {
  const json = args.includes("--json");
  const rest = args.filter((a) => a !== "--json");
  if (rest.length < 2) throw new UsageError(USAGE);
  const [prog, core, ...exprs] = rest;
  for (const f of [prog, core]) {
    if (!fs.existsSync(f)) throw new UsageError(`allocs core: ${f}: no such file`);
  }
  return { prog, core, exprs, json };
}

/** The gdb command line that answers for a core (exported for tests). */
export function coreGdbArguments(a: CoreArgs): string[] {
  const call = `python cli_report(${JSON.stringify(a.exprs)}, ${a.json ? "True" : "False"})`;
  return ["-nx", "-q", "-batch", "-iex", `source ${BRIDGE}`, "-ex", call, a.prog, a.core];
}

const LABEL = /^(address|chain|allocator|base|size|offset|type|path|site|what|state|note) {2,}/;

function colourise(text: string): string {
  const cyan = (s: string) => `\u001b[36m${s}\u001b[39m`;
  const bold = (s: string) => `\u001b[1m${s}\u001b[22m`;
  const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
  return text
    .split("\n")
    .map((line) => {
      if (line.startsWith("== ")) return bold(line);
      if (line.startsWith("error: ")) return red(line);
      const m = LABEL.exec(line);
      return m ? cyan(m[0]) + line.slice(m[0].length) : line;
    })
    .join("\n");
}

const MARKER = "@allocs-report\n";

/** gdb's complaints worth passing on (not its chatter about threads, sources and registers). */
export function gdbWarnings(stderr: string): string[] {
  const noise = /^\[|libthread_db|reg-xstate|^\d+\t|No such file or directory\.$|^Using host/;
  return stderr.split("\n").filter((l) => l.trim() && !noise.test(l));
}

export async function coreCommand(args: string[]): Promise<number> {
  const a = parseCoreArgs(args);
  await prepareMetadata("allocs core", [a.prog, ...coreObjects(a.core)]);
  const timeout = Number(process.env.ALLOCS_GDB_TIMEOUT_MS ?? 120_000);
  const r = spawnSync(gdbCommandName(), coreGdbArguments(a), {
    encoding: "utf8",
    timeout,
    maxBuffer: 256 << 20,
  });
  if (r.error) {
    const e = r.error as NodeJS.ErrnoException;
    if (e.code === "ENOENT") throw new Error(`${gdbCommandName()}: command not found`);
    if (e.code === "ETIMEDOUT") throw new Error(`allocs core: gdb did not answer within ${timeout} ms`);
    throw e;
  }
  const warnings = gdbWarnings(r.stderr);
  const at = r.stdout.indexOf(MARKER);
  if (at < 0) {
    console.error(warnings.join("\n") || "allocs core: gdb gave no answer");
    return 1;
  }
  const out = r.stdout.slice(at + MARKER.length);
  for (const w of warnings) console.error(w);
  if (a.json) {
    const line = out.split("\n").find((l) => l.startsWith("["));
    if (!line) {
      console.error(out.trim() || "allocs core: gdb gave no answer");
      return 1;
    }
    process.stdout.write(line + "\n");
    const parsed = JSON.parse(line) as Array<{ error?: string }>;
    return parsed.some((x) => x.error) ? 1 : 0;
  }
  const colour = process.stdout.isTTY && !process.env.NO_COLOR;
  process.stdout.write(colour ? colourise(out) : out);
  return /^error: /m.test(out) ? 1 : 0;
}
