// What a cpptools user meets first, against real gdb and test-programs/dap_target.c: failed
// evaluations never pop up (a hover that fails shows nothing, a watch's error stays inline, a
// request about a stop that is over is nobody's business), while a bad launch still does;
// gdb's raw MI error text never reaches the Variables view; and the Debug Console evaluates
// words as expressions (gdb commands need `-exec`, as in cpptools; `alloc ...` is known).
import assert from "node:assert/strict";
import type { DebugProtocol } from "@vscode/debugprotocol";

import {
  children,
  clientPerTest,
  HAS_BRIDGE,
  launchToBreakpoint,
  markerLine,
  SOURCE,
  TestClient,
  topFrameEvaluator,
  topLocals,
} from "./dap-client";

describe("debug adapter: errors the user sees", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("never pops up a failed hover, watch or a request about a stop that is over", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_LOOP"), markerLine("BP_AFTER")]);
    const threadId = stop.body.threadId ?? 1;
    const hover = await topFrameEvaluator(client, threadId, "hover");
    await assert.rejects(hover("NULL"), /No symbol "NULL"/);
    assert.deepEqual(client.lastFailure("evaluate").showUser, false);
    const watch = await topFrameEvaluator(client, threadId, "watch");
    // the message is what VS Code shows inline in the Watch view
    await assert.rejects(watch("not_in_scope_here"), /No symbol "not_in_scope_here" in current context/);
    assert.deepEqual(client.lastFailure("evaluate"), {
      message: 'No symbol "not_in_scope_here" in current context.',
      showUser: false,
    });
    await assert.rejects(watch("counter++"), /not evaluated in watch: it assigns/);
    assert.equal(client.lastFailure("evaluate").showUser, false);
    // references and frames of the previous stop, after the program moved on
    const st = await client.stackTraceRequest({ threadId });
    const oldFrame = st.body.stackFrames[0].id;
    const scopes = await client.scopesRequest({ frameId: oldFrame });
    const oldLocals = scopes.body.scopes[0].variablesReference;
    await client.variablesRequest({ variablesReference: oldLocals });
    const next = client.waitForEvent("stopped", 20000);
    await client.continueRequest({ threadId });
    await next;
    await assert.rejects(client.variablesRequest({ variablesReference: oldLocals + 5000 }), /moved on/);
    assert.equal(client.lastFailure("variables").showUser, false);
    await assert.rejects(
      client.evaluateRequest({ expression: "sum", context: "watch", frameId: oldFrame + 5000 }),
      /moved on/,
    );
    assert.equal(client.lastFailure("evaluate").showUser, false);
  });

  it("refuses requests while the program runs without a pop-up", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_LOOP")]);
    const threadId = stop.body.threadId ?? 1;
    await client.setBreakpointsRequest({ source: { path: SOURCE }, breakpoints: [] });
    const st = await client.stackTraceRequest({ threadId });
    const frameId = st.body.stackFrames[0].id;
    await client.continueRequest({ threadId });
    // the program runs on to its end: anything asked now is answered "running" or "not running"
    await assert.rejects(client.evaluateRequest({ expression: "sum", context: "watch", frameId }));
    assert.equal(client.lastFailure("evaluate").showUser, false);
  });

  it("still shows a bad launch configuration to the user", async () => {
    const client = newClient();
    await client.start();
    await client.initializeRequest();
    await assert.rejects(
      client.launchRequest({ program: "/nonexistent/prog" } as DebugProtocol.LaunchRequestArguments),
    );
    assert.equal(client.lastFailure("launch").showUser, true);
  });

  (HAS_BRIDGE ? it : it.skip)(
    "shows gdb's reason, never raw MI error text, in the Variables view",
    async () => {
      const client = newClient();
      const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
      const locals = await topLocals(client, stop.body.threadId ?? 1);
      // every pointer local expanded: no child reads like "<-var-create: ...>"
      for (const name of [
        "pts",
        "arr",
        "mid",
        "opaque",
        "msg",
        "list",
        "value_field",
        "data_tail",
        "second",
        "opaque_stack",
      ]) {
        const v = locals.get(name) as DebugProtocol.Variable;
        assert.ok(v, `a local ${name}`);
        const kids = await children(client, v);
        for (const [k, c] of kids) {
          assert.doesNotMatch(c.value, /-var-create|unable to create variable object|^<-/, `${name} ${k}`);
        }
      }
      // a pointer to memory that cannot be read: a sentence, not MI text
      const bad = await client.evaluateRequest({ expression: "(int *)16", context: "watch" });
      const kids = await client.variablesRequest({ variablesReference: bad.body.variablesReference });
      for (const c of kids.body.variables) assert.doesNotMatch(c.value, /-var-create|unable to create/);
    },
  );
});

describe("debug adapter: the Debug Console", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  async function console(client: TestClient, threadId: number) {
    return topFrameEvaluator(client, threadId, "repl");
  }

  it("evaluates words as expressions and runs gdb commands only behind -exec", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const threadId = stop.body.threadId ?? 1;
    const repl = await console(client, threadId);
    const line = async (): Promise<number | undefined> =>
      (await client.stackTraceRequest({ threadId })).body.stackFrames[0].line;
    const before = await line();
    // `next` is not a variable here: an error that says how to run the command, and no step
    await assert.rejects(repl("next"), /No symbol "next" in current context.*-exec next/);
    assert.equal(client.lastFailure("evaluate").showUser, false);
    assert.equal(await line(), before);
    await assert.rejects(repl("finish"), /-exec finish/);
    assert.equal((await repl("counter")).body.result, "6");
    // a field called like a gdb command is a field: list->next is evaluated
    assert.match((await repl("list->next")).body.result, /^0x[0-9a-f]+/);
    assert.match((await repl("-exec info line")).body.result, /Line \d+ of .*dap_target\.c/);
    if (HAS_BRIDGE)
      assert.match((await repl("alloc info mid")).body.result, /allocator\s+__default_lib_malloc/);
  });
});
