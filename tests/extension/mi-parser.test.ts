// The GDB/MI parser and serializer: the grammar on hand-written lines, then
// real gdb 13 output captured by tests/extension/fixtures/capture.sh from
// test-programs/mi_target.c, asserted field by field.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";

import {
  decodeBreakpoint,
  decodeBreakpointEvent,
  decodeFrame,
  decodeInstruction,
  decodeLibraryEvent,
  decodeMemoryBlock,
  decodeMemoryChanged,
  decodeRunning,
  decodeSourceAndInstructions,
  decodeStopped,
  decodeThread,
  decodeThreadEvent,
  decodeThreadGroupEvent,
  decodeVarObj,
  decodeVariable,
  field,
  fieldsNamed,
  formatCommand,
  consoleCommand,
  listTuples,
  MICommandError,
  MILineSplitter,
  optString,
  parseRecord,
  parseTranscript,
  reqString,
  type MIAsyncRecord,
  type MIRecord,
  type MIResultRecord,
  type MIStreamRecord,
  type MITuple,
} from "../../extension/src/mi";

// dist/tests/extension -> repository root
const FIXTURES = path.resolve(__dirname, "../../../tests/extension/fixtures");

function fixture(name: string): MIRecord[] {
  return parseTranscript(readFileSync(path.join(FIXTURES, name)));
}

function resultFor(records: MIRecord[], token: number): MIResultRecord {
  const r = records.find((x): x is MIResultRecord => x.kind === "result" && x.token === token);
  assert.ok(r, `no result record with token ${token}`);
  return r;
}

function asyncs(records: MIRecord[], asyncClass: string): MIAsyncRecord[] {
  return records.filter((x): x is MIAsyncRecord => x.kind === "async" && x.asyncClass === asyncClass);
}

function streams(records: MIRecord[], stream: MIStreamRecord["stream"]): string[] {
  return records
    .filter((x): x is MIStreamRecord => x.kind === "stream" && x.stream === stream)
    .map((s) => s.text);
}

function tupleField(r: { results: MITuple["results"] }, name: string): MITuple {
  const v = field(r, name);
  assert.ok(typeof v === "object" && v.kind === "tuple", `${name} is not a tuple`);
  return v;
}

describe("MI parser: grammar", () => {
  it("parses result records of every class, with and without tokens", () => {
    assert.deepEqual(parseRecord("^done"), { kind: "result", resultClass: "done", results: [] });
    assert.deepEqual(parseRecord("12^running"), {
      kind: "result",
      token: 12,
      resultClass: "running",
      results: [],
    });
    assert.deepEqual(parseRecord("3^connected"), {
      kind: "result",
      token: 3,
      resultClass: "connected",
      results: [],
    });
    assert.deepEqual(parseRecord("99^exit"), { kind: "result", token: 99, resultClass: "exit", results: [] });
    assert.deepEqual(
      parseRecord('7^error,msg="No symbol \\"x\\" in current context.",code="undefined-command"'),
      {
        kind: "result",
        token: 7,
        resultClass: "error",
        results: [
          { name: "msg", value: 'No symbol "x" in current context.' },
          { name: "code", value: "undefined-command" },
        ],
      },
    );
  });

  it("parses exec, status and notify async records with class, results and optional token", () => {
    assert.deepEqual(parseRecord('*running,thread-id="all"'), {
      kind: "async",
      channel: "exec",
      asyncClass: "running",
      results: [{ name: "thread-id", value: "all" }],
    });
    assert.deepEqual(parseRecord('5+download,{section=".text",section-size="100"}'.replace(",{", ",x={")), {
      kind: "async",
      token: 5,
      channel: "status",
      asyncClass: "download",
      results: [
        {
          name: "x",
          value: {
            kind: "tuple",
            results: [
              { name: "section", value: ".text" },
              { name: "section-size", value: "100" },
            ],
          },
        },
      ],
    });
    assert.deepEqual(parseRecord("=thread-group-added"), {
      kind: "async",
      channel: "notify",
      asyncClass: "thread-group-added",
      results: [],
    });
  });

  it("parses the three stream records", () => {
    assert.deepEqual(parseRecord('~"hello\\n"'), { kind: "stream", stream: "console", text: "hello\n" });
    assert.deepEqual(parseRecord('@"target out"'), { kind: "stream", stream: "target", text: "target out" });
    assert.deepEqual(parseRecord('&"warning: x\\n"'), {
      kind: "stream",
      stream: "log",
      text: "warning: x\n",
    });
  });

  it("recognises the prompt, with or without trailing space and CR", () => {
    assert.deepEqual(parseRecord("(gdb)"), { kind: "prompt" });
    assert.deepEqual(parseRecord("(gdb) "), { kind: "prompt" });
    assert.deepEqual(parseRecord("(gdb) \r\n"), { kind: "prompt" });
  });

  it("parses empty and nested tuples and lists, values lists and results lists", () => {
    const r = parseRecord('^done,a={},b=[],c=["x","y"],d=[f={l="0"},f={l="1"}],e=[{n="1"},[]],g={h={i="j"}}');
    assert.equal(r.kind, "result");
    assert.deepEqual(field(r, "a"), { kind: "tuple", results: [] });
    assert.deepEqual(field(r, "b"), { kind: "list", values: [] });
    assert.deepEqual(field(r, "c"), { kind: "list", values: ["x", "y"] });
    // Duplicate names in a results list are all kept, in order.
    assert.deepEqual(field(r, "d"), {
      kind: "result-list",
      results: [
        { name: "f", value: { kind: "tuple", results: [{ name: "l", value: "0" }] } },
        { name: "f", value: { kind: "tuple", results: [{ name: "l", value: "1" }] } },
      ],
    });
    assert.deepEqual(field(r, "e"), {
      kind: "list",
      values: [
        { kind: "tuple", results: [{ name: "n", value: "1" }] },
        { kind: "list", values: [] },
      ],
    });
    assert.deepEqual(field(tupleField(tupleField(r, "g"), "h"), "i"), "j");
  });

  it("keeps MI2's bare multi-location tuples under the previous name", () => {
    const r = parseRecord('^done,bkpt={number="1"},{number="1.1"},{number="1.2"}');
    assert.equal(r.kind, "result");
    assert.deepEqual(
      fieldsNamed(r, "bkpt").map((t) =>
        typeof t === "object" && t.kind === "tuple" ? optString(t, "number") : "",
      ),
      ["1", "1.1", "1.2"],
    );
  });

  it('unescapes c-strings: \\n \\t \\" \\\\ and octal; UTF-8 bytes given as octal decode to characters', () => {
    const text = (line: string): string => {
      const r = parseRecord(line);
      assert.equal(r.kind, "stream", JSON.stringify(r));
      return r.kind === "stream" ? r.text : "";
    };
    assert.equal(text('~"a\\tb\\nc\\"d\\\\e"'), 'a\tb\nc"d\\e');
    assert.equal(text('~"\\101\\060\\0end"'), "A0\0end");
    assert.equal(text('~"\\r\\b\\f\\v\\a\\e"'), "\r\b\f\v\x07\x1b");
    // é = C3 A9, € = E2 82 AC, 日 = E6 97 A5: written by gdb as octal escapes.
    assert.equal(text('~"h\\303\\251llo \\342\\202\\254 \\346\\227\\245"'), "héllo € 日");
    // Raw UTF-8 and escaped bytes of the same character are put back together.
    const mixed = Buffer.concat([Buffer.from('~"'), Buffer.from([0xe2]), Buffer.from('\\202\\254"')]);
    const rec = parseRecord(mixed);
    assert.deepEqual(rec, { kind: "stream", stream: "console", text: "€" });
    // Raw UTF-8 in the line is text too.
    assert.equal(text('~"raw é 日本"'), "raw é 日本");
    // An invalid byte sequence becomes U+FFFD instead of failing the record.
    assert.equal(text('~"bad \\377 byte"'), "bad \ufffd byte");
  });

  it("turns non-MI and malformed lines into 'other' records, never exceptions", () => {
    assert.deepEqual(parseRecord("total=19 slot=1"), { kind: "other", line: "total=19 slot=1" });
    assert.deepEqual(parseRecord("hello world"), { kind: "other", line: "hello world" });
    const unterminated = parseRecord('~"no end');
    assert.equal(unterminated.kind, "other");
    assert.match(unterminated.kind === "other" ? (unterminated.error ?? "") : "", /unterminated c-string/);
    const badValue = parseRecord("^done,a=b");
    assert.equal(badValue.kind, "other");
    assert.match(badValue.kind === "other" ? (badValue.error ?? "") : "", /expected a value/);
    const badClass = parseRecord("^weird");
    assert.equal(badClass.kind, "other");
    assert.match(badClass.kind === "other" ? (badClass.error ?? "") : "", /unknown result class "weird"/);
    assert.equal(parseRecord('^done,a={b="c"').kind, "other");
    assert.equal(parseRecord('~"x" trailing').kind, "other");
  });

  it("splits a byte stream into lines across chunks, even inside a UTF-8 character", () => {
    const splitter = new MILineSplitter();
    const bytes = Buffer.from('~"日本"\n^done\n(gdb) \n*stop');
    const lines: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 3) lines.push(...splitter.push(bytes.subarray(i, i + 3)));
    assert.deepEqual(
      lines.map((l) => l.toString("utf8")),
      ['~"日本"', "^done", "(gdb) "],
    );
    assert.equal(splitter.flush()?.toString("utf8"), "*stop");
    assert.equal(splitter.flush(), undefined);
  });
});

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

describe("MI command serializer", () => {
  it("writes token, operation and bare arguments", () => {
    assert.equal(
      formatCommand({ operation: "-break-insert", args: ["-t", "main"] }, 5),
      "5-break-insert -t main",
    );
    assert.equal(formatCommand({ operation: "exec-run" }), "-exec-run");
    assert.equal(
      formatCommand({ operation: "-data-read-memory-bytes", args: ["0x1000", "16"] }, 1),
      "1-data-read-memory-bytes 0x1000 16",
    );
  });

  it("quotes arguments with spaces, quotes, backslashes, control characters; empty ones too", () => {
    assert.equal(formatCommand({ operation: "-x", args: ["a b"] }), '-x "a b"');
    assert.equal(formatCommand({ operation: "-x", args: ['say "hi"'] }), '-x "say \\"hi\\""');
    assert.equal(formatCommand({ operation: "-x", args: ["C:\\dir"] }), '-x "C:\\\\dir"');
    assert.equal(formatCommand({ operation: "-x", args: ["l1\nl2\tt\r"] }), '-x "l1\\nl2\\tt\\r"');
    assert.equal(formatCommand({ operation: "-x", args: ["\u0001"] }), '-x "\\001"');
    assert.equal(formatCommand({ operation: "-x", args: [""] }), '-x ""');
  });

  it("passes non-ASCII text as UTF-8 inside quotes", () => {
    assert.equal(formatCommand({ operation: "-x", args: ["é€"] }), '-x "é€"');
  });

  it("console commands wrap CLI text for -interpreter-exec", () => {
    assert.equal(
      formatCommand(consoleCommand('print "a b"'), 9),
      '9-interpreter-exec console "print \\"a b\\""',
    );
  });

  it("raw text for CLI-backed commands goes verbatim; line breaks and bad names are refused", () => {
    assert.equal(formatCommand({ operation: "-gdb-set", raw: 'args "x y"' }, 2), '2-gdb-set args "x y"');
    assert.throws(() => formatCommand({ operation: "-gdb-set", raw: "a\nb" }), MICommandError);
    assert.throws(() => formatCommand({ operation: "-x y" }), MICommandError);
    assert.throws(() => formatCommand({ operation: "" }), MICommandError);
  });
});
