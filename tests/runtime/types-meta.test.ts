// alloc_get_type and the uniqtype reflection API with metadata written by `allocs cc`: statics,
// functions, a struct local's frame, heap structs and arrays, argv, a dlopen'd library; the
// documented search (ALLOCS_META_PATH, next to the object, the cache); stale and corrupted
// files refused with one line and no crash.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  ALLOCS_CC_VARIANTS,
  BUILD_DIR,
  PROGRAMS_DIR,
  allocsCc,
  parseProbes,
  runPreloaded,
} from "../lib/programs";
import { readMeta } from "../../typegen/src/meta/reader";
import { TypegenFormatError } from "../../typegen/src/index";
import { HEADER, TYPE, MEMBER, SITE, STATIC, FRAME } from "../../typegen/src/meta/format";

const dir = path.join(BUILD_DIR, "types");
for (const v of ALLOCS_CC_VARIANTS) {
  describe(`run-time types (${v.label})`, function () {
    let exe: string;
    let dso: string;
    let probes: Map<string, Record<string, string>>;
    let stderr: string;
    before(function () {
      fs.mkdirSync(dir, { recursive: true });
      const tag = v.label.replace(/\W+/g, "_");
      exe = path.join(dir, `types_probe_${tag}`);
      dso = path.join(dir, `types_dso_${tag}.so`);
      const cc = { cc: v.cc };
      allocsCc(
        [...v.flags, "-Wall", "-o", exe, path.join(PROGRAMS_DIR, "types_probe.c"), "-ldl", "-pthread"],
        cc,
      );
      allocsCc([...v.flags, "-shared", "-fPIC", "-o", dso, path.join(PROGRAMS_DIR, "types_dso.c")], cc);
      const r = runPreloaded(exe, [dso]);
      assert.equal(r.status, 0, r.stderr);
      probes = parseProbes(r.stdout);
      stderr = r.stderr;
    });

    it("loads without a word on stderr", () => assert.equal(stderr, ""));

    it("gives a global its struct type and a global array its array type", () => {
      assert.deepEqual(probes.get("global"), {
        allocator: "static",
        type: "shape",
        c: "struct",
        size: "48",
        kind: "4",
      });
      assert.equal(probes.get("global_ints")?.type, "__ARR7_int$32");
    });

    it("gives functions their function types", () => {
      assert.equal(
        probes.get("function")?.type,
        "__FUN_FROM___ARG0_int$32__ARG1___PTR___PTR_signed_char$8__FUN_TO_int$32",
      );
      assert.equal(probes.get("helper")?.type, probes.get("function")?.type);
      assert.deepEqual(probes.get("fun"), {
        return: "int$32",
        params: "2",
        p0: "int$32",
        p1: "__PTR___PTR_signed_char$8",
      });
    });

    it("gives a struct local main's FRAME type, whose member sits at the local's address", () => {
      assert.equal(probes.get("frame")?.allocator, "stackframe");
      assert.equal(probes.get("frame")?.type, "__FRAME_main");
      assert.equal(probes.get("frame")?.kind, "8");
      assert.deepEqual(probes.get("frame_member"), { name: "local_pt", type: "point", matches: "1" });
    });

    it("gives heap chunks their allocation sites' types (arrays sized by the chunk)", () => {
      assert.equal(probes.get("heap_struct")?.type, "point");
      assert.equal(probes.get("heap_ints")?.type, "__ARR10_int$32");
      assert.equal(probes.get("heap_ints")?.size, "40");
      assert.equal(probes.get("heap_bytes")?.type, "__ARR24_signed_char$8");
      assert.equal(probes.get("heap_shapes")?.type, "__ARR4_shape");
      assert.equal(probes.get("unique")?.heap_vs_static, "1", "one struct uniqtype per type");
    });

    it("types argv and its strings without metadata", () => {
      assert.equal(probes.get("argv")?.type, "__ARR3___PTR_signed_char$8"); // argc 2 + NULL
      assert.equal(probes.get("argv0")?.type, `__ARR${exe.length + 1}_signed_char$8`);
    });

    it("answers the reflection API: members, bit-fields, arrays, pointers, enumerators, lookup", () => {
      assert.deepEqual(probes.get("member_corners"), {
        offset: "8",
        type: "__ARR3_point",
        bit_size: "0",
        bit_offset: "0",
      });
      assert.deepEqual(probes.get("member_flag"), {
        offset: "36",
        type: "unsigned_int$32",
        bit_size: "3",
        bit_offset: "0",
      });
      assert.deepEqual(probes.get("member_other"), {
        offset: "36",
        type: "unsigned_int$32",
        bit_size: "5",
        bit_offset: "3",
      });
      assert.deepEqual(probes.get("array"), { element: "point", count: "3" });
      assert.deepEqual(probes.get("pointer"), { pointee: "shape", same: "1" });
      assert.deepEqual(probes.get("enum"), { name: "colour", count: "3", RED: "1", GREEN: "2", BLUE: "40" });
      assert.deepEqual(probes.get("lookup"), { point: "1", int: "1", missing: "1" });
    });

    it("loads a dlopen'd library's metadata; its types unique with the executable's", () => {
      assert.equal(probes.get("dso_static")?.type, "__ARR5_dso_record");
      assert.equal(probes.get("dso_heap")?.type, "point");
      assert.equal(probes.get("dso_shared_point")?.same, "1");
    });
  });
}

describe("metadata search and refusal", function () {
  let exe: string;
  let meta: Buffer;
  let tmp: string;
  before(() => {
    fs.mkdirSync(dir, { recursive: true });
    exe = path.join(dir, "types_probe_search");
    allocsCc(["-O0", "-o", exe, path.join(PROGRAMS_DIR, "types_probe.c"), "-ldl", "-pthread"]);
    meta = fs.readFileSync(exe + ".allocsmeta");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-meta-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A copy of the program with no metadata next to it. */
  function bare(name: string): string {
    const p = path.join(tmp, name);
    fs.copyFileSync(exe, p);
    return p;
  }
  const id = (): string => readMeta(meta).buildId;
  /** A cache holding nothing: `allocs cc` also links each output's metadata into the user's
   * cache by build-id, where the runtime would find the copy's metadata after refusing a file. */
  const emptyCache = (): string => path.join(tmp, "empty-cache");

  it("finds BUILDID.allocsmeta in an ALLOCS_META_PATH directory", () => {
    const p = bare("via_path");
    const d = path.join(tmp, "metadir");
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `${id()}.allocsmeta`), meta);
    const r = runPreloaded(p, [], { env: { ALLOCS_META_PATH: `/nonexistent:${d}` } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(parseProbes(r.stdout).get("global")?.type, "shape");
  });

  it("finds it in the cache directory", () => {
    const p = bare("via_cache");
    const cache = path.join(tmp, "cache");
    fs.mkdirSync(path.join(cache, "allocs", "meta"), { recursive: true });
    fs.writeFileSync(path.join(cache, "allocs", "meta", `${id()}.allocsmeta`), meta);
    const r = runPreloaded(p, [], { env: { XDG_CACHE_HOME: cache } });
    assert.equal(parseProbes(r.stdout).get("global")?.type, "shape");
  });

  it("answers a first type query made by many threads at once only from the built types", () => {
    // Types are built at the process's first type query: a thread that comes while another
    // builds them must wait for all of them, never answer "no type" (20 runs of 8 threads).
    for (let run = 0; run < 20; run++) {
      const r = runPreloaded(exe, [], { env: { PROBE_FIRST_QUERY_THREADS: "8" } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.equal(parseProbes(r.stdout).get("first_query")?.untyped, "0", `run ${run}: ${r.stdout}`);
    }
  });

  it("loads the file found at start-up when the program clears its environment before its first query", () => {
    const p = bare("via_cache_clearenv");
    const cache = path.join(tmp, "cache-clearenv");
    fs.mkdirSync(path.join(cache, "allocs", "meta"), { recursive: true });
    fs.writeFileSync(path.join(cache, "allocs", "meta", `${id()}.allocsmeta`), meta);
    const r = runPreloaded(p, [], { env: { XDG_CACHE_HOME: cache, PROBE_CLEARENV: "1" } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(parseProbes(r.stdout).get("global")?.type, "shape");
  });

  it("refuses a stale file (another build-id) with the documented message, once", () => {
    const p = bare("stale");
    const demo = path.join(tmp, "demo");
    allocsCc(["-o", demo, path.join(PROGRAMS_DIR, "seed_demo.c")]);
    fs.copyFileSync(demo + ".allocsmeta", p + ".allocsmeta");
    const r = runPreloaded(p, [], { env: { PROBE_API_ONLY: "1", XDG_CACHE_HOME: emptyCache() } });
    assert.equal(r.status, 0, r.stderr);
    const other = readMeta(fs.readFileSync(demo + ".allocsmeta")).buildId;
    const lines = r.stderr.trim().split("\n");
    assert.deepEqual(lines, [
      `allocs: metadata ${p}.allocsmeta is for build-id ${other}, but ${p} has build-id ${id()}: rerun allocs typegen ${p}`,
    ]);
    assert.equal(parseProbes(r.stdout).get("global")?.type, "(no" /* "(no type)", cut at the space */);
  });

  it("says nothing of a stale file next to the program when the cache holds this build's file", () => {
    const p = bare("stale_but_cached");
    const demo = path.join(tmp, "demo2");
    allocsCc(["-o", demo, path.join(PROGRAMS_DIR, "seed_demo.c")]);
    fs.copyFileSync(demo + ".allocsmeta", p + ".allocsmeta");
    const cache = path.join(tmp, "cache-for-stale");
    fs.mkdirSync(path.join(cache, "allocs", "meta"), { recursive: true });
    fs.writeFileSync(path.join(cache, "allocs", "meta", `${id()}.allocsmeta`), meta);
    const r = runPreloaded(p, [], { env: { PROBE_API_ONLY: "1", XDG_CACHE_HOME: cache } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(parseProbes(r.stdout).get("global")?.type, "shape");
  });

  it("refuses targeted corruptions with one line naming the file and reason, without crashing, as typegen's reader does", () => {
    const p = bare("corrupt");
    const file = p + ".allocsmeta";
    const sec = (s: number): number => Number(meta.readBigUInt64LE(56 + 16 * s));
    const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
      ["truncated", (b) => b.subarray(0, b.length - 16), /file_size/],
      ["short", (b) => b.subarray(0, 50), /shorter than the header/],
      ["magic", (b) => (b.write("NOTMETA!", 0), b), /bad magic/],
      ["version", (b) => (b.writeUInt32LE(9, 8), b), /version 9/],
      ["unaligned", (b) => (b.writeBigUInt64LE(BigInt(sec(1) + 4), 56 + 16), b), /not 8-byte aligned/],
      ["past end", (b) => (b.writeBigUInt64LE(1n << 50n, 64 + 16 * 2), b), /runs past the end/],
      [
        "strings",
        (b) => (b.writeUInt8(65, sec(0) + Number(b.readBigUInt64LE(64)) - 1), b),
        /does not end with a NUL/,
      ],
      ["type name", (b) => (b.writeUInt32LE(0x7ffffff0, sec(1)), b), /string offset/],
      ["related", (b) => (b.writeUInt32LE(0x10000000, sec(1) + TYPE.size + 24), b), /type index/],
      ["kind", (b) => (b.writeUInt8(77, sec(1) + 16), b), /kind 77/],
      [
        "members",
        (b) => (
          b.writeUInt32LE(0x7fffffff, sec(1) + Number(b.readBigUInt64LE(56 + 16 + 8) - 1n) * TYPE.size + 28),
          b
        ),
        /out of range/,
      ],
      ["member type", (b) => (b.writeUInt32LE(0x7ffffff0, sec(2) + 4), b), /type index/],
      ["statics order", (b) => (b.writeBigUInt64LE(0xffffffffffn, sec(5)), b), /STATICS not sorted/],
      ["frame type", (b) => (b.writeUInt32LE(0, sec(6) + 20), b), /not a FRAME type/],
      ["sites order", (b) => (b.writeBigUInt64LE(0xffffffffffn, sec(8)), b), /SITES not sorted/],
    ];
    assert.ok(Number(meta.readBigUInt64LE(64 + 16 * 8)) >= 2, "the probe has sites");
    assert.ok(MEMBER.size && SITE.size && STATIC.size && FRAME.size && HEADER.size);
    for (const [what, mutate, re] of cases) {
      const bad = mutate(Buffer.from(meta));
      // The same corpus for both validators: typegen's reader refuses what the runtime refuses.
      assert.throws(
        () => readMeta(bad),
        TypegenFormatError,
        `typegen's reader accepts the ${what} corruption`,
      );
      fs.writeFileSync(file, bad);
      const r = runPreloaded(p, [], { env: { PROBE_API_ONLY: "1", XDG_CACHE_HOME: emptyCache() } });
      assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
      assert.ok(lines[0].startsWith(`allocs: metadata ${file} is invalid: `), `${what}: ${lines[0]}`);
      assert.match(lines[0], re, what);
      assert.match(lines[0], /\(at file offset \d+\); ignored$/, what);
      assert.equal(
        parseProbes(r.stdout).get("global")?.type,
        "(no" /* "(no type)", cut at the space */,
        what,
      );
    }
  });

  it("survives 300 randomly mutated files: each loads or is refused, never a crash, as typegen's reader judges it", function () {
    this.timeout(120_000);
    const p = bare("fuzz");
    const file = p + ".allocsmeta";
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let refused = 0;
    const disagreements: string[] = [];
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(meta);
      const flips = 1 + rnd(8);
      for (let k = 0; k < flips; k++) {
        // Aim half the mutations at the header and the fixed-size records, where indices live.
        const at = rnd(2) ? rnd(Math.min(b.length, 1024)) : rnd(b.length);
        b[at] = rnd(4) === 0 ? 0xff : rnd(256);
      }
      const cut = i % 10 === 9 ? rnd(b.length) : b.length;
      fs.writeFileSync(file, b.subarray(0, cut));
      const r = runPreloaded(p, [], { env: { PROBE_API_ONLY: "1" } });
      assert.equal(r.signal, null, `mutant ${i}: ${r.stderr}`);
      assert.equal(r.status, 0, `mutant ${i}: ${r.stderr}`);
      const lines = r.stderr.split("\n").filter(Boolean);
      assert.ok(lines.length <= 1, `mutant ${i}: ${r.stderr}`);
      const mutant = i % 10 === 9 ? b.subarray(0, cut) : b;
      let tsRefuses = false;
      try {
        readMeta(mutant);
      } catch (e) {
        if (!(e instanceof TypegenFormatError)) throw e;
        tsRefuses = true;
      }
      const cRefuses = lines.length === 1 && / is invalid: /.test(lines[0]);
      if (tsRefuses !== cRefuses)
        disagreements.push(
          `mutant ${i}: runtime ${cRefuses ? lines[0] : "loads it"}; typegen ${tsRefuses ? "refuses" : "reads it"}`,
        );
      if (lines.length) {
        assert.match(lines[0], /^allocs: metadata .* (is invalid|is for build-id)/);
        refused++;
      }
    }
    assert.ok(refused > 50, `only ${refused} of 300 mutants refused`);
    // One corpus, two validators (the runtime's meta_validate.c, typegen's reader): the same verdict.
    assert.deepEqual(disagreements, []);
  });
});
