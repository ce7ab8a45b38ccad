// `allocs c++` (g++ by default, ALLOCS_CXX=clang++ on request) and `allocs cc` on C++ sources
// (linked with the C++ driver: `__gxx_personality_v0` and libstdc++ resolve): each builds a
// program that runs, prints nothing on stdout at build time, and writes its type metadata, in
// which the C++ sites are typed (checked by running the program under gdb).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROGRAMS_DIR, ROOT, hasCommand } from "../lib/programs";
import { useScratchDir } from "../lib/scratch";
import { allocsGdb } from "../bridge/gdb";
import { cxxDriverOf, hasCxxInput } from "../../cli/src/commands/cxx";

const SOURCE = path.join(PROGRAMS_DIR, "cxx_shapes.cpp");

function allocs(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "allocs.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("cli: allocs c++, and allocs cc on C++ sources", function () {
  this.timeout(600_000);
  const scratch = useScratchDir("allocs-cxx-cli-", (ctx) => {
    if (!hasCommand("g++")) ctx.skip();
  });

  const builds: { label: string; args: string[]; env: NodeJS.ProcessEnv; needs: string }[] = [
    { label: "allocs c++ (g++)", args: ["c++", "-std=c++17"], env: {}, needs: "g++" },
    {
      label: "allocs c++ with ALLOCS_CXX=clang++",
      args: ["c++", "-std=c++17"],
      env: { ALLOCS_CXX: "clang++" },
      needs: "clang++",
    },
    {
      label: "allocs cc with ALLOCS_CC=gcc on a .cpp",
      args: ["cc", "-std=c++17"],
      env: { ALLOCS_CC: "gcc" },
      needs: "g++",
    },
    {
      label: "allocs cc with ALLOCS_CC=clang on a .cpp",
      args: ["cc", "-std=c++17"],
      env: { ALLOCS_CC: "clang" },
      needs: "clang++",
    },
  ];
  for (const b of builds)
    it(`${b.label} builds a working program with typed metadata`, function () {
      if (!hasCommand(b.needs)) this.skip();
      const out = path.join(scratch.dir, b.label.replace(/\W+/g, "_"));
      const r = allocs([...b.args, "-O1", "-o", out, SOURCE], b.env);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "");
      assert.ok(fs.existsSync(`${out}.allocsmeta`), r.stderr);
      const run = spawnSync(out, ["run"], { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      const g = allocsGdb([
        "-ex",
        "break cxx_stop",
        "-ex",
        "run",
        "-ex",
        "alloc whatis probe_addr[0]",
        "--args",
        out,
        "stop",
      ]);
      assert.match(g.stdout, /struct geo::Circle/, g.stdout + g.stderr);
    });

  it("knows a C++ command line and the C++ driver of a C compiler", () => {
    assert.equal(hasCxxInput(["-c", "a.cpp"]), true);
    assert.equal(hasCxxInput(["-o", "x", "a.o", "b.cc"]), true);
    assert.equal(hasCxxInput(["-x", "c++", "a.h"]), true);
    assert.equal(hasCxxInput(["-o", "a.cpp", "a.c"]), false); // an output named .cpp is no input
    assert.equal(hasCxxInput(["-O2", "a.c", "b.o"]), false);
    assert.equal(cxxDriverOf("gcc"), "g++");
    assert.equal(cxxDriverOf("gcc-12"), "g++-12");
    assert.equal(cxxDriverOf("/usr/bin/clang-14"), "/usr/bin/clang++-14");
    assert.equal(cxxDriverOf("x86_64-linux-gnu-gcc"), "x86_64-linux-gnu-g++");
    assert.equal(cxxDriverOf("cc"), "c++");
    assert.equal(cxxDriverOf("icx"), "icx");
  });

  it("`allocs` lists the c++ command", () => {
    const r = allocs(["help"]);
    assert.match(r.stdout, /allocs c\+\+ ARGS/);
  });
});
