// Stack frames of many shapes (recursion, alloca, a 100 KB frame, a realigned frame, varargs,
// a qsort callback, a signal handler, a thread), at -O0 and -O2 with gcc and clang. The
// runtime's own unwinder (a cached CFI reader) must give exactly the answers of libgcc's
// unwinder (ALLOCS_LEVELS_UNWIND=libgcc), and every probe must land in the right function.
import { strict as assert } from "node:assert";
import { buildProgram, parseProbes, runPreloaded } from "../lib/programs";

const expected: Record<string, string> = {
  recurse_own: "recurse",
  recurse_top_from_depth: "recurse",
  alloca_buffer: "with_alloca",
  alloca_fixed_from_deeper: "with_alloca",
  big_frame_low: "big_frame",
  big_frame_high_from_deeper: "big_frame",
  aligned_own: "aligned_frame",
  aligned_from_deeper: "aligned_frame",
  variadic_local: "variadic",
  qsort_caller_from_callback: "sorter",
  handler_own: "handler",
  below_signal_frame: "signalled",
  thread_local_from_deeper: "thread_main",
  main_from_deeper: "main",
};

for (const cc of ["gcc", "clang"] as const) {
  for (const opt of ["-O0", "-O2"]) {
    describe(`runtime levels: stack frames (${cc} ${opt})`, function () {
      let fast = "";
      let reference = "";

      before(function () {
        const exe = buildProgram("levels_frames", { cc, api: true, cflags: [opt], variant: opt.slice(1) });
        // Values of the same length, so both runs lay out the stack identically.
        const a = runPreloaded(exe, [], { env: { ALLOCS_LEVELS_UNWIND: "cached" } });
        const b = runPreloaded(exe, [], { env: { ALLOCS_LEVELS_UNWIND: "libgcc" } });
        assert.equal(a.status, 0, `levels_frames failed (${a.signal}):\n${a.stderr}`);
        assert.equal(b.status, 0, `levels_frames (libgcc) failed (${b.signal}):\n${b.stderr}`);
        fast = a.stdout;
        reference = b.stdout;
      });

      it("resolves every probe to a stack frame of the right function", () => {
        const probes = parseProbes(fast);
        for (const [name, fn] of Object.entries(expected)) {
          const p = probes.get(name);
          assert.ok(p, `probe ${name} missing`);
          assert.equal(p.err, "0", `${name}: error`);
          assert.equal(p.alloc, "stackframe", `${name}: allocator`);
          assert.equal(p.inside, "1", `${name}: inside the frame`);
          assert.ok(p.sym === fn || p.sym.startsWith(`${fn}.`), `${name}: symbol ${p.sym}, expected ${fn}`);
        }
      });

      it("gives exactly libgcc's frame bounds", () => {
        assert.equal(fast, reference);
      });
    });
  }
}
