// What the debug adapter adds to a debugger, against real gdb 13, the bridge and
// test-programs/dap_target.c: allocation summaries beside pointers, arrays of the chunk's real
// length, a void * shown as its run-time type, and the allocs/describe, allocs/census and
// allocs/maps requests.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import type { DebugProtocol } from "@vscode/debugprotocol";

import {
  children,
  clientPerTest,
  HAS_BRIDGE,
  launchToBreakpoint,
  markerLine,
  SOURCE,
  topLocals,
} from "./dap-client";
import { buildWithAllocsCc } from "../lib/programs";
import type { CensusJson, DescriptionJson, MapNodeJson } from "../../extension/src/vscode/description";

describe("debug adapter: allocations", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  (HAS_BRIDGE ? it : it.skip)("shows allocation summaries beside pointers, field by field", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const arr = locals.get("arr") as DebugProtocol.Variable;
    const mid = locals.get("mid") as DebugProtocol.Variable;
    const arrAddress = BigInt(arr.value.split(" ")[0]);
    assert.equal(mid.memoryReference, `0x${(arrAddress + 12n).toString(16)}`);
    // the summary: allocator, size while the type is unknown, offset, allocation site
    const allocLine = markerLine("BP_AFTER") - 13; // arr = malloc(...) in main
    assert.match(
      mid.value,
      /^0x[0-9a-f]+ → __default_lib_malloc (40 B|int\[10\]) \+12 .*@ dap_target\.c:\d+$/,
    );
    assert.match(arr.value, /^0x[0-9a-f]+ → __default_lib_malloc (40 B|int\[10\]) @ dap_target\.c:\d+$/);
    assert.ok(allocLine > 0);
    // the virtual [allocation] child holds the whole description, as `alloc info` reads
    const kids = await children(client, mid);
    const allocation = kids.get("[allocation]") as DebugProtocol.Variable;
    assert.equal(allocation.presentationHint?.kind, "virtual");
    const fields = await children(client, allocation);
    assert.equal(fields.get("allocator")?.value, "__default_lib_malloc (live)");
    assert.equal(BigInt(fields.get("base")?.value ?? "0"), arrAddress);
    assert.equal(fields.get("size")?.value, "40 bytes");
    assert.equal(fields.get("offset")?.value, "12");
    assert.match(fields.get("site")?.value ?? "", /^main at \S*dap_target\.c:\d+ /);
    // a stack address and a string literal are described too
    const r = await client.customRequest("allocs/describe", { expression: "&counter" });
    const d = (r.body as { description: DescriptionJson }).description;
    assert.equal(d.allocator, "stackframe");
  });

  (HAS_BRIDGE ? it : it.skip)(
    "expands a pointer into a heap array as an array of the chunk's real length",
    async () => {
      const client = newClient();
      const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
      const locals = await topLocals(client, stop.body.threadId ?? 1);
      // mid = arr + 3 in a 10-int chunk: 7 elements, 9, 16, ..., 81
      const mid = await children(client, locals.get("mid") as DebugProtocol.Variable);
      const elements = [...mid.keys()].filter((k) => k.startsWith("["));
      assert.deepEqual(elements, ["[allocation]", "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]"]);
      assert.deepEqual(
        [0, 1, 2, 3, 4, 5, 6].map((i) => mid.get(`[${i}]`)?.value),
        ["9", "16", "25", "36", "49", "64", "81"],
      );
      const arr = await children(client, locals.get("arr") as DebugProtocol.Variable);
      assert.equal(arr.get("[9]")?.value, "81");
      assert.equal(arr.has("[10]"), false);
      // struct point[3] from malloc(3 * sizeof *pts)
      const pts = await children(client, locals.get("pts") as DebugProtocol.Variable);
      assert.equal(pts.has("[2]"), true);
      assert.equal(pts.has("[3]"), false);
      const p1 = await children(client, pts.get("[1]") as DebugProtocol.Variable);
      assert.deepEqual(
        ["x", "y", "z"].map((f) => p1.get(f)?.value),
        ["1", "10", "100"],
      );
      // char *msg = strdup("hello allocs"): 13 chars
      const msg = await children(client, locals.get("msg") as DebugProtocol.Variable);
      assert.equal(msg.has("[12]"), true);
      assert.equal(msg.has("[13]"), false);
    },
  );

  (HAS_BRIDGE ? it : it.skip)("expands a void * as its dynamic type from the run-time type", async () => {
    const client = newClient();
    // built by `allocs cc`, so the runtime loads type metadata and the heap site has a type
    const program = buildWithAllocsCc("dap_target");
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")], { program });
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const opaque = locals.get("opaque") as DebugProtocol.Variable;
    const r = await client.customRequest("allocs/describe", { expression: "opaque" });
    const d = (r.body as { description: DescriptionJson }).description;
    assert.equal(d.allocator, "__default_lib_malloc");
    assert.equal(d.type, "struct point[3]");
    assert.match(opaque.value, /→ __default_lib_malloc struct point\[3\]/);
    const kids = await children(client, opaque);
    assert.ok(kids.has("[allocation]"));
    // void * -> struct point[3]: three elements, each with the struct's fields
    const second = kids.get("[1]") as DebugProtocol.Variable;
    assert.ok(second, `children: ${[...kids.keys()].join(", ")}`);
    const fields = await children(client, second);
    assert.deepEqual(
      [...fields.keys()].filter((k) => !k.startsWith("[")),
      ["x", "y", "z"],
    );
  });

  it("answers allocs/describe for an address and for an expression", async function () {
    if (!HAS_BRIDGE) this.skip();
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const byExpr = await client.customRequest("allocs/describe", { expression: "mid" });
    const d = (byExpr.body as { description: DescriptionJson; summary: string }).description;
    assert.equal(d.allocator, "__default_lib_malloc");
    assert.equal(d.size, 40);
    assert.equal(d.offset, 12);
    assert.equal(d.state, "live");
    assert.equal(d.site?.function, "main");
    const byAddress = await client.customRequest("allocs/describe", { address: d.base });
    const b = (byAddress.body as { description: DescriptionJson }).description;
    assert.equal(b.offset, 0);
    assert.equal(b.base, d.base);
    await assert.rejects(client.customRequest("allocs/describe", {}), /address or an expression/);
    assert.ok(stop);
  });

  (HAS_BRIDGE ? it : it.skip)("answers allocs/census by site and by type, and allocs/maps", async () => {
    const client = newClient();
    const program = buildWithAllocsCc("dap_target");
    await launchToBreakpoint(client, [markerLine("BP_AFTER")], { program });
    const bySite = (await client.customRequest("allocs/census", {})).body as CensusJson;
    assert.equal(bySite.by, "site");
    const ptsLine =
      fs
        .readFileSync(SOURCE, "utf8")
        .split("\n")
        .findIndex((l) => l.includes("malloc(3 * sizeof *pts)")) + 1;
    const pts = bySite.rows.find((r) => r.site?.line === ptsLine);
    assert.ok(pts, `a row for the malloc at dap_target.c:${ptsLine}: ${JSON.stringify(bySite.rows)}`);
    assert.equal(pts.site?.function, "main");
    assert.equal(pts.count, 1);
    assert.equal(pts.bytes, 36);
    // largest first; the totals agree with the runtime's own counters
    const bytes = bySite.rows.map((r) => r.bytes);
    assert.deepEqual(
      bytes,
      [...bytes].sort((a, b) => b - a),
    );
    assert.equal(
      bySite.total.bytes,
      bytes.reduce((a, b) => a + b, 0),
    );
    assert.equal(bySite.runtimeStats?.liveBytes, bySite.total.bytes);
    const byType = (await client.customRequest("allocs/census", { by: "type" })).body as CensusJson;
    assert.equal(byType.by, "type");
    assert.deepEqual(
      byType.rows.filter((r) => r.type === "struct point[]").map((r) => [r.count, r.bytes]),
      [[1, 36]],
    );
    assert.ok(byType.rows.some((r) => r.type === "int[]" && r.bytes === 40));
    await assert.rejects(client.customRequest("allocs/census", { by: "size" }), /"site" or "type"/);
    const maps = (await client.customRequest("allocs/maps", {})).body as { maps: MapNodeJson[] };
    const all: MapNodeJson[] = [];
    const walk = (ns: readonly MapNodeJson[]): void => {
      for (const n of ns) {
        all.push(n);
        walk(n.children ?? []);
      }
    };
    walk(maps.maps);
    const elf = all.find((n) => n.allocator === "elf_file" && n.name === program);
    assert.ok(elf, "the program's ELF file is in the map");
    assert.ok((elf.children ?? []).some((c) => c.allocator === "elf_segment"));
    assert.ok(
      all.some((n) => n.name === "[stack]"),
      "the main stack is in the map",
    );
    assert.ok(
      maps.maps.some((n) => n.name === "[heap]" && n.children?.some((c) => c.allocator === "brk")),
      "the brk heap is in its [heap] mapping",
    );
    // the runtime's own memory is labelled: its library, and the tables its root points to (gdb
    // reads the root's fields for the ground truth)
    const runtimeLib = all.find((n) => n.allocator === "elf_file" && /liballocs\.so$/.test(n.name ?? ""));
    assert.equal(runtimeLib?.runtime?.part, "library");
    assert.ok(runtimeLib?.runtime?.holds.includes("the root record"));
    const frameId = (await client.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].id;
    const rootField = async (field: string): Promise<bigint> =>
      BigInt(
        (
          await client.evaluateRequest({
            expression: `(unsigned long)__allocs_root.${field}`,
            context: "watch",
            frameId,
          })
        ).body.result.split(" ")[0],
      );
    for (const [field, what] of [
      ["sites", "the site table"],
      ["bigs", "the levels table"],
      ["sub_l1", "the pool bitmap index"],
    ]) {
      const at = await rootField(field);
      const holder = all.find(
        (n) => n.allocator === "mmap" && BigInt(n.base) <= at && at < BigInt(n.base) + BigInt(n.size),
      );
      assert.ok(holder, `a mapping holds ${what} at 0x${at.toString(16)}`);
      assert.equal(holder.runtime?.part, "tables", what);
      assert.ok(holder.runtime?.holds.includes(what), `${what}: ${JSON.stringify(holder.runtime)}`);
    }
    // the program's own memory is not the runtime's
    assert.equal(elf.runtime, null);
    assert.equal(maps.maps.find((n) => n.name === "[heap]")?.runtime, null);
  });

  (HAS_BRIDGE ? it : it.skip)(
    "lists the allocations behind a census row (allocs/ls by type and by site)",
    async () => {
      const client = newClient();
      const program = buildWithAllocsCc("dap_target");
      await launchToBreakpoint(client, [markerLine("BP_AFTER")], { program });
      const byType = (await client.customRequest("allocs/ls", { type: "struct point[]" })).body as {
        entries: { base: string; size: number; type: string | null }[];
        matched: number;
      };
      assert.equal(byType.matched, 1);
      assert.equal(byType.entries[0].size, 36);
      assert.equal(byType.entries[0].type, "struct point[3]");
      const nodes = (await client.customRequest("allocs/ls", { type: "struct node" })).body as {
        matched: number;
      };
      assert.equal(nodes.matched, 2);
      const ptsLine =
        fs
          .readFileSync(SOURCE, "utf8")
          .split("\n")
          .findIndex((l) => l.includes("malloc(3 * sizeof *pts)")) + 1;
      const bySite = (await client.customRequest("allocs/ls", { site: `${SOURCE}:${ptsLine}` })).body as {
        entries: { base: string }[];
      };
      assert.deepEqual(
        bySite.entries.map((e) => e.base),
        byType.entries.map((e) => e.base),
      );
    },
  );
});
