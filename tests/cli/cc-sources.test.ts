// `allocs cc` as build systems drive it: the last of several `-o` wins (automake writes
// `-o x -o y`, and cc links y), and a single source of any size is analysed (an amalgamation's
// JSON AST is more than one JavaScript string can hold: it is read one top-level declaration at
// a time), every allocation site typed from the source, nothing dropped silently.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROGRAMS_DIR, hasCommand, runAllocsCc } from "../lib/programs";
import { outputOf } from "../../cli/src/commands/cc";
import { forEachTopLevelElement } from "../../typegen/src/sites/json-stream";
import { readMeta } from "../../typegen/src/meta/reader";
import { SITE_GUESSED } from "../../typegen/src/meta/format";

describe("allocs cc: several -o, sources of any size", function () {
  this.timeout(900_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-cc-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("takes the last -o, as cc does", () => {
    assert.equal(outputOf(["-o", "x", "-g", "-o", "y", "a.c"]), "y");
    assert.equal(outputOf(["-ox", "a.c", "-oy"]), "y");
    assert.equal(outputOf(["a.c"]), "a.out");
    const first = path.join(dir, "first");
    const last = path.join(dir, "last");
    const r = runAllocsCc(["-o", first, "-o", last, path.join(PROGRAMS_DIR, "seed_demo.c")]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(last), "cc linked the last -o");
    assert.ok(!fs.existsSync(first));
    assert.ok(fs.existsSync(last + ".allocsmeta"), "the metadata is for what cc linked");
    assert.ok(!fs.existsSync(first + ".allocsmeta"));
    assert.equal(r.stderr, "");
  });

  it("reads clang's AST one top-level declaration at a time, whatever the chunk boundaries", function () {
    if (!hasCommand("clang")) this.skip();
    const src = path.join(PROGRAMS_DIR, "zero_setup_libtool.c");
    const ast = path.join(dir, "small.json");
    const r = spawnSync("clang", ["-Xclang", "-ast-dump=json", "-fsyntax-only", src], {
      encoding: "utf8",
      maxBuffer: 256 << 20,
    });
    assert.equal(r.status, 0, r.stderr);
    fs.writeFileSync(ast, r.stdout);
    const whole = (JSON.parse(r.stdout) as { inner: unknown[] }).inner;
    for (const chunk of [7, 4096, 1 << 20]) {
      const got: unknown[] = [];
      forEachTopLevelElement(ast, (json) => got.push(JSON.parse(json)), chunk);
      assert.deepEqual(got, whole, `chunks of ${chunk} bytes`);
    }
    fs.writeFileSync(ast, r.stdout.slice(0, r.stdout.length / 2));
    assert.throws(() => forEachTopLevelElement(ast, () => undefined), /ends early/);
  });

  it("analyses a single source whose AST is over 512 MB: every site typed from the source", function () {
    if (!hasCommand("clang")) this.skip();
    const n = 16_000; // about 2.8 MB of C, an AST of about 600 MB of JSON
    const lines = [
      "#include <stdlib.h>",
      "struct big_rec { long a; double b; struct big_rec *next; };",
      "struct big_rec *sink;",
    ];
    for (let i = 0; i < n; i++)
      lines.push(
        `struct big_rec *make_${i}(long k)`,
        "{",
        "    struct big_rec *r = malloc(sizeof(struct big_rec));",
        `    if (r) { r->a = k + ${i}; r->b = 0; r->next = sink; }`,
        "    return r;",
        "}",
      );
    lines.push("int main(void) { sink = make_0(1); return sink == 0; }");
    const src = path.join(dir, "amalgamation.c");
    fs.writeFileSync(src, lines.join("\n") + "\n");
    const out = path.join(dir, "amalgamation");
    const r = runAllocsCc(["-g", "-O0", "-o", out, src]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "", "no warning: the source was analysed");
    const meta = readMeta(fs.readFileSync(out + ".allocsmeta"));
    const big = meta.types.find((t) => t.name === "big_rec");
    assert.ok(big);
    const fromSource = meta.sites.filter((s) => !(s.flags & SITE_GUESSED) && s.type === big.index);
    assert.equal(fromSource.length, n, "every malloc typed struct big_rec from the source");
  });
});
