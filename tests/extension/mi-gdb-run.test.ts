// The GDB/MI parser and decoders on real gdb 13 output of a whole run of mi_target
// (fixtures/session-run.mi), asserted field by field.
import assert from "node:assert/strict";

import {
  decodeBreakpoint,
  decodeBreakpointEvent,
  decodeFrame,
  decodeInstruction,
  decodeLibraryEvent,
  decodeMemoryBlock,
  decodeMemoryChanged,
  decodeRunning,
  decodeStopped,
  decodeThread,
  decodeThreadEvent,
  decodeThreadGroupEvent,
  decodeVarObj,
  decodeVariable,
  field,
  listTuples,
  optString,
  reqString,
  type MIResultRecord,
} from "../../extension/src/mi";
import { fixture, resultFor, asyncs, streams, tupleField } from "./mi-fixtures";

describe("MI parser: real gdb 13 output (session-run.mi)", () => {
  const records = fixture("session-run.mi");

  it("parses every line: only the debuggee's own output is not MI", () => {
    const other = records.filter((r) => r.kind === "other");
    assert.deepEqual(other, [{ kind: "other", line: "total=19 slot=1" }]);
    assert.equal(records.filter((r) => r.kind === "prompt").length, 28);
    // One result per command, tokens 1..28 in order.
    const tokens = records.filter((r): r is MIResultRecord => r.kind === "result").map((r) => r.token);
    assert.deepEqual(
      tokens,
      Array.from({ length: 28 }, (_, i) => i + 1),
    );
  });

  it("thread group notifications", () => {
    assert.deepEqual(decodeThreadGroupEvent(asyncs(records, "thread-group-added")[0]), {
      id: "i1",
      pid: undefined,
      exitCode: undefined,
    });
    assert.deepEqual(decodeThreadGroupEvent(asyncs(records, "thread-group-started")[0]), {
      id: "i1",
      pid: 6812,
      exitCode: undefined,
    });
    // exit-code="03" is octal-looking decimal text; it is the number 3.
    assert.deepEqual(decodeThreadGroupEvent(asyncs(records, "thread-group-exited")[0]), {
      id: "i1",
      pid: undefined,
      exitCode: 3,
    });
    assert.deepEqual(asyncs(records, "thread-created").map(decodeThreadEvent), [
      { id: "1", groupId: "i1" },
      { id: "2", groupId: "i1" },
    ]);
    assert.deepEqual(asyncs(records, "thread-exited").map(decodeThreadEvent), [
      { id: "2", groupId: "i1" },
      { id: "1", groupId: "i1" },
    ]);
  });

  it("a plain breakpoint", () => {
    const bp = decodeBreakpoint(tupleField(resultFor(records, 3), "bkpt"));
    assert.deepEqual(bp, {
      number: "1",
      type: "breakpoint",
      disp: "keep",
      enabled: true,
      addr: "0x00000000000011ee",
      func: "add_points",
      file: "mi_target.c",
      fullname: "/work/main/test-programs/mi_target.c",
      line: 30,
      times: 0,
      cond: undefined,
      ignore: undefined,
      pending: undefined,
      originalLocation: "add_points",
      threadGroups: ["i1"],
      locations: [],
    });
  });

  it("a multi-location breakpoint (MI3 locations list)", () => {
    const bp = decodeBreakpoint(tupleField(resultFor(records, 4), "bkpt"));
    assert.equal(bp.number, "2");
    assert.equal(bp.addr, "<MULTIPLE>");
    assert.equal(bp.line, undefined);
    assert.deepEqual(bp.locations, [
      {
        number: "2.1",
        enabled: true,
        addr: "0x0000000000001291",
        func: "twice",
        file: "mi_target.c",
        fullname: "/work/main/test-programs/mi_target.c",
        line: 40,
        threadGroups: ["i1"],
      },
      {
        number: "2.2",
        enabled: true,
        addr: "0x000000000000129e",
        func: "twice",
        file: "mi_target.c",
        fullname: "/work/main/test-programs/mi_target.c",
        line: 40,
        threadGroups: ["i1"],
      },
    ]);
  });

  it("conditional and pending breakpoints", () => {
    const cond = decodeBreakpoint(tupleField(resultFor(records, 5), "bkpt"));
    assert.equal(cond.cond, "n == 1");
    assert.equal(cond.func, "depth");
    assert.equal(cond.line, 44);
    const pending = decodeBreakpoint(tupleField(resultFor(records, 6), "bkpt"));
    assert.equal(pending.number, "4");
    assert.equal(pending.addr, "<PENDING>");
    assert.equal(pending.pending, "nosuchfunc");
    assert.equal(pending.file, undefined);
    assert.ok(streams(records, "log").includes('Function "nosuchfunc" not defined.\n'));
  });

  it("breakpoint-modified notifications carry the relocated address and hit count", () => {
    const mods = asyncs(records, "breakpoint-modified").map(decodeBreakpointEvent);
    const relocated = mods[0];
    assert.ok("number" in relocated);
    assert.equal(relocated.number, "1");
    assert.equal(relocated.addr, "0x00005555555551ee");
    const hit = mods.find((m) => "number" in m && m.number === "3" && m.times === 1);
    assert.ok(hit, "breakpoint 3 hit once");
  });

  it("library-loaded notifications", () => {
    const libs = asyncs(records, "library-loaded");
    assert.deepEqual(decodeLibraryEvent(libs[1]), {
      id: "/lib/x86_64-linux-gnu/libc.so.6",
      targetName: "/lib/x86_64-linux-gnu/libc.so.6",
      hostName: "/lib/x86_64-linux-gnu/libc.so.6",
      symbolsLoaded: false,
      threadGroup: "i1",
    });
    const ranges = listTuples(libs[1], "ranges");
    assert.deepEqual(
      ranges.map((r) => [reqString(r, "from"), reqString(r, "to")]),
      [["0x00007ffff7dfb380", "0x00007ffff7f4f22d"]],
    );
  });

  it("running and breakpoint-hit stop events", () => {
    assert.deepEqual(decodeRunning(asyncs(records, "running")[0]), { threadId: "all" });
    assert.deepEqual(
      decodeRunning(asyncs(records, "running").find((r) => optString(r, "thread-id") === "2")!),
      {
        threadId: "2",
      },
    );
    const stops = asyncs(records, "stopped").map(decodeStopped);
    assert.equal(stops.length, 6);
    assert.deepEqual(stops[0], {
      reason: "breakpoint-hit",
      threadId: "1",
      stoppedThreads: "all",
      frame: {
        level: undefined,
        addr: "0x0000555555555242",
        func: "depth",
        file: "mi_target.c",
        fullname: "/work/main/test-programs/mi_target.c",
        line: 44,
        from: undefined,
        arch: "i386:x86-64",
        args: [{ name: "n", value: "1" }],
      },
      breakpointNumber: "3",
      breakpointLocation: undefined,
      exitCode: undefined,
      signalName: undefined,
      signalMeaning: undefined,
      returnValue: undefined,
      gdbResultVar: undefined,
      core: "0",
    });
    assert.equal(stops[1].breakpointNumber, "1");
    assert.deepEqual(stops[1].frame?.args, [
      { name: "a", value: "0x7fffffffe4c0" },
      { name: "b", value: "0x7fffffffe4b8" },
      { name: "scale", value: "2" },
    ]);
    // The console lines gdb prints for the same stop.
    assert.ok(streams(records, "console").includes("Breakpoint 3, depth (n=1) at mi_target.c:44\n"));
    assert.ok(streams(records, "console").includes("44\t  if (n == 0)\n"));
  });

  it("stepping, finish, signal and exit stop events", () => {
    const stops = asyncs(records, "stopped").map(decodeStopped);
    assert.equal(stops[2].reason, "end-stepping-range");
    assert.equal(stops[2].frame?.line, 31);
    assert.equal(stops[3].reason, "function-finished");
    assert.equal(stops[3].returnValue, "17");
    assert.equal(stops[3].gdbResultVar, "$1");
    assert.equal(stops[3].frame?.func, "depth");
    assert.equal(stops[4].reason, "signal-received");
    assert.equal(stops[4].signalName, "SIGINT");
    assert.equal(stops[4].signalMeaning, "Interrupt");
    assert.equal(stops[4].frame?.func, "__GI___clock_nanosleep");
    assert.equal(stops[4].frame?.fullname, "./time/../sysdeps/unix/sysv/linux/clock_nanosleep.c");
    assert.deepEqual(
      stops[4].frame?.args?.map((a) => a.name),
      ["clock_id", "clock_id@entry", "flags", "flags@entry", "req", "req@entry", "rem", "rem@entry"],
    );
    const exited = decodeStopped(asyncs(records, "stopped")[5]);
    assert.deepEqual(exited, {
      reason: "exited",
      threadId: undefined,
      stoppedThreads: "all",
      frame: undefined,
      breakpointNumber: undefined,
      breakpointLocation: undefined,
      exitCode: 3,
      signalName: undefined,
      signalMeaning: undefined,
      returnValue: undefined,
      gdbResultVar: undefined,
      core: undefined,
    });
    assert.ok(streams(records, "console").includes("[Inferior 1 (process 6812) exited with code 03]\n"));
  });

  it("console output split across records joins into one line", () => {
    const text = streams(records, "console").join("");
    assert.ok(text.includes('\nThread 1 "mi_target" received signal SIGINT, Interrupt.\n'));
  });

  it("frames lists (stack=[frame=...,frame=...]) keep every duplicate key", () => {
    const r = resultFor(records, 13);
    const stack = field(r, "stack");
    assert.ok(typeof stack === "object" && stack.kind === "result-list");
    assert.deepEqual(
      stack.results.map((x) => x.name),
      ["frame", "frame", "frame", "frame", "frame"],
    );
    const frames = listTuples(r, "stack").map(decodeFrame);
    assert.deepEqual(
      frames.map((f) => [f.level, f.func, f.line, f.addr]),
      [
        [0, "add_points", 30, "0x00005555555551ee"],
        [1, "depth", 45, "0x000055555555527c"],
        [2, "depth", 46, "0x000055555555528b"],
        [3, "depth", 46, "0x000055555555528b"],
        [4, "main", 61, "0x0000555555555322"],
      ],
    );
    assert.equal(frames[0].args, undefined);
    assert.equal(frames[4].fullname, "/work/main/test-programs/mi_target.c");
  });

  it("variables, threads and varobjs", () => {
    assert.deepEqual(listTuples(resultFor(records, 14), "variables").map(decodeVariable), [
      { name: "a", arg: true, type: "struct point *", value: "0x7fffffffe4c0" },
      { name: "b", arg: true, type: "const struct point *", value: "0x7fffffffe4b8" },
      { name: "scale", arg: true, type: "int", value: "2" },
      { name: "sum_x", arg: false, type: "int", value: "0" },
      { name: "sum_y", arg: false, type: "int", value: "0" },
    ]);
    const threads = resultFor(records, 15);
    assert.equal(optString(threads, "current-thread-id"), "1");
    const [t] = listTuples(threads, "threads").map(decodeThread);
    assert.equal(t.id, "1");
    assert.equal(t.targetId, "Thread 0x7ffff7dd2740 (LWP 6812)");
    assert.equal(t.name, "mi_target");
    assert.equal(t.state, "stopped");
    assert.equal(t.core, "0");
    assert.equal(t.frame?.level, 0);
    assert.equal(t.frame?.func, "add_points");
    assert.equal(t.frame?.args?.length, 3);
    assert.deepEqual(decodeVarObj(resultFor(records, 16)), {
      name: "var1",
      exp: undefined,
      numchild: 2,
      value: "{...}",
      type: "struct point",
      threadId: "1",
      hasMore: false,
      dynamic: false,
      displayHint: undefined,
    });
    const children = listTuples(resultFor(records, 17), "children").map(decodeVarObj);
    assert.deepEqual(
      children.map((c) => [c.name, c.exp, c.numchild, c.value, c.type]),
      [
        ["var1.x", "x", 0, "1", "int"],
        ["var1.y", "y", 0, "2", "int"],
      ],
    );
    assert.equal(reqString(resultFor(records, 18), "value"), "1");
  });

  it("an expression value with C escapes and non-ASCII text inside an MI c-string", () => {
    // gdb prints the C string with its own escapes (\" \t \n), then MI escapes
    // that text again, and the non-ASCII bytes as octal.
    assert.equal(
      reqString(resultFor(records, 19), "value"),
      '0x555555556004 "héllo \\"wörld\\"\\t€ 日本\\n"',
    );
  });

  it("memory, disassembly and memory-changed", () => {
    const [block] = listTuples(resultFor(records, 20), "memory").map(decodeMemoryBlock);
    assert.equal(block.begin, 0x555555558060n);
    assert.equal(block.offset, 0n);
    assert.equal(block.end, 0x555555558068n);
    assert.deepEqual([...block.contents], [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    const insns = listTuples(resultFor(records, 25), "asm_insns").map(decodeInstruction);
    assert.equal(insns.length, 3);
    assert.deepEqual(insns[0], {
      address: "0x00007ffff7ea4545",
      funcName: "__GI___clock_nanosleep",
      offset: 101,
      inst: "mov    %r8d,%edi",
      opcodes: undefined,
    });
    assert.equal(insns[2].inst, "call   0x7ffff7e5a8a0 <__GI___pthread_disable_asynccancel>");
    assert.deepEqual(decodeMemoryChanged(asyncs(records, "memory-changed")[0]), {
      threadGroup: "i1",
      addr: "0x000055555555807c",
      len: 4,
    });
  });

  it("the -exec-interrupt answer and ^exit", () => {
    assert.equal(resultFor(records, 24).resultClass, "done");
    assert.equal(resultFor(records, 28).resultClass, "exit");
  });
});
