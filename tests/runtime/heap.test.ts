// The heap part of the runtime: every malloc-family entry point, the chunk index (interior
// pointers, large chunks, freed chunks), sites (including libc helpers), errors and counters.
// test-programs/heap_probe.c prints one `probe` line per address; each field is asserted here.
import { strict as assert } from "node:assert";
import { BuildOptions, buildProgram, hasCommand, parseProbes, runPlain, runPreloaded } from "../lib/programs";

// ALLOCS_HEAP_TEST_RUNTIME points the heap tests at another build of the runtime (e.g. one
// linked with a stub levels part while the real one is being written).
const heapRuntime = process.env.ALLOCS_HEAP_TEST_RUNTIME || undefined;

type Probes = Map<string, Record<string, string>>;

function get(probes: Probes, name: string): Record<string, string> {
  const p = probes.get(name);
  assert.ok(p, `probe ${name} missing`);
  return p;
}

/** A chunk probe: found by the malloc leaf, at the expected base, with this size, and a site
 * inside the function that made the call. */
function assertChunk(probes: Probes, name: string, size: number): void {
  const p = get(probes, name);
  assert.equal(p.err, "0", `${name}: error code`);
  assert.equal(p.alloc, "__default_lib_malloc", `${name}: allocator`);
  assert.equal(p.base, "0", `${name}: base minus expected base`);
  assert.equal(Number(p.size), size, `${name}: size`);
  const site = Number(p.site);
  assert.ok(site > 0 && site < 200, `${name}: site ${site} bytes into the allocating function`);
}

// gcc and clang builds, and a non-PIE one whose brk heap sits in the lowest 128 MiB region.
const VARIANTS: { label: string; opts: BuildOptions }[] = [
  { label: "gcc", opts: { api: true } },
  { label: "clang", opts: { api: true, cc: "clang" } },
  { label: "gcc -no-pie", opts: { api: true, cflags: ["-fno-pie"], ldflags: ["-no-pie"], variant: "nopie" } },
];

for (const { label, opts } of VARIANTS)
  describe(`runtime heap: malloc family and chunk index (${label})`, function () {
    let probes: Probes;
    let stdout = "";

    before(function () {
      if (opts.cc === "clang" && !hasCommand("clang")) this.skip();
      const exe = buildProgram("heap_probe", opts);
      const r = runPreloaded(exe, [], { runtime: heapRuntime });
      assert.equal(r.status, 0, `heap_probe failed (${r.signal}):\n${r.stderr}`);
      assert.equal(r.stderr, "", "the runtime prints nothing for a well-behaved program");
      stdout = r.stdout;
      probes = parseProbes(stdout);
    });

    it("finds a malloc chunk from its start, an interior pointer and its last byte", () => {
      for (const name of ["malloc_start", "malloc_interior", "malloc_last"]) assertChunk(probes, name, 100);
      const one = get(probes, "one_liners");
      assert.deepEqual(one, { alloc: "__default_lib_malloc", base: "0", size: "100", site_ok: "1" });
    });

    it("keeps the trailer out of reach: the whole malloc_usable_size can be written", () => {
      assert.equal(get(probes, "usable_size").value, "1");
      assertChunk(probes, "usable_filled", 20);
    });

    it("calloc zeroes and records nmemb * size", () => {
      assert.equal(get(probes, "calloc_zero").value, "1");
      assertChunk(probes, "calloc", 120);
    });

    it("realloc in place, moving (contents kept), from NULL, and to zero (frees, returns NULL)", () => {
      assert.equal(get(probes, "realloc_inplace_same").value, "1");
      assertChunk(probes, "realloc_inplace", 150);
      // Two lines share the name (parseProbes keeps the last): the chunk probe, and the one
      // saying the chunk moved and kept its contents, read from the output itself.
      assert.match(
        stdout,
        /^probe realloc_moved value=1 kept=1$/m,
        "realloc moved the chunk and kept its bytes",
      );
      assertChunk(probes, "realloc_moved", 5000);
      assertChunk(probes, "realloc_null", 33);
      assert.equal(get(probes, "realloc_zero").value, "1");
    });

    it("memalign, posix_memalign, aligned_alloc and valloc: aligned, indexed, with their sites", () => {
      for (const n of ["memalign_aligned", "posix_memalign_aligned", "aligned_alloc_aligned"]) {
        assert.equal(get(probes, n).value, "1", n);
      }
      assertChunk(probes, "memalign", 100);
      assertChunk(probes, "posix_memalign", 200);
      assertChunk(probes, "aligned_alloc", 5000);
      assertChunk(probes, "valloc", 10);
      assert.deepEqual(get(probes, "posix_memalign_einval"), { value: "22", untouched: "1" });
    });

    it("finds interior pointers of large chunks (past the bounded map scan)", () => {
      assertChunk(probes, "large_interior", 1 << 20);
      assertChunk(probes, "large_mid", 40000);
      assertChunk(probes, "below_large", 32 * 1024 - 24);
      assertChunk(probes, "at_large", 32 * 1024);
    });

    it("attributes libc helpers' allocations to their caller", () => {
      assertChunk(probes, "strdup", 13);
      assertChunk(probes, "strndup", 5);
      assertChunk(probes, "asprintf", "value=42".length + 1);
      const g = get(probes, "getdelim");
      assert.equal(g.err, "0");
      assert.equal(g.base, "0");
      const site = Number(g.site);
      assert.ok(site > 0 && site < 200, `getdelim site ${site}`);
      const rp = get(probes, "realpath");
      assert.equal(rp.base, "0");
      assert.ok(Number(rp.site) > 0 && Number(rp.site) < 200, `realpath site ${rp.site}`);
    });

    it("answers NULL with ALLOCS_ERR_NULL and garbage or freed addresses with ALLOCS_ERR_UNKNOWN", () => {
      assert.equal(get(probes, "null").err, "1");
      for (const n of ["garbage_low", "garbage_high", "garbage_noncanonical"]) {
        assert.equal(get(probes, n).err, "2", n);
        assert.equal(get(probes, n).alloc, "(unknown)", n);
      }
      const freed = get(probes, "freed");
      assert.notEqual(freed.alloc, "__default_lib_malloc", "a freed chunk is never reported");
    });

    it("keeps errno on success and sets ENOMEM on overflow like glibc", () => {
      assert.equal(get(probes, "errno_kept").value, "1");
      for (const n of ["malloc_huge", "calloc_overflow", "reallocarray_overflow"]) {
        assert.deepEqual(get(probes, n), { null: "1", errno: "1" }, n);
      }
    });

    it("alloc_walk_live and alloc_get_stats agree, and the counters follow malloc/free", () => {
      const s = get(probes, "stats");
      assert.equal(s.chunks_match, "1", "walked chunks = live_chunks");
      assert.equal(s.bytes_match, "1", "walked bytes = live_bytes");
      assert.equal(s.allocs_ge_frees, "1");
      assert.equal(get(probes, "stats_delta").value, "1");
      assert.equal(get(probes, "stats_delta_free").value, "0");
      assert.match(stdout, /^done$/m);
    });

    it("does not change the program's output", () => {
      const exe = buildProgram("heap_probe", opts);
      const plain = runPlain(exe);
      assert.equal(plain.status, 0);
      const lines = (s: string) =>
        s
          .split("\n")
          .filter((l) =>
            /^probe (usable_size|calloc_zero|realloc_inplace_same|realloc_moved|realloc_zero|\w+_aligned|posix_memalign_einval|errno_kept|malloc_huge|calloc_overflow|reallocarray_overflow) /.test(
              l,
            ),
          );
      const withRuntime = lines(stdout).map((l) =>
        l.startsWith("probe realloc_moved ") ? l.replace(/ err=.*$/, "") : l,
      );
      const without = lines(plain.stdout).map((l) =>
        l.startsWith("probe realloc_moved ") ? l.replace(/ err=.*$/, "") : l,
      );
      assert.deepEqual(withRuntime, without);
    });
  });
