// Pointers expand by what they point at, against real gdb, the bridge and
// test-programs/dap_target.c built by `allocs cc` (types known) and by plain gcc -g (types made
// by zero setup at launch; none when zero setup is off and no metadata was ever made for it):
// a pointer into a typed allocation expands by the type at its offset (one int field is one int,
// an array member the elements that remain); a `void *` and a typed pointer into a struct array
// expand the same way, from the pointer; a freed pointer is not expanded as live data and shows
// no made-up size; "[allocation]" reads like `alloc info`; a local is named once.
import assert from "node:assert/strict";
import type { DebugProtocol } from "@vscode/debugprotocol";

import {
  children,
  clientPerTest,
  dapTarget,
  HAS_BRIDGE,
  launchToBreakpoint,
  markerLine,
  topLocals,
} from "./dap-client";
import { buildProgram, buildWithAllocsCc } from "../lib/programs";

/** The build-id of the build of dap_target no metadata is ever made for. */
const NO_META_ID = "a110c5" + "0".repeat(30) + "beef";
/** arr = malloc(10 * sizeof *arr), arr an int *: 10 ints (sizeof int 4, its 40 bytes). */
const TYPE_OF_ARR = /^int\[10\]/;

function elements(kids: Map<string, DebugProtocol.Variable>): string[] {
  return [...kids.keys()].filter((k) => /^\[\d+\]$/.test(k));
}

(HAS_BRIDGE ? describe : describe.skip)("debug adapter: pointer expansions", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("expands a pointer into a typed allocation by the type at its offset", async () => {
    const client = newClient();
    const program = buildWithAllocsCc("dap_target");
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")], { program });
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    // &list->next->value: one int, its value 42 (not the struct's bytes as ints)
    const valueField = locals.get("value_field") as DebugProtocol.Variable;
    assert.match(valueField.value, /→ __default_lib_malloc struct node \+8 \(\.value\)/);
    const one = await children(client, valueField);
    assert.deepEqual(elements(one), []);
    assert.equal(one.get("*value_field")?.value, "42");
    // &list->data[1]: the 3 elements of data[4] that remain
    const tail = await children(client, locals.get("data_tail") as DebugProtocol.Variable);
    assert.deepEqual(elements(tail), ["[0]", "[1]", "[2]"]);
    assert.deepEqual(
      ["[0]", "[1]", "[2]"].map((k) => tail.get(k)?.value),
      ["20", "30", "40"],
    );
    // void *second = pts + 1 and the typed pts + 1: both from [1], two elements
    const second = locals.get("second") as DebugProtocol.Variable;
    assert.match(second.value, /struct point\[3\] \+12 \(\[1\]\.x\)/);
    const fromVoid = await children(client, second);
    assert.deepEqual(elements(fromVoid), ["[0]", "[1]"]);
    const firstOfVoid = await children(client, fromVoid.get("[0]") as DebugProtocol.Variable);
    assert.equal(firstOfVoid.get("y")?.value, "10");
    const typed = await client.evaluateRequest({ expression: "pts + 1", context: "watch" });
    const fromTyped = await client.variablesRequest({ variablesReference: typed.body.variablesReference });
    const typedKids = new Map(fromTyped.body.variables.map((v) => [v.name, v]));
    assert.deepEqual(elements(typedKids), ["[0]", "[1]"]);
    const firstOfTyped = await children(client, typedKids.get("[0]") as DebugProtocol.Variable);
    assert.equal(firstOfTyped.get("y")?.value, "10");
    // a void * into the frame: the local it points at, named once in the summary
    const stack = locals.get("opaque_stack") as DebugProtocol.Variable;
    assert.match(stack.value, /→ local counter in main$/);
    const counter = await children(client, stack);
    assert.ok(
      [...counter.values()].some((v) => v.value === "6"),
      JSON.stringify([...counter.values()]),
    );
    // mid = arr + 3 in int[10]: 7 elements, as before
    assert.deepEqual(elements(await children(client, locals.get("mid") as DebugProtocol.Variable)).length, 7);
  });

  it("does not expand a freed pointer as live data, nor give it malloc's size", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_FREED")]);
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const arr = locals.get("arr") as DebugProtocol.Variable;
    assert.match(arr.value, /→ freed __default_lib_malloc( @ dap_target\.c:\d+)?$/);
    assert.doesNotMatch(arr.value, /\d+ B/);
    const kids = await children(client, arr);
    assert.deepEqual(elements(kids), []);
    assert.ok(kids.has("[allocation]"));
    assert.match(kids.get("[freed]")?.value ?? "", /freed/);
    const msg = locals.get("msg") as DebugProtocol.Variable;
    assert.doesNotMatch(msg.value, /\d+ B/);
  });

  /** The "[allocation]" rows of `mid` (arr + 3, arr = malloc(10 * sizeof *arr)) at BP_AFTER. */
  async function allocationOfMid(
    client: ReturnType<typeof newClient>,
    extra: Record<string, unknown>,
  ): Promise<Map<string, DebugProtocol.Variable>> {
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")], extra);
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const kids = await children(client, locals.get("mid") as DebugProtocol.Variable);
    return children(client, kids.get("[allocation]") as DebugProtocol.Variable);
  }

  it('shows "[allocation]" as alloc info reads, and says why a plain gcc -g build has no types', async () => {
    const client = newClient();
    // a plain gcc -g build whose metadata no one made: zero setup off for this launch, and a
    // build-id of its own, so that no cache holds metadata for it (the bridge reads the cache too)
    const program = buildProgram("dap_target", {
      variant: "nometa",
      ldflags: [`-Wl,--build-id=0x${NO_META_ID}`],
    });
    const info = await allocationOfMid(client, { program, env: { ALLOCS_AUTO_META: "off" } });
    assert.equal(info.get("allocator")?.value, "__default_lib_malloc (live)");
    assert.equal(info.get("size")?.value, "40 bytes");
    assert.equal(info.get("offset")?.value, "12");
    assert.match(info.get("type")?.value ?? "", /types need metadata|typegen/);
    assert.match(info.get("site")?.value ?? "", /^main at .*dap_target\.c:\d+/);
    // no raw JSON fields
    for (const raw of ["uniqtype", "pathType", "notes", "runtime"]) assert.equal(info.has(raw), false, raw);
    const chain = await children(client, info.get("chain") as DebugProtocol.Variable);
    assert.ok([...chain.values()].some((v) => /^mmap .*\[heap\]/.test(v.value)));
  });

  it('with zero setup, a plain gcc -g build\'s "[allocation]" has its type', async () => {
    const client = newClient();
    const info = await allocationOfMid(client, { program: dapTarget() });
    assert.equal(info.get("allocator")?.value, "__default_lib_malloc (live)");
    assert.equal(info.get("size")?.value, "40 bytes");
    assert.equal(info.get("offset")?.value, "12");
    assert.match(info.get("type")?.value ?? "", TYPE_OF_ARR);
  });

  it("names a local and its field path once", async () => {
    const client = newClient();
    const program = buildWithAllocsCc("dap_target");
    await launchToBreakpoint(client, [markerLine("BP_AFTER")], { program });
    const r = await client.evaluateRequest({ expression: "&counter", context: "watch" });
    assert.match(r.body.result, /→ local counter in main$/);
  });
});
