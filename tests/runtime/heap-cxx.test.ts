// C++'s operator new and operator delete under the preload (runtime/src/heap_cxx.c): every form
// (plain, array, nothrow, aligned, sized) is tracked with its exact size and its caller in main
// as the site (never libstdc++); failures behave as without the runtime (nothrow returns null,
// the new_handler runs until removed, then std::bad_alloc); a program that replaces operator
// new keeps its replacement for every form. g++ and clang++, -O0 and -O2.
import { strict as assert } from "node:assert";
import { buildProgram, hasCommand, parseProbes, runPlain, runPreloaded } from "../lib/programs";

const COMPILERS: ("gcc" | "clang")[] = hasCommand("clang++") ? ["gcc", "clang"] : ["gcc"];
const FORMS = [
  "new",
  "new_array",
  "new_nothrow",
  "new_array_nothrow",
  "new_aligned",
  "new_array_aligned",
  "new_aligned_nothrow",
  "new_array_aligned_nothrow",
  "new_overaligned",
  "new_cookie",
];

const behaviour = (out: string): string[] => out.split("\n").filter((l) => l.startsWith("behaviour "));

for (const cc of COMPILERS)
  for (const opt of ["-O0", "-O2"])
    describe(`runtime heap: C++ operator new/delete (${cc === "gcc" ? "g++" : "clang++"} ${opt})`, () => {
      const variant = opt.slice(1);
      it("tracks every form with its size and its caller as the site; behaviour unchanged", () => {
        // clang enables sized deallocation only on request
        const sized = cc === "clang" ? ["-fsized-deallocation"] : [];
        const exe = buildProgram("heap_cxx_new", {
          cc,
          api: true,
          cflags: [opt, ...sized],
          ldflags: ["-rdynamic"],
          variant,
        });
        const plain = runPlain(exe);
        // an empty metadata cache: the user's is not this test's business
        const pre = runPreloaded(exe, [], { env: { XDG_CACHE_HOME: "/nonexistent" } });
        assert.equal(plain.status, 0, plain.stderr);
        assert.equal(pre.status, 0, pre.stderr);
        assert.equal(pre.stderr, "");
        assert.deepEqual(behaviour(pre.stdout), behaviour(plain.stdout));
        assert.match(pre.stdout, /^behaviour huge bad_alloc handler_calls=3$/m);
        assert.match(pre.stdout, /^behaviour huge_aligned bad_alloc handler_calls=3$/m);
        assert.match(pre.stdout, /^behaviour nothrow_huge null=1$/m);
        const probes = parseProbes(pre.stdout);
        for (const form of FORMS) {
          const p = probes.get(form);
          assert.ok(p, `no probe ${form}`);
          assert.equal(p.size, p.want, `${form}: size`);
          assert.equal(p.site_main, "1", `${form}: the site is in main`);
          assert.match(pre.stdout, new RegExp(`^behaviour ${form} nonnull=1 aligned=1$`, "m"));
        }
      });

      it("keeps a program's own operator new for every form", () => {
        const exe = buildProgram("heap_cxx_replaced", {
          cc,
          cflags: [opt, "-Wno-sized-deallocation"],
          variant,
        });
        const plain = runPlain(exe);
        const pre = runPreloaded(exe, [], { env: { XDG_CACHE_HOME: "/nonexistent" } });
        assert.equal(pre.status, 0, pre.stderr);
        assert.match(plain.stdout, /^news=\d+ deletes=\d+ /);
        assert.equal(pre.stdout, plain.stdout);
        assert.equal(pre.stderr, plain.stderr);
      });
    });
