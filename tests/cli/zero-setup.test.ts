// Zero setup as a new user meets it: a program built with plain `gcc -g` (no allocs cc, no
// allocs typegen) is typed under `allocs run`, `allocs gdb` and `allocs core`, which make the
// missing metadata into the build-id cache once; a process started before its metadata existed
// (attach) and a core of one get types from the bridge reading that metadata from disk; a
// libtool-style library is typed wherever its metadata was written. Ground truth is gdb's own
// `ptype`/`sizeof` of the same program.
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROGRAMS_DIR, ROOT, allocsCc, runtimeLib } from "../lib/programs";
import { GDB_TIMEOUT_MS, Json, allocsGdb, answers, queryCommands } from "../bridge/gdb";
import { buildId } from "../../typegen/src/elf/notes";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { TestClient } from "../extension/dap-client";
import { gdbTargets } from "../../cli/src/commands/gdb";

const BIN = path.join(ROOT, "bin", "allocs.js");

describe("zero setup: metadata made on demand, found by build-id", function () {
  this.timeout(600_000);
  let dir: string;
  let exe: string;
  let lib: string;
  let cache: string;
  let env: NodeJS.ProcessEnv;
  let nodeSize: number;

  const metaDir = (): string => path.join(cache, "allocs", "meta");
  const idOf = (file: string): string => buildId(ElfFile.open(file)) as string;
  const allocs = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [BIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, ...env, ...extra },
      timeout: GDB_TIMEOUT_MS,
    });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-zero-"));
    cache = path.join(dir, "cache");
    env = { XDG_CACHE_HOME: cache };
    lib = path.join(dir, "libzsl.so");
    exe = path.join(dir, "zero_setup");
    const cc = (args: string[]) => {
      const r = spawnSync("gcc", args, { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    };
    // the library without -g: no DWARF (zero setup remembers it)
    cc(["-shared", "-fPIC", "-Wl,--build-id", "-o", lib, path.join(PROGRAMS_DIR, "zero_setup_lib.c")]);
    cc([
      "-g",
      "-O0",
      "-o",
      exe,
      path.join(PROGRAMS_DIR, "zero_setup.c"),
      `-L${dir}`,
      "-lzsl",
      `-Wl,-rpath,${dir}`,
    ]);
    const g = spawnSync("gdb", ["-nx", "-q", "-batch", "-ex", "print sizeof(struct zs_node)", exe], {
      encoding: "utf8",
    });
    nodeSize = Number(/\$1 = (\d+)/.exec(g.stdout)?.[1]);
    assert.ok(nodeSize > 0, g.stdout + g.stderr);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The JSON answers of `alloc info --json` about zs_global and zs_untyped at zs_stop. */
  function atStop(extra: NodeJS.ProcessEnv = {}): { r: ReturnType<typeof allocsGdb>; a: Map<string, Json> } {
    const r = allocsGdb(
      [
        "-ex",
        "break zs_stop",
        "-ex",
        "run",
        ...queryCommands([
          ["node", "alloc info --json zs_global"],
          ["untyped", "alloc info --json zs_untyped"],
        ]),
        "-ex",
        "alloc info zs_untyped",
        exe,
      ],
      { env: { ...env, ...extra } },
    );
    return { r, a: answers(r.stdout) as Map<string, Json> };
  }

  it("allocs gdb makes the program's metadata once, remembers the library without DWARF, and types the heap", () => {
    const first = atStop();
    assert.match(first.r.stderr, /allocs gdb: making type metadata \(once per build\) for zero_setup/);
    const node = first.a.get("node");
    assert.equal(node?.type, "struct zs_node", first.r.stdout + first.r.stderr);
    assert.equal(node?.size, nodeSize);
    assert.match(node?.site?.file ?? "", /zero_setup\.c$/);
    const made = path.join(metaDir(), `${idOf(exe)}.allocsmeta`);
    assert.ok(fs.existsSync(made), "the program's metadata is in the cache by build-id");
    assert.ok(fs.existsSync(path.join(metaDir(), `${idOf(lib)}.nodwarf`)), "the library is remembered");
    assert.ok(!fs.existsSync(exe + ".allocsmeta"), "nothing is written next to the program");
    const mtime = fs.statSync(made).mtimeMs;

    const second = atStop();
    assert.doesNotMatch(second.r.stderr, /making type metadata/, "nothing to do: silent");
    assert.equal(second.a.get("node")?.type, "struct zs_node");
    assert.equal(fs.statSync(made).mtimeMs, mtime, "made once, reused");
  });

  it("says 'typegen has not run' only when no metadata is loaded; an untyped site says why", () => {
    const typed = atStop();
    assert.equal(typed.a.get("untyped")?.type, null);
    assert.match(
      typed.r.stdout,
      /type +unknown \(metadata is loaded, but typegen found no type for this allocation site/,
    );
    assert.doesNotMatch(typed.r.stdout, /typegen has not run/);
    const none = atStop({ ALLOCS_AUTO_META: "off", XDG_CACHE_HOME: path.join(dir, "empty-cache") });
    assert.equal(none.a.get("node")?.type, null);
    assert.match(
      none.r.stdout,
      /type +unknown \(types need metadata: typegen has not run for this program\)/,
    );
  });

  it("allocs run makes it too, saying so in one line when stderr is not a terminal", () => {
    const own = path.join(dir, "run-cache");
    const r = allocs(["run", exe], { XDG_CACHE_HOME: own });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ready 7$/m);
    const lines = r.stderr.split("\n").filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^allocs run: making type metadata \(once per build\) for zero_setup.* in /);
    assert.ok(fs.existsSync(path.join(own, "allocs", "meta", `${idOf(exe)}.allocsmeta`)));
    const again = allocs(["run", exe], { XDG_CACHE_HOME: own });
    assert.equal(again.stderr, "");
  });

  it("an attached process started without metadata gets types read from disk", async () => {
    const fresh = path.join(dir, "attach-cache");
    const child = spawn(exe, ["wait"], {
      env: { ...process.env, LD_PRELOAD: runtimeLib(), XDG_CACHE_HOME: fresh, ALLOCS_AUTO_META: "off" },
      stdio: ["pipe", "pipe", "inherit"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (b: Buffer) => {
          out += b.toString();
          if (out.includes("ready")) resolve();
        });
        child.on("exit", () => reject(new Error(`exited before attaching: ${out}`)));
      });
      const r = allocsGdb(
        ["-p", String(child.pid), ...queryCommands([["node", "alloc info --json zs_global"]])],
        { env: { XDG_CACHE_HOME: fresh } },
      );
      const node = (answers(r.stdout) as Map<string, Json>).get("node");
      assert.equal(node?.type, "struct zs_node", r.stdout + r.stderr);
      assert.equal(node?.size, nodeSize);
      assert.equal(node?.allocator, "__default_lib_malloc");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a core of a process that loaded no metadata gets types from the cache", () => {
    const fresh = path.join(dir, "core-cache");
    const core = path.join(dir, "zs.core");
    const g = allocsGdb(["-ex", "break zs_stop", "-ex", "run", "-ex", `gcore ${core}`, exe], {
      env: { XDG_CACHE_HOME: fresh, ALLOCS_AUTO_META: "off" },
    });
    assert.ok(fs.existsSync(core), g.stderr);
    assert.ok(!fs.existsSync(path.join(fresh, "allocs", "meta", `${idOf(exe)}.allocsmeta`)));
    const r = allocs(["core", exe, core, "--json", "zs_global"], { XDG_CACHE_HOME: fresh });
    assert.equal(r.status, 0, r.stderr + r.stdout); // a --json answer's error is on stdout
    const [answer] = JSON.parse(r.stdout) as Json[];
    assert.equal(answer.description.type, "struct zs_node", r.stdout);
    assert.equal(answer.description.size, nodeSize);
  });

  it("types a libtool-style library: metadata next to the symlink's target, or anywhere through the cache", () => {
    const libs = path.join(dir, "libtool", ".libs");
    fs.mkdirSync(libs, { recursive: true });
    const real = path.join(libs, "libzsl.so.0.8.6");
    const probe = path.join(dir, "libtool", "zs_lib_probe");
    const libCache = path.join(dir, "libtool-cache");
    const ccEnv = { env: { XDG_CACHE_HOME: libCache } };
    allocsCc(
      [
        "-g",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libzsl.so.0",
        "-o",
        real,
        path.join(PROGRAMS_DIR, "zero_setup_libtool.c"),
      ],
      ccEnv,
    );
    fs.symlinkSync("libzsl.so.0.8.6", path.join(libs, "libzsl.so.0"));
    fs.symlinkSync("libzsl.so.0.8.6", path.join(libs, "libzsl.so"));
    allocsCc(["-g", "-o", probe, path.join(PROGRAMS_DIR, "zero_setup_probe.c"), `-L${libs}`, "-lzsl"], ccEnv);
    const run = (libDir: string, cacheHome: string) =>
      spawnSync(probe, [], {
        encoding: "utf8",
        env: { ...process.env, LD_PRELOAD: runtimeLib(), LD_LIBRARY_PATH: libDir, XDG_CACHE_HOME: cacheHome },
      });
    // the loader opens .libs/libzsl.so.0; the metadata is next to libzsl.so.0.8.6
    const beside = run(libs, path.join(dir, "empty-cache"));
    assert.equal(beside.status, 0, beside.stderr);
    assert.match(beside.stdout, /^lib_object type=zs_lib_record size=\d+$/m, beside.stdout + beside.stderr);
    // an installed copy elsewhere: found by build-id in the cache, where allocs cc linked it
    const installed = path.join(dir, "installed");
    fs.mkdirSync(installed);
    fs.copyFileSync(real, path.join(installed, "libzsl.so.0"));
    const cached = run(installed, libCache);
    assert.equal(cached.status, 0, cached.stderr);
    assert.match(cached.stdout, /^lib_object type=zs_lib_record size=\d+$/m, cached.stdout + cached.stderr);
    const gdb = spawnSync("gdb", ["-nx", "-q", "-batch", "-ex", "print sizeof(struct zs_lib_record)", real], {
      encoding: "utf8",
    });
    const size = /\$1 = (\d+)/.exec(gdb.stdout)?.[1];
    assert.match(cached.stdout, new RegExp(`^lib_object type=zs_lib_record size=${size}$`, "m"));
  });
});

describe("zero setup: what allocs gdb will open", () => {
  it("reads gdb's own argument forms", () => {
    assert.deepEqual(gdbTargets(["-q", "prog", "1234"]), { program: "prog", pid: 1234 });
    assert.deepEqual(gdbTargets(["--batch", "-ex", "bt", "prog", "core.1"]), {
      program: "prog",
      core: "core.1",
    });
    assert.deepEqual(gdbTargets(["-ex", "run", "--args", "prog", "-p", "5"]), { program: "prog" });
    assert.deepEqual(gdbTargets(["--pid=77", "-batch"]), { pid: 77 });
    assert.deepEqual(gdbTargets(["-c", "core", "-iex", "set x 1", "prog"]), {
      core: "core",
      program: "prog",
    });
  });
});

describe("zero setup in the debug adapter", function () {
  this.timeout(300_000);
  it("launch makes the program's missing metadata first, with a DAP progress notification", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-zero-dap-"));
    const exe = path.join(dir, "zero_setup_dap");
    const b = spawnSync("gcc", ["-g", "-O0", "-o", exe, path.join(PROGRAMS_DIR, "zero_setup_dap.c")], {
      encoding: "utf8",
    });
    assert.equal(b.status, 0, b.stderr);
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = path.join(dir, "cache");
    const client = new TestClient({ terminal: false });
    try {
      await client.start();
      const events: string[] = [];
      for (const e of ["progressStart", "progressUpdate", "progressEnd"])
        client.on(e, (ev: DebugProtocol.Event) => events.push(`${e} ${JSON.stringify(ev.body)}`));
      await client.initializeRequest({
        adapterID: "allocs",
        linesStartAt1: true,
        columnsStartAt1: true,
        pathFormat: "path",
        supportsProgressReporting: true,
      });
      const initialized = client.waitForEvent("initialized", 120_000);
      await client.launchRequest({
        program: exe,
        console: "internalConsole",
      } as DebugProtocol.LaunchRequestArguments);
      await initialized;
      assert.match(
        events[0] ?? "",
        /^progressStart .*allocs: making type metadata.*zero_setup_dap/,
        events.join("\n"),
      );
      assert.match(events[events.length - 1], /^progressEnd /, events.join("\n"));
      const id = buildId(ElfFile.open(exe)) as string;
      assert.ok(fs.existsSync(path.join(dir, "cache", "allocs", "meta", `${id}.allocsmeta`)));
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
      await client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
