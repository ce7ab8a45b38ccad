// The heap treemap (extension/src/vscode/treemap-page.ts, treemap-render.ts, treemap-layout.ts)
// drawn from what the real bridge answers on a live session: the debug adapter runs gdb on
// test-programs/leaks_target.c, and the page "Show Heap Treemap" draws at each stop is built from
// its allocs/census, allocs/snapshot and allocs/diff answers exactly as the command does. Checked:
// one rectangle per census row with its area proportional to the row's bytes, no overlaps, a
// tooltip and aria label with count and bytes, a click listing that row's allocations (allocs/ls
// with the link's own arguments), and, after the program's known growth between its two stops
// (5 struct grow added at one site, 2 struct entry freed), that growth in the hover text and the
// colours. The pages are written to .test-output/extension/ to be looked at.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { clientPerTest, continueToStop, HAS_BRIDGE, launchToFunction } from "./dap-client";
import { useLeaksTarget } from "../bridge/leaks-expect";
import { endLldbDap } from "../bridge/lldb";
import { buildWithAllocsCc, PROGRAMS_DIR, ROOT } from "../lib/programs";
import { findLldbAdapter, lldbConfiguration, lldbRequests } from "../../extension/src/vscode/lldb";
import type { CensusJson } from "../../extension/src/vscode/description";
import type { RequestSession } from "../../extension/src/vscode/requests";
import { treemapPage } from "../../extension/src/vscode/treemap-page";
import { growthColour, siteKey, TREEMAP_COMMAND } from "../../extension/src/vscode/treemap-render";
import { renderPage, VIEW_COMMANDS } from "../../extension/src/vscode/render";
import { validate } from "../lib/json-schema";

const OUT = path.resolve(__dirname, "..", "..", "..", ".test-output", "extension");

interface Cell {
  left: number;
  top: number;
  width: number;
  height: number;
  background: string;
  label: string;
  key: string;
  href?: string;
}

function unescape(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}

/** The rectangles of a treemap page, as a browser would place them (percent of the box). */
function cells(html: string): Cell[] {
  const out: Cell[] = [];
  for (const m of html.matchAll(/<(a|div) class="tm-cell"([^>]*)>/g)) {
    const attrs = m[2];
    const attr = (name: string): string | undefined => {
      const v = new RegExp(` ${name}="([^"]*)"`).exec(attrs);
      return v === null ? undefined : unescape(v[1]);
    };
    const style = attr("style") ?? "";
    const num = (prop: string): number => Number(new RegExp(`${prop}:([0-9.]+)%`).exec(style)?.[1]);
    out.push({
      left: num("left"),
      top: num("top"),
      width: num("width"),
      height: num("height"),
      background: /background:([^;]+)/.exec(style)?.[1] ?? "",
      label: attr("aria-label") ?? "",
      key: attr("data-key") ?? "",
      href: attr("href"),
    });
  }
  return out;
}

/** A rectangle's link: the command and its arguments (a `command:` URI). */
function linkArgs(href: string): { command: string; args: unknown[] } {
  const m = /^command:([^?]+)\?(.*)$/.exec(href);
  assert.ok(m, `a command link: ${href}`);
  return { command: m[1], args: JSON.parse(decodeURIComponent(m[2])) as unknown[] };
}

function lineOf(file: string, text: string): number {
  const i = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `${text} in ${file}`);
  return i + 1;
}

function save(name: string, body: string): void {
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, name), renderPage("Allocs: Heap Treemap", body));
}

/** Every census row with bytes is one rectangle, its area its share of the live bytes. */
function checkAreas(drawn: Cell[], c: CensusJson, by: "type" | "site"): void {
  const rows = c.rows.filter((r) => r.bytes > 0);
  assert.equal(drawn.length, rows.length, "one rectangle per census row");
  const total = rows.reduce((n, r) => n + r.bytes, 0);
  for (const r of rows) {
    const key = by === "type" ? (r.type ?? "(type unknown)") : siteKey(r.site);
    const cell = drawn.find((d) => d.key === key);
    assert.ok(cell, `a rectangle for ${key}`);
    const share = (cell.width * cell.height) / 1e4;
    assert.ok(
      Math.abs(share - r.bytes / total) < 1e-4,
      `${key}: area ${share} for ${r.bytes} of ${total} bytes`,
    );
    assert.match(cell.label, new RegExp(`in ${r.count} allocations?`), `${key}'s aria label has its count`);
  }
  for (let i = 0; i < drawn.length; i++) {
    const a = drawn[i];
    assert.ok(a.left >= 0 && a.top >= 0 && a.left + a.width <= 100.001 && a.top + a.height <= 100.001);
    for (let j = i + 1; j < drawn.length; j++) {
      const b = drawn[j];
      const w = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
      const h = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
      assert.ok(!(w > 0.002 && h > 0.002), `${a.key} and ${b.key} overlap`);
    }
  }
}

describe("debug adapter: the heap treemap from the bridge's answers", function () {
  this.timeout(120000);
  const newClient = clientPerTest();
  const target = useLeaksTarget("allocs-dap-treemap-", (ctx) => {
    if (!HAS_BRIDGE) ctx.skip();
  });

  it("draws the live heap by type and by site, links to allocations, and the growth since a snapshot", async () => {
    const client = newClient();
    const first = await launchToFunction(client, target.exe, "stop");
    const session: RequestSession = {
      customRequest: async (command, args) => (await client.customRequest(command, args)).body as unknown,
    };

    // the live heap by type: what the census says, drawn
    const byType = (await session.customRequest("allocs/census", { by: "type" })) as CensusJson;
    assert.deepEqual(validate("census.schema.json", byType), [], "the census the treemap reads");
    const page = await treemapPage(session, { by: "type" });
    save("treemap-by-type.html", page.body);
    assert.match(page.title, new RegExp(`by type \\(${byType.total.chunks} allocations`));
    const drawn = cells(page.body);
    checkAreas(drawn, byType, "type");
    assert.ok(
      drawn.some((d) => d.key === "struct node"),
      "the lost list's nodes are there",
    );
    assert.ok(!drawn.some((d) => d.key === "struct grow"), "nothing grown yet");
    // colour fixed per type: the same at the next draw
    const again = cells((await treemapPage(session, { by: "type" })).body);
    assert.deepEqual(
      again.map((d) => [d.key, d.background]),
      drawn.map((d) => [d.key, d.background]),
    );
    // keyboard and screen readers: every rectangle is a link (focusable) or has tabindex, with a label
    assert.match(
      page.body,
      /<div class="treemap" role="group" aria-label="treemap of the live heap by type">/,
    );
    assert.equal((page.body.match(/class="tm-cell"/g) ?? []).length, drawn.length);
    // the table stays: every census row has its row in it
    assert.match(page.body, /<h3>As a table<\/h3><div class="census chart" role="table"/);
    assert.ok(page.body.includes(`href="command:${TREEMAP_COMMAND}?`), "the by-site toggle is a link");

    // a click does what a census row's click does: the allocations of that type
    const node = drawn.find((d) => d.key === "struct node");
    assert.ok(node?.href);
    const link = linkArgs(node.href);
    assert.equal(link.command, VIEW_COMMANDS.list);
    assert.deepEqual(link.args, [{ type: "struct node" }]);
    const ls = (await session.customRequest("allocs/ls", { ...(link.args[0] as object), limit: 500 })) as {
      entries: { type: string | null }[];
      matched: number;
    };
    const nodeRow = byType.rows.find((r) => r.type === "struct node");
    assert.equal(ls.matched, nodeRow?.count);
    assert.ok(ls.entries.every((e) => e.type === "struct node"));

    // by site: the same census, by site, keyed as the diff keys sites
    const bySite = (await session.customRequest("allocs/census", { by: "site" })) as CensusJson;
    const sitePage = await treemapPage(session, { by: "site" });
    save("treemap-by-site.html", sitePage.body);
    checkAreas(cells(sitePage.body), bySite, "site");

    // growth: a snapshot, the program's second stop, then the comparison
    const snap = path.join(target.dir, "first.snap.json.gz");
    await session.customRequest("allocs/snapshot", { action: "save", name: snap });
    await continueToStop(client, first.body.threadId ?? 1);

    const nowByType = (await session.customRequest("allocs/census", { by: "type" })) as CensusJson;
    assert.deepEqual(
      validate("diff.schema.json", await session.customRequest("allocs/diff", { from: snap })),
      [],
      "the diff the treemap reads",
    );
    const grown = await treemapPage(session, { by: "type", from: snap });
    save("treemap-growth-by-type.html", grown.body);
    const g = cells(grown.body);
    checkAreas(g, nowByType, "type");
    const growRow = nowByType.rows.find((r) => r.type === "struct grow");
    assert.deepEqual([growRow?.count, growRow?.bytes], [5, 160], "5 struct grow of 32 bytes live now");
    const grow = g.find((d) => d.key === "struct grow");
    assert.ok(grow);
    assert.match(
      grow.label,
      /^struct grow: 160 B in 5 allocations; since the snapshot: 5 added \(160 B\), 0 freed \(0 B\), net \+5 \(\+160 B\)$/,
    );
    assert.equal(grow.background, growthColour(160, 160), "the largest growth, strongest red");
    const entry = g.find((d) => d.key === "struct entry");
    assert.ok(entry);
    assert.match(entry.label, /since the snapshot: 0 added \(0 B\), 2 freed \(32 B\), net -2 \(-32 B\)$/);
    assert.equal(entry.background, growthColour(-32, 160), "shrank: blue");
    for (const d of g.filter((c) => c.key !== "struct grow" && c.key !== "struct entry"))
      assert.equal(d.background, growthColour(0, 160), `${d.key} unchanged: grey`);
    assert.ok(grown.body.includes(`Heap growth by type from ${snap} to now`));
    assert.ok(
      grown.body.includes(
        `<span class="tm-label">struct grow</span><span class="tm-size">160 B (+160 B)</span>`,
      ),
    );

    // by site: the growth found under the census's site (the diff's key for it)
    const growLine = lineOf(path.join(PROGRAMS_DIR, "leaks_target.c"), "malloc(sizeof(struct grow))");
    const siteGrown = await treemapPage(session, { by: "site", from: snap });
    save("treemap-growth-by-site.html", siteGrown.body);
    const growSite = cells(siteGrown.body).find((d) => d.key.endsWith(`leaks_target.c:${growLine}`));
    assert.ok(growSite, `a rectangle for the site at line ${growLine}`);
    assert.match(growSite.key, /^grow at /);
    assert.match(growSite.label, /160 B in 5 allocations; since the snapshot: 5 added \(160 B\), 0 freed/);
    assert.deepEqual(linkArgs(growSite.href ?? "").args, [{ site: growSite.key.replace(/^grow at /, "") }]);
  });
});

describe("the heap treemap in an allocs-lldb session (lldb-vscode-16, the LLDB front)", function () {
  this.timeout(240000);
  const ADAPTER = "lldb-vscode-16";
  let dc: DebugClient | undefined;
  let debuggee: number | undefined;
  let dir: string;

  before(function () {
    if (!HAS_BRIDGE || findLldbAdapter([ADAPTER]) === undefined) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-lldb-treemap-"));
  });
  after(async () => {
    // the debuggee's pid comes from the client's process event: none without a client
    if (dc !== undefined) await endLldbDap(dc, { terminateDebuggee: true }, debuggee);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("draws the live heap and the growth since a snapshot from LLDB's answers", async () => {
    const exe = buildWithAllocsCc("leaks_target");
    const client = new DebugClient("/usr/bin/env", ADAPTER, "lldb");
    dc = client;
    client.defaultTimeout = 60000;
    await client.start();
    client.on("process", (e: DebugProtocol.ProcessEvent) => (debuggee = e.body.systemProcessId));
    await client.initializeRequest({
      adapterID: "allocs-lldb",
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: "path",
    });
    const config = lldbConfiguration({ request: "launch", program: exe }, ROOT);
    const launched = client.launchRequest(config as DebugProtocol.LaunchRequestArguments);
    await client.waitForEvent("initialized");
    await client.setFunctionBreakpointsRequest({ breakpoints: [{ name: "stop" }] });
    await client.configurationDoneRequest();
    await launched;
    const first = (await client.waitForEvent("stopped")) as DebugProtocol.StoppedEvent;
    // as the extension asks in an allocs-lldb session (extension.ts requestsFor)
    const session = lldbRequests({
      customRequest: async (command: string, args?: unknown) =>
        (await client.customRequest(command, args)).body,
    });
    const byType = (await session.customRequest("allocs/census", { by: "type" })) as CensusJson;
    const page = await treemapPage(session, { by: "type" });
    save("treemap-lldb-by-type.html", page.body);
    checkAreas(cells(page.body), byType, "type");
    assert.ok(cells(page.body).some((d) => d.key === "struct node"));

    const snap = path.join(dir, "first.snap.json.gz");
    await session.customRequest("allocs/snapshot", { action: "save", name: snap });
    const stopped = client.waitForEvent("stopped");
    await client.continueRequest({ threadId: first.body.threadId ?? 1 });
    await stopped;
    const now = (await session.customRequest("allocs/census", { by: "type" })) as CensusJson;
    const grown = await treemapPage(session, { by: "type", from: snap });
    save("treemap-lldb-growth-by-type.html", grown.body);
    const g = cells(grown.body);
    checkAreas(g, now, "type");
    assert.match(
      g.find((d) => d.key === "struct grow")?.label ?? "",
      /^struct grow: 160 B in 5 allocations; since the snapshot: 5 added \(160 B\), 0 freed \(0 B\), net \+5 \(\+160 B\)$/,
    );
    assert.match(g.find((d) => d.key === "struct entry")?.label ?? "", /2 freed \(32 B\), net -2 \(-32 B\)$/);
  });
});
