// Real C programs from Debian's sources, each with its own allocation layer, built with plain
// `gcc -g -O2` and no declarations (no LIBALLOCS_ALLOC_FNS): `allocs typegen` finds their
// wrappers (bc's bc_malloc, jq's jv_mem_alloc), and at a breakpoint live objects of known struct
// types, reached from the program's own globals or arguments, must have the allocator, size,
// type, field path and site (the wrapper's caller) that gdb's own sizeof/ptype and the source
// say. Sources come from debsrc.sh (the project's Debian source fetcher), cached with the
// builds under test-programs/build/real/. Each test also prints the share of live heap chunks
// typed (docs/benchmarks.md).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BUILD_DIR, ROOT } from "../lib/programs";

const ALLOCS = path.join(ROOT, "bin", "allocs.js");
const CACHE = path.join(BUILD_DIR, "real");
const DEBSRC = [
  process.env.ALLOCS_DEBSRC,
  path.join(ROOT, "..", "shared", "tools", "debsrc.sh"),
  "/work/shared/tools/debsrc.sh",
].find((p): p is string => !!p && fs.existsSync(p));

function sh(cmd: string, cwd: string, what: string): void {
  const r = spawnSync("sh", ["-c", cmd], { cwd, encoding: "utf8", timeout: 900_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${what} failed:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
}

/** The unpacked source of a Debian source package (fetched once). */
function source(pkg: string): string {
  assert.ok(DEBSRC, "debsrc.sh not found (set ALLOCS_DEBSRC)");
  const r = spawnSync("bash", [DEBSRC, pkg, path.join(CACHE, "src")], { encoding: "utf8", timeout: 900_000 });
  assert.equal(r.status, 0, `debsrc.sh ${pkg}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A copy of the source to build in (timestamps kept: no autotools rerun), made once. */
function buildDir(pkg: string): string {
  const dir = path.join(CACHE, `${pkg}-build`);
  if (!fs.existsSync(path.join(dir, ".copied"))) {
    fs.rmSync(dir, { recursive: true, force: true });
    sh(`cp -a '${source(pkg)}' '${dir}' && touch '${dir}/.copied'`, CACHE, `copy ${pkg}`);
  }
  return dir;
}

function typegen(exe: string): void {
  fs.rmSync(exe + ".allocsmeta", { force: true });
  const r = spawnSync(process.execPath, [ALLOCS, "typegen", exe], { encoding: "utf8", timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
}

interface Session {
  json: Record<string, unknown>[];
  values: number[];
}

/** `allocs gdb` to the breakpoint, then `alloc info --json` of each expression and `print` of
 * each value expression (integers). */
function atBreak(exe: string, brk: string, run: string, infos: string[], prints: string[]): Session {
  const args = ["gdb", "-nx", "-q", "--batch", "-ex", `break ${brk}`, "-ex", run];
  for (const e of infos) args.push("-ex", `alloc info --json ${e}`);
  for (const p of prints) args.push("-ex", `print (long)(${p})`);
  args.push("-ex", "alloc ls --json", exe);
  const r = spawnSync(process.execPath, [ALLOCS, ...args], {
    encoding: "utf8",
    timeout: 300_000,
    maxBuffer: 256 << 20,
    env: { ...process.env, LIBALLOCS_ALLOC_FNS: "" },
  });
  assert.equal(r.status, 0, r.stderr);
  const json = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const values = [...r.stdout.matchAll(/^\$\d+ = (-?\d+)$/gm)].map((m) => Number(m[1]));
  assert.equal(json.length, infos.length + 1, `answers:\n${r.stdout}\n${r.stderr}`);
  assert.equal(values.length, prints.length, `values:\n${r.stdout}`);
  return { json, values };
}

/** The line of `file` (under `dir`) containing `text`, the ground truth for a site. */
function lineOf(dir: string, file: string, text: string): number {
  const lines = fs.readFileSync(path.join(dir, file), "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `${text} not in ${file}`);
  return i + 1;
}

type Info = {
  allocator: string;
  size: number;
  type: string;
  uniqtype: string;
  path?: string;
  pathType?: string;
  site: { function: string; file: string; line: number };
};

function checkSite(info: Info, fn: string, file: string, line: number): void {
  assert.equal(info.site.function, fn, "site function");
  assert.ok(info.site.file.endsWith(file), `site file ${info.site.file}`);
  assert.equal(info.site.line, line, "site line");
}

/** Share of live heap chunks with a type, from `alloc ls --json`. */
function typedShare(ls: Record<string, unknown>, name: string): void {
  const entries = (ls.entries ?? []) as { type: string | null }[];
  const typed = entries.filter((e) => e.type).length;
  console.log(`      ${name}: ${typed} of ${entries.length} live heap chunks typed`);
  assert.ok(entries.length > 0);
}

describe("real Debian programs, plain gcc -g -O2, no declarations", function () {
  this.timeout(1_800_000);

  before(function () {
    if (!DEBSRC) this.skip();
    fs.mkdirSync(CACHE, { recursive: true });
  });

  describe("bc (bc_malloc)", function () {
    let dir: string;
    let exe: string;
    let s: Session;

    before(function () {
      dir = buildDir("bc");
      exe = path.join(CACHE, "bc-O2");
      if (!fs.existsSync(exe)) {
        if (!fs.existsSync(path.join(dir, "config.h")))
          sh("./configure CFLAGS='-g -O2' >/dev/null", dir, "bc configure");
        // bc's math library is generated by a bc built without it: an empty one does here.
        fs.writeFileSync(path.join(dir, "bc", "libmath.h"), "{0}\n");
        const srcs = "bc/main.c bc/bc.c bc/scan.c bc/execute.c bc/load.c bc/storage.c bc/util.c bc/global.c";
        const more = "bc/warranty.c lib/number.c lib/getopt.c lib/getopt1.c";
        sh(`gcc -g -O2 -w -DHAVE_CONFIG_H -I. -Ih -Ibc -o '${exe}' ${srcs} ${more}`, dir, "bc build");
      }
      typegen(exe);
      const input = path.join(CACHE, "bc-input.txt");
      fs.writeFileSync(input, "x=5\ny=x*3\nquit\n");
      // At exit (bc's quit): variables[5] is x (v_names[4], bc indexes variables from 1).
      s = atBreak(
        exe,
        "exit",
        `run < ${input}`,
        ["variables[5]", "&variables[5]->v_next", "functions", "variables[5]->v_value"],
        [
          "sizeof(struct bc_var)",
          "(char *)&variables[5]->v_next - (char *)variables[5]",
          "f_count",
          "sizeof(bc_function)",
          "sizeof(struct bc_struct)",
        ],
      );
    });

    it("a variable (get_var -> bc_malloc): struct bc_var, its size, site get_var's line", () => {
      const [v, next] = s.json as Info[];
      const [sizeofVar, nextOff] = s.values;
      assert.equal(v.allocator, "__default_lib_malloc");
      assert.equal(v.type, "struct bc_var");
      assert.equal(v.size, sizeofVar);
      checkSite(v, "get_var", "storage.c", lineOf(dir, "bc/storage.c", "variables[var_name] = bc_malloc"));
      assert.equal(next.path, ".v_next");
      assert.equal(Number((next as unknown as { offset: number }).offset), nextOff);
    });

    it("the function table: bc_function[f_count] from more_functions", () => {
      const f = s.json[2] as Info;
      const [, , fCount, sizeofFn] = s.values;
      assert.equal(f.type, `bc_function[${fCount}]`);
      assert.equal(f.size, fCount * sizeofFn);
      checkSite(f, "more_functions", "storage.c", lineOf(dir, "bc/storage.c", "functions = bc_malloc"));
    });

    it("a number (bc_new_num, a wrapper with a free list): struct bc_struct", () => {
      const n = s.json[3] as Info;
      assert.equal(n.type, "struct bc_struct");
      assert.equal(n.size, s.values[4]);
      assert.notEqual(n.site.function, "bc_new_num", "the site is the wrapper's caller");
      typedShare(s.json[4], "bc");
    });
  });

  describe("jq (jv_mem_alloc)", function () {
    let dir: string;
    let exe: string;
    let s: Session;

    before(function () {
      dir = buildDir("jq");
      exe = path.join(CACHE, "jq-O2");
      if (!fs.existsSync(exe)) {
        const src = path.join(dir, "src");
        // What jq's Makefile generates, without autotools.
        sh(
          `sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' -e 's/^/"/' -e 's/$/\\\\n"/' builtin.jq > builtin.inc && ` +
            `echo '#define JQ_VERSION "1.6"' > version.h`,
          src,
          "jq generated files",
        );
        const files = [
          "main builtin bytecode compile execute jv jv_alloc jv_aux jv_dtoa jv_file jv_parse jv_print",
          "jv_unicode lexer linker locfile parser util jq_test",
        ]
          .join(" ")
          .split(" ");
        const objs = files.map((f) => path.join(CACHE, `jq-${f}.o`));
        // Two compilers at a time: the machine's two cores.
        const cc = files.map(
          (f, i) => `gcc -c -g -O2 -w -I. -DIEEE_8087 -DHAVE_MEMMEM -o '${objs[i]}' src/${f}.c`,
        );
        for (let i = 0; i < cc.length; i += 2)
          sh(cc.slice(i, i + 2).join(" & ") + " & wait", dir, "jq compile");
        for (const o of objs) assert.ok(fs.existsSync(o), `${o} not built`);
        sh(`gcc -o '${exe}' ${objs.map((o) => `'${o}'`).join(" ")} -lm`, dir, "jq link");
      }
      typegen(exe);
      const input = path.join(CACHE, "jq-input.json");
      fs.writeFileSync(input, '{"a":[1,2,{"b":"hello"}],"c":"some text"}\n');
      s = atBreak(
        exe,
        "jv_object_iter",
        `run . ${input}`,
        ["object.u.ptr", "&((jvp_object *)object.u.ptr)->elements[2].hash"],
        [
          "sizeof(jvp_object)",
          "sizeof(struct object_slot)",
          "(char *)&((struct object_slot *)0)->hash - (char *)0",
        ],
      );
    });

    it("an object (jvp_object_new -> jv_mem_alloc): jvp_object with its slots, site its line", () => {
      const [o, hash] = s.json as Info[];
      const [sizeofObj, sizeofSlot, hashOff] = s.values;
      assert.equal(o.allocator, "__default_lib_malloc");
      const n = Math.floor((o.size - sizeofObj) / sizeofSlot);
      assert.equal(o.type, `jvp_object (elements[${n}])`);
      checkSite(o, "jvp_object_new", "jv.c", lineOf(dir, "src/jv.c", "jvp_object* obj = jv_mem_alloc("));
      assert.equal(hash.path, ".elements[2].hash");
      assert.equal(
        Number((hash as unknown as { offset: number }).offset),
        sizeofObj + 2 * sizeofSlot + hashOff,
      );
      typedShare(s.json[2], "jq");
    });
  });
});
