// The levels part of the runtime: statics (data, bss, static locals, string literals,
// functions), stack frames, the auxv area, mmap'd regions (munmap, mremap), a dlopen'd library
// before and after dlclose, another thread's stack, and NULL / garbage addresses.
// test-programs/levels_probe.c prints one `probe` line per address; each field is asserted here.
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { BUILD_DIR, buildProgram, parseProbes, runPlain, runPreloaded } from "../lib/programs";

type Probes = Map<string, Record<string, string>>;
const ERR_NULL = "1";
const ERR_UNKNOWN = "2";

function get(probes: Probes, name: string): Record<string, string> {
  const p = probes.get(name);
  assert.ok(p, `probe ${name} missing`);
  return p;
}

/** A probe answered by `alloc`, at exactly the expected base, with exactly the expected size. */
function assertExact(probes: Probes, name: string, alloc: string, sym?: string): Record<string, string> {
  const p = get(probes, name);
  assert.equal(p.err, "0", `${name}: error code`);
  assert.equal(p.alloc, alloc, `${name}: allocator`);
  assert.equal(p.off, "0", `${name}: base minus expected base`);
  assert.equal(p.size, p.expect_size, `${name}: size`);
  assert.equal(p.inside, "1", `${name}: the address lies inside [base, base + size)`);
  if (sym !== undefined) assert.equal(p.sym, sym, `${name}: symbol`);
  return p;
}

for (const cc of ["gcc", "clang"] as const) {
  describe(`runtime levels (${cc})`, function () {
    let probes: Probes;
    let exeName = "";
    let dsoName = "";

    before(function () {
      const dso = buildProgram("levels_dso", { cc, shared: true });
      // RUNPATH to the library's directory, for the dlopen of a bare name.
      const exe = buildProgram("levels_probe", { cc, api: true, ldflags: [`-Wl,-rpath,${BUILD_DIR}`] });
      exeName = path.basename(exe);
      dsoName = path.basename(dso);
      const r = runPreloaded(exe, [dso, dsoName]);
      assert.equal(r.status, 0, `levels_probe failed (${r.signal}):\n${r.stderr}`);
      assert.equal(r.stderr, "", "the runtime prints nothing for a well-behaved program");
      probes = parseProbes(r.stdout);
    });

    it("resolves globals in .data and .bss and a static local to their symbols", () => {
      for (const [name, sym] of [
        ["data", "data_var"],
        ["bss", "bss_var"],
      ]) {
        const p = assertExact(probes, name, "static", sym);
        assert.equal(p.obj, exeName);
        assert.equal(p.chain, "mmap,elf_file,elf_segment,static");
      }
      const s = assertExact(probes, "static_local", "static");
      assert.match(s.sym, /static_local/, "gcc names it static_local.N, clang main.static_local");
    });

    it("resolves an interior pointer into a string literal to the whole string", () => {
      const p = assertExact(probes, "literal", "static", "-");
      assert.equal(p.obj, exeName);
    });

    it("resolves an address inside main to main", () => {
      const p = get(probes, "function");
      assert.equal(p.err, "0");
      assert.equal(p.alloc, "static");
      assert.equal(p.off, "0");
      assert.equal(p.sym, "main");
      assert.ok(Number(p.size) > 100, `main's size ${p.size}`);
    });

    it("resolves a local in main to main's exact frame, skipping the runtime's frames", () => {
      const p = assertExact(probes, "main_local", "stackframe", "main");
      assert.equal(p.obj, exeName);
      assert.equal(p.chain, "mmap,stack,stackframe");
    });

    it("resolves a local in a callee, queried from a deeper function, to the callee's frame", () => {
      const frame = get(probes, "callee_frame");
      const p = get(probes, "callee_local");
      assert.equal(p.err, "0");
      assert.equal(p.alloc, "stackframe");
      assert.equal(p.sym, "callee");
      assert.equal(p.base, frame.lo, "frame base = the callee's stack pointer at its call");
      assert.equal(p.size, frame.size);
    });

    it("answers an address below the stack pointer with the whole stack", () => {
      const p = get(probes, "below_sp");
      assert.equal(p.err, "0");
      assert.equal(p.alloc, "stack");
      assert.equal(p.inside, "1");
      assert.ok(Number(p.size) >= 128 * 1024, `a whole stack, not a frame (${p.size})`);
    });

    it("resolves argv, argv[0]'s string, envp, an environment string, auxv and AT_RANDOM", () => {
      for (const name of ["argv", "argv0_string", "envp", "env_string", "auxv_entry", "at_random"]) {
        const p = assertExact(probes, name, "auxv");
        assert.equal(p.chain, "mmap,stack,auxv,auxv", `${name}: chain`);
      }
    });

    it("answers an mmap'd region with its base, size and call site, after munmap and mremap", () => {
      const p = assertExact(probes, "mmap", "mmap");
      assert.equal(p.chain, "mmap");
      assert.equal(get(probes, "mmap_site_in_main").ok, "1", "site is the call in main");
      assertExact(probes, "mmap_after_munmap", "mmap");
      assert.equal(get(probes, "mmap_after_munmap").site, p.site, "the remaining half keeps its site");
      assert.equal(get(probes, "mmap_unmapped_half").err, ERR_UNKNOWN, "the unmapped half is gone");
      assertExact(probes, "mremap", "mmap");
    });

    it("chains a heap chunk under its mapping, and the brk heap for a small one", () => {
      // The chain of a chunk skips the ELF object and stack lookups (allocators.c,
      // ASK_OUTSIDE_CHUNK): it must still be the mapping, then the brk heap when glibc's brk arena
      // holds the chunk, then the chunk.
      const small = assertExact(probes, "heap_small", "__default_lib_malloc");
      assert.equal(small.chain, "mmap,brk,__default_lib_malloc");
      const large = assertExact(probes, "heap_large", "__default_lib_malloc");
      assert.equal(large.chain, "mmap,__default_lib_malloc", "a chunk glibc mapped alone: no brk level");
    });

    it("answers an address in the brk heap beyond malloc's chunks with the brk level", () => {
      const p = get(probes, "brk");
      assert.equal(p.err, "0");
      assert.equal(p.alloc, "brk");
      assert.equal(p.inside, "1");
      assert.equal(p.chain, "mmap,brk");
      assert.equal(get(probes, "brk_end").ok, "1", "the level ends at the current break");
    });

    it("resolves a dlopen'd library's global and function, and forgets them after dlclose", () => {
      const g = assertExact(probes, "dso_global", "static", "levels_dso_global");
      assert.equal(g.obj, dsoName);
      assert.equal(g.chain, "mmap,elf_file,elf_segment,static");
      const f = get(probes, "dso_function");
      assert.equal(f.err, "0");
      assert.equal(f.alloc, "static");
      assert.equal(f.off, "0");
      assert.equal(f.sym, "levels_dso_function");
      assert.ok(Number(f.size) > 0);
      const after = get(probes, "dso_global_after_dlclose");
      assert.notEqual(after.obj, dsoName, "no longer the library's");
      assert.notEqual(after.sym, "levels_dso_global");
    });

    it("keeps dlopen's caller-relative search: a bare name is found through the program's RUNPATH", () => {
      assert.equal(get(probes, "dlopen_bare").ok, "1");
      const exe = buildProgram("levels_probe", { cc, api: true, ldflags: [`-Wl,-rpath,${BUILD_DIR}`] });
      assert.match(runPlain(exe, ["/nonexistent.so", dsoName]).stdout, /probe dlopen_bare ok=1/);
      const g = assertExact(probes, "dso_global_bare", "static", "levels_dso_global");
      assert.equal(g.obj, dsoName, "found by the rescan after a dlopen that bypassed the wrapper");
    });

    it("answers a thread's own local with its frame, and another thread's with the whole stack", () => {
      const own = get(probes, "thread_own_local");
      assert.equal(own.alloc, "stackframe");
      assert.equal(own.sym, "thread_main");
      assert.equal(own.inside, "1");
      const other = get(probes, "other_thread_stack");
      assert.equal(other.err, "0");
      assert.equal(other.alloc, "stack");
      assert.equal(other.inside, "1");
      assert.ok(Number(other.size) >= 64 * 1024, "a whole thread stack");
      assert.equal(other.chain, "mmap,stack");
    });

    it("gives NULL and garbage addresses an error, without crashing", () => {
      assert.equal(get(probes, "null").err, ERR_NULL);
      for (const name of ["garbage_low", "garbage_high", "minus_one"]) {
        assert.equal(get(probes, name).err, ERR_UNKNOWN, name);
      }
      assert.ok(probes.has("kernel"), "the vsyscall page answered (it is a mapping) or refused");
    });
  });
}
