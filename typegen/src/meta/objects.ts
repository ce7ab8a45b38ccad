// Which ELF objects a program, a running process or a core file uses, for zero setup
// (ensure.ts): a program's own file and the libraries the dynamic loader would map for it
// (asked of the loader itself, `ld.so --list`, which resolves RPATH/RUNPATH, LD_LIBRARY_PATH and
// ld.so.cache exactly as a run will; the program's code is not run), a process's file-backed
// mappings, a core's NT_FILE note. Paths only: what each holds is ensure.ts's business.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PT_INTERP } from "../elf/constants";
import { ElfFile } from "../elf/elf-file";
import { readNotes } from "../elf/notes";

/** The allocs runtime itself (preloaded): not a program's object, left out. */
const RUNTIME = /\/liballocs(-\w+)?\.so$/;

/** The note in a core listing every file-backed mapping (name "CORE"). */
const NT_FILE = 0x46494c45;

/** A program named without a slash, found as execvp would (PATH). */
export function resolveProgram(prog: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (prog.includes("/")) return fs.existsSync(prog) ? path.resolve(prog) : undefined;
  for (const dir of (env.PATH ?? "/usr/bin:/bin").split(":")) {
    const p = path.join(dir || ".", prog);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return path.resolve(p);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** True when the file starts with the ELF magic (scripts and data files are not objects). */
export function isElf(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b.toString("latin1") === "\x7fELF";
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The program and the libraries the loader maps for it (`ld.so --list`, with `env`). A static
 * program, a script or a loader that fails gives the program alone (or nothing). */
export function programObjects(prog: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const file = resolveProgram(prog, env);
  if (!file || !isElf(file)) return [];
  let interp: string | undefined;
  try {
    const elf = ElfFile.open(file);
    const p = elf.segments.find((s) => s.type === PT_INTERP);
    if (p) interp = elf.bytes(p.offset, p.filesz).toString("latin1").replace(/\0.*$/s, "");
  } catch {
    return [file];
  }
  if (!interp) return [file];
  // LD_PRELOAD is the runtime's business (it has no DWARF worth typing): kept out of the list.
  const loaderEnv = { ...env };
  delete loaderEnv.LD_PRELOAD;
  const r = spawnSync(interp, ["--list", file], { encoding: "utf8", env: loaderEnv, timeout: 30_000 });
  const out = [file];
  if (r.status !== 0 || typeof r.stdout !== "string") return out;
  for (const line of r.stdout.split("\n")) {
    // "\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /^\s*(?:\S+ => )?(\/\S+) \(0x[0-9a-f]+\)\s*$/.exec(line);
    if (m && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

/** The ELF files mapped into a running process (/proc/PID/maps). */
export function processObjects(pid: number): string[] {
  let maps: string;
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of maps.split("\n")) {
    const m = /^\S+ \S+ \S+ \S+ \d+\s+(\/.*?)(?: \(deleted\))?$/.exec(line);
    if (m && !RUNTIME.test(m[1]) && !out.includes(m[1]) && isElf(m[1])) out.push(m[1]);
  }
  return out;
}

/** The ELF files a core's NT_FILE note names that exist here (a core of a program whose files
 * have moved or changed gets what is found; the build-id keeps a changed one from matching). */
export function coreObjects(core: string): string[] {
  const out: string[] = [];
  let notes;
  try {
    notes = readNotes(ElfFile.open(core));
  } catch {
    return out;
  }
  for (const n of notes) {
    if (n.name !== "CORE" || n.type !== NT_FILE || n.desc.length < 16) continue;
    const count = Number(n.desc.readBigUInt64LE(0));
    let at = 16 + 24 * count;
    for (let i = 0; i < count && at < n.desc.length; i++) {
      const end = n.desc.indexOf(0, at);
      const name = n.desc.toString("utf8", at, end < 0 ? n.desc.length : end);
      at = end < 0 ? n.desc.length : end + 1;
      if (name.startsWith("/") && !RUNTIME.test(name) && !out.includes(name) && isElf(name)) out.push(name);
    }
  }
  return out;
}
