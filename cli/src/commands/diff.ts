// `allocs diff [PROG] A B [--json] [--limit N]`: what grew between two heaps. A and B are core
// files (kernel cores or gcores) or heap snapshots (`alloc snapshot save`, a name or a path). Each
// core is turned into a snapshot by gdb in batch mode (as `allocs core` runs it), then the bridge
// compares the two files (docs/snapshot-format.md): by type and by site, count and bytes added,
// freed and net, largest growth first. PROG is found in a core when not given.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BRIDGE, runGdbBatch } from "./gdb";
import { gdbWarnings } from "./core";
import { UsageError } from "../paths";

const USAGE = "usage: allocs diff [PROG] A B [--json] [--limit N]   (A, B: core files or heap snapshots)";

export interface DiffArgs {
  prog?: string;
  a: string;
  b: string;
  json: boolean;
  limit?: number;
}

export function parseDiffArgs(args: string[]): DiffArgs {
  const rest: string[] = [];
  let json = false;
  let limit: number | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--json") json = true;
    else if (args[i] === "--limit") {
      limit = Number(args[++i]);
      if (!Number.isInteger(limit) || limit <= 0)
        throw new UsageError(`allocs diff: --limit needs a number\n${USAGE}`);
    } else rest.push(args[i]);
  }
  if (rest.length < 2 || rest.length > 3) throw new UsageError(USAGE);
  const [prog, a, b] = rest.length === 3 ? rest : [undefined, ...rest];
  if (prog !== undefined && !fs.existsSync(prog)) throw new UsageError(`allocs diff: ${prog}: no such file`);
  return { prog, a: a as string, b: b as string, json, limit };
}

/** Is the file an ELF core (e_type ET_CORE)? */
export function isCore(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const head = Buffer.alloc(18);
    if (fs.readSync(fd, head, 0, 18, 0) < 18) return false;
    return head.readUInt32BE(0) === 0x7f454c46 && head.readUInt16LE(16) === 4;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function gdb(args: string[], what: string): { stdout: string; stderr: string } {
  return runGdbBatch(
    ["-nx", "-q", "-batch", "-iex", `source ${BRIDGE}`, ...args],
    300_000,
    (ms) => `allocs diff: gdb did not finish ${what} within ${ms} ms`,
  );
}

/** The program a core was dumped from, as the core's process information names it. */
export function programOfCore(core: string): string | undefined {
  const r = gdb(["-c", core, "-ex", "info proc"], `reading ${core}`);
  const m = /^exe = '([^']*)'/m.exec(r.stdout);
  if (!m) return undefined;
  const words = m[1].split(" ");
  for (let n = words.length; n > 0; n--) {
    const p = words.slice(0, n).join(" "); // a path with spaces: the longest prefix that exists
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Saves the heap of a core as a snapshot file; returns the path. */
function snapshotOfCore(prog: string, core: string, out: string): string {
  const r = gdb(["-ex", `alloc snapshot save --json ${out}`, prog, core], `the snapshot of ${core}`);
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line || !fs.existsSync(out)) {
    const why = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("alloc"))
      .join("\n");
    throw new Error(
      `allocs diff: no snapshot of ${core}: ${why || gdbWarnings(r.stderr).join("\n") || "gdb gave no answer"}`,
    );
  }
  return out;
}

export async function diffCommand(args: string[]): Promise<number> {
  const a = parseDiffArgs(args);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-diff-"));
  try {
    const sides: string[] = [];
    for (const [i, side] of [a.a, a.b].entries()) {
      if (fs.existsSync(side) && isCore(side)) {
        const prog = a.prog ?? programOfCore(side);
        if (!prog)
          throw new UsageError(`allocs diff: cannot tell which program dumped ${side}: give PROG\n${USAGE}`);
        const name = `${i ? "B" : "A"}-${path.basename(side)}.snap.json.gz`;
        sides.push(snapshotOfCore(prog, side, path.join(dir, name)));
      } else if (fs.existsSync(side) || !side.includes("/")) {
        sides.push(fs.existsSync(side) ? path.resolve(side) : side); // a snapshot file, or a snapshot name
      } else {
        throw new UsageError(`allocs diff: ${side}: no such file`);
      }
    }
    const opts = [a.json ? "--json" : "", a.limit ? `--limit ${a.limit}` : ""].filter(Boolean).join(" ");
    const r = gdb(["-ex", `alloc diff ${opts} ${sides[0]} ${sides[1]}`], "the comparison");
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("alloc"));
    if (errors.length) {
      console.error(errors.join("\n"));
      return 1;
    }
    let out = r.stdout;
    for (const [i, side] of [a.a, a.b].entries()) out = out.split(sides[i]).join(side); // the user's names
    process.stdout.write(out);
    return 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
