// The type model as a user would check it: layouts against the compiler's own sizeof/offsetof,
// bit-fields, enumerators, typedefs, function types, canonical names and C spellings, uniquing
// across units, statics and frame locals; and the same answers from gcc and clang, -O0 and -O2.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readTypes } from "../../typegen/src/index";
import { CType, TypeModel } from "../../typegen/src/model/types";
import { VARIANTS, Variant, build, have, tmpDir } from "./helpers";
import { readelfDies } from "./readelf";
import * as path from "node:path";

function byName(m: TypeModel, name: string): CType {
  const ts = m.types.filter((t) => t.name === name);
  assert.equal(ts.length, 1, `expected one type named ${name}, found ${ts.length}`);
  return ts[0];
}
function staticVar(m: TypeModel, name: string) {
  const s = m.statics.find((v) => v.name === name);
  assert.ok(s, `static ${name}`);
  return s;
}
function typeOf(m: TypeModel, name: string): CType {
  return m.types[staticVar(m, name).type];
}
function member(m: TypeModel, t: CType, name: string | null) {
  const mem = t.members?.find((x) => x.name === name);
  assert.ok(mem, `member ${name} of ${t.cName}`);
  return { ...mem, t: m.types[mem.type] };
}

const MAIN_VARIANTS = VARIANTS.filter(
  (v) => !v.flags.includes("-gz") && !v.flags.includes("-fdebug-types-section"),
);

/** sizeof/offsetof facts printed by the compiler for typegen_types.c. */
function compilerFacts(): Map<string, number> {
  const exe = path.join(tmpDir(), "offsets");
  execFileSync("gcc", [
    "-I",
    path.resolve(__dirname, "../../../test-programs"),
    "-o",
    exe,
    path.resolve(__dirname, "../../../test-programs/typegen_offsets.c"),
  ]);
  const out = execFileSync(exe, { encoding: "utf8" });
  const facts = new Map<string, number>();
  for (const line of out.trim().split("\n")) {
    const i = line.lastIndexOf(" ");
    facts.set(line.slice(0, i), +line.slice(i + 1));
  }
  return facts;
}

describe("typegen type model", function () {
  let facts: Map<string, number>;
  before(function () {
    facts = compilerFacts();
  });

  for (const v of MAIN_VARIANTS)
    describe(v.label, function () {
      let m: TypeModel;
      before(function () {
        if (!have(v.cc)) {
          console.log(`      (skipped: ${v.cc} is not installed; apt-get install ${v.cc})`);
          this.skip();
        }
        m = readTypes(build(["typegen_types.c"], v));
      });

      it("struct sizes and member offsets equal the compiler's sizeof/offsetof", function () {
        for (const [fact, value] of facts) {
          const [agg, mem] = fact.split(".");
          const t = m.types.find((x) => x.cName === agg && x.complete);
          assert.ok(t, `type ${agg}`);
          if (mem === undefined) assert.equal(t.byteSize, value, `sizeof(${agg})`);
          else assert.equal(member(m, t, mem).offset, value, `offsetof(${agg}, ${mem})`);
        }
      });

      it("bit-fields have bit size and bit offset", function () {
        const bits = m.types.find((t) => t.tag === "bits")!;
        const got = bits.members!.map((x) => [x.name, x.bitSize, x.bitOffset, x.offset]);
        assert.deepEqual(got, [
          ["a", 3, 0, 0],
          ["b", 5, 3, 0],
          ["c", 40, 8, 1],
          ["d", undefined, undefined, 6],
          ["e", 1, 56, 7],
        ]);
        assert.equal(member(m, bits, "c").t.name, "unsigned_long$64");
      });

      it("enums keep their enumerators", function () {
        const color = m.types.find((t) => t.tag === "color")!;
        assert.deepEqual(color.enumerators, [
          { name: "RED", value: 0 },
          { name: "GREEN", value: 5 },
          { name: "BLUE", value: -1 },
        ]);
        const big = m.types.find((t) => t.tag === "big")!;
        assert.equal(big.enumerators![0].value, 2 ** 64 - 1);
        assert.equal(typeOf(m, "col").cName, "enum color");
      });

      it("resolves typedefs and qualifiers, keeping typedef names", function () {
        assert.equal(typeOf(m, "counter_td").name, "unsigned_long$64");
        assert.equal(staticVar(m, "counter_td").typedefName, "ulong_t");
        assert.equal(typeOf(m, "op_ptr").cName, "int (*)(int, int)");
        assert.equal(typeOf(m, "answer").name, "int$32", "const int is int");
        const outer = m.types.find((t) => t.tag === "outer")!;
        assert.equal(member(m, outer, "name").t.cName, "char *", "const char * is char *");
        assert.equal(member(m, outer, "counter").t.cName, "unsigned long", "volatile stripped");
        assert.equal(member(m, outer, "next_point").t.cName, "struct point *", "restrict stripped");
        assert.equal(member(m, outer, "atom").t.cName, "int", "_Atomic stripped");
        assert.equal(member(m, outer, "len").typedefName, "size_t");
        assert.equal(member(m, outer, "callback").t.cName, "void (*)(int, ...)");
        assert.equal(member(m, outer, "next").t.cName, "struct outer *");
        assert.ok(
          m.typedefs.some((t) => t.name === "binop_fn" && m.types[t.type].cName === "int (*)(int, int)"),
        );
        assert.ok(m.typedefs.some((t) => t.name === "anon_t" && m.types[t.type].tag === null));
      });

      it("names types in liballocs's style and spells them in C", function () {
        const fn = (name: string) => m.types[m.functions.find((f) => f.name === name)!.type];
        assert.equal(fn("f").name, "__FUN_FROM___ARG0_int$32__ARG1___PTR___PTR_signed_char$8__FUN_TO_int$32");
        assert.equal(fn("f").cName, "int (int, char **)");
        assert.equal(fn("main").cName, "int (int, char **)");
        assert.equal(fn("sum").cName, "int (int, ...)");
        assert.equal(fn("sum").varargs, true);
        assert.equal(fn("add").name, "__FUN_FROM___ARG0_int$32__ARG1_int$32__FUN_TO_int$32");
        assert.equal(typeOf(m, "names").name, "__ARR2___PTR_signed_char$8");
        assert.equal(typeOf(m, "names").cName, "char *[2]");
        assert.equal(typeOf(m, "pts").name, "__ARR3_point");
        assert.equal(typeOf(m, "pts").cName, "struct point[3]");
        assert.equal(byName(m, "int$32").cName, "int");
        assert.equal(byName(m, "signed_char$8").cName, "char");
        assert.equal(byName(m, "unsigned_long$64").cName, "unsigned long");
        assert.equal(byName(m, "__PTR_signed_char$8").cName, "char *");
        assert.equal(byName(m, "__PTR_point").cName, "struct point *");
        assert.equal(typeOf(m, "an").name, "anon_t", "anonymous typedef'd struct named by its typedef");
      });

      it("describes multi-dimensional and flexible arrays", function () {
        const grid = typeOf(m, "grid");
        assert.equal(grid.name, "__ARR3___ARR4_int$32");
        assert.equal(grid.cName, "int[3][4]");
        assert.equal(grid.byteSize, 48);
        assert.equal(grid.count, 3);
        assert.equal(m.types[grid.target!].cName, "int[4]");
        const flex = m.types.find((t) => t.tag === "flex")!;
        const data = member(m, flex, "data");
        assert.equal(data.t.name, "__ARR0_int$32");
        assert.equal(data.t.count, null);
        assert.equal(data.t.byteSize, null);
        assert.equal(data.t.cName, "int[]");
      });

      it("keeps anonymous members", function () {
        const num = m.types.find((t) => t.tag === "num")!;
        assert.deepEqual(
          num.members!.map((x) => x.name),
          ["i", "f", null],
        );
        const anon = member(m, num, null).t;
        assert.equal(anon.kind, "struct");
        assert.match(anon.name, /^__anon_struct_[0-9a-f]{8}$/);
        assert.deepEqual(
          anon.members!.map((x) => [x.name, x.offset]),
          [
            ["lo", 0],
            ["hi", 2],
          ],
        );
      });

      it("lists statics with addresses and sizes", function () {
        assert.equal(staticVar(m, "grid").size, 48);
        assert.equal(staticVar(m, "pts").size, 24);
        assert.equal(staticVar(m, "pts").external, false);
        assert.equal(staticVar(m, "grid").external, true);
        assert.equal(staticVar(m, "names").size, 16);
        assert.equal(staticVar(m, "unbounded_arr").size, 20);
        assert.equal(staticVar(m, "calls").scope, "main");
        assert.equal(staticVar(m, "tls_counter").tls, true);
        assert.ok(staticVar(m, "grid").addr > 0);
      });

      it("lists functions with their address ranges, parameters and locals", function () {
        const f = m.functions.find((x) => x.name === "f")!;
        assert.ok(f.highPc > f.lowPc);
        assert.deepEqual(
          f.params.map((p) => [p.name, m.types[p.type].cName]),
          [
            ["a", "int"],
            ["b", "char **"],
          ],
        );
        const names = f.locals.map((l) => l.name);
        for (const n of ["local", "p", "vla_n", "vla"])
          assert.ok(names.includes(n), `local ${n} in ${names}`);
        assert.equal(m.types[f.locals.find((l) => l.name === "p")!.type].cName, "struct point");
        assert.ok(f.frameBase.length >= 1);
      });
    });

  for (const v of MAIN_VARIANTS.filter((x) => x.flags.includes("-O0")))
    it(`${v.label}: locals are at the DW_OP_fbreg offsets readelf shows`, function () {
      if (!have(v.cc)) this.skip();
      const exe = build(["typegen_types.c"], v);
      const m = readTypes(exe);
      const f = m.functions.find((x) => x.name === "f")!;
      const ref = new Map<string, number>();
      let inF = false;
      for (const d of readelfDies(exe)) {
        if (d.depth === 1)
          inF = d.tag === "DW_TAG_subprogram" && /: f$|^f$/.test(d.attrs.get("DW_AT_name") ?? "");
        const loc = /DW_OP_fbreg: (-?\d+)\)/.exec(d.attrs.get("DW_AT_location") ?? "");
        const name = (d.attrs.get("DW_AT_name") ?? "").replace(/^.*: /, "");
        if (inF && loc) ref.set(name, +loc[1]);
      }
      assert.ok(ref.size >= 4, `readelf fbreg locals: ${[...ref.keys()]}`);
      for (const l of [...f.params, ...f.locals]) {
        if (!ref.has(l.name)) continue;
        assert.equal(l.locations.length, 1, l.name);
        assert.deepEqual(l.locations[0].loc, { kind: "fbreg", offset: ref.get(l.name) }, l.name);
        assert.equal(l.locations[0].lo, f.lowPc);
        assert.equal(l.locations[0].hi, f.highPc);
      }
    });

  it("gives the same types from gcc -O0, gcc -O2, DWARF 4 and clang", function () {
    const summary = (v: Variant): string[] => {
      const m = readTypes(build(["typegen_types.c"], v));
      const out: string[] = [];
      for (const s of m.statics) {
        const t = m.types[s.type];
        out.push(`${s.name}: ${t.name} = ${t.cName} (${s.size})`);
        for (const mem of t.members ?? [])
          out.push(`  ${mem.name} @${mem.offset}/${mem.bitOffset}: ${m.types[mem.type].name}`);
      }
      return out.sort();
    };
    const ref = summary(MAIN_VARIANTS[0]);
    for (const v of MAIN_VARIANTS.slice(1)) {
      if (!have(v.cc)) continue;
      // clang keeps the definition's type for a tentative `int a[]; int a[5];`; gcc keeps the declaration's.
      const norm = (xs: string[]) => xs.map((x) => x.replace(/unbounded_arr: .*/, "unbounded_arr"));
      assert.deepEqual(norm(summary(v)), norm(ref), v.label);
    }
  });

  for (const v of MAIN_VARIANTS)
    describe(`${v.label}: uniquing across units`, function () {
      let m: TypeModel;
      before(function () {
        if (!have(v.cc)) this.skip();
        m = readTypes(build(["typegen_opaque_a.c", "typegen_opaque_b.c"], v));
      });

      it("a pointer to an opaque struct is the pointer to the complete one", function () {
        const a = staticVar(m, "op_a");
        const b = staticVar(m, "op_b");
        assert.equal(a.type, b.type);
        const t = m.types[a.type];
        assert.equal(t.name, "__PTR_opaque");
        const target = m.types[t.target!];
        assert.equal(target.complete, true);
        assert.deepEqual(
          target.members!.map((x) => x.name),
          ["secret", "tag"],
        );
        assert.equal(m.types.filter((x) => x.tag === "opaque").length, 1);
      });

      it("anonymous typedef'd structs from two headers are one type", function () {
        const a = staticVar(m, "pair_a");
        const b = staticVar(m, "pair_b");
        assert.equal(a.type, b.type);
        assert.equal(m.types[a.type].name, "anon_pair");
        assert.equal(m.types[a.type].cName, "anon_pair");
        assert.equal(m.types.filter((x) => x.name === "anon_pair").length, 1);
      });
    });
});
