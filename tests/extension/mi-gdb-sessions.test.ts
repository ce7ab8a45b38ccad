// The GDB/MI parser and decoders on real gdb 13 output of errors and streams, a core file with
// explicit locations and dprintf, and execution through CLI commands (fixtures/session-*.mi).
import assert from "node:assert/strict";

import {
  decodeBreakpoint,
  decodeFrame,
  decodeLibraryEvent,
  decodeMemoryBlock,
  decodeSourceAndInstructions,
  decodeStopped,
  decodeVarObj,
  field,
  listTuples,
  optString,
  reqString,
} from "../../extension/src/mi";
import { fixture, resultFor, asyncs, streams, tupleField } from "./mi-fixtures";

describe("MI parser: errors and streams (session-errors.mi)", () => {
  const records = fixture("session-errors.mi");

  it("error records carry msg and, when gdb gives one, code", () => {
    const undefinedCmd = resultFor(records, 2);
    assert.equal(undefinedCmd.resultClass, "error");
    assert.equal(optString(undefinedCmd, "msg"), "Undefined MI command: foo");
    assert.equal(optString(undefinedCmd, "code"), "undefined-command");
    assert.equal(optString(resultFor(records, 3), "msg"), 'No symbol "nosuchvar" in current context.');
    assert.equal(optString(resultFor(records, 3), "code"), undefined);
    assert.equal(
      optString(resultFor(records, 7), "msg"),
      'Undefined info command: "frobnicate".  Try "help info".',
    );
    assert.equal(optString(resultFor(records, 8), "msg"), 'Function "nosuchfunc" not defined.');
    assert.equal(optString(resultFor(records, 9), "msg"), "The program is not being run.");
    assert.equal(optString(resultFor(records, 10), "msg"), "Unable to read memory.");
  });

  it("console streams with escapes and non-ASCII text", () => {
    const console = streams(records, "console");
    assert.equal(console[0], "a\tb\\c\n");
    assert.equal(console[1], '$1 = 0x2004 "héllo \\"wörld\\"\\t€ 日本\\n"\n');
    assert.equal(console[2], "$2 = 8\n");
    assert.equal(console[3], '"tab\\there"');
    assert.equal(reqString(resultFor(records, 6), "value"), '"é€ 日本"');
  });

  it("a CLI command typed without -interpreter-exec: echoed on the log stream, untokened result", () => {
    const log = streams(records, "log");
    assert.deepEqual(log, [
      'Undefined info command: "frobnicate".  Try "help info".\n',
      "print counter + 1\n",
    ]);
    const untokened = records.filter((r) => r.kind === "result" && r.token === undefined);
    assert.deepEqual(untokened, [{ kind: "result", resultClass: "done", results: [] }]);
  });
});

describe("MI parser: a core file, explicit locations, dprintf (session-core.mi)", () => {
  const records = fixture("session-core.mi");

  it("explicit-location and temporary breakpoints with condition and ignore count", () => {
    const bp = decodeBreakpoint(tupleField(resultFor(records, 2), "bkpt"));
    assert.equal(bp.originalLocation, "-source mi_target.c -line 30");
    assert.equal(bp.line, 30);
    const temp = decodeBreakpoint(tupleField(resultFor(records, 3), "bkpt"));
    assert.equal(temp.disp, "del");
    assert.equal(temp.cond, "n==0");
    assert.equal(temp.ignore, 1);
  });

  it("a dprintf's script tuple of bare strings", () => {
    const bkpt = tupleField(resultFor(records, 4), "bkpt");
    assert.equal(decodeBreakpoint(bkpt).type, "dprintf");
    assert.deepEqual(field(bkpt, "script"), {
      kind: "tuple",
      results: [{ name: "", value: 'printf "scale=%d\\n",scale' }],
    });
  });

  it("-target-select core answers ^connected with the frame where the process died", () => {
    const r = resultFor(records, 5);
    assert.equal(r.resultClass, "connected");
    const frame = decodeFrame(tupleField(r, "frame"));
    assert.equal(frame.level, 0);
    assert.equal(frame.func, "add_points");
    assert.equal(frame.line, 30);
    assert.equal(frame.args?.length, 3);
    assert.ok(
      streams(records, "console").includes(
        "Program terminated with signal SIGTRAP, Trace/breakpoint trap.\n",
      ),
    );
  });

  it("reads from the core: offset memory, varobj children with has_more, source-centric disassembly", () => {
    const [block] = listTuples(resultFor(records, 7), "memory").map(decodeMemoryBlock);
    assert.equal(block.begin, 0x555555558062n);
    assert.deepEqual([...block.contents], [0xbe, 0xef, 1, 2]);
    const children = resultFor(records, 9);
    assert.equal(optString(children, "has_more"), "1");
    assert.deepEqual(
      listTuples(children, "children").map((c) => decodeVarObj(c).value),
      ["222 '\\336'", "173 '\\255'"],
    );
    const [src] = listTuples(resultFor(records, 10), "asm_insns").map(decodeSourceAndInstructions);
    assert.equal(src.line, 30);
    assert.equal(src.file, "mi_target.c");
    assert.equal(src.instructions[0].opcodes, "48 8b 45 e8");
    assert.equal(src.instructions[0].address, "0x00005555555551ee");
  });

  it("library-unloaded after -gdb-exit", () => {
    assert.deepEqual(
      asyncs(records, "library-unloaded").map((r) => decodeLibraryEvent(r).id),
      ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"],
    );
  });
});

describe("MI parser: execution through CLI commands (session-console.mi)", () => {
  const records = fixture("session-console.mi");

  it("console run/next/continue answer with tokened ^running; their console text precedes it", () => {
    for (const token of [4, 5, 6]) assert.equal(resultFor(records, token).resultClass, "running");
    const console = streams(records, "console");
    const run = records.indexOf(resultFor(records, 4));
    const starting = records.findIndex((r) => r.kind === "stream" && r.text.startsWith("Starting program: "));
    assert.ok(starting >= 0 && starting < run, "'Starting program' arrives before 4^running");
    assert.ok(console.includes("Continuing.\n"));
    assert.ok(console.includes("31\t  int sum_y = a->y + b->y * scale;\n"));
  });

  it("a hit on one location of a multi-location breakpoint names it (locno)", () => {
    const stops = asyncs(records, "stopped").map(decodeStopped);
    assert.deepEqual(
      stops.map((s) => [s.reason, s.breakpointNumber, s.breakpointLocation, s.frame?.func, s.frame?.line]),
      [
        ["breakpoint-hit", "1", undefined, "add_points", 30],
        ["end-stepping-range", undefined, undefined, "add_points", 31],
        ["breakpoint-hit", "2", "1", "twice", 40],
      ],
    );
    assert.deepEqual(stops[2].frame?.args, [{ name: "v", value: "1" }]);
    assert.ok(streams(records, "console").includes("Breakpoint 2.1, twice (v=1) at mi_target.c:40\n"));
  });
});
