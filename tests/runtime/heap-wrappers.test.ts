// Declared allocation wrappers (LIBALLOCS_ALLOC_FNS, liballocs syntax): the site of a chunk
// allocated through a wrapper is the wrapper's caller, for wrappers in the executable, in a
// linked DSO and in a DSO loaded later with dlopen, through chains of wrappers, at -O0 and at
// -O2 (where a wrapper may tail-call malloc). Malformed declarations are reported once each on
// stderr and ignored.
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { buildProgram, parseProbes, runPreloaded } from "../lib/programs";
// See heap.test.ts: another build of the runtime to test against.
const heapRuntime = process.env.ALLOCS_HEAP_TEST_RUNTIME || undefined;

const ENV = {
  LIBALLOCS_ALLOC_FNS: "xmalloc(Z)p xcalloc(zZ)p xrealloc(pZ)p dso_xmalloc(Z)p late_xmalloc(Z)p",
  LIBALLOCS_FREE_FNS: "xfree(P)",
  LIBALLOCS_SUBALLOC_FNS: "pool_alloc(pZ)p",
};

function build(opt: string): { exe: string; late: string } {
  const variant = `o${opt}`;
  const cflags = [`-O${opt}`];
  const dso = buildProgram("heap_wrapdso", { shared: true, cflags, variant });
  const late = buildProgram("heap_wraplate", { shared: true, cflags, variant });
  // A stand-in levels part (ALLOCS_HEAP_TEST_RUNTIME) may only see exported symbols.
  const exported = heapRuntime ? ["-rdynamic"] : [];
  const exe = buildProgram("heap_wrappers", {
    api: true,
    cflags,
    variant,
    ldflags: [dso, `-Wl,-rpath,${path.dirname(dso)}`, ...exported],
  });
  return { exe, late };
}

for (const opt of ["0", "2"]) {
  describe(`runtime heap: declared allocation wrappers (-O${opt})`, function () {
    let probes: Map<string, Record<string, string>>;

    before(function () {
      const { exe, late } = build(opt);
      const r = runPreloaded(exe, [late], { env: ENV, runtime: heapRuntime });
      assert.equal(r.status, 0, `heap_wrappers failed (${r.signal}):\n${r.stderr}`);
      assert.equal(r.stderr, "", "well-formed declarations produce no warnings");
      assert.match(r.stdout, /^done$/m);
      probes = parseProbes(r.stdout);
    });

    const callerSite = (name: string) => {
      const p = probes.get(name);
      assert.ok(p, `probe ${name} missing`);
      assert.equal(p.size_ok, "1", `${name}: size`);
      const site = Number(p.site);
      assert.ok(site > 0 && site < 200, `${name}: site ${site} should be inside the wrapper's caller`);
    };

    it("a wrapper in the executable: the site is its caller", () => callerSite("exe_xmalloc"));
    it("a chain of wrappers (xcalloc -> xmalloc): the site is the outermost caller", () =>
      callerSite("exe_xcalloc_chain"));
    it("a realloc wrapper", () => callerSite("exe_xrealloc"));
    it("a wrapper in a linked DSO, called from the executable and from the DSO", () => {
      callerSite("dso_wrapper_exe_caller");
      callerSite("dso_wrapper_dso_caller");
    });
    it("a wrapper in a DSO loaded later with dlopen", () => callerSite("late_dso"));
    it("a plain malloc caller is unaffected", () => callerSite("control"));
  });
}

describe("runtime heap: malformed LIBALLOCS_* declarations", function () {
  it("reports each malformed declaration once, naming it and the problem, and keeps the good ones", () => {
    const { exe, late } = build("0");
    const env = {
      LIBALLOCS_ALLOC_FNS:
        "xmalloc(Z)p xcalloc(zZ)p xrealloc(pZ)p dso_xmalloc(Z)p late_xmalloc(Z)p xm(Z) two(ZZ)p",
      LIBALLOCS_FREE_FNS: "xfree(P) bad_free(Z)",
      LIBALLOCS_SUBALLOC_FNS: "pool_alloc(pZ)p oops(zZ pool2(pZ)q 9lives(Z)p q(x)p",
    };
    const r = runPreloaded(exe, [late], { env, runtime: heapRuntime });
    assert.equal(r.status, 0, r.stderr);
    const expected: [string, RegExp][] = [
      ["xm(Z)", /LIBALLOCS_ALLOC_FNS: ignoring "xm\(Z\)": .*return/],
      ["two(ZZ)p", /LIBALLOCS_ALLOC_FNS: ignoring "two\(ZZ\)p": .*capital/],
      ["bad_free(Z)", /LIBALLOCS_FREE_FNS: ignoring "bad_free\(Z\)": .*P/],
      ["oops(zZ", /LIBALLOCS_SUBALLOC_FNS: ignoring "oops\(zZ": missing '\)'/],
      ["pool2(pZ)q", /LIBALLOCS_SUBALLOC_FNS: ignoring "pool2\(pZ\)q": .*pointer/],
      ["9lives(Z)p", /LIBALLOCS_SUBALLOC_FNS: ignoring "9lives\(Z\)p": .*name/],
      ["q(x)p", /LIBALLOCS_SUBALLOC_FNS: ignoring "q\(x\)p": .*letters/],
    ];
    const lines = r.stderr.split("\n").filter((l) => l.length > 0);
    for (const [text, re] of expected) {
      const matching = lines.filter((l) => l.includes(`"${text}"`));
      assert.equal(matching.length, 1, `"${text}" reported exactly once:\n${r.stderr}`);
      assert.match(matching[0], re);
      assert.match(matching[0], /^allocs: /);
    }
    assert.equal(lines.length, expected.length, `only the malformed ones are reported:\n${r.stderr}`);
    // The well-formed declarations still work.
    const probes = parseProbes(r.stdout);
    const site = Number(probes.get("exe_xmalloc")?.site);
    assert.ok(site > 0 && site < 200, `exe_xmalloc site ${site}`);
  });
});
