// The CLI's V8 code cache (cli/src/compile-cache.ts): a second start uses it, a changed module is
// never run from a stale entry (even at the same length), a damaged cache file is only a miss,
// and `allocs typegen` writes the same bytes with the cache, without it, and while making it.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { ROOT } from "../lib/programs";
import { WORKER_FROM_BYTES } from "../../cli/src/commands/typegen";

const BIN = path.join(ROOT, "bin", "allocs.js");
const CACHE_MODULE = path.join(ROOT, "dist", "cli", "src", "compile-cache.js");

/** The environment of a run the cache is on for: no coverage, no source maps, nothing off. */
function cacheEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_V8_COVERAGE: undefined,
    NODE_OPTIONS: undefined,
    ALLOCS_COMPILE_CACHE: undefined,
    ...extra,
  };
}

describe("the CLI's code cache", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-code-cache-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // A checkout of one module, loaded the way bin/allocs.js loads the CLI's.
  const checkout = path.join(dir, "checkout");
  const mod = path.join(checkout, "dist", "m.js");
  const dep = path.join(checkout, "dist", "lib", "dep.js");
  const cacheFile = path.join(dir, "cache.bin");
  const runner = path.join(dir, "runner.js");
  fs.mkdirSync(path.dirname(dep), { recursive: true });
  fs.writeFileSync(
    runner,
    `const c = require(${JSON.stringify(CACHE_MODULE)});
c.installCodeCache(${JSON.stringify(checkout)}, ${JSON.stringify(cacheFile)});
const answer = require(${JSON.stringify(mod)}).answer();
console.log(JSON.stringify({ answer, ...c.codeCacheStats }));`,
  );
  // The cache's own code runs under coverage when the suite does (ALLOCS_COMPILE_CACHE=on).
  const load = (env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, [runner], {
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: undefined, ALLOCS_COMPILE_CACHE: "on", ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { answer: string; used: number; missed: number; refused: number };
  };
  // m.js asks ./lib/dep for the answer's last character.
  const source = (answer: string) =>
    `"use strict";\nconst dep = require("./lib/dep");\n` +
    `exports.answer = function () { return [${JSON.stringify(answer[0])}, dep.last()].join(""); };\n`;
  const depSource = (last: string) => `"use strict";\nexports.last = () => ${JSON.stringify(last)};\n`;

  it("is made at the first start and used at the second", () => {
    fs.writeFileSync(mod, source("A1"));
    fs.writeFileSync(dep, depSource("1"));
    assert.deepEqual(load(), { answer: "A1", used: 0, missed: 2, refused: 0 });
    assert.ok(fs.statSync(cacheFile).size > 0);
    const made = fs.readFileSync(cacheFile);
    assert.deepEqual(load(), { answer: "A1", used: 2, missed: 0, refused: 0 });
    assert.ok(fs.readFileSync(cacheFile).equals(made), "a run that used the cache leaves it as it was");
  });

  it("never runs a changed module from the cache, even one of the same length", () => {
    fs.writeFileSync(mod, source("B1"));
    assert.deepEqual(load(), { answer: "B1", used: 1, missed: 1, refused: 0 });
    assert.deepEqual(load(), { answer: "B1", used: 2, missed: 0, refused: 0 });
    // The module that requires it unchanged: the way to it is kept, the changed module is not.
    fs.writeFileSync(dep, depSource("2"));
    assert.deepEqual(load(), { answer: "B2", used: 1, missed: 1, refused: 0 });
    assert.deepEqual(load(), { answer: "B2", used: 2, missed: 0, refused: 0 });
  });

  it("follows a required module that moved where Node would find it", () => {
    const moved = path.join(path.dirname(dep), "dep", "index.js");
    fs.mkdirSync(path.dirname(moved));
    fs.renameSync(dep, moved);
    try {
      assert.equal(load().answer, "B2");
      assert.deepEqual(load(), { answer: "B2", used: 2, missed: 0, refused: 0 });
    } finally {
      fs.renameSync(moved, dep);
    }
    assert.equal(load().answer, "B2");
  });

  it("treats a damaged cache file as empty, and replaces it", () => {
    const whole = fs.readFileSync(cacheFile);
    // One byte of the code changed; the right magic line, then a header of another shape.
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 10] ^= 0x40;
    const header = Buffer.from(JSON.stringify([[mod, 1, 1]]));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    const body = Buffer.concat([length, header, Buffer.from("xy")]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(zlib.crc32(body));
    const misshapen = Buffer.concat([whole.subarray(0, whole.indexOf("\n") + 1), crc, body]);
    const damaged = [
      whole.subarray(0, whole.length - 100),
      flipped,
      misshapen,
      Buffer.from("no"),
      Buffer.alloc(0),
    ];
    for (const file of damaged) {
      fs.writeFileSync(cacheFile, file);
      assert.equal(load().answer, "B2");
      assert.deepEqual(load(), { answer: "B2", used: 2, missed: 0, refused: 0 });
    }
  });

  it("is off under coverage and with ALLOCS_COMPILE_CACHE=off", () => {
    fs.rmSync(cacheFile, { force: true });
    const coverage = { NODE_V8_COVERAGE: path.join(dir, "coverage"), ALLOCS_COMPILE_CACHE: undefined };
    for (const env of [coverage, { ALLOCS_COMPILE_CACHE: "off" }]) {
      assert.deepEqual(load(env), { answer: "B2", used: 0, missed: 0, refused: 0 });
      assert.ok(!fs.existsSync(cacheFile));
    }
  });

  const exe = path.join(dir, "p");
  before(() => {
    const src = path.join(dir, "p.c");
    fs.writeFileSync(
      src,
      "#include <stdlib.h>\nstruct node { struct node *next; long v; };\n" +
        "int main(void) { struct node *n = malloc(sizeof *n); n->next = 0; return (int)(n->v = 0); }\n",
    );
    const cc = spawnSync("gcc", ["-g", "-O1", "-o", exe, src], { encoding: "utf8" });
    assert.equal(cc.status, 0, cc.stderr);
  });

  it("lets allocs typegen write the same bytes without it, making it and using it", () => {
    const xdg = path.join(dir, "xdg");
    const outputs = [{ ALLOCS_COMPILE_CACHE: "off" }, {}, {}].map((env, i) => {
      const out = path.join(dir, `out${i}.allocsmeta`);
      const r = spawnSync(process.execPath, [BIN, "typegen", exe, "--out", out], {
        encoding: "utf8",
        env: cacheEnv({ XDG_CACHE_HOME: xdg, ...env }),
      });
      assert.equal(r.status, 0, r.stderr);
      return fs.readFileSync(out);
    });
    const cacheDir = path.join(xdg, "allocs", "code-cache");
    assert.equal(fs.readdirSync(cacheDir).length, 1);
    assert.ok(outputs[1].equals(outputs[0]) && outputs[2].equals(outputs[0]));
    const cache = fs.readFileSync(path.join(cacheDir, fs.readdirSync(cacheDir)[0]));
    assert.ok(cache.includes("typegen/src/meta/writer.js"), "typegen's modules are in the cache");
    const again = spawnSync(
      process.execPath,
      [BIN, "typegen", exe, "--out", path.join(dir, "out3.allocsmeta")],
      {
        encoding: "utf8",
        env: cacheEnv({ XDG_CACHE_HOME: xdg }),
      },
    );
    assert.equal(again.status, 0, again.stderr);
    assert.ok(
      fs.readFileSync(path.join(cacheDir, fs.readdirSync(cacheDir)[0])).equals(cache),
      "used, not made again",
    );
  });

  // On a terminal typegen generates a large input in a worker thread (the progress bar), which
  // has its own module loader; a small one in the main thread.
  const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const onTerminal = (args: string[], xdg: string) =>
    spawnSync(
      "script",
      ["-qec", [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(" "), "/dev/null"],
      {
        encoding: "utf8",
        env: cacheEnv({ XDG_CACHE_HOME: xdg }),
      },
    );
  for (const [what, input] of [
    ["a small program (main thread)", () => exe],
    ["libc (a worker)", () => LIBC],
  ] as const) {
    it(`on a terminal, makes and uses it for ${what}, with the same bytes`, function () {
      const prog = input();
      if (!fs.existsSync(prog)) this.skip();
      assert.equal(fs.statSync(prog).size >= WORKER_FROM_BYTES, prog === LIBC);
      const plainOut = path.join(dir, "plain.allocsmeta");
      const plain = spawnSync(process.execPath, [BIN, "typegen", prog, "--out", plainOut, "--quiet"], {
        encoding: "utf8",
        env: cacheEnv({ ALLOCS_COMPILE_CACHE: "off" }),
      });
      assert.equal(plain.status, 0, plain.stderr);
      const xdg = fs.mkdtempSync(path.join(dir, "xdg-tty-"));
      const cacheDir = path.join(xdg, "allocs", "code-cache");
      let made: Buffer | undefined;
      for (let i = 0; i < 2; i++) {
        const out = path.join(dir, `tty${i}.allocsmeta`);
        const r = onTerminal(["typegen", prog, "--out", out, "--quiet"], xdg);
        assert.equal(r.status, 0, r.stdout);
        assert.ok(
          fs.readFileSync(out).equals(fs.readFileSync(plainOut)),
          "the same metadata as without a terminal",
        );
        const [file] = fs.readdirSync(cacheDir);
        const cache = fs.readFileSync(path.join(cacheDir, file));
        assert.ok(cache.includes("typegen/src/meta/writer.js"), "typegen's modules are in the cache");
        if (made) assert.ok(cache.equals(made), "the second run used the cache and left it as it was");
        made = cache;
      }
    });
  }

  it("on a terminal, a bad input ends with one line and status 1, in either thread", () => {
    const big = path.join(dir, "big.bin");
    fs.writeFileSync(big, Buffer.alloc(WORKER_FROM_BYTES));
    for (const bad of [path.join(dir, "p.c"), big]) {
      const r = onTerminal(
        ["typegen", bad, "--out", path.join(dir, "bad.allocsmeta")],
        path.join(dir, "xdg-bad"),
      );
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stdout, new RegExp(`^allocs typegen: ${bad}: .*offset`, "m"));
      assert.doesNotMatch(r.stdout, /\n\s+at /, "one line, no stack trace");
    }
  });
});
