// The memory view (VS Code opens a pointer's memoryReference in the Hex Editor extension,
// ms-vscode.hexeditor): readMemory and writeMemory work on the memoryReference of every pointer
// the adapter shows (locals, a pointer's children, Watch results), against real gdb and
// test-programs/dap_target.c. Each read is checked against gdb's own reading of the pointee.
import assert from "node:assert/strict";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { children, clientPerTest, launchToBreakpoint, markerLine, topLocals } from "./dap-client";

describe("debug adapter: memory behind every pointer", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("reads and writes back the bytes at every pointer's memoryReference", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const pointers: DebugProtocol.Variable[] = [...locals.values()].filter((v) => /\*/.test(v.type ?? ""));
    assert.ok(pointers.length >= 10, pointers.map((p) => p.name).join(", "));
    // a pointer inside a heap object, and a Watch result
    const list = await children(client, locals.get("list") as DebugProtocol.Variable);
    const next = list.get("next") as DebugProtocol.Variable;
    pointers.push(next);
    const watched = await client.evaluateRequest({ expression: "list->next", context: "watch" });
    pointers.push({
      name: "watch list->next",
      value: watched.body.result,
      variablesReference: 0,
      memoryReference: watched.body.memoryReference,
    });
    for (const p of pointers) {
      const ref = p.memoryReference;
      assert.match(ref ?? "", /^0x[0-9a-f]+$/, `${p.name} has a memoryReference`);
      assert.equal(
        BigInt(ref as string),
        BigInt(p.value.split(" ")[0]),
        `${p.name}: the reference is the pointer's value`,
      );
      const read = await client.send("readMemory", { memoryReference: ref, count: 4 });
      assert.equal(read.body.unreadableBytes ?? 0, 0, p.name);
      const bytes = Buffer.from(read.body.data, "base64");
      assert.equal(bytes.length, 4, p.name);
      // gdb's own view of the first byte
      const first = await client.evaluateRequest({
        expression: `*(unsigned char *)${ref}`,
        context: "watch",
      });
      assert.equal(Number(first.body.result.split(" ")[0]), bytes[0], p.name);
      const wrote = await client.send("writeMemory", {
        memoryReference: ref,
        data: bytes.toString("base64"),
      });
      assert.equal(wrote.body?.bytesWritten ?? 4, 4, p.name);
    }
    // a write is seen by the program's own variables
    await client.send("writeMemory", {
      memoryReference: locals.get("value_field")?.memoryReference,
      data: Buffer.from([7, 0, 0, 0]).toString("base64"),
    });
    assert.equal(
      (await client.evaluateRequest({ expression: "list->next->value", context: "watch" })).body.result,
      "7",
    );
  });
});
