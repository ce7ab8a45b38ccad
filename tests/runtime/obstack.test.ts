// GNU obstacks (glibc's <obstack.h>, test-programs/obstack_target.c): an address inside an
// obstack's chunk is the allocator "obstack", one level below the malloc chunk that the chunk
// is, with the part holding it: the used part [contents, next_free) of the current chunk (an
// older chunk is used up to its limit) or its free tail [next_free, limit). Checked through the
// C API in the program against the program's own struct obstack (&g_ob, its chunk, limit and
// next_free), and through the bridge against gdb's reading of g_ob, live and on a kernel core;
// LLDB gives the same JSON on that core. Obstacks the program lets go of (freed with
// obstack_free(h, NULL), a struct freed and reused, a struct whose page was unmapped) make the
// runtime neither crash nor answer "obstack". gcc and clang, -O0 and -O2.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildProgram, compilerVariants, parseProbes, runPlain, runPreloaded } from "../lib/programs";
import {
  type Json,
  allocsGdb,
  answers,
  makeKernelCore,
  queryCommands,
  skipWithoutKernelCores,
} from "../bridge/gdb";
import { allocsLldb, commandFile, hasLldb, lldbQueryLines } from "../bridge/lldb";
import { validate } from "../lib/json-schema";
import { summary, type AddressDescription } from "../../extension/src/adapter/describe";
import { siteText, type SiteJson } from "../../extension/src/vscode/description";

const CONTENTS = 16n; // offsetof(struct _obstack_chunk, contents)

const variants = compilerVariants();

/** What the program's own struct obstack says of the part holding addr: [base, size, used]. */
function expectedPart(p: Record<string, string>): [bigint, bigint, boolean] {
  const addr = BigInt(p.addr);
  const chunk = BigInt(p.chunk);
  const limit = BigInt(p.limit);
  const nextFree = BigInt(p.next_free);
  const current = nextFree >= chunk && nextFree <= limit;
  const usedEnd = current ? nextFree : limit;
  return addr < usedEnd
    ? [chunk + CONTENTS, usedEnd - chunk - CONTENTS, true]
    : [usedEnd, limit - usedEnd, false];
}

/** The bridge's queries and gdb's own reading of g_ob and g_ob2 (printf lines `G name value`). */
const QUERIES: Array<[string, string]> = [
  ["first", "alloc info --json g_first + 10"],
  ["last", "alloc info --json g_last + 999"],
  ["tail", "alloc info --json g_tail"],
  ["other", "alloc info --json g_other + 1"],
  ["header", "alloc info --json (char *)g_ob.chunk + 8"],
  ["abandoned", "alloc info --json g_in_abandoned"],
  ["unmapped", "alloc info --json g_in_unmapped"],
];
const GDB_READS: Array<[string, string]> = [
  ["ob", "&g_ob"],
  ["chunk", "g_ob.chunk"],
  ["limit", "g_ob.chunk->limit"],
  ["next_free", "g_ob.next_free"],
  ["prev", "g_ob.chunk->prev"],
  ["prev_limit", "g_ob.chunk->prev->limit"],
  ["ob2", "&g_ob2"],
  ["chunk2", "g_ob2.chunk"],
  ["limit2", "g_ob2.chunk->limit"],
  ["next_free2", "g_ob2.next_free"],
  ["last", "g_last"],
  ["tail", "g_tail"],
];

function gdbArgs(): string[] {
  const out = queryCommands(QUERIES);
  for (const [name, expr] of GDB_READS)
    out.push("-ex", `printf "G ${name} %#lx\\n", (unsigned long)(${expr})`);
  return out;
}

function gdbReads(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of stdout.matchAll(/^G (\w+) (0x[0-9a-f]+|0)$/gm)) out.set(m[1], m[2] === "0" ? "0x0" : m[2]);
  return out;
}

/** The bridge's answers against gdb's reading of the program's obstacks. */
function checkBridge(a: Map<string, unknown>, g: Map<string, string>, what: string): void {
  const hex = (v: bigint) => "0x" + v.toString(16);
  const get = (name: string) => {
    const v = g.get(name);
    assert.ok(v, `${what}: gdb read no ${name}`);
    return BigInt(v);
  };
  const cases: [string, string, bigint, bigint, bigint | null, boolean][] = [
    // label, obstack, chunk, limit, nextFree, used
    ["first", "ob", get("prev"), get("prev_limit"), null, true],
    ["last", "ob", get("chunk"), get("limit"), get("next_free"), true],
    ["tail", "ob", get("chunk"), get("limit"), get("next_free"), false],
    ["other", "ob2", get("chunk2"), get("limit2"), get("next_free2"), true],
  ];
  for (const [label, ob, chunk, limit, nextFree, used] of cases) {
    const j = a.get(label) as Json;
    assert.ok(j, `${what}: no answer for ${label}`);
    assert.deepEqual(validate("description.schema.json", j), [], `${what} ${label}: the schema`);
    assert.equal(j.allocator, "obstack", `${what} ${label}: allocator`);
    assert.deepEqual(
      j.site,
      {
        obstack: hex(get(ob)),
        chunk: hex(chunk),
        limit: hex(limit),
        nextFree: nextFree === null ? null : hex(nextFree),
        part: used ? "used" : "free",
      },
      `${what} ${label}: the obstack, its chunk and the part, as gdb reads g_ob`,
    );
    const usedEnd = nextFree ?? limit;
    const [base, size] = used ? [chunk + CONTENTS, usedEnd - chunk - CONTENTS] : [usedEnd, limit - usedEnd];
    assert.equal(j.base, hex(base), `${what} ${label}: base`);
    assert.equal(j.size, Number(size), `${what} ${label}: size`);
    assert.equal(j.state, used ? "live" : "unknown", `${what} ${label}: state`);
    const chain = j.chain as { allocator: string; base: string; size: number }[];
    assert.deepEqual(
      chain.slice(-2).map((l) => [l.allocator, l.base, l.size]),
      [
        ["__default_lib_malloc", hex(chunk), Number(limit - chunk)],
        ["obstack", hex(base), Number(size)],
      ],
      `${what} ${label}: one level below the malloc chunk`,
    );
    // What VS Code shows for this answer: the Describe view's site row and the Variables view's
    // summary, from the bridge's own JSON.
    assert.equal(
      siteText(j.site as SiteJson),
      `${used ? "used part" : "free tail"} of obstack ${hex(get(ob))} (chunk ${hex(chunk)}..${hex(limit)})`,
      `${what} ${label}: the Describe view's site`,
    );
    assert.match(
      summary(j as unknown as AddressDescription) ?? "",
      new RegExp(`^obstack ${size} B .*@ obstack ${hex(get(ob))}$`),
      `${what} ${label}: the Variables view's summary`,
    );
  }
  assert.equal(BigInt((a.get("last") as Json).address), get("last") + 999n);
  assert.equal(BigInt((a.get("tail") as Json).address), get("tail"));
  // the chunk's own header (limit, prev) is malloc's chunk, not the obstack's contents
  const header = a.get("header") as Json;
  assert.equal(header.allocator, "__default_lib_malloc", `${what}: the chunk header`);
  assert.equal(header.base, hex(get("chunk")));
  // obstacks let go of (a struct freed and reused, a struct whose page is unmapped): their
  // chunks are malloc's, as the runtime says
  for (const label of ["abandoned", "unmapped"]) {
    const j = a.get(label) as Json;
    assert.ok(j, `${what}: no answer for ${label}`);
    assert.equal(j.allocator, "__default_lib_malloc", `${what}: ${label}`);
    assert.deepEqual(j.damage, [], `${what}: ${label}: no damage reported`);
  }
}

for (const [cc, opt] of variants) {
  describe(`obstacks: GNU obstack chunks nested in malloc chunks (${cc} ${opt})`, function () {
    let exe: string;
    let probes: Map<string, Record<string, string>>;
    const probe = (name: string): Record<string, string> => {
      const p = probes.get(name);
      assert.ok(p, `probe ${name} missing`);
      return p;
    };

    before(function () {
      exe = buildProgram("obstack_target", { cc, api: true, cflags: [opt], variant: `o${opt.slice(2)}` });
      const r = runPreloaded(exe);
      assert.equal(r.status, 0, `obstack_target failed (${r.signal}):\n${r.stderr}`);
      assert.match(r.stdout, /^done$/m);
      assert.equal(r.stderr, "");
      probes = parseProbes(r.stdout);
    });

    it("runs the same without the runtime", () => {
      const r = runPlain(exe);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^done$/m);
    });

    it("the C API: allocator obstack, the used part or free tail, below the malloc chunk", () => {
      for (const name of ["first", "last", "string", "tail", "other", "first_again"]) {
        const p = probe(name);
        assert.equal(p.err, "0", name);
        assert.equal(p.alloc, "obstack", `${name}: allocator`);
        const [base, size] = expectedPart(p);
        assert.equal(BigInt(p.base), base, `${name}: base, from the program's own g_ob`);
        assert.equal(BigInt(p.size), size, `${name}: size`);
        assert.equal(p.parent, "__default_lib_malloc", `${name}: parent level`);
        assert.equal(p.parent_base, p.chunk, `${name}: the parent is the chunk`);
        assert.equal(BigInt(p.parent_size), BigInt(p.limit) - BigInt(p.chunk), `${name}: chunk size`);
      }
      assert.equal(expectedPart(probe("tail"))[2], false, "g_tail is in the free tail");
      assert.equal(expectedPart(probe("first"))[2], true);
      assert.notEqual(probe("first").chunk, probe("last").chunk, "g_first is in an older chunk");
      assert.notEqual(probe("other").ob, probe("last").ob, "g_ob2 (_obstack_begin_1) is another obstack");
    });

    it("the one-liners agree with alloc_describe (alloc_get_size too)", () => {
      const last = probe("last");
      const [base, size] = expectedPart(last);
      const o = probe("last_oneliners");
      assert.equal(o.alloc, "obstack");
      assert.equal(BigInt(o.base), base);
      assert.equal(BigInt(o.size), size);
    });

    it("obstacks let go of: no crash, and not answered as obstacks", () => {
      for (const name of ["after_obstack_free", "abandoned", "unmapped"]) {
        const p = probe(name);
        assert.equal(p.err, "0", name);
        assert.equal(p.alloc, "__default_lib_malloc", `${name}: only the malloc chunk is known`);
      }
      assert.notEqual(probe("in_freed").alloc, "obstack", "a chunk obstack_free(h, NULL) freed");
      assert.equal(probe("reuse").same, "1", "the abandoned struct's memory was handed out again");
    });

    it("gdb, live: the obstack, chunk, limit and next_free as gdb reads g_ob", () => {
      const r = allocsGdb(["-ex", "break stop_here", "-ex", "run", ...gdbArgs(), exe]);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr + r.stdout, /Traceback/);
      checkBridge(answers(r.stdout), gdbReads(r.stdout), "gdb live");
    });

    it("gdb and lldb, kernel core: the same answers", function () {
      skipWithoutKernelCores(this);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-obstack-"));
      try {
        const { core } = makeKernelCore(exe, ["abort"], dir);
        const r = allocsGdb([...gdbArgs(), exe, core]);
        assert.doesNotMatch(r.stderr + r.stdout, /Traceback/);
        const gdbAnswers = answers(r.stdout);
        checkBridge(gdbAnswers, gdbReads(r.stdout), "gdb core");
        if (!hasLldb() || cc !== "gcc" || opt !== "-O0") return; // one LLDB check is enough
        const l = allocsLldb([...commandFile(dir, "core", lldbQueryLines(QUERIES)), "-c", core, exe]);
        assert.doesNotMatch(l.stderr + l.stdout, /Traceback/);
        const lldbAnswers = answers(l.stdout);
        // the obstack's answers (the chunk header's malloc site names libc's source file as each
        // debugger spells it: tests/bridge/lldb.ts's sameJson)
        for (const label of ["first", "last", "tail", "other"])
          assert.deepEqual(lldbAnswers.get(label), gdbAnswers.get(label), `lldb core: ${label}`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
