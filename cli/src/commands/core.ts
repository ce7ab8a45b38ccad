// `allocs core PROG CORE [ADDR|EXPR ...] [--json]`: non-interactive answers from a core file.
// Runs gdb in batch mode with the bridge loaded and asks it to describe each address (or, with
// none, to take a census of the heap). The bridge writes its answer to a file of ours (the JSON
// array alone with --json), so nothing is picked out of gdb's own output. Colour on a TTY (not
// with --json, not with NO_COLOR).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BRIDGE, runGdbBatch } from "./gdb";
import { UsageError } from "../paths";
import { prepareMetadata } from "../meta-setup";
import { coreObjects } from "../../../typegen/src/meta/objects";

const USAGE = "usage: allocs core PROG CORE [ADDR|EXPR ...] [--json] [--force]";

export interface CoreArgs {
  prog: string;
  core: string;
  exprs: string[];
  json: boolean;
  /** Answer even when gdb says the core may not be PROG's. */
  force?: boolean;
}

export function parseCoreArgs(args: string[]): CoreArgs {
  const json = args.includes("--json");
  const force = args.includes("--force");
  const rest = args.filter((a) => a !== "--json" && a !== "--force");
  if (rest.length < 2) throw new UsageError(USAGE);
  const [prog, core, ...exprs] = rest;
  for (const f of [prog, core]) {
    if (!fs.existsSync(f)) throw new UsageError(`allocs core: ${f}: no such file`);
  }
  return { prog, core, exprs, json, force };
}

const ET_CORE = 4;
const PT_LOAD = 1;

/** Why FILE cannot be a core file (empty, a directory, not ELF, an ELF executable or library, a
 * truncated core), or undefined. Reads only the ELF header and program headers (ELF64, little-endian). */
export function coreFileProblem(file: string): string | undefined {
  const st = fs.statSync(file);
  if (st.isDirectory()) return "is a directory, not a core file";
  if (!st.isFile()) return "is not a regular file";
  if (st.size === 0) return "is empty, not a core file";
  const fd = fs.openSync(file, "r");
  try {
    const ehdr = Buffer.alloc(64);
    const n = fs.readSync(fd, ehdr, 0, 64, 0);
    if (n < 4 || ehdr.toString("latin1", 0, 4) !== "\x7fELF") return "is not a core file (not ELF)";
    if (n < 64 || ehdr[4] !== 2 || ehdr[5] !== 1) return "is not a 64-bit little-endian ELF core file";
    const type = ehdr.readUInt16LE(16);
    if (type !== ET_CORE) return `is an ELF file of type ${type} (a program or library), not a core file`;
    const phoff = Number(ehdr.readBigUInt64LE(32));
    const phentsize = ehdr.readUInt16LE(54);
    const phnum = ehdr.readUInt16LE(56);
    if (phentsize < 56 || phnum === 0 || phoff + phentsize * phnum > st.size)
      return "is truncated or damaged: its program headers are missing";
    const phdrs = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, phdrs, 0, phdrs.length, phoff);
    let loads = 0;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (phdrs.readUInt32LE(at) !== PT_LOAD) continue;
      loads++;
      const end = phdrs.readBigUInt64LE(at + 8) + phdrs.readBigUInt64LE(at + 32);
      if (end > BigInt(st.size))
        return `is truncated: a memory segment ends at byte ${end}, past the file's ${st.size}`;
    }
    return loads ? undefined : "has no memory segments (not a process's core)";
  } finally {
    fs.closeSync(fd);
  }
}

/** gdb's own verdict on the core, when it refused it or says it is another program's. */
export function gdbCoreRefusal(stderr: string, force = false): string | undefined {
  const refused = /is not a core dump|File format not recognized|not in executable format/.exec(stderr);
  if (refused)
    return `gdb cannot read it (${stderr
      .split("\n")
      .find((l) => l.includes(refused[0]))
      ?.trim()})`;
  if (!force && /core file may not match specified executable file/.test(stderr))
    return "is not a core of this program (gdb: core file may not match specified executable file; --force answers anyway)";
  return undefined;
}

/** The gdb command line that answers for a core into `reportFile` (exported for tests). */
export function coreGdbArguments(a: CoreArgs, reportFile: string): string[] {
  // JSON's string and list literals are Python's
  const call = `python cli_report(${JSON.stringify(a.exprs)}, ${a.json ? "True" : "False"}, ${JSON.stringify(reportFile)})`;
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

/** gdb's complaints worth passing on (not its chatter about threads, sources and registers). */
export function gdbWarnings(stderr: string): string[] {
  const noise = /^\[|libthread_db|reg-xstate|^\d+\t|No such file or directory\.$|^Using host/;
  return stderr.split("\n").filter((l) => l.trim() && !noise.test(l));
}

export async function coreCommand(args: string[]): Promise<number> {
  const a = parseCoreArgs(args);
  const problem = coreFileProblem(a.core);
  if (problem) {
    console.error(`allocs core: ${a.core} ${problem}`);
    return 1;
  }
  await prepareMetadata("allocs core", [a.prog, ...coreObjects(a.core)]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-core-"));
  try {
    const reportFile = path.join(dir, "report");
    const r = runGdbBatch(
      coreGdbArguments(a, reportFile),
      120_000,
      (ms) => `allocs core: gdb did not answer within ${ms} ms`,
    );
    const refusal = gdbCoreRefusal(r.stderr, a.force);
    if (refusal) {
      console.error(`allocs core: ${a.core} ${refusal}`);
      return 1;
    }
    const warnings = gdbWarnings(r.stderr);
    if (!fs.existsSync(reportFile)) {
      console.error(warnings.join("\n") || "allocs core: gdb gave no answer");
      return 1;
    }
    const out = fs.readFileSync(reportFile, "utf8");
    for (const w of warnings) console.error(w);
    if (a.json) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(out);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed)) {
        console.error(`allocs core: the bridge's answer is not a JSON array: ${out.trim().slice(0, 200)}`);
        return 1;
      }
      process.stdout.write(out.trim() + "\n"); // the bridge's own spelling, checked above
      return (parsed as Array<{ error?: string }>).some((x) => x.error) ? 1 : 0;
    }
    const colour = process.stdout.isTTY && !process.env.NO_COLOR;
    process.stdout.write(colour ? colourise(out) : out);
    return /^error: /m.test(out) ? 1 : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
