// alloc leaks and alloc retainers under LLDB against test-programs/tls_target.c, whose chunks
// only a `__thread` variable holds: LLDB 16 tells no thread pointer (fs_base), so the LLDB front
// reads it from the core's NT_PRSTATUS notes or pthread_self(); those chunks must be no leaks,
// retained by thread-local storage, live, on a kernel core and on a gcore, with the same JSON
// as gdb's on the same core. Also the core-note reader (allocs_decoder/core_notes.py) alone on
// a real core, a truncated core and a file that is no core.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildWithAllocsCc, hasCommand, parseProbes } from "../lib/programs";
import { GDB_TIMEOUT_MS, type Json, answers, makeGcore, queryCore, useKernelCore, useProgram } from "./gdb";
import { allocsLldb, commandFile, skipWithoutLldb, lldbQueryLines } from "./lldb";

const FILE = "tls_target.c";
const DECODER_DIR = path.join(__dirname, "..", "..", "..", "gdb-python-bridge");

const QUERIES: Array<[string, string]> = [
  ["leaks", "alloc leaks --json"],
  // the program keeps these addresses disguised, so that no scan takes them for pointers
  ["main_box", "alloc retainers --json (void *)(g_main_key ^ 0x5a5a5a5a5a5a5a5a)"],
  ["thread_box", "alloc retainers --json (void *)(g_thread_key ^ 0x5a5a5a5a5a5a5a5a)"],
];

/** The one leak is struct lost; each box is retained by its thread's TLS alone. */
function checkTls(a: Map<string, unknown>, p: Map<string, Record<string, string>>, what: string): void {
  const leaks = a.get("leaks") as Json;
  assert.ok(leaks, `${what}: no answer to alloc leaks`);
  assert.deepEqual(
    (leaks.groups as Json[]).map((g) => [g.kind, g.type, g.site.line, g.count, g.bytes]),
    [["definite", "struct lost", Number(p.get("lost")?.line), 1, Number(p.get("lost")?.size)]],
    `${what}: the boxes only __thread variables hold are no leaks`,
  );
  assert.ok(String(leaks.groups[0].site.file).endsWith(FILE));
  for (const name of ["main_box", "thread_box"]) {
    const r = a.get(name) as Json;
    assert.ok(r, `${what}: no answer for ${name}`);
    assert.equal(r.target.type, "struct box", `${what}: ${name}`);
    assert.equal(r.target.size, Number(p.get(name)?.size), `${what}: ${name}'s size`);
    assert.equal(r.chains.length, 1, `${what}: ${name}: one chain: ${JSON.stringify(r.chains)}`);
    assert.equal(r.chains[0].steps.length, 1, `${what}: ${name}: held by a root directly`);
  }
  // The main thread's static TLS lies apart from its stack: only the TLS root holds main_box.
  // A second thread's TLS lies at the top of its stack's mapping, which the runtime's stack
  // record covers: there the words are stack roots (heap_graph._trimmed), as under gdb.
  const step = (name: string) => (a.get(name) as Json).chains[0].steps[0];
  assert.equal(step("main_box").kind, "tls", `${what}: main_box is held by thread-local storage`);
  assert.match(step("main_box").text, /^thread 1 thread-local storage 0x/);
  assert.ok(["tls", "stack"].includes(step("thread_box").kind), `${what}: ${step("thread_box").kind}`);
  assert.match(step("thread_box").text, /^thread 2 /, `${what}: thread_box is held by thread 2`);
}

/** {tid: thread pointer} as the program printed them. */
function printedPointers(p: Map<string, Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["main_box", "thread_box"]) {
    const kv = p.get(name);
    assert.ok(kv, `probe ${name}`);
    out[kv.tid] = "0x" + BigInt(kv.tp).toString(16);
  }
  return out;
}

/** allocs_decoder.core_notes.thread_pointers(file): [{tid: hex}, notes], run by python3. */
function coreNotes(file: string): [Record<string, string>, string[]] {
  const code = [
    "import json, sys",
    `sys.path.insert(0, ${JSON.stringify(DECODER_DIR)})`,
    "from allocs_decoder import core_notes",
    "found, notes = core_notes.thread_pointers(sys.argv[1])",
    "print(json.dumps([{str(k): hex(v) for k, v in found.items()}, notes]))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", code, file], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe("alloc leaks and retainers under LLDB: thread-local storage roots", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  const target = useProgram("allocs-leaks-lldb-", skipWithoutLldb, () => buildWithAllocsCc("tls_target"));

  const lldbCore = (core: string) => {
    const r = allocsLldb([
      ...commandFile(target.dir, "core", lldbQueryLines(QUERIES)),
      "-c",
      core,
      target.exe,
    ]);
    assert.doesNotMatch(r.stderr + r.stdout, /Traceback/);
    assert.doesNotMatch(r.stderr, /allocs: .*thread/, "every thread's pointer is found");
    return answers(r.stdout);
  };

  it("live: pthread_self() of each thread gives its TLS root", () => {
    const r = allocsLldb([
      "-o",
      "b stop",
      "-o",
      "run",
      ...commandFile(target.dir, "live", lldbQueryLines(QUERIES)),
      target.exe,
    ]);
    assert.doesNotMatch(r.stderr + r.stdout, /Traceback/);
    assert.doesNotMatch(r.stderr, /allocs: .*thread/, "every thread's pointer is found");
    checkTls(answers(r.stdout), parseProbes(r.stdout), "lldb live");
  });

  describe("kernel core", () => {
    const kernel = useKernelCore(target, ["abort"]);
    let p: Map<string, Record<string, string>>;
    before(() => {
      p = parseProbes(kernel.stdout);
    });

    it("reads each thread's pointer from the core's NT_PRSTATUS notes (tid: pthread_self())", () => {
      const [found, notes] = coreNotes(kernel.core);
      assert.deepEqual(found, printedPointers(p));
      assert.deepEqual(notes, []);
    });

    it("reads a truncated core's notes and a file that is no core without failing", () => {
      const cut = path.join(target.dir, "cut.core");
      // the ELF header, the program headers and a part of the first thread's note only
      const whole = fs.readFileSync(kernel.core);
      const phoff = Number(whole.readBigUInt64LE(32));
      const phnum = whole.readUInt16LE(56);
      let noteAt = 0;
      for (let i = 0; i < phnum; i++) {
        const at = phoff + i * 56;
        if (whole.readUInt32LE(at) === 4) noteAt = Number(whole.readBigUInt64LE(at + 8));
        if (noteAt) break;
      }
      assert.ok(noteAt > 0, "the core has a note segment");
      fs.writeFileSync(cut, whole.subarray(0, noteAt + 100));
      const [found, notes] = coreNotes(cut);
      assert.deepEqual(found, {});
      assert.ok(
        notes.some((n) => /truncated/.test(n)),
        JSON.stringify(notes),
      );
      assert.deepEqual(coreNotes(target.exe), [{}, [`${target.exe}: not a core file`]]);
      assert.deepEqual(coreNotes(path.join(target.dir, "nosuch")), [
        {},
        [
          `${path.join(target.dir, "nosuch")}: cannot read the core's thread notes (No such file or directory)`,
        ],
      ]);
    });

    it("finds no leak in thread-local storage, as gdb, with the same JSON", function () {
      const a = lldbCore(kernel.core);
      checkTls(a, p, "lldb kernel core");
      if (!hasCommand("gdb")) this.skip();
      const g = queryCore(target.exe, kernel.core, QUERIES);
      checkTls(g, p, "gdb kernel core");
      for (const [label] of QUERIES)
        assert.deepEqual(a.get(label), g.get(label), `lldb and gdb differ on ${label}`);
    });
  });

  it("finds no leak in a gcore's thread-local storage, as gdb, with the same JSON", function () {
    if (!hasCommand("gdb")) this.skip();
    const gcore = path.join(target.dir, "tls.gcore");
    const p = parseProbes(makeGcore(target.exe, "stop", gcore).stdout);
    const a = lldbCore(gcore);
    checkTls(a, p, "lldb gcore");
    const g = queryCore(target.exe, gcore, QUERIES);
    for (const [label] of QUERIES)
      assert.deepEqual(a.get(label), g.get(label), `lldb and gdb differ on ${label}`);
  });
});
