// GdbConnection and MICommands when things go wrong, against real gdb 13 and
// test-programs/mi_target.c (mi-gdb-target.ts): gdb's ^error as a typed error, gdb killed or stuck
// with commands pending, command timeouts, and gdb that cannot start. No fake gdb: what is tested
// is what the adapter will meet.

import assert from "node:assert/strict";

import {
  GdbConnection,
  GdbExitedError,
  GdbNotFoundError,
  GdbStartError,
  MIError,
  MITimeoutError,
  type GdbExit,
} from "../../extension/src/mi";

import { runToAddPoints, startGdb, useGdbConnections } from "./mi-gdb-target";

describe("GDB/MI connection against real gdb: failures", function () {
  this.timeout(60000);
  useGdbConnections();

  it("rejects ^error with a typed MIError carrying gdb's msg and code", async () => {
    const { gdb, mi } = await startGdb(20000);
    await assert.rejects(gdb.send({ operation: "-no-such-command" }), (e: unknown) => {
      assert.ok(e instanceof MIError);
      assert.equal(e.msg, "Undefined MI command: no-such-command");
      assert.equal(e.code, "undefined-command");
      assert.equal(e.message, "Undefined MI command: no-such-command");
      return true;
    });
    await assert.rejects(mi.dataEvaluateExpression("nosuchvar"), {
      name: "MIError",
      message: 'No symbol table is loaded.  Use the "file" command.',
    });
    await assert.rejects(mi.execContinue(), { message: "The program is not being run." });
    // The connection is still usable afterwards.
    assert.equal(await mi.dataEvaluateExpression("1 + 2"), "3");
    // Quoted arguments with quotes, backslashes and non-ASCII text reach gdb byte for byte:
    // "é€ 日本" is 2 + 3 + 1 + 6 UTF-8 bytes, plus the terminating NUL.
    assert.equal(await mi.dataEvaluateExpression('sizeof("é€ 日本")'), "13");
    assert.equal(await mi.dataEvaluateExpression('sizeof("a\\"b\\\\c")'), "6");
  });

  it("rejects every pending command promptly when gdb is killed mid-command", async () => {
    const { gdb, mi } = await startGdb();
    const slow = mi.console("python import time; time.sleep(30)");
    const queued = mi.dataEvaluateExpression("1");
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    process.kill(gdb.pid ?? 0, "SIGKILL");
    for (const pending of [slow, queued]) {
      await assert.rejects(pending, (e: unknown) => {
        assert.ok(e instanceof GdbExitedError);
        assert.equal(e.signal, "SIGKILL");
        assert.match(e.message, /^gdb was killed by signal SIGKILL while running -/);
        return true;
      });
    }
    assert.ok(Date.now() - t0 < 2000, "rejected within 2 s");
    assert.equal(gdb.exited, true);
    // Later commands fail at once too.
    await assert.rejects(
      mi.dataEvaluateExpression("1"),
      /gdb was killed by signal SIGKILL while running -data-evaluate-expression 1/,
    );
  });

  it("rejects pending commands when gdb dies with a debuggee stopped under it", async () => {
    const { gdb, mi } = await startGdb(20000);
    await runToAddPoints(gdb, mi);
    const pending = mi.console("python import time; time.sleep(30)");
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await gdb.kill("SIGKILL");
    await assert.rejects(pending, GdbExitedError);
    // The debuggee may keep gdb's stdout open; that must not delay the rejection.
    assert.ok(Date.now() - t0 < 2000);
  });

  it("close() ends a gdb that does not answer -gdb-exit, rejecting what was pending", async () => {
    const { gdb, mi } = await startGdb();
    const exits: GdbExit[] = [];
    gdb.on("exit", (e) => exits.push(e));
    const stuck = mi.console("python import time; time.sleep(30)");
    const t0 = Date.now();
    await gdb.close(300);
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual(exits, [{ code: null, signal: "SIGKILL" }]);
    await assert.rejects(stuck, /^GdbExitedError|gdb was killed by signal SIGKILL/);
  });

  it("a per-command timeout rejects, and the late answer's output does not leak into the next command", async () => {
    const { mi } = await startGdb();
    const t0 = Date.now();
    await assert.rejects(
      mi.console('python import time; time.sleep(1.5); print("late")', { timeoutMs: 200 }),
      (e: unknown) => {
        assert.ok(e instanceof MITimeoutError);
        assert.equal(e.timeoutMs, 200);
        assert.match(e.message, /^gdb did not answer -interpreter-exec console ".*" within 200 ms$/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 1200, "rejected at the time limit, not when gdb answered");
    const next = await mi.console("print 6 * 7");
    assert.equal(next.console, "$1 = 42\n");
  });

  it("a default command timeout from the connection options applies to every command", async () => {
    const { mi } = await startGdb(150);
    await assert.rejects(mi.console("python import time; time.sleep(0.5)"), MITimeoutError);
    assert.equal(await mi.dataEvaluateExpression("2", undefined, { timeoutMs: 5000 }), "2");
  });

  it("a nonexistent gdb path gives the clear ENOENT message", async () => {
    await assert.rejects(GdbConnection.start({ gdbPath: "/nonexistent/bin/gdb" }), (e: unknown) => {
      assert.ok(e instanceof GdbNotFoundError);
      assert.equal(e.message, "gdb not found at /nonexistent/bin/gdb: install gdb or set miDebuggerPath");
      return true;
    });
    await assert.rejects(GdbConnection.start({ gdbPath: "no-such-gdb-on-path" }), {
      message: "gdb not found at no-such-gdb-on-path: install gdb or set miDebuggerPath",
    });
  });

  it("other start failures are GdbStartErrors that say why", async () => {
    await assert.rejects(GdbConnection.start({ gdbPath: "/bin/false" }), (e: unknown) => {
      assert.ok(e instanceof GdbStartError);
      assert.match(e.message, /^gdb at \/bin\/false could not start: gdb exited with code 1/);
      return true;
    });
    await assert.rejects(GdbConnection.start({ gdbPath: "/etc/passwd" }), GdbStartError);
    await assert.rejects(GdbConnection.start({ cwd: "/nonexistent-dir" }), {
      message: "cannot start gdb: working directory /nonexistent-dir does not exist",
    });
  });
});
