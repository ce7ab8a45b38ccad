// The heap-graph requests of the debug adapter (allocs/leaks, allocs/retainers, allocs/snapshot,
// allocs/diff) against real gdb, the bridge and test-programs/leaks_target.c, whose leaks,
// retainers and growth between its two stops are known (tests/bridge/leaks.test.ts checks the
// same answers through gdb directly).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { clientPerTest, HAS_BRIDGE } from "./dap-client";
import { buildWithAllocsCc } from "../lib/programs";

/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- the bridge's JSON, checked field by field */
type Json = any;

describe("debug adapter: leaks, retainers, snapshots", function () {
  this.timeout(120000);
  const newClient = clientPerTest();
  let exe: string;
  let dir: string;

  before(function () {
    if (!HAS_BRIDGE) this.skip();
    exe = buildWithAllocsCc("leaks_target");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-dap-graph-"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("answers allocs/leaks, allocs/retainers, allocs/snapshot and allocs/diff", async () => {
    const client = newClient();
    await client.start();
    let stopped = client.waitForEvent("stopped", 30000) as Promise<DebugProtocol.StoppedEvent>;
    await client.initializeRequest();
    const initialized = client.waitForEvent("initialized", 30000);
    await client.launchRequest({ program: exe } as DebugProtocol.LaunchRequestArguments);
    await initialized;
    await client.setFunctionBreakpointsRequest({ breakpoints: [{ name: "stop" }] });
    await client.configurationDoneRequest();
    const first = await stopped;

    const leaks = (await client.customRequest("allocs/leaks", {})).body as Json;
    assert.deepEqual(leaks.definite, { count: 3, bytes: 48 });
    assert.deepEqual(leaks.indirect, { count: 4, bytes: 72 });
    assert.deepEqual(leaks.conservative, { count: 1, bytes: 40 });
    assert.deepEqual(
      leaks.groups.map((g: Json) => `${g.kind} ${g.count} ${g.type} ${g.site.function}`).sort(),
      [
        "conservative 1 struct hidden hide",
        "definite 1 struct holder lose_holder",
        "definite 1 struct node lose_list",
        "definite 1 struct pair lose_cycle",
        "indirect 1 struct pair lose_cycle",
        "indirect 1 struct payload lose_holder",
        "indirect 2 struct node lose_list",
      ],
    );

    const ret = (await client.customRequest("allocs/retainers", { expression: "g_cache.buckets[12]->next" }))
      .body as Json;
    assert.deepEqual(
      ret.chains.map((c: Json) => c.steps.map((s: Json) => s.text)),
      [["g_cache .buckets[12]", "struct entry .next"]],
    );
    await assert.rejects(client.customRequest("allocs/retainers", {}), /an expression is needed/);

    const snap = path.join(dir, "first.snap.json.gz");
    const saved = (await client.customRequest("allocs/snapshot", { action: "save", name: snap }))
      .body as Json;
    assert.equal(saved.path, snap);
    assert.equal(saved.chunks, leaks.live.count);
    await assert.rejects(client.customRequest("allocs/snapshot", { action: "drop" }), /"save", "ls" or "rm"/);

    stopped = client.waitForEvent("stopped", 30000) as Promise<DebugProtocol.StoppedEvent>;
    await client.continueRequest({ threadId: first.body.threadId ?? 1 });
    await stopped;
    const d = (await client.customRequest("allocs/diff", { from: snap })).body as Json;
    assert.deepEqual(
      d.byType.map((r: Json) => [r.type, r.added, r.freed, r.netBytes]),
      [
        ["struct grow", 5, 0, 160],
        ["struct entry", 0, 2, -32],
      ],
    );
    await assert.rejects(client.customRequest("allocs/diff", { from: "has space" }), /without spaces/);
  });
});
