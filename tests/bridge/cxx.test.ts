// C++ programs built with plain g++/clang++ -g (no allocs cc), their metadata from DWARF alone
// (`allocs typegen`): every heap object of test-programs/cxx_shapes.cpp described field by field,
// live and in a kernel core, against the program's own ground truth (sizeof, the array cookie's
// size_t, capacity(), typeid demangled, __LINE__): allocator, base, size, offset, type and path,
// the site of each new-expression, the dynamic type of an object only its vtable names, and a
// static's demangled name.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, buildProgram, hasCommand, parseProbes, typegen } from "../lib/programs";
import { useScratchDir } from "../lib/scratch";
import {
  GDB_TIMEOUT_MS,
  answers,
  makeKernelCore,
  queryCommands,
  queryCore,
  runToStop,
  skipWithoutKernelCores,
} from "./gdb";
import { check, queries } from "./cxx-shapes";

const VARIANTS: { cc: "gcc" | "clang"; opt: string; label: string; std?: string }[] = [
  { cc: "gcc", opt: "-O0", label: "g++ -O0" },
  { cc: "gcc", opt: "-O2", label: "g++ -O2" },
  // C++20: libstdc++ no longer declares basic_string<char> an extern template (constexpr), so a
  // string's buffer is allocated by instances in the program, typed char[n] by its metadata.
  { cc: "gcc", opt: "-O0", label: "g++ -std=c++20 -O0", std: "-std=c++20" },
  { cc: "gcc", opt: "-O2", label: "g++ -std=c++20 -O2", std: "-std=c++20" },
  ...(hasCommand("clang++")
    ? [
        { cc: "clang" as const, opt: "-O0", label: "clang++ -O0" },
        { cc: "clang" as const, opt: "-O2", label: "clang++ -O2" },
      ]
    : []),
];

describe("C++ programs (g++/clang++ -g, metadata from DWARF alone)", function () {
  this.timeout(20 * GDB_TIMEOUT_MS);
  const scratch = useScratchDir("allocs-cxx-", (ctx) => {
    if (!hasCommand("gdb") || !hasCommand("g++")) ctx.skip();
  });

  for (const v of VARIANTS) {
    describe(v.label, () => {
      let exe: string;
      before(() => {
        exe = buildProgram("cxx_shapes", {
          cc: v.cc,
          cflags: [v.opt, ...(v.std ? [v.std] : [])],
          variant: `${v.opt.slice(1)}${v.std ? v.std.replace("-std=c++", "cxx") : ""}`,
        });
        typegen(exe, { quiet: true, timeoutMs: GDB_TIMEOUT_MS });
      });

      it("runs unchanged under the preload", () => {
        const plain = spawnSync(exe, ["run"], { encoding: "utf8", timeout: 60_000 });
        const pre = spawnSync(exe, ["run"], {
          encoding: "utf8",
          timeout: 60_000,
          // the user's metadata cache is not this test's business
          env: {
            ...process.env,
            LD_PRELOAD: path.join(ROOT, "runtime", "build", "liballocs.so"),
            XDG_CACHE_HOME: scratch.dir,
          },
        });
        const strip = (s: string): string => s.replace(/0x[0-9a-f]+|\(nil\)/g, "ADDR");
        assert.equal(pre.status, 0, pre.stderr);
        assert.equal(strip(pre.stdout), strip(plain.stdout));
        assert.equal(pre.stderr, plain.stderr);
      });

      it("describes every heap object field by field, live", () => {
        const first = runToStop(exe, "cxx_stop", []);
        const probes = parseProbes(first.stdout);
        const r = runToStop(exe, "cxx_stop", queryCommands(queries(probes)));
        assert.doesNotMatch(r.stderr, /Traceback/);
        // Addresses are the same in both runs: gdb disables address randomisation.
        check("live", v.label, r.stdout, answers(r.stdout));
      });

      it("describes every heap object field by field, in a kernel core", function () {
        skipWithoutKernelCores(this);
        const kdir = fs.mkdtempSync(path.join(scratch.dir, `core-${v.cc}${v.opt}${v.std ?? ""}-`));
        const { stdout, core } = makeKernelCore(exe, ["abort"], kdir);
        const probes = parseProbes(stdout);
        check("kernel core", v.label, stdout, queryCore(exe, core, queries(probes)));
      });
    });
  }
});
