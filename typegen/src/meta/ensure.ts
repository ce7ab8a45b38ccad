// Zero setup: before a program runs (or a process or core is opened), the type metadata of each
// of its objects that has DWARF is made once into the build-id cache
// (${XDG_CACHE_HOME:-~/.cache}/allocs/meta/BUILDID.allocsmeta, where the runtime and the gdb
// bridge look), and reused until the object's build-id changes. Shared by the `allocs`
// commands (run, gdb, core) and the debug adapter; they draw the progress.
//
// What is already there costs a stat or two per object: the cache entry (made by this build of
// typegen or later, or a link to what `allocs cc` wrote), metadata next to the
// object (what `allocs cc` writes; also next to the file a symlink resolves to), or a marker
// `BUILDID.nodwarf` remembering an object without DWARF (most system libraries), so those are
// not searched for debug files again on every run (until a debug file appears by build-id).
// A generation that fails on a malformed file leaves `BUILDID.failed` with the reason (said
// once, not retried); other failures are said and retried next time.

import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { buildIdPaths, findDebugFile } from "../elf/debuglink";
import { ElfFile } from "../elf/elf-file";
import { buildId } from "../elf/notes";
import { readSymbols } from "../elf/symbols";
import { suballocFunctions } from "../sites/decls";
import { META_MAGIC, META_SUFFIX, META_VERSION } from "./format";
/** Beside a metadata file: the suballocator declarations it was made with (suballocKeyFor). */
export const SUBFNS_SUFFIX = ".subfns";
import { GenerateResult, cacheDir } from "./generate";

export type ObjectState =
  | "cached" // BUILDID.allocsmeta in the cache
  | "beside" // OBJECT.allocsmeta with the object's build-id
  | "no-build-id" // the runtime cannot match metadata to it: nothing to do
  | "no-dwarf" // no DWARF, in the object or a separate debug file (remembered)
  | "failed-before" // an earlier generation failed (remembered)
  | "unreadable" // not an ELF file we can read
  | "missing"; // to generate

export interface ObjectPlan {
  file: string;
  state: ObjectState;
  buildId?: string;
}

export interface EnsureProgress {
  /** Called once, before the first generation, with the objects to generate (never when none). */
  start?(files: string[]): void;
  /** Generation of files[index] begins. */
  object?(file: string, index: number, total: number): void;
  stage?(stage: string, fraction: number): void;
  /** After the last one (only when start was called). */
  end?(report: EnsureReport): void;
}

export interface EnsureReport {
  plans: ObjectPlan[];
  generated: { file: string; out: string; result: GenerateResult }[];
  failed: { file: string; message: string }[];
}

/** The build-id recorded in a metadata file's header, or undefined when it is not one. */
export function metaFileBuildId(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const h = Buffer.alloc(48);
    if (fs.readSync(fd, h, 0, 48, 0) !== 48 || h.toString("latin1", 0, 8) !== META_MAGIC) return undefined;
    if (h.readUInt32LE(8) !== META_VERSION) return undefined; // another typegen's: not ours to use
    const len = h.readUInt32LE(44);
    return len > 0 && len <= 20 ? h.toString("hex", 24, 24 + len) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The paths the runtime tries next to an object: the loader's path, then each symlink target
 * (libfoo.so.0 -> libfoo.so.0.8.6, where libtool's `allocs cc` wrote its metadata). */
export function besideCandidates(file: string): string[] {
  const out = [file + META_SUFFIX];
  let p = file;
  for (let i = 0; i < 8; i++) {
    let target: string;
    try {
      target = fs.readlinkSync(p);
    } catch {
      break;
    }
    p = path.resolve(path.dirname(p), target);
    out.push(p + META_SUFFIX);
  }
  return out;
}

/** When this typegen was built: metadata it made before that (a file in the cache, not a link
 * to one `allocs cc` wrote) is made again, as a newer typegen may type more. */
let builtAt: number | undefined;
function typegenBuiltAt(): number {
  if (builtAt === undefined) {
    try {
      builtAt = fs.statSync(path.join(__dirname, "writer.js")).mtimeMs;
    } catch {
      builtAt = 0;
    }
  }
  return builtAt;
}

function cachedAndCurrent(file: string): boolean {
  try {
    const l = fs.lstatSync(file);
    if (l.isSymbolicLink()) return fs.existsSync(file);
    if (file.endsWith(META_SUFFIX) && metaFileBuildId(file) === undefined) return false; // not one we can use
    return l.mtimeMs >= typegenBuiltAt();
  } catch {
    return false;
  }
}

function markerPath(id: string, kind: "nodwarf" | "failed", env: NodeJS.ProcessEnv): string {
  return path.join(cacheDir(env), `${id}.${kind}`);
}

/** What an object needs, from a few stats (and its ELF notes for the build-id). */
export function planObject(file: string, env: NodeJS.ProcessEnv = process.env): ObjectPlan {
  let elf: ElfFile;
  let id: string | undefined;
  try {
    elf = ElfFile.open(file);
    id = buildId(elf);
  } catch {
    return { file, state: "unreadable" };
  }
  if (!id) return { file, state: "no-build-id" };
  const plan = (state: ObjectState): ObjectPlan => ({ file, state, buildId: id });
  const cached = path.join(cacheDir(env), id + META_SUFFIX);
  if (cachedAndCurrent(cached) && suballocsRecorded(cached, elf, env)) return plan("cached");
  if (besideCandidates(file).some((m) => metaFileBuildId(m) === id)) return plan("beside");
  if (cachedAndCurrent(markerPath(id, "failed", env))) return plan("failed-before");
  if (fs.existsSync(markerPath(id, "nodwarf", env))) {
    // remembered, unless a debug file has been installed since (a stat per debug directory)
    if (!buildIdPaths(id).some((p) => fs.existsSync(p))) return plan("no-dwarf");
  }
  let dwarf = false;
  try {
    dwarf = elf.hasDwarf() || findDebugFile(elf) !== undefined;
  } catch {
    dwarf = false;
  }
  if (!dwarf) {
    writeMarker(markerPath(id, "nodwarf", env), `${file}: no DWARF and no separate debug file\n`);
    return plan("no-dwarf");
  }
  return plan("missing");
}

/** The declared suballocators (LIBALLOCS_SUBALLOC_FNS, _SUBFREE_FNS) an object's symbols name,
 * as the key written beside the metadata made with them (META.subfns, typegen's generate.ts);
 * "" when none. Objects naming none (libc) are not made again when declarations change. */
export function suballocKeyFor(elf: ElfFile, env: NodeJS.ProcessEnv = process.env): string {
  const subs = suballocFunctions(env);
  if (subs.size === 0) return "";
  const syms = readSymbols(elf);
  const named = new Set([...syms.symtab, ...syms.dynsym].map((s) => s.name.split(".")[0]));
  return [...subs.keys()]
    .filter((n) => named.has(n))
    .sort()
    .join(" ");
}

/** True when the metadata was made with the declarations that matter to this object. */
function suballocsRecorded(meta: string, elf: ElfFile, env: NodeJS.ProcessEnv): boolean {
  const key = suballocKeyFor(elf, env);
  if (key === "") return true;
  try {
    return fs.readFileSync(meta + SUBFNS_SUFFIX, "utf8").trim() === key;
  } catch {
    return false;
  }
}

function writeMarker(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  } catch {
    /* a read-only cache only costs the look-up again next time */
  }
}

/** Generates one object's metadata into the cache in a worker thread (the caller's event loop
 * stays free to draw progress or answer a debugger client). */
export function generateInWorker(
  prog: string,
  out: string,
  onStage: (stage: string, fraction: number) => void = () => {},
): Promise<GenerateResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, "worker.js"), { workerData: { prog, opts: { out } } });
    let settled = false;
    worker.on(
      "message",
      (m: {
        stage?: string;
        fraction?: number;
        result?: GenerateResult;
        error?: { name: string; message: string };
      }) => {
        if (m.stage !== undefined) onStage(m.stage, m.fraction ?? 0);
        else if (m.result) {
          settled = true;
          resolve(m.result);
        } else if (m.error) {
          settled = true;
          const e = new Error(m.error.message);
          e.name = m.error.name;
          reject(e);
        }
      },
    );
    worker.on("error", (e) => {
      settled = true;
      reject(e);
    });
    worker.on("exit", (code) => {
      if (!settled) reject(new Error(`typegen's worker exited with status ${code}`));
    });
  });
}

/** Makes the missing metadata of `files` (duplicates and repeated build-ids once each). */
export async function ensureMetadata(
  files: string[],
  progress: EnsureProgress = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<EnsureReport> {
  const report: EnsureReport = { plans: [], generated: [], failed: [] };
  if (env.ALLOCS_AUTO_META === "off") return report;
  const seen = new Set<string>();
  for (const f of files) {
    const real = safeRealpath(f);
    if (seen.has(real)) continue;
    seen.add(real);
    report.plans.push(planObject(f, env));
  }
  const ids = new Set<string>();
  const todo = report.plans.filter((p) => {
    if (p.state !== "missing" || ids.has(p.buildId as string)) return false;
    ids.add(p.buildId as string);
    return true;
  });
  if (todo.length === 0) return report;
  progress.start?.(todo.map((p) => p.file));
  for (let i = 0; i < todo.length; i++) {
    const p = todo[i];
    progress.object?.(p.file, i, todo.length);
    try {
      const out = path.join(cacheDir(env), (p.buildId as string) + META_SUFFIX);
      const result = await generateInWorker(p.file, out, (s, f) => progress.stage?.(s, f));
      report.generated.push({ file: p.file, out: result.out, result });
    } catch (e) {
      const message = (e as Error).message.split("\n")[0];
      report.failed.push({ file: p.file, message });
      // the file itself is bad: remembered; anything else (memory, a missing part) is retried
      if ((e as Error).name === "TypegenFormatError")
        writeMarker(markerPath(p.buildId as string, "failed", env), `${p.file}: ${message}\n`);
    }
  }
  progress.end?.(report);
  return report;
}

function safeRealpath(f: string): string {
  try {
    return fs.realpathSync(f);
  } catch {
    return f;
  }
}

/** Puts a symlink to a metadata file written elsewhere (next to its object, by `allocs cc`)
 * into the cache under its build-id, so the runtime and the bridge find it by build-id whatever
 * path the object is loaded from (an installed copy, libtool's .libs/ names). */
export function linkIntoCache(metaFile: string, id: string, env: NodeJS.ProcessEnv = process.env): void {
  const dir = cacheDir(env);
  const dest = path.join(dir, id + META_SUFFIX);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${dest}.tmp${process.pid}`;
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(path.resolve(metaFile), tmp);
    fs.renameSync(tmp, dest);
  } catch {
    /* the cache is a convenience: the file next to the object still works */
  }
}
