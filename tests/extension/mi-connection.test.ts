// GdbConnection and MICommands against real gdb 13 and test-programs/mi_target.c
// (built with gcc -g -O0 into test-programs/build/). No fake gdb: what is
// tested is what the adapter will meet.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { GdbConnection, GdbExitedError, MICommands, MIError, type GdbExit } from "../../extension/src/mi";

import {
  killAfterTest,
  nextStop,
  PROGRAMS,
  runToAddPoints,
  SOURCE,
  startGdb,
  useGdbConnections,
} from "./mi-gdb-target";

describe("GDB/MI connection against real gdb", function () {
  this.timeout(60000);
  useGdbConnections();

  it("runs to a breakpoint, inspects the stop, and continues to the exit", async () => {
    const { gdb, mi } = await startGdb(20000);
    const others: string[] = [];
    gdb.on("other", (r) => others.push(r.line));
    const exits: GdbExit[] = [];
    gdb.on("exit", (e) => exits.push(e));

    await mi.gdbSet("mi-async", "on");
    assert.equal(await mi.gdbShow("mi-async"), "on");
    await mi.fileExecAndSymbols("build/mi_target");
    // The debuggee must not share gdb's stdout: gdb writes a record in several
    // write() calls, and the program's output can land in the middle of one
    // (seen here: `~"[Thread` + `total=19 slot=1` + ` 0x7ffff7dd16c0 ...`).
    // The adapter gives it a terminal; a plain file does for this test.
    const outFile = path.join(mkdtempSync(path.join(tmpdir(), "allocs-mi-")), "debuggee.out");
    writeFileSync(outFile, "");
    await mi.inferiorTtySet(outFile);
    const bp = await mi.breakInsert({ kind: "function", name: "add_points" });
    assert.equal(bp.number, "1");
    assert.equal(bp.func, "add_points");
    assert.equal(bp.file, "mi_target.c");
    assert.equal(bp.line, 30);

    const stopped = nextStop(gdb);
    await mi.execRun();
    const stop = await stopped;
    assert.equal(stop.reason, "breakpoint-hit");
    assert.equal(stop.breakpointNumber, "1");
    assert.equal(stop.threadId, "1");
    assert.equal(stop.frame?.func, "add_points");
    assert.equal(stop.frame?.file, "mi_target.c");
    assert.equal(stop.frame?.fullname, SOURCE);
    assert.equal(stop.frame?.line, 30);

    const frames = await mi.stackListFrames({ thread: 1 });
    assert.deepEqual(
      frames.map((f) => [f.level, f.func, f.line]),
      [
        [0, "add_points", 30],
        [1, "depth", 45],
        [2, "depth", 46],
        [3, "depth", 46],
        [4, "main", 61],
      ],
    );
    const two = await mi.stackListFrames({ low: 1, high: 2 });
    assert.deepEqual(
      two.map((f) => f.level),
      [1, 2],
    );
    assert.equal(await mi.stackInfoDepth({ thread: 1 }), 5);

    const vars = await mi.stackListVariables({ thread: 1, frame: 0 });
    assert.deepEqual(
      vars.map((v) => [v.name, v.arg, v.type]),
      [
        ["a", true, "struct point *"],
        ["b", true, "const struct point *"],
        ["scale", true, "int"],
        ["sum_x", false, "int"],
        ["sum_y", false, "int"],
      ],
    );
    const outer = await mi.stackListVariables({ thread: 1, frame: 4 }, "all");
    assert.deepEqual(
      outer.map((v) => v.name),
      ["argc", "argv", "pts", "total", "t", "slot"],
    );
    assert.equal(outer.find((v) => v.name === "argc")?.value, "1");

    assert.equal(await mi.dataEvaluateExpression("a->x + b->y * scale"), "9");
    assert.equal(await mi.dataEvaluateExpression("n", { thread: 1, frame: 1 }), "0");
    assert.match(await mi.dataEvaluateExpression("greeting"), /"héllo \\"wörld\\"\\t€ 日本\\n"$/);

    const [block] = await mi.dataReadMemoryBytes("&pattern", 8);
    assert.deepEqual([...block.contents], [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    assert.equal(block.end - block.begin, 8n);
    const address = "0x" + block.begin.toString(16);
    await mi.dataWriteMemoryBytes(address, Uint8Array.from([0xca, 0xfe]));
    const [after] = await mi.dataReadMemoryBytes(address, 4);
    assert.deepEqual([...after.contents], [0xca, 0xfe, 0xbe, 0xef]);
    const [tail] = await mi.dataReadMemoryBytes(address, 2, { offset: 6 });
    assert.deepEqual([...tail.contents], [3, 4]);

    const insns = await mi.disassembleRange("$pc", "$pc+8", { opcodes: true });
    assert.ok(insns.length >= 1);
    assert.equal(insns[0].funcName, "add_points");
    assert.match(insns[0].opcodes ?? "", /^[0-9a-f]{2}( [0-9a-f]{2})*$/);
    const withSource = await mi.disassembleWithSource("$pc", "$pc+8");
    assert.equal(withSource[0].line, 30);

    const pv = await mi.varCreate("*a");
    assert.equal(pv.numchild, 2);
    assert.equal(pv.type, "struct point");
    const kids = await mi.varListChildren(pv.name, { values: "all" });
    assert.deepEqual(
      kids.children.map((c) => [c.exp, c.value]),
      [
        ["x", "1"],
        ["y", "2"],
      ],
    );
    assert.equal(await mi.varAssign(`${pv.name}.x`, "40 + 1"), "41");
    assert.equal(await mi.varEvaluateExpression(`${pv.name}.x`, "hexadecimal"), "0x29");
    assert.equal(await mi.dataEvaluateExpression("a->x"), "41");
    await mi.varDelete(pv.name);
    await assert.rejects(mi.varEvaluateExpression(pv.name), MIError);

    const threads = await mi.threadInfo();
    assert.equal(threads.currentThreadId, "1");
    assert.equal(threads.threads.length, 1);
    assert.equal(threads.threads[0].state, "stopped");
    assert.equal(threads.threads[0].frame?.func, "add_points");

    // Put a back as it was so the program's own result is unchanged.
    await mi.dataEvaluateExpression("a->x = 1");
    await mi.breakDelete([bp.number]);
    const exited = nextStop(gdb);
    await mi.execContinue();
    const exit = await exited;
    assert.equal(exit.reason, "exited");
    assert.equal(exit.exitCode, 3);
    assert.deepEqual(others, [], "every line gdb wrote was MI");
    assert.match(readFileSync(outFile, "utf8"), /^total=19 slot=1$/m);
    rmSync(path.dirname(outFile), { recursive: true, force: true });

    await gdb.close();
    assert.deepEqual(exits, [{ code: 0, signal: null }]);
    await assert.rejects(
      mi.threadInfo(),
      (e: unknown) => e instanceof GdbExitedError && /exited with code 0/.test(e.message),
    );
  });

  it("steps, finishes, interrupts a running program and lists its threads", async () => {
    const { gdb, mi } = await startGdb(20000);
    await mi.gdbSet("mi-async", "on");
    await mi.fileExecAndSymbols("build/mi_target");
    await mi.execArguments(["spin"]);
    assert.equal(await mi.gdbShow("args"), "spin");
    await mi.breakInsert({ kind: "source", file: "mi_target.c", line: 44 }, { condition: "n == 0" });

    let stopped = nextStop(gdb);
    await mi.execRun();
    let stop = await stopped;
    assert.equal(stop.reason, "breakpoint-hit");
    assert.deepEqual(stop.frame?.args, [{ name: "n", value: "0" }]);

    stopped = nextStop(gdb);
    await mi.execNext({ thread: 1 });
    stop = await stopped;
    assert.equal(stop.reason, "end-stepping-range");
    assert.equal(stop.frame?.line, 45);

    stopped = nextStop(gdb);
    await mi.execStep({ thread: 1 });
    stop = await stopped;
    assert.equal(stop.reason, "end-stepping-range");
    assert.equal(stop.frame?.func, "add_points");

    stopped = nextStop(gdb);
    await mi.execFinish({ thread: 1, frame: 0 });
    stop = await stopped;
    assert.equal(stop.reason, "function-finished");
    assert.equal(stop.returnValue, "17");

    await mi.breakDelete(["1"]);
    const running = new Promise<void>((resolve) => {
      const off = gdb.on("exec", (r) => {
        if (r.asyncClass === "running") {
          off();
          resolve();
        }
      });
    });
    await mi.execContinue();
    await running;
    // Let it reach spin(), then interrupt (needs mi-async on). On a loaded
    // machine it may still be earlier in main; either way it stops in main's call tree.
    await new Promise((r) => setTimeout(r, 300));
    stopped = nextStop(gdb);
    await mi.execInterrupt({ thread: 1 });
    stop = await stopped;
    assert.equal(stop.reason, "signal-received");
    assert.equal(stop.signalName, "SIGINT");
    assert.equal(stop.signalMeaning, "Interrupt");
    const frames = await mi.stackListFrames();
    assert.equal(frames[frames.length - 1].func, "main");

    const info = await mi.threadInfo();
    assert.equal(info.threads.length, 1);
    assert.match(info.threads[0].targetId, /^Thread 0x[0-9a-f]+ \(LWP \d+\)$/);

    await mi.dataEvaluateExpression("stop = 1");
    stopped = nextStop(gdb);
    await mi.execContinue();
    stop = await stopped;
    assert.equal(stop.reason, "exited");
    assert.equal(stop.exitCode, 3);
  });

  it("matches many concurrent commands to their own answers by token", async () => {
    const { mi } = await startGdb(20000);
    const values = await Promise.all(
      Array.from({ length: 50 }, (_, i) => mi.dataEvaluateExpression(`${i} * 3`)),
    );
    assert.deepEqual(
      values,
      Array.from({ length: 50 }, (_, i) => String(i * 3)),
    );
    const outputs = await Promise.all(Array.from({ length: 10 }, (_, i) => mi.console(`echo line ${i}\\n`)));
    assert.deepEqual(
      outputs.map((o) => o.console),
      Array.from({ length: 10 }, (_, i) => `line ${i}\n`),
    );
  });

  it("console commands return their own output, including non-ASCII text", async () => {
    const lines: string[] = [];
    const gdb = await GdbConnection.start({
      cwd: PROGRAMS,
      trace: (dir, line) => lines.push(`${dir} ${line}`),
    });
    killAfterTest(gdb);
    const mi = new MICommands(gdb);
    await mi.fileExecAndSymbols("build/mi_target");
    const printed = await mi.console("print greeting");
    assert.equal(printed.resultClass, "done");
    assert.match(printed.console, /^\$1 = 0x[0-9a-f]+ "héllo \\"wörld\\"\\t€ 日本\\n"\n$/);
    const echoed = await mi.console('echo tab\\there "quoted" é\\n');
    assert.equal(echoed.console, 'tab\there "quoted" é\n');
    const err = await mi.console("info frobnicate").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof MIError);
    assert.equal(err.msg, 'Undefined info command: "frobnicate".  Try "help info".');
    assert.equal(err.command, '-interpreter-exec console "info frobnicate"');
    // The trace saw the command go out with its token and the answer come back.
    const sent = lines.find((l) => l.endsWith('-interpreter-exec console "print greeting"'));
    assert.match(sent ?? "", /^out \d+-interpreter-exec/);
    const token = /^out (\d+)/.exec(sent ?? "")?.[1];
    assert.ok(lines.includes(`in ${token}^done`));
  });

  it("opens a core file and reads the dead process's memory", async () => {
    const { mi, gdb } = await startGdb(20000);
    const core = path.join(PROGRAMS, "build", `mi_target.${process.pid}.core`);
    await runToAddPoints(gdb, mi);
    await mi.console(`gcore ${core}`);
    await mi.console("kill");
    try {
      const frame = await mi.targetSelectCore(core);
      assert.equal(frame?.func, "add_points");
      assert.equal(frame?.line, 30);
      const [block] = await mi.dataReadMemoryBytes("&pattern", 4);
      assert.deepEqual([...block.contents], [0xde, 0xad, 0xbe, 0xef]);
      assert.equal(await mi.dataEvaluateExpression("counter"), "7");
    } finally {
      execFileSync("rm", ["-f", core]);
    }
  });
});
