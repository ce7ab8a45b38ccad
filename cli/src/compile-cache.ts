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
// (NODE_V8_COVERAGE) or with source maps on, and with ALLOCS_COMPILE_CACHE=off. One file per
// checkout and Node version under $XDG_CACHE_HOME/allocs/code-cache, written whole (temporary file
// and rename) at exit when a module was missing or changed; anything that fails leaves the
// command as it was without the cache.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import Module from "node:module";

/** What Node's CommonJS loader passes a module's code (not in @types/node's Module). */
interface LoadedModule {
  exports: unknown;
  require(id: string): unknown;
}
interface ModuleInternals {
  prototype: { _compile(this: LoadedModule, content: string, filename: string): unknown };
  _resolveFilename(request: string, parent: LoadedModule, isMain: boolean, options?: unknown): string;
  _cache: unknown;
  _extensions: unknown;
}

const MAGIC = "allocs-code-cache-1\n";

/**
 * V8's defaults for the flags the CLI changes while it runs (typegen/src/meta/v8-tuning.ts). Data
 * made under changed flags is refused by the next run, which starts with the defaults, so the
 * defaults are restored at exit before the data is made; a probe compile checks the result, and
 * when the flags still differ (another flag, another V8's defaults) nothing is written.
 */
const FLAG_DEFAULTS = [
  "--max-optimized-bytecode-size=61440",
  "--max-inlined-bytecode-size-cumulative=920",
  "--no-expose-gc",
];

interface Entry {
  source: Buffer;
  data: Buffer;
}

/** The cache file of this checkout (the directory holding dist/) and this Node. */
export function codeCacheFile(root: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  const name = `${root.replace(/[^A-Za-z0-9._-]/g, "_")}-${process.version}-${process.arch}.bin`;
  return path.join(base, "allocs", "code-cache", name);
}

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
    const headerLength = buf.readUInt32LE(MAGIC.length);
    let at = MAGIC.length + 4;
    const header = JSON.parse(buf.toString("utf8", at, at + headerLength)) as [string, number, number][];
    at += headerLength;
    for (const [name, sourceLength, dataLength] of header) {
      const source = buf.subarray(at, at + sourceLength);
      const data = buf.subarray(at + sourceLength, at + sourceLength + dataLength);
      at += sourceLength + dataLength;
      if (data.length !== dataLength) return new Map();
      entries.set(name, { source, data });
    }
  } catch {
    return new Map();
  }
  return entries;
}

function writeCache(file: string, entries: Map<string, Entry>): void {
  const header: [string, number, number][] = [];
  const parts: Buffer[] = [];
  for (const [name, e] of entries) {
    header.push([name, e.source.length, e.data.length]);
    parts.push(e.source, e.data);
  }
  const headerBytes = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC, "latin1"), length, headerBytes, ...parts]));
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

function enabled(): boolean {
  return (
    process.env.ALLOCS_COMPILE_CACHE !== "off" &&
    !process.env.NODE_V8_COVERAGE &&
    !process.sourceMapsEnabled &&
    !process.execArgv.some((a) => a.includes("source-maps"))
  );
}

let installed = false;

/** What this process's modules found in the cache (for tests: a hit is the observable effect). */
export const codeCacheStats = { used: 0, missed: 0, refused: 0 };

/**
 * Compiles every module under `root`/dist through the code cache from now on (once per process).
 * `root` is the checkout; the cache file defaults to codeCacheFile(root).
 */
export function installCodeCache(root: string, file = codeCacheFile(root)): void {
  if (installed || !enabled()) return;
  installed = true;
  const dist = path.join(root, "dist") + path.sep;
  const entries = readCache(file);
  const fresh = new Map<string, { source: string; script: vm.Script }>();
  const probe = flagProbe();
  const M = Module as unknown as ModuleInternals;
  const original = M.prototype._compile;

  M.prototype._compile = function (this: LoadedModule, content: string, filename: string): unknown {
    if (!filename.startsWith(dist)) return original.call(this, content, filename);
    const entry = entries.get(filename);
    const sameSource = entry !== undefined && entry.source.toString("utf8") === content;
    const script = new vm.Script(Module.wrap(content), {
      filename,
      cachedData: sameSource ? entry.data : undefined,
    });
    // Data refused for the same source was made under other flags: making it again would not help.
    if (!sameSource) {
      fresh.set(filename, { source: content, script });
      codeCacheStats.missed++;
    } else if (script.cachedDataRejected) codeCacheStats.refused++;
    else codeCacheStats.used++;
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

  process.on("exit", () => {
    if (fresh.size === 0) return;
    try {
      if (!flagProbe().equals(probe)) {
        for (const f of FLAG_DEFAULTS) v8.setFlagsFromString(f);
        if (!flagProbe().equals(probe)) return;
      }
      for (const [name, { source, script }] of fresh)
        entries.set(name, { source: Buffer.from(source), data: script.createCachedData() });
      for (const name of entries.keys()) if (!fresh.has(name) && !fs.existsSync(name)) entries.delete(name);
      writeCache(file, entries);
    } catch {
      // A cache that cannot be written is only a slower next start.
    }
  });
}
