// Allocation-site types from DWARF alone beyond a receiving local (test-programs/sites_dwarf_more.c):
// stores through pointers (a member through a parameter or a local, at offset 0 and not, an out
// parameter, an array element), tail calls (`return malloc(...)` as a jump: the caller's call is
// the site), undeclared wrappers returning void * (and a wrapper of one), a size only the call
// site DIE or the decoded statement shows, a function split into hot and `.cold` parts. Built
// with gcc and clang at -O0 and -O2 (and gcc -O2 -gdwarf-4, whose call sites are the GNU
// extension), typed by `allocs typegen`, and checked twice: each site in the metadata, found by
// its source line (addr2line), has exactly the expected type and single/array flag (or, where
// the compiler leaves nothing to follow, is reported unknown with its function and file:line,
// never typed wrong); and the program run under the preload answers alloc_get_type for the
// chunks with those types.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROGRAMS_DIR, ROOT, buildProgram, hasCommand, parseProbes, runPreloaded } from "../lib/programs";
import { readMeta } from "../../typegen/src/meta/reader";
import { META_NONE, SITE_ARRAY, SITE_GUESSED } from "../../typegen/src/meta/format";

const ALLOCS = path.join(ROOT, "bin", "allocs.js");
const SRC = path.join(PROGRAMS_DIR, "sites_dwarf_more.c");

/** `site:NAME` markers -> source line. */
function siteLines(): Map<string, number> {
  const out = new Map<string, number>();
  fs.readFileSync(SRC, "utf8")
    .split("\n")
    .forEach((l, i) => {
      const m = /\/\* site:(\w+) \*\//.exec(l);
      if (m) out.set(m[1], i + 1);
    });
  return out;
}

/** The source line of each address (addr2line, independent of typegen's line tables). */
function linesOf(exe: string, addrs: number[]): number[] {
  if (addrs.length === 0) return [];
  const r = spawnSync("addr2line", ["-e", exe, ...addrs.map((a) => "0x" + a.toString(16))], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => Number(/:(\d+)/.exec(l)?.[1] ?? 0));
}

/** What a site line must give: a type (single or array), "unknown" (reported), or "none" (no
 * allocation is recorded there: a tail jump's site is its caller's call; unoptimised, a
 * wrapper's own call is the only site). */
type Want = { type: string; array: boolean; orUnknown?: boolean } | "unknown" | "none";
const one = (type: string): Want => ({ type, array: false });
const arr = (type: string): Want => ({ type, array: true });

function wanted(opt: string): Record<string, Want> {
  const o2 = opt === "-O2";
  return {
    local: one("list"),
    member: one("list"),
    member_array: arr("int$32"),
    member_offset: one("hdr"),
    out_param: one("hdr"),
    element: one("point"),
    // gcc -O2 may keep l->pts in a register and drop the store: nothing then receives it.
    local_member: { type: "point", array: true, orUnknown: o2 },
    grow_first: one("point"),
    // Functions returning what they allocate are wrappers (wrappers.ts, tails.ts), at any -O:
    // their callers are the sites, their own calls none.
    grow: "none",
    grow_caller: arr("point"),
    split: "none",
    split_caller: one("hdr"),
    tail_inside: "none",
    tail: one("node"),
    wrapper_inside: "none",
    wrapper: one("point"),
    wrapper2: one("hdr"),
  };
}

/** alloc_get_type's answer for each probe, from the site wanted for it. */
function probesWanted(unknownLines: Set<string>): Record<string, string> {
  return {
    local: "list",
    member: "list",
    member_array: "__ARR5_int$32",
    member_offset: "hdr",
    local_member: unknownLines.has("local_member") ? "none" : "__ARR3_point",
    out_param: "hdr",
    element: "point",
    tail: "node",
    wrapper: "point",
    grow: "__ARR2_point",
    wrapper2: "hdr",
    split: "hdr",
  };
}

const variants = [
  { cc: "gcc" as const, opt: "-O0", extra: [] as string[] },
  { cc: "gcc" as const, opt: "-O2", extra: [] as string[] },
  { cc: "gcc" as const, opt: "-O2", extra: ["-gdwarf-4"] },
  ...(hasCommand("clang")
    ? [
        { cc: "clang" as const, opt: "-O0", extra: [] as string[] },
        { cc: "clang" as const, opt: "-O2", extra: [] as string[] },
      ]
    : []),
];

for (const v of variants) {
  describe(`DWARF-only sites: pointers, tail calls, call sites (${[v.cc, v.opt, ...v.extra].join(" ")} -g)`, function () {
    this.timeout(300_000);
    const lines = siteLines();
    const want = wanted(v.opt);
    let exe: string;
    let stderr: string;
    let sites: { line: number; type: string; flags: number }[];
    let reported: Map<number, string>;
    before(() => {
      exe = buildProgram("sites_dwarf_more", {
        cc: v.cc,
        api: true,
        cflags: [v.opt, ...v.extra],
        variant: ["dwarf", v.opt.slice(1), ...v.extra.map((e) => e.replace(/\W/g, ""))].join("_"),
      });
      fs.rmSync(exe + ".allocsmeta", { force: true });
      const r = spawnSync(process.execPath, [ALLOCS, "typegen", exe], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      stderr = r.stderr;
      const m = readMeta(fs.readFileSync(exe + ".allocsmeta"));
      // Typed sites only: a WRAPPER record (a call inside a wrapper) has no type of its own.
      const typed = m.sites.filter((s) => s.type !== META_NONE);
      // The runtime records the return address; the call is the instruction before it.
      const ls = linesOf(
        exe,
        typed.map((s) => s.vaddr - 1),
      );
      sites = typed.map((s, i) => ({ line: ls[i], type: m.types[s.type].name, flags: s.flags }));
      reported = new Map();
      for (const l of stderr.split("\n")) {
        const u = /sites_dwarf_more\.c:(\d+): in (\S+): (\S+): type unknown/.exec(l);
        if (u) reported.set(Number(u[1]), l);
      }
    });

    for (const [name, w] of Object.entries(want)) {
      const describeWant =
        w === "none"
          ? "no site"
          : w === "unknown"
            ? "reported unknown"
            : `${w.type}${w.array ? " ARRAY" : ""}`;
      it(`site:${name} gives ${describeWant}`, () => {
        const line = lines.get(name);
        assert.ok(line, `no site:${name} marker`);
        const here = sites.filter((s) => s.line === line);
        if (w === "none" || w === "unknown") {
          assert.deepEqual(here, [], `line ${line} should have no typed site`);
          if (w === "unknown") assert.ok(reported.has(line), `line ${line} not reported:\n${stderr}`);
          else assert.ok(!reported.has(line), `line ${line} reported:\n${stderr}`);
          return;
        }
        if (here.length === 0 && w.orUnknown) {
          assert.ok(reported.has(line), `line ${line} neither typed nor reported:\n${stderr}`);
          return;
        }
        assert.ok(here.length > 0, `no site on line ${line}; stderr:\n${stderr}`);
        for (const s of here) {
          assert.equal(s.type, w.type, `line ${line}`);
          assert.equal((s.flags & SITE_ARRAY) !== 0, w.array, `line ${line} ARRAY flag`);
          assert.ok(s.flags & SITE_GUESSED, `line ${line} not GUESSED`);
        }
      });
    }

    it("has no site on any other line, and reports each unknown one with its function", () => {
      const marked = new Set(lines.values());
      assert.deepEqual(
        sites.filter((s) => !marked.has(s.line)),
        [],
      );
      for (const [line, l] of reported) assert.ok(marked.has(line), `unexpected unknown: ${l}`);
    });

    it("the preloaded run's alloc_get_type answers with those types", () => {
      const run = runPreloaded(exe, [], { timeoutMs: 120_000 });
      assert.equal(run.status, 0, run.stderr);
      const probes = parseProbes(run.stdout);
      const unknownNames = new Set([...lines].filter(([, line]) => reported.has(line)).map(([name]) => name));
      const types: Record<string, string> = {};
      for (const [k, p] of probes) types[k] = p.type;
      assert.deepEqual(types, probesWanted(unknownNames));
    });
  });
}
