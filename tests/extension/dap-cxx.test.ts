// The debug adapter on a C++ program (test-programs/cxx_shapes.cpp, plain g++ -g, metadata from
// `allocs typegen`): in the Variables view, a `Shape *` that points to a Circle is summarised as
// the Circle (its dynamic type, from its vtable pointer) with the new-expression's line, and its
// [allocation] child says so; a `Shape *` whose object was placed in raw memory too; a vector's
// buffer with its push_back line.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { children, clientPerTest, HAS_BRIDGE, launchAndStop, topLocals } from "./dap-client";
import { buildProgram, hasCommand, PROGRAMS_DIR, typegen } from "../lib/programs";

const CXX_SOURCE = path.join(PROGRAMS_DIR, "cxx_shapes.cpp");

/** The line of `cxx_stop();` in main (inside the catch block): all probes are live there. */
function stopLine(): number {
  const lines = fs.readFileSync(CXX_SOURCE, "utf8").split("\n");
  const i = lines.findIndex((l) => l.trim() === "cxx_stop();");
  assert.ok(i >= 0, "no cxx_stop(); line");
  return i + 1;
}

function lineOf(text: string): number {
  const i = fs
    .readFileSync(CXX_SOURCE, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(text));
  assert.ok(i >= 0, text);
  return i + 1;
}

describe("debug adapter: a C++ program", function () {
  this.timeout(120000);
  const newClient = clientPerTest();

  (HAS_BRIDGE && hasCommand("g++") ? it : it.skip)(
    "shows a base-class pointer's object as its dynamic type, with its allocation",
    async () => {
      const exe = buildProgram("cxx_shapes", { cc: "gcc", variant: "dap" });
      typegen(exe, { quiet: true });
      const client = newClient();
      const stop = await launchAndStop(
        client,
        { program: exe, args: ["stop"] },
        () =>
          client.setBreakpointsRequest({
            source: { path: CXX_SOURCE },
            breakpoints: [{ line: stopLine() }],
          }),
        30000,
      );
      const locals = await topLocals(client, stop.body.threadId ?? 1);
      const circle = locals.get("circle") as DebugProtocol.Variable;
      assert.ok(circle, [...locals.keys()].join(" "));
      const newLine = lineOf("geo::Shape *circle = new geo::Circle");
      assert.match(
        circle.value,
        new RegExp(`→ __default_lib_malloc struct geo::Circle @ cxx_shapes\\.cpp:${newLine}$`),
      );
      // A vector's buffer: Point[capacity], sited at the user's push_back line, not the library's.
      const vecData = locals.get("vec_data") as DebugProtocol.Variable;
      assert.ok(vecData, [...locals.keys()].join(" "));
      const pushLine = lineOf("vec.push_back(geo::Point{i, -i});");
      assert.match(
        vecData.value,
        new RegExp(`→ __default_lib_malloc struct geo::Point\\[8\\] @ cxx_shapes\\.cpp:${pushLine}$`),
      );
      const placed = locals.get("placed") as DebugProtocol.Variable;
      assert.match(placed.value, /→ __default_lib_malloc struct geo::Circle @ cxx_shapes\.cpp:\d+$/);
      const allocation = (await children(client, placed)).get("[allocation]") as DebugProtocol.Variable;
      assert.ok(allocation, "no [allocation] child");
      const fields = await children(client, allocation);
      assert.equal(fields.get("type")?.value, "struct geo::Circle");
      assert.equal(fields.get("size")?.value, "32 bytes"); // as alloc info reads
    },
  );
});
