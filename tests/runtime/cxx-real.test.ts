// A C++ program nobody here wrote: gperf (Debian source package), built with its own
// `./configure && make` (plain g++ -g -O2), runs its own test suite (`make check`, which compares
// its output with the expected files) identically with the runtime preloaded, and its live heap
// objects, seen from gdb at the start of its output phase, are typed from DWARF alone
// (`allocs typegen`); docs/benchmarks.md reports the typed share.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BUILD_DIR, ROOT, hasCommand, runtimeLib } from "../lib/programs";
import { type Json, allocsGdb } from "../bridge/gdb";

/** ../shared/tools/debsrc.sh beside the checkout (CI), or the workplace's copy. */
function debsrcTool(): string | undefined {
  return [path.join(ROOT, "..", "shared", "tools", "debsrc.sh"), "/work/shared/tools/debsrc.sh"].find((p) =>
    fs.existsSync(p),
  );
}

function sh(cmd: string, cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync("sh", ["-c", cmd], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 900_000,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("runtime: a real C++ program (gperf from its Debian source)", function () {
  this.timeout(1_800_000);
  let src: string;

  before(function () {
    const tool = debsrcTool();
    if (!tool || !hasCommand("g++") || !hasCommand("gdb")) this.skip();
    const cache = path.join(BUILD_DIR, "debsrc");
    fs.mkdirSync(cache, { recursive: true });
    const got = sh(`bash ${tool} gperf ${cache}`, cache);
    src = got.out.trim().split("\n").pop() ?? "";
    if (got.status !== 0 || !fs.existsSync(path.join(src, "configure"))) {
      console.log(`      skipped: no gperf source (${got.out.trim().slice(0, 200)})`);
      this.skip();
    }
    if (!fs.existsSync(path.join(src, "src", "gperf"))) {
      const b = sh('./configure CXXFLAGS="-g -O2" CFLAGS="-g -O2" >/dev/null && make -j2 >/dev/null', src);
      assert.equal(b.status, 0, b.out);
    }
  });

  it("passes its own test suite identically with the runtime preloaded", () => {
    const tests = path.join(src, "tests");
    sh("make check >/dev/null 2>&1", tests); // builds the test drivers once
    const plain = sh("make check 2>&1", tests);
    // an empty metadata cache: the user's is not this test's business
    const pre = sh("make check 2>&1", tests, { LD_PRELOAD: runtimeLib(), XDG_CACHE_HOME: "/nonexistent" });
    assert.equal(plain.status, 0, plain.out);
    assert.equal(pre.status, 0, pre.out);
    assert.equal(pre.out, plain.out);
  });

  it("has its live heap objects typed from DWARF alone", () => {
    const exe = path.join(src, "src", "gperf");
    const t = spawnSync(process.execPath, [path.join(ROOT, "bin", "allocs.js"), "typegen", "--quiet", exe], {
      encoding: "utf8",
    });
    assert.equal(t.status, 0, t.stderr);
    const r = allocsGdb(
      [
        "-ex",
        "break Output::output",
        "-ex",
        "run",
        "-ex",
        "alloc ls --json",
        "--args",
        exe,
        "-k1,4,$",
        "-I",
        "ada.gperf",
      ],
      { cwd: path.join(src, "tests") },
    );
    const line = r.stdout.split("\n").find((l) => l.startsWith('{"entries"'));
    assert.ok(line, r.stdout + r.stderr);
    const entries: Json[] = JSON.parse(line).entries;
    const typed = entries.filter((e) => e.type);
    console.log(`      typed ${typed.length} of ${entries.length} live chunks`);
    assert.ok(entries.length > 100, `${entries.length} live chunks`);
    assert.ok(typed.length >= 0.9 * entries.length, `typed ${typed.length} of ${entries.length}`);
    const keywords = entries.filter((e) =>
      e.site?.function?.startsWith("KeywordExt_Factory::create_keyword"),
    );
    assert.ok(keywords.length > 0);
    for (const k of keywords) assert.equal(k.type, "struct KeywordExt");
  });
});
