// Allocation-site types from source (`allocs cc`), checked through the runtime: each chunk's
// alloc_get_type name (UNIQTYPE_NAME) and sizes, for liballocs-style sizeofness cases
// (test-programs/sites_sizeof.c): malloc(42), 42*sizeof(char), calloc(offsetof(T, f) + 10, 1),
// malloc(argc * sizeof x), sizes through locals and compound assignments, sizeof(T) + n *
// sizeof(U), counts, casts and receivers, realloc/memalign/posix_memalign/calloc, declared
// wrappers in the executable and in a DSO, malloc inside a DSO through its wrapper. The same
// program built by gcc -O0, gcc -O2 and clang gives the same types.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  ALLOCS_CC_VARIANTS,
  BUILD_DIR,
  PROGRAMS_DIR,
  SITES_ENV,
  allocsCc,
  hasCommand,
  parseProbes,
  runPreloaded,
} from "../lib/programs";

/** name -> [UNIQTYPE_NAME, type size, chunk size] (argc == 1). */
const EXPECTED: Record<string, [string, number, number]> = {
  c42: ["__ARR42_signed_char$8", 42, 42],
  c42s: ["__ARR42_signed_char$8", 42, 42],
  offsetof: ["__FLEX10_msg", 14, 14], // struct msg with its flexible array holding the 10 bytes (TRAILING)
  sizeof_expr: ["__ARR1_long$64", 8, 8], // malloc(argc * sizeof x), long x
  local: ["__ARR3_point", 24, 24], // size_t n = sizeof(struct point) * 3; malloc(n)
  local_one: ["point", 8, 8],
  compound: ["__ARR4_hdr", 64, 64], // k = 4; k *= sizeof(struct hdr)
  trailing: ["hdr", 16, 32], // sizeof(struct hdr) + 4 * sizeof(int)
  count: ["__ARR10_signed_char$8", 10, 10], // sizeof(arr) / sizeof(arr[0]) is a count
  sizeof_array: ["__ARR10_int$32", 40, 40], // sizeof arr, int arr[10]
  cast: ["__ARR2_point", 16, 16], // (struct point *)malloc(16): no sizeof, the cast decides
  realloc: ["anon_t", 16, 16],
  memalign: ["__ARR2_point", 16, 16],
  posix_memalign: ["hdr", 16, 16],
  calloc_expr: ["__ARR7_double$64", 56, 56], // calloc(7, sizeof *dv)
  wrapper: ["__ARR5_point", 40, 40], // xmalloc(5 * sizeof(struct point))
  wrapper_calloc: ["__ARR3_anon_t", 48, 48], // xcalloc(3, sizeof(anon_t))
  dso_wrapper: ["hdr", 16, 16], // dso_xmalloc(sizeof(struct hdr)), wrapper in the DSO
  dso_inside: ["__ARR6_point", 48, 48], // inside the DSO through its wrapper
  strdup: ["__ARR6_signed_char$8", 6, 6],
};

const dir = path.join(BUILD_DIR, "sites");

for (const v of ALLOCS_CC_VARIANTS) {
  describe(`allocation-site types from source through the runtime (${v.label})`, function () {
    this.timeout(300_000);
    let probes: Map<string, Record<string, string>>;
    let buildStderr: string;
    before(function () {
      if (!hasCommand("clang")) this.skip(); // the source analysis uses clang's AST
      fs.mkdirSync(dir, { recursive: true });
      const tag = v.label.replace(/\W+/g, "_");
      const dso = path.join(dir, `libsites_dso_${tag}.so`);
      const exe = path.join(dir, `sites_sizeof_${tag}`);
      const build = { cc: v.cc, env: SITES_ENV };
      buildStderr = allocsCc(
        [...v.flags, "-Wall", "-shared", "-fPIC", "-o", dso, path.join(PROGRAMS_DIR, "sites_dso.c")],
        build,
      );
      buildStderr += allocsCc(
        [...v.flags, "-Wall", "-o", exe, path.join(PROGRAMS_DIR, "sites_sizeof.c"), dso, `-Wl,-rpath,${dir}`],
        build,
      );
      const r = runPreloaded(exe, [], { env: SITES_ENV, timeoutMs: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^done/m);
      probes = parseProbes(r.stdout);
    });

    it("builds without warnings (every call analysed)", () => assert.equal(buildStderr, ""));

    for (const [name, [type, tsize, chunk]] of Object.entries(EXPECTED))
      it(`${name}: ${type}`, () => {
        const p = probes.get(name);
        assert.ok(p, `probe ${name} missing`);
        assert.deepEqual(p, { type, tsize: String(tsize), chunk: String(chunk) });
      });
  });
}
