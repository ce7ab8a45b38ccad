// The gdb bridge against real gdb, real programs and real cores: the decoder's unit tests, its
// loading, then every kind of address in test-programs/bridge_target.c (the checks are in
// bridge-target.ts), live, on a kernel core and on a gcore; the other commands; bad inputs.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, buildProgram, hasCommand, parseProbes } from "../lib/programs";
import {
  BIN,
  DESCRIBE_COMMANDS,
  GRAPH_COMMANDS,
  GDB_TIMEOUT_MS,
  type Json,
  type Probes,
  allocErrors,
  allocsGdb,
  answers,
  hex,
  makeGcore,
  plainGdb,
  queryCommands,
  queryCore,
  runToStop,
  useKernelCore,
  useProgram,
  withoutMetadata,
} from "./gdb";
import { checkAll, infoQueries } from "./bridge-target";

describe("gdb bridge", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  const target = useProgram(
    "allocs-bridge-",
    (ctx) => {
      if (!hasCommand("gdb")) ctx.skip();
    },
    () => buildProgram("bridge_target", { api: true }),
  );

  it("passes the decoder's unit tests (synthetic memory images, under gdb's python3.11)", () => {
    const r = spawnSync("/usr/bin/python3", ["-m", "unittest", "discover", "-s", "tests"], {
      cwd: path.join(ROOT, "gdb-python-bridge"),
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\nOK/);
  });

  it("lists the alloc commands in `help alloc`", () => {
    const r = plainGdb(["-batch", "-ex", "help alloc"]);
    for (const c of [...DESCRIBE_COMMANDS, ...GRAPH_COMMANDS]) {
      assert.match(r.stdout, new RegExp(`^alloc ${c} --`, "m"), `help alloc lists ${c}`);
    }
  });

  it("caches its compiled modules in the user's cache directory and leaves Python's settings as they were", () => {
    const show = ["-ex", 'python import sys; print("bytecode", sys.pycache_prefix, sys.dont_write_bytecode)'];
    const plain = spawnSync("gdb", ["-nx", "-q", "-batch", ...show], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
    });
    const cache = path.join(target.dir, "xdg-cache");
    const r = allocsGdb(show, { env: { XDG_CACHE_HOME: cache } });
    assert.match(plain.stdout, /^bytecode /m);
    assert.equal(/^bytecode .*$/m.exec(r.stdout)?.[0], /^bytecode .*$/m.exec(plain.stdout)?.[0]);
    const pyc = spawnSync("find", [cache, "-name", "session.*.pyc", "-path", "*allocs_decoder*"], {
      encoding: "utf8",
    });
    assert.match(pyc.stdout, /allocs\/pycache\/.*allocs_decoder\/session\.cpython-\d+\.pyc/);
  });

  describe("live process", () => {
    let run: ReturnType<typeof allocsGdb>;
    let probes: Probes;
    before(() => {
      // Probe addresses are read from the program's own probe_addr[] at the breakpoint.
      // A plain gcc build run without metadata: answers without types (whatis: type null).
      probes = parseProbes(
        runToStop(target.exe, "bridge_stop", [], "stop", withoutMetadata(target.dir)).stdout,
      );
      const cmds = queryCommands([
        ...infoQueries(probes),
        ["whatis", "alloc whatis --json probe_addr[0]"],
        ["whereis", "alloc whereis --json probe_addr[0]"],
        ["whyis", "alloc whyis --json probe_addr[0]"],
        ["print", "alloc print --json (void *)probe_addr[1]"],
        ["ls", "alloc ls --json --site make_points"],
        ["who", "alloc who-points-to --json probe_addr[0]"],
        ["garbage", "alloc info --json 0x10"],
      ]);
      run = runToStop(target.exe, "bridge_stop", cmds, "stop", withoutMetadata(target.dir));
    });

    it("describes every kind of address field by field", () => {
      assert.doesNotMatch(run.stderr, /Traceback/);
      checkAll("live", parseProbes(run.stdout), answers(run.stdout), run.stdout);
    });

    it("answers whatis / whereis / whyis / print / ls / who-points-to / maps", () => {
      const got = answers(run.stdout);
      const p = parseProbes(run.stdout);
      const what = got.get("whatis") as Json;
      assert.equal(what.type, null);
      assert.equal(what.offset, Number(p.get("heap_interior")?.offset));
      const where = got.get("whereis") as Json;
      assert.deepEqual(
        where.chain.map((l: Json) => l.allocator),
        ["mmap", "brk", "__default_lib_malloc"],
      );
      const why = got.get("whyis") as Json;
      assert.equal(why.site.function, "make_points");
      const pr = got.get("print") as Json;
      assert.equal(pr.description.base, hex(p.get("nested")?.base));
      assert.equal(pr.bytes.length, 2 * Number(p.get("nested")?.size));
      const ls = got.get("ls") as Json;
      assert.deepEqual(
        ls.entries.map((e: Json) => e.base),
        [hex(p.get("heap_interior")?.base)],
      );
      const who = got.get("who") as Json;
      assert.equal(who.typed, false);
      assert.ok(
        who.referrers.some((r: Json) => r.region === "stack" && r.description?.site?.variable === "pts"),
        "main's local `pts` points to the array",
      );
      assert.ok(
        who.referrers.some(
          (r: Json) => r.region === "static" && r.description?.site?.symbol === "probe_addr",
        ),
      );
      const maps = got.get("maps") as Json;
      assert.ok(maps.maps.some((m: Json) => m.children.some((c: Json) => c.allocator === "stack")));
      const garbage = got.get("garbage") as Json;
      assert.equal(garbage.state, "unknown");
      assert.equal(garbage.allocator, null);
    });
  });

  describe("kernel core", () => {
    // without metadata while it allocates, as the live process and the gcore (see there)
    const kernel = useKernelCore(target, ["abort"], () => withoutMetadata(target.dir));

    it("describes every kind of address field by field", () => {
      const { stdout, core } = kernel;
      const probes = parseProbes(stdout);
      checkAll("kernel core", probes, queryCore(target.exe, core, infoQueries(probes)), stdout);
    });

    it("answers through `allocs core --json` and the -alloc-describe MI command", () => {
      const { stdout, core } = kernel;
      const probes = parseProbes(stdout);
      const idx = probes.get("heap_interior")?.index;
      const r = spawnSync(
        process.execPath,
        [BIN, "core", target.exe, core, "--json", `probe_addr[${idx}]`, "nosuch"],
        {
          encoding: "utf8",
          timeout: GDB_TIMEOUT_MS,
        },
      );
      assert.equal(r.status, 1, "an expression that fails makes the status 1");
      const [ok, bad] = JSON.parse(r.stdout) as Json[];
      assert.equal(ok.description.base, hex(probes.get("heap_interior")?.base));
      assert.match(bad.error, /^alloc: No symbol "nosuch"/);
      // gdb/MI with the bridge sourced
      const mi = plainGdb(
        ["--interpreter=mi2", target.exe, core],
        `-alloc-describe probe_addr[${idx}]\n-alloc-describe --json probe_addr[${idx}]\n-alloc-describe\n-gdb-exit\n`,
      );
      // The first result may also carry the frame gdb selected when it loaded the core.
      const done = mi.stdout.split("\n").filter((l) => l.startsWith("^"));
      assert.match(
        done[0],
        /^\^done,(frame=\{.*\},)?description=\{address="0x[0-9a-f]+",allocator="__default_lib_malloc",/,
      );
      assert.match(done[0], /site=\{pc="0x[0-9a-f]+",function="make_points"/);
      const j = /^\^done,json="(.*)"$/.exec(done[1]);
      assert.ok(j, done[1]);
      assert.equal(JSON.parse(JSON.parse(`"${j[1]}"`)).base, hex(probes.get("heap_interior")?.base));
      assert.match(done[2], /^\^error,msg="usage: -alloc-describe/);
    });

    it("answers any alloc command's JSON as the -alloc-json MI result, as the console prints it", () => {
      const { stdout, core } = kernel;
      const probes = parseProbes(stdout);
      const idx = probes.get("heap_interior")?.index;
      // gdb/MI with the bridge sourced
      const mi = plainGdb(
        ["--interpreter=mi2", target.exe, core],
        [
          '-alloc-json "census --by type"',
          '-interpreter-exec console "alloc census --json --by type"',
          `-alloc-json "alloc info probe_addr[${idx}]"`,
          '-alloc-json "nosuch"',
          '-alloc-json "info nosuch_symbol"',
          "-gdb-exit",
          "",
        ].join("\n"),
      );
      const done = mi.stdout.split("\n").filter((l) => l.startsWith("^"));
      const json = (line: string): unknown => {
        const j = /^\^done,(?:frame=\{.*\},)?json="(.*)"$/.exec(line);
        assert.ok(j, line);
        return JSON.parse(JSON.parse(`"${j[1]}"`) as string);
      };
      // the console's printed line, from the ~"..." records of the second command
      const printed = mi.stdout
        .split("\n")
        .filter((l) => l.startsWith('~"{'))
        .map((l) => JSON.parse(l.slice(1)) as string)
        .join("");
      assert.deepEqual(json(done[0]), JSON.parse(printed));
      assert.ok(Array.isArray((json(done[0]) as { rows?: unknown }).rows));
      assert.equal((json(done[2]) as Json).base, hex(probes.get("heap_interior")?.base));
      assert.match(done[3], /^\^error,msg="-alloc-json: not an alloc command: 'nosuch'"/);
      assert.match(done[4], /^\^error,msg="alloc: No symbol \\"nosuch_symbol\\"/);
    });

    it("gives one-line errors for a truncated core, a corrupted runtime header, another program's core", () => {
      const { stdout, core } = kernel;
      const probes = parseProbes(stdout);
      const idx = probes.get("heap_interior")?.index;
      const bytes = fs.readFileSync(core);
      const truncated = path.join(target.dir, "truncated.core");
      fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 3)));
      const corrupted = path.join(target.dir, "corrupted.core");
      const copy = Buffer.from(bytes);
      const magic = Buffer.from("ALLOCS\x01\x00", "latin1");
      let n = 0;
      for (let at = copy.indexOf(magic); at >= 0; at = copy.indexOf(magic, at + 1), n++)
        copy.write("BADMAG", at, "latin1");
      assert.ok(n > 0, "the runtime's header is in the core");
      fs.writeFileSync(corrupted, copy);
      const cases: Array<[string, string, string[], RegExp]> = [
        ["truncated", target.exe, [truncated], /^alloc: /],
        ["corrupted", target.exe, [corrupted], /^alloc: __allocs_root at 0x[0-9a-f]+ has magic b'BADMAG/],
        ["other program", "/bin/true", [core], /^alloc: /],
      ];
      for (const [label, prog, files, expected] of cases) {
        const r = allocsGdb([
          "-ex",
          `alloc info --json probe_addr[${idx}]`,
          "-ex",
          "alloc info 0xdeadbeef",
          "-ex",
          "alloc census",
          "-ex",
          "print 6*7",
          prog,
          ...files,
        ]);
        assert.doesNotMatch(r.stderr + r.stdout, /Traceback/, label);
        const errs = allocErrors(r.stderr);
        if (label !== "other program") assert.match(errs[0] ?? "", expected, `${label}: ${r.stderr}`);
        for (const e of errs) assert.ok(!e.includes("\n"));
        assert.match(r.stdout, /^\$1 = 42$/m, `${label}: gdb still answers after the error`);
      }
    });
  });

  describe("gcore", () => {
    it("describes every kind of address field by field", () => {
      const gcore = path.join(target.dir, "gcore.core");
      // run as the live process is (no metadata while it allocates): zero setup's metadata would
      // make make_points, which returns what malloc returned, an allocation wrapper (wrappers), and
      // its caller main the site the runtime records
      const first = makeGcore(target.exe, "bridge_stop", gcore, [], withoutMetadata(target.dir));
      const probes = parseProbes(first.stdout);
      checkAll("gcore", probes, queryCore(target.exe, gcore, infoQueries(probes)), first.stdout);
    });
  });

  describe("a process without the runtime", () => {
    it("says so in one note and still gives mapping, section and symbol", () => {
      const r = plainGdb([
        "-batch",
        "-ex",
        "break bridge_stop",
        "-ex",
        "run",
        "-ex",
        "echo @@g\\n",
        "-ex",
        "alloc info --json &global_counts[2]",
        "-ex",
        "echo @@h\\n",
        "-ex",
        "alloc info --json probe_addr[0]",
        "--args",
        target.exe,
        "stop",
      ]);
      assert.doesNotMatch(r.stderr, /Traceback/);
      const got = answers(r.stdout);
      const g = got.get("g") as Json;
      assert.equal(g.runtime, false);
      assert.equal(g.notes.length, 1);
      assert.match(g.notes[0], /runtime is not loaded/);
      assert.equal(g.allocator, "static");
      assert.equal(g.site.symbol, "global_counts");
      assert.equal(g.offset, 8);
      assert.equal(g.chain[0].allocator, "mmap");
      const h = got.get("h") as Json;
      assert.equal(h.runtime, false);
      assert.equal(h.chain[0]?.name, "[heap]");
    });
  });
});
