// The helpers behind the views (description.ts) and the DAP requests behind the commands
// (requests.ts) against a fake session.
import * as assert from "node:assert/strict";

import {
  descriptionFromBody,
  headline,
  humanBytes,
  levelsOf,
  parseAddress,
  siteText,
} from "../../extension/src/vscode/description";
import { allocReply } from "../../extension/src/vscode/lldb";
import {
  census,
  describe as describeAddress,
  memoryMap,
  type RequestSession,
} from "../../extension/src/vscode/requests";
import { CENSUS, MAPS, PTS_Y, TYPED } from "./vscode-fixtures";

describe("vscode: description helpers", () => {
  it("reads the adapter's allocs/describe body ({description, summary}) or a bare description", () => {
    assert.deepEqual(descriptionFromBody({ description: PTS_Y, summary: "s" }), PTS_Y);
    assert.deepEqual(descriptionFromBody(PTS_Y), PTS_Y);
    assert.equal(descriptionFromBody({ description: null, summary: null }), undefined);
    assert.equal(descriptionFromBody(undefined), undefined);
  });

  it("headline, site and sizes read like the bridge's text", () => {
    assert.equal(
      headline(PTS_Y),
      "0x5555555592ac is 12 bytes into a 24-byte __default_lib_malloc allocation at 0x5555555592a0",
    );
    assert.equal(headline({ ...PTS_Y, state: "freed" }).includes("freed 24-byte"), true);
    assert.equal(
      headline({ ...PTS_Y, allocator: null, base: null }),
      "0x5555555592ac: nothing known about this address",
    );
    assert.equal(siteText(PTS_Y.site), "main at ui_heap.c:14");
    assert.equal(
      siteText({ function: "main", frame: 0, variable: "p", file: "/a/b.c", line: 3 }),
      "local 'p' in main at b.c:3",
    );
    assert.equal(
      siteText({ symbol: "table", object: "/usr/lib/libx.so", section: ".data" }),
      "table in .data of libx.so",
    );
    assert.equal(humanBytes(24), "24 B");
    assert.equal(humanBytes(1536), "1.5 KiB");
    assert.equal(humanBytes(135168), "132 KiB");
    assert.equal(humanBytes(39976960), "38 MiB");
    assert.equal(humanBytes(null), "?");
  });

  it("levels: the chain, ending with the leaf once (appended when the chain stops above it)", () => {
    assert.deepEqual(
      levelsOf(PTS_Y).map((l) => l.allocator),
      ["mmap", "brk", "__default_lib_malloc"],
    );
    assert.deepEqual(
      levelsOf(TYPED).map((l) => l.allocator),
      ["mmap", "brk", "__default_lib_malloc", "pool"],
    );
    assert.deepEqual(levelsOf({ ...PTS_Y, allocator: null, base: null, size: null, chain: [] }), []);
  });

  it("addresses typed by people: hex or decimal, anything else is an expression", () => {
    assert.equal(parseAddress("0x5555555592AC"), "0x5555555592ac");
    assert.equal(parseAddress(" 4096 "), "0x1000");
    assert.equal(parseAddress("pts + 1"), undefined);
    assert.equal(parseAddress("&pts[1].y"), undefined);
  });

  it("takes an LLDB command's JSON only as its whole output, after lldb-dap's echo", () => {
    const cmd = "alloc maps --json";
    assert.deepEqual(allocReply(`(lldb) ${cmd}\n{"maps": []}\n`, cmd), { maps: [] });
    assert.deepEqual(allocReply('[{"a": 1}]', cmd), [{ a: 1 }]);
    assert.throws(
      () => allocReply(`(lldb) ${cmd}\nerror: alloc: no process\n`, cmd),
      /^Error: alloc: no process$/,
    );
    // text around the JSON is refused, not searched
    assert.throws(() => allocReply(`(lldb) ${cmd}\nwarning: something\n{"maps": []}\n`, cmd), /no JSON/);
    assert.throws(
      () => allocReply(`(lldb) ${cmd}\n{"maps": []}\n{"maps": []}\n`, cmd),
      /not one JSON document/,
    );
    assert.throws(() => allocReply('No symbol "x" in current context.', cmd), /no JSON/);
  });
});

class FakeSession implements RequestSession {
  readonly calls: [string, unknown][] = [];
  constructor(private readonly answer: (command: string, args: unknown) => unknown) {}
  customRequest(command: string, args?: unknown): PromiseLike<unknown> {
    this.calls.push([command, args]);
    try {
      return Promise.resolve(this.answer(command, args));
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

describe("vscode: requests behind the commands", () => {
  it("describe sends an address as an address and anything else as an expression in the frame", async () => {
    const s = new FakeSession(() => ({
      description: PTS_Y,
      summary: "__default_lib_malloc 24 B +12 @ ui_heap.c:14",
    }));
    const r = await describeAddress(s, "0x5555555592AC");
    assert.deepEqual(r.description, PTS_Y);
    assert.equal(r.summary, "__default_lib_malloc 24 B +12 @ ui_heap.c:14");
    await describeAddress(s, " &pts[1].y ", 1000);
    assert.deepEqual(s.calls, [
      ["allocs/describe", { address: "0x5555555592ac" }],
      ["allocs/describe", { expression: "&pts[1].y", frameId: 1000 }],
    ]);
  });

  it("census and maps are the adapter's allocs/census and allocs/maps requests", async () => {
    const s = new FakeSession((command) => {
      if (command === "allocs/census") return CENSUS;
      if (command === "allocs/maps") return { maps: MAPS };
      throw new Error(`unexpected ${command}`);
    });
    assert.deepEqual(await census(s), CENSUS);
    assert.deepEqual(await census(s, "type"), CENSUS);
    assert.deepEqual(await memoryMap(s), MAPS);
    assert.deepEqual(s.calls, [
      ["allocs/census", { by: "site" }],
      ["allocs/census", { by: "type" }],
      ["allocs/maps", {}],
    ]);
  });

  it("census and maps: the adapter's failures are reported as they are, odd answers refused", async () => {
    const broken = new FakeSession(() => {
      throw new Error("cannot take a heap census while the program is running: pause it first");
    });
    await assert.rejects(census(broken), /while the program is running/);
    await assert.rejects(memoryMap(broken), /while the program is running/);
    const odd = new FakeSession(() => ({
      result: "alloc: the allocs runtime is not loaded in this process",
    }));
    await assert.rejects(census(odd), /not a census/);
    await assert.rejects(memoryMap(odd), /not a list of mappings/);
  });
});
