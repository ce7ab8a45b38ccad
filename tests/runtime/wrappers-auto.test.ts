// Allocation wrappers nobody declared (test-programs/wrappers_auto.c), found by `allocs typegen`
// in the code: with no LIBALLOCS_ALLOC_FNS, each chunk allocated through a wrapper has the
// wrapper's caller as its site (the program's own __LINE__, through addr2line), and the type a
// direct malloc there would get: a check-and-abort wrapper, calloc's, realloc's, a wrapper of a
// wrapper, a wrapper adding a header (site only: its chunk starts with the header), a wrapper
// always inlined (the site line is its caller's, from DW_AT_call_line, in gdb), and structs
// ending in a flexible or length-1 array allocated with room for n elements (the struct with
// n elements: right size and field paths in the C API and gdb, against gdb's own sizeof).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { callSiteLine, nmAddress } from "../lib/binutils";
import { ROOT, buildProgram, parseProbes, runPreloaded, typegen } from "../lib/programs";
import { readMeta } from "../../typegen/src/meta/reader";
import { SITE_WRAPPER } from "../../typegen/src/meta/format";
import * as fs from "node:fs";

const ALLOCS = path.join(ROOT, "bin", "allocs.js");

function gdbJson(
  exe: string,
  exprs: string[],
  extra: string[] = [],
): { json: Record<string, unknown>[]; out: string } {
  const cmds = exprs.flatMap((e) => ["-ex", `alloc info --json ${e}`]);
  const r = spawnSync(
    process.execPath,
    [ALLOCS, "gdb", "-nx", "-q", "--batch", "-ex", "break stop_here", "-ex", "run", ...cmds, ...extra, exe],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const json = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { json, out: r.stdout };
}

for (const opt of ["2", "0"]) {
  describe(`allocation wrappers found by typegen, no declarations (gcc -O${opt})`, function () {
    let exe: string;
    let probes: Map<string, Record<string, string>>;
    let bias: number;

    before(function () {
      exe = buildProgram("wrappers_auto", { api: true, cflags: [`-O${opt}`], variant: `o${opt}` });
      fs.rmSync(exe + ".allocsmeta", { force: true });
      typegen(exe);
      const env = { LIBALLOCS_ALLOC_FNS: "", LIBALLOCS_FREE_FNS: "" };
      const r = runPreloaded(exe, [], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^done$/m);
      probes = parseProbes(r.stdout);
      bias = Number(probes.get("main")!.addr) - nmAddress(exe, "main");
    });

    const check = (name: string, type: string | undefined, size: number) => {
      const p = probes.get(name);
      assert.ok(p, `probe ${name} missing`);
      assert.equal(
        callSiteLine(exe, Number(p.site) - bias),
        Number(p.line),
        `${name}: the site is the wrapper's caller`,
      );
      if (type !== undefined) assert.equal(p.type, type, `${name}: type`);
      assert.equal(Number(p.size), size, `${name}: size`);
    };

    it("the metadata marks each wrapper's returned call with the wrapper's CFA offset (no unwinding)", () => {
      const m = readMeta(fs.readFileSync(exe + ".allocsmeta"));
      const wrappers = m.sites.filter((s) => s.flags & SITE_WRAPPER);
      // xmalloc, xcalloc, xzalloc (its call of xmalloc), xrealloc, hmalloc
      assert.ok(wrappers.length >= 5, `only ${wrappers.length} wrapper calls marked`);
      // -O2: the CFA is rsp-based; -O0: rbp-based, and the frame-pointer prologue gives rsp's depth.
      for (const w of wrappers) assert.ok(w.flags >>> 8 >= 8, `no CFA offset at ${w.vaddr.toString(16)}`);
    });
    it("a check-and-abort wrapper: its caller's site, typed as malloc(sizeof *p) there", () =>
      check("xmalloc", "point", 16));
    it("a calloc wrapper: an array of the elements", () => check("xcalloc", "__ARR4_node", 64));
    it("a wrapper of a wrapper (memset after it)", () => check("xzalloc", "node", 16));
    it("a realloc wrapper", () => check("xrealloc", "__ARR10_int$32", 40));
    it("a wrapper adding a header: the site is its caller; the chunk is the header, then the object", () =>
      check("hmalloc", "__HDR16_point", 32));
    it("a struct with a flexible array member, sized for 5 elements", () => check("msg", "__FLEX5_msg", 48));
    it("a struct with a length-1 trailing array, sized for 6", () => check("rec1", "__FLEX6_rec1", 10));
    if (opt === "2")
      it("an always-inlined wrapper: typed as its caller receives it", () => check("imalloc", "point", 16));

    it("gdb: the inlined wrapper's site is its caller's line; trailing arrays have field paths", () => {
      const { json, out } = gdbJson(
        exe,
        ["g_ipoint", "(char *)g_msg + 24", "g_rec->name + 3", "g_list", "&g_hpoint->y"],
        [
          "-ex",
          "print sizeof(struct msg)",
          "-ex",
          "print sizeof(double)",
          "-ex",
          "print (int)&((struct rec1 *)0)->name",
        ],
      );
      const [ipoint, msg, rec, list, hpoint] = json;
      const site = (j: Record<string, unknown>) => j.site as { function: string; line: number };
      assert.equal(site(ipoint).function, "main");
      assert.equal(site(ipoint).line, Number(probes.get("imalloc")!.line));
      const [sizeofMsg, sizeofDouble, nameOff] = [...out.matchAll(/^\$\d+ = (\d+)$/gm)].map((m) =>
        Number(m[1]),
      );
      assert.equal(msg.size, sizeofMsg + 5 * sizeofDouble);
      assert.equal(msg.uniqtype, "__FLEX5_msg");
      assert.equal(msg.type, "struct msg (vals[5])");
      assert.equal(msg.path, `.vals[${(24 - sizeofMsg) / sizeofDouble}]`);
      assert.equal(msg.pathType, "double");
      assert.equal(rec.type, "struct rec1 (name[6])");
      assert.equal(rec.size, nameOff + 6);
      assert.equal(rec.path, ".name[3]");
      assert.equal(site(list).function, "main");
      assert.equal(site(list).line, Number(probes.get("xzalloc")!.line));
      assert.equal(hpoint.type, "struct point (after a 16-byte header)");
      assert.equal(hpoint.path, ".object.y");
      assert.equal(site(hpoint).line, Number(probes.get("hmalloc")!.line));
    });
  });
}
