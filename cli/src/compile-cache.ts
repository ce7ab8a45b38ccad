// A V8 code cache for the CLI's own compiled modules (dist/**), so a command does not parse and
// compile the same JavaScript on every run. Node 20 has no module.enableCompileCache; this does
// what it does with vm.Script's cachedData. Measured on `allocs typegen` of a small test program
// (heap_probe-gcc, 15 alternated runs, load ~5, minimum CPU): 0.157 s -> 0.138 s. The cache data
// is taken at exit, not after a module's top level runs: most of the saving is the functions V8
// compiles lazily while the command works (taken after the top level: no gain measured).
//
// Never stale: an entry is used only when the module's source is byte for byte the one it was
// made from (the source is stored beside it and compared), and V8 itself refuses data made by
// another V8 or under other flags. Off when it would change what a run reports: under coverage
// (NODE_V8_COVERAGE; ALLOCS_COMPILE_CACHE=on keeps it on) or with source maps on; off with
// ALLOCS_COMPILE_CACHE=off. The file (codeCacheFile) is written whole (temporary file and
// rename) at exit when a module was missing or changed; anything that fails leaves the command
// as it was without the cache.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vm from "node:vm";
import * as zlib from "node:zlib";
import Module from "node:module";

/** What Node's CommonJS loader passes a module's code (not in @types/node's Module). */
interface LoadedModule {
  filename: string;
  exports: unknown;
  require(id: string): unknown;
}
interface ModuleInternals {
  prototype: { _compile(this: LoadedModule, content: string, filename: string): unknown };
  _resolveFilename(
    request: string,
    parent: LoadedModule | undefined,
    isMain: boolean,
    options?: unknown,
  ): string;
  _cache: unknown;
  _extensions: unknown;
}

const MAGIC = "allocs-code-cache-3\n";

interface Entry {
  source: Buffer;
  data: Buffer;
  /** Where its relative requires led (request -> file), for the same source. */
  resolved: Record<string, string>;
}

/** The cache file of this checkout (the directory holding dist/), this Node and one kind of
 * start (`kind`: a start reads only what starts of its kind load, ~1 MB for typegen). */
export function codeCacheFile(root: string, kind: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  const name = `${root.replace(/[^A-Za-z0-9._-]/g, "_")}-${kind}-${process.version}-${process.arch}.bin`;
  return path.join(base, "allocs", "code-cache", name);
}

/** The file: MAGIC, the CRC-32 of all that follows it (u32le: V8 checks the data's header, not
 * all of its bytes), the header's length (u32le), the header (JSON), then each entry's source and
 * data in the header's order. */
type HeaderEntry = [name: string, sourceLength: number, dataLength: number, resolved: Record<string, string>];

/** Entries by file name; an unreadable or foreign file reads as empty. */
function readCache(file: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return entries;
  }
  try {
    if (buf.toString("latin1", 0, MAGIC.length) !== MAGIC) return entries;
    if (buf.readUInt32LE(MAGIC.length) !== zlib.crc32(buf.subarray(MAGIC.length + 4))) return entries;
    const headerLength = buf.readUInt32LE(MAGIC.length + 4);
    let at = MAGIC.length + 8;
    const header = JSON.parse(buf.toString("utf8", at, at + headerLength)) as HeaderEntry[];
    at += headerLength;
    for (const [name, sourceLength, dataLength, resolved] of header) {
      // A file written by another version of this code is a miss, never an error.
      const shaped =
        typeof name === "string" && typeof sourceLength === "number" && typeof dataLength === "number";
      if (!shaped || typeof resolved !== "object" || resolved === null) return new Map();
      const source = buf.subarray(at, at + sourceLength);
      const data = buf.subarray(at + sourceLength, at + sourceLength + dataLength);
      at += sourceLength + dataLength;
      if (data.length !== dataLength) return new Map();
      entries.set(name, { source, data, resolved });
    }
  } catch {
    return new Map();
  }
  return entries;
}

function writeCache(file: string, entries: Map<string, Entry>): void {
  const header: HeaderEntry[] = [];
  const parts: Buffer[] = [];
  for (const [name, e] of entries) {
    header.push([name, e.source.length, e.data.length, e.resolved]);
    parts.push(e.source, e.data);
  }
  const headerBytes = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length);
  const body = Buffer.concat([length, headerBytes, ...parts]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(zlib.crc32(body));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC, "latin1"), crc, body]));
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Cache data of a fixed script: equal at start and at exit when the flags V8 checks are equal. */
function flagProbe(): Buffer {
  return new vm.Script("0", { filename: "allocs-code-cache-probe" }).createCachedData();
}

/** On unless ALLOCS_COMPILE_CACHE=off, coverage or source maps; ALLOCS_COMPILE_CACHE=on keeps it
 * on under coverage (the cache's own tests, whose coverage counts). */
function enabled(): boolean {
  const setting = process.env.ALLOCS_COMPILE_CACHE;
  if (setting === "off" || typeof zlib.crc32 !== "function") return false; // crc32: Node 20.15
  return (
    (setting === "on" || !process.env.NODE_V8_COVERAGE) &&
    !process.sourceMapsEnabled &&
    !process.execArgv.some((a) => a.includes("source-maps"))
  );
}

let installed = false;
let release: (() => void) | undefined;

/**
 * Lets the cache file's bytes go (~1 MB; 1.6 MB of peak RSS measured on libc's typegen) once the
 * command's modules are loaded: modules loaded later compile as Node compiles them, and only what
 * was made or learned before is written at exit.
 */
export function releaseCodeCache(): void {
  release?.();
}

/** What this process's modules found in the cache (for tests: a hit is the observable effect). */
export const codeCacheStats = { used: 0, missed: 0, refused: 0 };

/**
 * Compiles every module under `root`/dist through the code cache from now on (once per process).
 * `root` is the checkout; `file` the cache, e.g. codeCacheFile(root, kind).
 */
export function installCodeCache(root: string, file: string): void {
  if (installed || !enabled()) return;
  installed = true;
  const dist = path.join(root, "dist") + path.sep;
  const entries = readCache(file);
  const fresh = new Map<string, { source: string; script: vm.Script }>();
  /** Modules run from their cached source: their entry's resolutions hold. */
  const trusted = new Set<string>();
  const resolutions = new Map<string, Record<string, string>>();
  let learned = 0;
  const probe = flagProbe();
  const M = Module as unknown as ModuleInternals;
  const original = M.prototype._compile;

  let released = false;
  release = () => {
    if (released) return;
    released = true;
    const empty = Buffer.alloc(0);
    for (const [name, entry] of entries) {
      // An entry whose resolutions grew is written again at exit: it keeps its own copy.
      if (resolutions.has(name) && !fresh.has(name))
        entries.set(name, { ...entry, source: Buffer.from(entry.source), data: Buffer.from(entry.data) });
      else entries.set(name, { ...entry, source: empty, data: empty });
    }
  };

  M.prototype._compile = function (this: LoadedModule, content: string, filename: string): unknown {
    if (released || !filename.startsWith(dist)) return original.call(this, content, filename);
    const entry = entries.get(filename);
    const sameSource = entry !== undefined && entry.source.toString("utf8") === content;
    const script = new vm.Script(Module.wrap(content), {
      filename,
      cachedData: sameSource ? entry.data : undefined,
    });
    // Data refused for the same source was made under other flags: making it again would not help.
    if (!sameSource) {
      fresh.set(filename, { source: content, script });
      resolutions.set(filename, {});
      codeCacheStats.missed++;
    } else {
      trusted.add(filename);
      if (script.cachedDataRejected) codeCacheStats.refused++;
      else codeCacheStats.used++;
    }
    const compiled = script.runInThisContext({ displayErrors: true }) as (
      exports: unknown,
      require: unknown,
      module: LoadedModule,
      __filename: string,
      __dirname: string,
    ) => unknown;
    const moduleRequire = Object.assign((id: string) => this.require(id), {
      resolve: (request: string, options?: unknown) => M._resolveFilename(request, this, false, options),
      main: require.main,
      cache: M._cache,
      extensions: M._extensions,
    });
    return compiled.call(this.exports, this.exports, moduleRequire, this, filename, path.dirname(filename));
  };

  // Where a relative require of a module run from its cached source leads was found by Node's
  // resolution when the entry was made (a stat per extension tried, a realpath: ~10 ms of a
  // typegen start); the same source asks for the same files, so the answer is kept with it.
  const resolve = M._resolveFilename;
  M._resolveFilename = function (request, parent, isMain, options) {
    const from = parent?.filename;
    if (
      from === undefined ||
      !from.startsWith(dist) ||
      isMain ||
      options !== undefined ||
      !request.startsWith(".")
    )
      return resolve.call(this, request, parent, isMain, options);
    const known = trusted.has(from) ? entries.get(from)?.resolved[request] : undefined;
    // Node tries the exact name, then with ".js", then a directory: while the file found still
    // exists (tsc writes no file without an extension), Node would find it again.
    if (typeof known === "string" && fs.statSync(known, { throwIfNoEntry: false })?.isFile()) return known;
    const found = resolve.call(this, request, parent, isMain, options);
    // Kept only for a module compiled here (the one that installed the cache was not).
    if (!released && found.startsWith(dist) && (trusted.has(from) || fresh.has(from))) {
      let own = resolutions.get(from);
      if (own === undefined) resolutions.set(from, (own = { ...entries.get(from)?.resolved }));
      own[request] = found;
      learned++;
    }
    return found;
  };

  process.on("exit", () => {
    if (fresh.size === 0 && learned === 0) return;
    try {
      if (!flagProbe().equals(probe)) {
        // Data made under changed flags is refused by the next run, which starts with V8's
        // defaults: put back the defaults of the flags typegen sets (only a process that set them
        // has v8-tuning loaded, so this costs the others nothing), and a probe compile checks the
        // result; if the flags still differ (another flag, another V8's defaults), nothing is written.
        type Tuning = typeof import("../../typegen/src/meta/v8-tuning");
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const tuning = require("../../typegen/src/meta/v8-tuning") as Tuning;
        tuning.restoreV8Defaults();
        if (!flagProbe().equals(probe)) return;
      }
      for (const [name, { source, script }] of fresh)
        entries.set(name, { source: Buffer.from(source), data: script.createCachedData(), resolved: {} });
      // What another thread or process wrote since this one read the file is kept, but for the
      // modules this one made or learned about: their entry is this one's, whole (resolutions
      // belong to the source they were found for).
      const merged = readCache(file);
      for (const [name, entry] of entries) {
        const ours = fresh.has(name) || resolutions.has(name);
        if (ours) entry.resolved = resolutions.get(name) ?? entry.resolved;
        if (ours || (!merged.has(name) && entry.data.length > 0)) merged.set(name, entry);
      }
      for (const name of merged.keys()) if (!fresh.has(name) && !fs.existsSync(name)) merged.delete(name);
      writeCache(file, merged);
    } catch {
      // A cache that cannot be written is only a slower next start.
    }
  });
}
