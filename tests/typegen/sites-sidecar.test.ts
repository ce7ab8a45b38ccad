// Separate compile and link with `allocs cc` (the usual Makefile pattern): `-c` writes
// OBJECT.allocsites next to each object, the link gathers the sidecars of its .o and .a inputs,
// and the runtime then answers the source-route types. Same flags, same exit status, nothing
// on stdout; a failed analysis or a corrupt sidecar is a warning, never a failed build.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROGRAMS_DIR, SITES_ENV, hasCommand, parseProbes, runAllocsCc, runPreloaded } from "../lib/programs";
import { useScratchDir } from "../lib/scratch";
import { archiveMembers, decodeSidecar, encodeSidecar } from "../../typegen/src/sites/sidecar";
import { findAllocCalls } from "../../typegen/src/sites/source";

function cc(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return runAllocsCc(args, { cwd, env: { ...SITES_ENV, ...env } });
}

describe("allocation-site sidecars: separate compile and link", function () {
  this.timeout(300_000);
  const scratch = useScratchDir("allocs-sites-", (ctx) => {
    if (!hasCommand("clang")) ctx.skip();
  });
  before(() => {
    for (const f of ["sites_sizeof.c", "sites_dso.c", "sites_common.h"])
      fs.copyFileSync(path.join(PROGRAMS_DIR, f), path.join(scratch.dir, f));
  });

  const ok = (r: ReturnType<typeof cc>): void => {
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "");
  };

  it("-c writes OBJECT.allocsites keyed by file:line:column; the link (objects and an archive) types the sites", () => {
    ok(cc(["-O2", "-c", "sites_sizeof.c", "-o", "main.o"], scratch.dir));
    ok(cc(["-O2", "-c", "-fPIC", "sites_dso.c"], scratch.dir)); // no -o: sites_dso.o
    const side = JSON.parse(fs.readFileSync(path.join(scratch.dir, "main.o.allocsites"), "utf8"));
    assert.equal(side.format, "allocs-sites");
    assert.equal(side.version, 1);
    const keys = Object.keys(side.sites);
    assert.ok(
      keys.every((k) => /^\/.*sites_sizeof\.c:\d+:\d+$/.test(k)),
      keys.join(" "),
    );
    assert.ok(fs.existsSync(path.join(scratch.dir, "sites_dso.o.allocsites")));
    assert.equal(spawnSync("ar", ["rcs", "libsd.a", "sites_dso.o"], { cwd: scratch.dir }).status, 0);
    ok(cc(["-O2", "-o", "prog", "main.o", "libsd.a"], scratch.dir));
    const r = runPreloaded(path.join(scratch.dir, "prog"), [], { env: SITES_ENV, timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const p = parseProbes(r.stdout);
    assert.equal(p.get("offsetof")?.type, "__FLEX10_msg", "struct msg with its trailing array's 10 bytes");
    assert.equal(p.get("local")?.type, "__ARR3_point");
    assert.equal(p.get("wrapper")?.type, "__ARR5_point");
    assert.equal(p.get("dso_wrapper")?.type, "hdr", "the wrapper from the archive's member");
    assert.equal(p.get("dso_inside")?.type, "__ARR6_point", "the archive member's own site");
    assert.equal(p.get("c42")?.type, "__ARR42_signed_char$8");
  });

  it("a failed analysis and a corrupt sidecar are warnings; the build's status and stdout are kept", () => {
    const r = cc(["-c", "sites_dso.c", "-o", "x.o"], scratch.dir, { ALLOCS_CLANG: "/nonexistent/clang" });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^allocs cc: warning: allocation sites of sites_dso\.c not analysed/);
    assert.ok(!fs.existsSync(path.join(scratch.dir, "x.o.allocsites")));
    ok(cc(["-c", "sites_sizeof.c", "-o", "y.o"], scratch.dir));
    fs.writeFileSync(path.join(scratch.dir, "y.o.allocsites"), "{ not json");
    const l = cc(["-o", "prog2", "y.o", "x.o"], scratch.dir);
    assert.equal(l.status, 0, l.stderr);
    assert.equal(l.stdout, "");
    assert.match(l.stderr, /allocs cc: warning: .*y\.o\.allocsites: not JSON/);
    assert.ok(fs.existsSync(path.join(scratch.dir, "prog2.allocsmeta")));
    const bad = cc(["-c", "nope.c"], scratch.dir);
    assert.notEqual(bad.status, 0, "the compiler's failure status is kept");
  });

  it("reads archive member names and round-trips the sidecar format; rejects bad shapes", () => {
    assert.deepEqual(archiveMembers(path.join(scratch.dir, "libsd.a")), ["sites_dso.o"]);
    const calls = [
      { file: "/a.c", line: 3, col: 9, callee: "malloc", size: { kind: "array" as const, type: "int" } },
      { file: "/a.c", line: 4, col: 2, callee: "calloc", size: { kind: "bytes" as const, value: 42 } },
    ];
    assert.deepEqual(
      decodeSidecar(encodeSidecar(calls)).map((c) => `${c.file}:${c.line}:${c.col} ${c.size.kind}`),
      ["/a.c:3:9 array", "/a.c:4:2 bytes"],
    );
    assert.throws(() => decodeSidecar('{"format":"allocs-sites","version":2,"sites":{}}'), /version 2/);
    assert.throws(() => decodeSidecar('{"format":"allocs-sites","version":1,"sites":{"x":{}}}'), /bad entry/);
    assert.throws(() => decodeSidecar("[]"), /not an allocs-sites file/);
  });

  it("findAllocCalls tolerates an empty or odd AST", () => {
    assert.deepEqual(findAllocCalls({}, "a.c"), []);
    assert.deepEqual(
      findAllocCalls({ kind: "TranslationUnitDecl", inner: [{ kind: "CallExpr" }] }, "a.c"),
      [],
    );
  });
});
