// `allocs typegen` and the metadata side of `allocs cc`: where the file goes, -g added, nothing
// on stdout, the build's exit status kept, clear errors naming the file and offset.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../lib/programs";
import { readMeta } from "../../typegen/src/meta/reader";

const BIN = path.join(ROOT, "bin", "allocs.js");
function allocs(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    cwd,
    env: { ...process.env, ALLOCS_CC: "gcc", ...env },
  });
}

describe("allocs typegen / allocs cc metadata", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-typegen-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, "m.c");
  fs.writeFileSync(
    src,
    "#include <stdlib.h>\nstruct q { int a; double b; } gq;\nstruct q *gp;\nint main(void) { gp = malloc(sizeof(struct q)); return gq.a + (gp == 0); }\n",
  );

  it("cc adds -g, writes OUTPUT.allocsmeta after the link, prints nothing on stdout", () => {
    const exe = path.join(dir, "m");
    const r = allocs(["cc", "-O1", "-o", exe, src]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "");
    const m = readMeta(fs.readFileSync(exe + ".allocsmeta"));
    assert.ok(m.byName.has("q"), "types from the -g the wrapper added");
    assert.equal(m.sites.length, 1);
    assert.equal(m.types[m.sites[0].type].name, "q");
  });

  it("cc with separate compile and link still writes types (no site types without the source)", () => {
    const obj = path.join(dir, "m2.o");
    const exe = path.join(dir, "m2");
    assert.equal(allocs(["cc", "-c", "-o", obj, src]).status, 0);
    assert.ok(!fs.existsSync(obj + ".allocsmeta"), "no metadata for an object file");
    const r = allocs(["cc", "-o", exe, obj]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readMeta(fs.readFileSync(exe + ".allocsmeta")).byName.has("q"));
  });

  it("cc keeps the compiler's failure status and writes nothing", () => {
    const bad = path.join(dir, "bad.c");
    fs.writeFileSync(bad, "int main(void) { return nope; }\n");
    const r = allocs(["cc", "-o", path.join(dir, "bad"), bad]);
    assert.notEqual(r.status, 0);
    assert.ok(!fs.existsSync(path.join(dir, "bad.allocsmeta")));
  });

  it("typegen writes PROG.allocsmeta, --out FILE, or the cache by build-id; quiet without a TTY", () => {
    const exe = path.join(dir, "t");
    assert.equal(spawnSync("gcc", ["-g", "-o", exe, src]).status, 0);
    let r = allocs(["typegen", exe]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, "");
    const id = readMeta(fs.readFileSync(exe + ".allocsmeta")).buildId;
    r = allocs(["typegen", exe, "--out", path.join(dir, "x.meta")]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readMeta(fs.readFileSync(path.join(dir, "x.meta"))).buildId, id);
    r = allocs(["typegen", exe, "--cache"], { XDG_CACHE_HOME: path.join(dir, "cache") });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(dir, "cache", "allocs", "meta", `${id}.allocsmeta`)));
  });

  it("typegen on a bad file fails with one line naming the file and the offset", () => {
    const junk = path.join(dir, "junk");
    fs.writeFileSync(junk, Buffer.from("\x7fELF\x02\x01\x01 this is not really an ELF file at all"));
    const r = allocs(["typegen", junk]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^allocs typegen: ${junk}: .* at offset 0x[0-9a-f]+: `));
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });

  it("typegen rejects bad usage with status 2", () => {
    assert.equal(allocs(["typegen"]).status, 2);
    assert.equal(allocs(["typegen", "a", "--bogus"]).status, 2);
  });
});
