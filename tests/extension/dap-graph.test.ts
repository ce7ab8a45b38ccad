// The heap-graph requests of the debug adapter (allocs/leaks, allocs/retainers, allocs/snapshot,
// allocs/diff) against real gdb, the bridge and test-programs/leaks_target.c, whose leaks,
// retainers and growth between its two stops are known (tests/bridge/leaks.test.ts checks the
// same answers through gdb directly).
import assert from "node:assert/strict";
import * as path from "node:path";

import { clientPerTest, continueToStop, HAS_BRIDGE, launchToFunction } from "./dap-client";
import { useLeaksTarget } from "../bridge/leaks-expect";

/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- the bridge's JSON, checked field by field */
type Json = any;

describe("debug adapter: leaks, retainers, snapshots", function () {
  this.timeout(120000);
  const newClient = clientPerTest();
  const target = useLeaksTarget("allocs-dap-graph-", (ctx) => {
    if (!HAS_BRIDGE) ctx.skip();
  });

  it("answers allocs/leaks, allocs/retainers, allocs/snapshot and allocs/diff", async () => {
    const client = newClient();
    const first = await launchToFunction(client, target.exe, "stop");

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

    const snap = path.join(target.dir, "first.snap.json.gz");
    const saved = (await client.customRequest("allocs/snapshot", { action: "save", name: snap }))
      .body as Json;
    assert.equal(saved.path, snap);
    assert.equal(saved.chunks, leaks.live.count);
    await assert.rejects(client.customRequest("allocs/snapshot", { action: "drop" }), /"save", "ls" or "rm"/);

    await continueToStop(client, first.body.threadId ?? 1);
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
