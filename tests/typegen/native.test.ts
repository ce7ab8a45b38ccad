// The DIE walk in C (typegen/native, model/collect-native.ts) against the JS walk it copies:
// `allocs typegen`'s metadata must be byte for byte the same with the native walk as with
// ALLOCS_TYPEGEN_NATIVE=off, on real gcc/g++/clang builds (C and C++, -O0/-O2, DWARF 4 and 5,
// compressed sections, type units and their DW_FORM_ref_sig8 references), and the C walker
// hands no unit back to JS (ALLOCS_TYPEGEN_NATIVE=verbose names each on stderr).

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { NATIVE_ADDON } from "../../typegen/src/model/collect-native";
import { FIXTURES, REPO, VARIANTS, Variant, build, have, tmpDir } from "./helpers";

const ALLOCS = path.join(REPO, "bin", "allocs.js");

/** `allocs typegen PROG` with ALLOCS_TYPEGEN_NATIVE=`mode`: the metadata and the units handed back. */
function typegen(prog: string, mode: "verbose" | "off"): { meta: Buffer; handedBack: string[] } {
  const out = path.join(tmpDir(), `native-${mode}.allocsmeta`);
  const r = spawnSync(process.execPath, [ALLOCS, "typegen", prog, "--out", out, "--quiet"], {
    encoding: "utf8",
    env: {
      ...process.env,
      ALLOCS_TYPEGEN_NATIVE: mode,
      XDG_CACHE_HOME: path.join(tmpDir(), "xdg-native"),
    },
  });
  assert.equal(r.status, 0, `allocs typegen ${prog} (${mode}): ${r.stderr}`);
  const handedBack = r.stderr.split("\n").filter((l) => l.includes("hands unit"));
  return { meta: readFileSync(out), handedBack };
}

/** Builds a C++ program with g++ or clang++ and the variant's flags. */
function buildCxx(source: string, v: Variant): string {
  const cxx = v.cc === "gcc" ? "g++" : "clang++";
  const out = path.join(tmpDir(), `${path.basename(source, ".cpp")}-${v.label.replace(/[^a-z0-9]+/gi, "_")}`);
  const rt = path.join(REPO, "runtime");
  const stub = path.join(rt, "build", "liballocs_stub.so");
  execFileSync(
    cxx,
    [
      ...v.flags,
      "-std=c++17",
      ...(v.cc === "clang" ? ["-fsized-deallocation"] : []),
      "-I",
      path.join(rt, "include"),
      "-o",
      out,
      path.join(FIXTURES, source),
      stub,
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  return out;
}

describe("typegen: the native DIE walk equals the JS walk", function () {
  this.timeout(300000);

  before(function () {
    if (!existsSync(NATIVE_ADDON)) assert.fail(`${NATIVE_ADDON} is not built: run npm run build`);
  });

  for (const v of VARIANTS) {
    it(`C programs, ${v.label}`, function () {
      if (!have(v.cc)) this.skip();
      for (const srcs of [
        ["typegen_types.c"],
        ["typegen_offsets.c"],
        ["typegen_opaque_a.c", "typegen_opaque_b.c"],
      ]) {
        const prog = build(srcs, v);
        const native = typegen(prog, "verbose");
        const js = typegen(prog, "off");
        assert.ok(native.meta.equals(js.meta), `${srcs.join(" ")} ${v.label}: metadata differs`);
        assert.deepEqual(native.handedBack, [], `${srcs.join(" ")}: no unit is handed back`);
      }
    });
  }

  for (const v of VARIANTS.filter((x) => !x.flags.includes("-gz"))) {
    it(`C++ programs, ${v.label}`, function () {
      const cxx = v.cc === "gcc" ? "g++" : "clang++";
      if (!have(cxx)) this.skip();
      for (const src of ["cxx_shapes.cpp", "heap_cxx_new.cpp"]) {
        const prog = buildCxx(src, v);
        const native = typegen(prog, "verbose");
        const js = typegen(prog, "off");
        assert.ok(native.meta.equals(js.meta), `${src} ${v.label}: metadata differs`);
        assert.deepEqual(native.handedBack, [], `${src}: no unit is handed back`);
      }
    });
  }
});
