// The pictures the extension draws (render.ts) on descriptions captured from the bridge (each
// copy checked against its JSON Schema in docs/schema, so it cannot drift from the contract), the
// helpers behind them (description.ts), and the DAP requests behind the commands (requests.ts)
// against a fake session. The rendered pages are also written to .test-output/extension/ to be
// looked at.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import {
  descriptionFromBody,
  headline,
  humanBytes,
  isRuntimeObject,
  jsonInText,
  levelsOf,
  nestMaps,
  parseAddress,
  siteText,
  type CensusJson,
  type DescriptionJson,
  type MapNodeJson,
  type NestedMapNode,
} from "../../extension/src/vscode/description";
import {
  censusRowFilter,
  escapeXml,
  renderCensusPageHtml,
  renderListHtml,
  renderCensusHtml,
  renderCensusChart,
  renderDescriptionHtml,
  renderHierarchySvg,
  renderMemoryMapChart,
  renderPage,
} from "../../extension/src/vscode/render";
import {
  census,
  describe as describeAddress,
  memoryMap,
  type RequestSession,
} from "../../extension/src/vscode/requests";
import { validate } from "../lib/json-schema";

const OUT = path.resolve(__dirname, "..", "..", "..", ".test-output", "extension");

// `alloc info --json &pts[1].y` in test-programs/ui_heap.c, stopped at its BREAK line
const PTS_Y: DescriptionJson = {
  address: "0x5555555592ac",
  allocator: "__default_lib_malloc",
  base: "0x5555555592a0",
  size: 24,
  offset: 12,
  type: null,
  uniqtype: null,
  path: "",
  pathType: null,
  state: "live",
  site: {
    pc: "0x55555555516b",
    function: "main",
    file: "/work/main/test-programs/ui_heap.c",
    line: 14,
    seq: 1,
  },
  chain: [
    { allocator: "mmap", base: "0x555555559000", size: 135168, name: "[heap]" },
    { allocator: "brk", base: "0x555555559000", size: 135168, name: null },
    { allocator: "__default_lib_malloc", base: "0x5555555592a0", size: 24, name: null },
  ],
  runtime: true,
  notes: [],
  damage: [],
};

// the same with type metadata and a pool object inside the chunk
const TYPED: DescriptionJson = {
  ...PTS_Y,
  allocator: "pool",
  base: "0x5555555592a8",
  size: 8,
  offset: 4,
  type: "struct point",
  path: ".y",
  pathType: "int",
  chain: PTS_Y.chain,
  notes: ["a <note> & more"],
};

// `alloc census --json` at the same stop
const CENSUS: CensusJson = {
  by: "site",
  rows: [
    {
      site: {
        pc: "0x555555555179",
        function: "main",
        file: "/work/main/test-programs/ui_heap.c",
        line: 15,
        seq: null,
      },
      count: 1,
      bytes: 42,
    },
    {
      site: {
        pc: "0x55555555516b",
        function: "main",
        file: "/work/main/test-programs/ui_heap.c",
        line: 14,
        seq: null,
      },
      count: 1,
      bytes: 24,
    },
  ],
  total: { chunks: 2, bytes: 66, poolObjects: 0, poolBytes: 0 },
  runtimeStats: { liveChunks: 2, liveBytes: 66, totalAllocs: 2, totalFrees: 0 },
};

// the start of `alloc maps --json`
const MAPS: MapNodeJson[] = [
  {
    allocator: "elf_file",
    base: "0x555555554000",
    size: 16432,
    name: "/tmp/ui_heap",
    flags: "---f",
    children: [
      {
        allocator: "elf_segment",
        base: "0x555555554000",
        size: 1672,
        name: "/tmp/ui_heap",
        flags: "r--f",
        children: [],
      },
      {
        allocator: "elf_segment",
        base: "0x555555557dd0",
        size: 608,
        name: "/tmp/ui_heap",
        flags: "rw-f",
        children: [],
      },
    ],
  },
  {
    allocator: "mmap",
    base: "0x555555559000",
    size: 135168,
    name: "[heap]",
    flags: "rw-",
    children: [
      { allocator: "brk", base: "0x555555559000", size: 135168, name: null, flags: "rw-", children: [] },
    ],
  },
  { allocator: "mmap", base: "0x7ffff55e0000", size: 39976960, name: null, flags: "rw-", children: [] },
];

/** The numbers of one SVG element's attribute, in document order. */
function attrs(svg: string, element: string, attr: string, cls?: string): number[] {
  const re = new RegExp(`<${element}\\b[^>]*>`, "g");
  return [...svg.matchAll(re)]
    .map((m) => m[0])
    .filter((tag) => cls === undefined || new RegExp(`class="[^"]*\\b${cls}\\b`).test(tag))
    .map((tag) => Number(new RegExp(`\\b${attr}="([-\\d.]+)"`).exec(tag)?.[1]));
}

/** The percentage widths of a chart's bars of one class, in document order. */
function barWidths(html: string, cls: string): number[] {
  return [...html.matchAll(new RegExp(`class="${cls}[^"]*" style="width:([\\d.]+)%"`, "g"))].map((m) =>
    Number(m[1]),
  );
}

/** A chart's label cells: [indentation in px, text]. */
function chartLabels(html: string): [number, string][] {
  return [
    ...html.matchAll(
      /<span class="label[^"]*"(?: style="padding-left:(\d+)px")?[^>]*>(?:<bdi>)?([^<]*)(?:<\/bdi>)?<\/span>/g,
    ),
  ].map((m) => [Number(m[1] ?? 0), m[2]]);
}

function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

function save(name: string, html: string): void {
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, name), html);
}

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

  it("finds the JSON in console output", () => {
    assert.deepEqual(jsonInText('{"a": 1}'), { a: 1 });
    assert.deepEqual(jsonInText('warning: something\n{"maps": []}\n'), { maps: [] });
    assert.equal(jsonInText('No symbol "x" in current context.'), undefined);
  });
});

describe("vscode: pictures", () => {
  it("draws one bar per level, each zooming into the next, the address marked in every bar", () => {
    const svg = renderHierarchySvg(PTS_Y);
    assert.equal(attrs(svg, "rect", "width", "bar").length, 3, "three levels");
    assert.equal(attrs(svg, "polygon", "points", "zoom").length, 2, "two zooms between them");
    const inner = attrs(svg, "rect", "x", "inner");
    const innerW = attrs(svg, "rect", "width", "inner");
    assert.equal(inner.length, 2);
    // mmap [heap] and brk have the same extent: the brk part fills the whole bar
    assert.equal(inner[0], 20);
    assert.equal(innerW[0], 720);
    // the 24-byte chunk at +0x2a0 of a 132 KiB heap: near the start, drawn at least 4 px wide
    assert.ok(inner[1] > 23 && inner[1] < 24, `chunk at ${inner[1]}`); // 0x2a0 / 132 KiB * 720 px
    assert.equal(innerW[1], 4);
    // the mark: at 12/24 of the leaf bar
    const marks = attrs(svg, "line", "x1", "mark");
    assert.equal(marks.length, 3);
    assert.equal(marks[2], 20 + 720 / 2);
    const t = texts(svg);
    assert.ok(t.includes("mmap  [heap]"));
    assert.ok(t.includes("brk"));
    assert.ok(t.includes("__default_lib_malloc"));
    assert.ok(t.includes("132 KiB"));
    assert.ok(t.includes("24 B"));
    assert.ok(t.includes("+12"), "the offset at the mark");
    assert.ok(t.includes("0x5555555592a0") && t.includes("0x5555555592b8"), "the leaf's bounds");
    assert.match(svg, /aria-label="0x5555555592ac is 12 bytes into a 24-byte __default_lib_malloc/);
  });

  it("labels the field path and the type of the leaf, and escapes every text", () => {
    const svg = renderHierarchySvg(TYPED);
    const t = texts(svg);
    assert.ok(t.includes("+4 .y"));
    assert.ok(t.includes("struct point"));
    const html = renderDescriptionHtml(TYPED);
    assert.match(html, /<th>field<\/th><td>\.y \(int\)<\/td>/);
    assert.match(html, /a &#60;note&#62; &#38; more/);
    assert.doesNotMatch(html, /<note>/);
    assert.equal(escapeXml(`<a href="x">'&'</a>`), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
    save("describe-typed.html", renderPage("typed", html));
  });

  it("says when nothing is known, without bars", () => {
    const d: DescriptionJson = {
      ...PTS_Y,
      allocator: null,
      base: null,
      size: null,
      offset: null,
      chain: [],
      site: null,
    };
    assert.deepEqual(validate("description.schema.json", d), []);
    const svg = renderHierarchySvg(d);
    assert.equal(attrs(svg, "rect", "width", "bar").length, 0);
    assert.match(svg, /no allocation contains this address/);
  });

  it("a description page: headline, picture and facts, no scripts", () => {
    const page = renderPage(
      "Allocs: Address 0x5555555592ac",
      renderDescriptionHtml(PTS_Y),
      "vscode-webview://x",
    );
    assert.match(page, /^<!DOCTYPE html>/);
    assert.doesNotMatch(page, /<script/i);
    assert.match(
      page,
      /Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39; vscode-webview:\/\/x;/,
    );
    assert.match(
      page,
      /<h2>0x5555555592ac is 12 bytes into a 24-byte __default_lib_malloc allocation at 0x5555555592a0<\/h2>/,
    );
    assert.match(page, /<th>site<\/th><td>main at ui_heap\.c:14<\/td>/);
    // says why there is no type and what to do about it
    assert.match(
      page,
      /<th>type<\/th><td>unknown \(no type metadata for this program: build it with `allocs cc`, or run `allocs typegen PROGRAM` once, then restart the session\)<\/td>/,
    );
    assert.match(page, /mmap 0x555555559000 \(132 KiB\) \[heap\] ⊃ brk/);
    save("describe.html", page);
  });

  it("the census: one bar per site, longest for the most bytes, labelled with site, bytes and count", () => {
    const chart = renderCensusChart(CENSUS);
    const widths = barWidths(chart, "cbar");
    assert.equal(widths.length, 2);
    assert.ok(widths[0] > widths[1]);
    assert.ok(Math.abs(widths[1] / widths[0] - 24 / 42) < 0.01, "bar lengths are proportional to bytes");
    const labels = chartLabels(chart).map((l) => l[1]);
    assert.ok(labels.includes("main at ui_heap.c:15"));
    assert.match(chart, /<span class="size">42 B in 1<\/span>/);
    // a site label is cut at its start when long (its file:line tells rows apart)
    assert.match(
      chart,
      /<span class="label cut-start" title="main at ui_heap\.c:15"><bdi>main at ui_heap\.c:15<\/bdi><\/span>/,
    );
    const html = renderCensusHtml(CENSUS);
    assert.match(html, /2 live heap allocations, 66 B requested; 2 allocations and 0 frees so far/);
    save("census.html", renderPage("census", html));
  });

  it("the census folds rows beyond 25 into one line, and says when the heap is empty", () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({
      site: { function: `f${i}` },
      count: 1,
      bytes: 100 - i,
    }));
    const chart = renderCensusChart({ ...CENSUS, rows });
    assert.equal(barWidths(chart, "cbar").length, 25);
    assert.match(chart, /… 5 more rows: 365 B in 5/);
    assert.match(renderCensusChart({ ...CENSUS, rows: [] }), /no live heap allocations/);
  });

  it("the memory map: a row per mapping, children indented, bars growing with size", () => {
    const chart = renderMemoryMapChart(MAPS);
    const rows = barWidths(chart, "mbar");
    assert.equal(rows.length, 6);
    assert.deepEqual(chartLabels(chart).slice(0, 3), [
      [0, "elf_file ui_heap"],
      [16, "elf_segment ui_heap"],
      [16, "elf_segment ui_heap"],
    ]);
    // 38 MiB > 132 KiB > 16 KiB > 608 B
    assert.ok(rows[5] > rows[3] && rows[3] > rows[0] && rows[0] > rows[2]);
    assert.match(chart, /data-allocator="brk"/);
    save("maps.html", renderPage("maps", chart));
  });
});

describe("vscode: views a person can read", () => {
  // as the bridge answers for a preloaded program: ELF files beside the mappings they span, the
  // stack's 8 MiB reservation under its 132 KiB mapping, the runtime's library
  const REAL: MapNodeJson[] = [
    { allocator: "mmap", base: "0x555555554000", size: 4096, name: "/w/prog", flags: "r--f", children: [] },
    {
      allocator: "elf_file",
      base: "0x555555554000",
      size: 16504,
      name: "/w/prog",
      flags: "---f",
      children: [
        {
          allocator: "elf_segment",
          base: "0x555555554000",
          size: 2128,
          name: "/w/prog",
          flags: "r--f",
          children: [],
        },
        {
          allocator: "elf_segment",
          base: "0x555555555000",
          size: 4085,
          name: "/w/prog",
          flags: "r-xf",
          children: [],
        },
      ],
    },
    { allocator: "mmap", base: "0x555555555000", size: 4096, name: "/w/prog", flags: "r-xf", children: [] },
    { allocator: "mmap", base: "0x555555558000", size: 4096, name: "/w/prog", flags: "rw-f", children: [] },
    {
      allocator: "elf_file",
      base: "0x7ffff7600000",
      size: 9451904,
      name: "/opt/allocs/runtime/build/liballocs.so",
      flags: "---f",
      children: [],
    },
    {
      allocator: "mmap",
      base: "0x7ffff7620000",
      size: 9322496,
      name: null,
      flags: "rw-",
      children: [],
    },
    {
      allocator: "mmap",
      base: "0x7ffffffde000",
      size: 135168,
      name: "[stack]",
      flags: "rw-",
      children: [
        {
          allocator: "stack",
          base: "0x7fffff7ff000",
          size: 8388608,
          name: "[stack]",
          flags: "rw-",
          children: [
            { allocator: "auxv", base: "0x7fffffffe760", size: 2200, name: null, flags: "rw-", children: [] },
          ],
        },
      ],
    },
    {
      allocator: "mmap",
      base: "0x7ffff0000000",
      size: 4096,
      name: "/a/very/long/directory/name/that/goes/on/libsomething-with-a-really-long-name-indeed.so.1.2.3",
      flags: "r--f",
      children: [],
    },
  ];

  it("is what the bridge answers: its copy of `alloc maps --json` matches docs/schema", () => {
    assert.deepEqual(validate("maps.schema.json", { maps: REAL }), []);
  });

  it("nests the memory map by containment: no child is larger than its parent", () => {
    const roots = nestMaps(REAL);
    const check = (n: NestedMapNode): void => {
      for (const c of n.children) {
        assert.ok(c.size <= n.size, `${c.allocator} ${c.size} under ${n.allocator} ${n.size}`);
        assert.ok(BigInt(c.base) >= BigInt(n.base));
        check(c);
      }
    };
    roots.forEach(check);
    // the ELF file holds the mappings it spans (its last page included), each holding its segment
    const elf = roots.find((n) => n.allocator === "elf_file" && n.name === "/w/prog") as NestedMapNode;
    assert.deepEqual(
      elf.children.map((c) => [c.allocator, c.base]),
      [
        ["mmap", "0x555555554000"],
        ["mmap", "0x555555555000"],
        ["mmap", "0x555555558000"],
      ],
    );
    assert.deepEqual(
      elf.children[1].children.map((c) => c.allocator),
      ["elf_segment"],
    );
    // the stack's reservation holds its mapped part, which holds the auxv
    const stack = roots.find((n) => n.allocator === "stack") as NestedMapNode;
    assert.equal(stack.children[0].name, "[stack]");
    assert.equal(stack.children[0].children[0].allocator, "auxv");
  });

  it("labels the runtime's library and what lies in it; long names never reach the address column", () => {
    const roots = nestMaps(REAL);
    const rt = roots.find((n) => isRuntimeObject(n.name)) as NestedMapNode;
    assert.equal(rt.runtime, true);
    assert.ok(rt.children.some((c) => c.base === "0x7ffff7620000" && c.runtime));
    const chart = renderMemoryMapChart(REAL);
    assert.match(chart, /elf_file liballocs\.so \(allocs runtime\)/);
    assert.match(chart, /mmap \(runtime\)/);
    // a name has its own column, cut with an ellipsis before the address column (CSS), the whole
    // name in its tooltip
    assert.match(
      renderPage("m", chart),
      /\.chart \.label \{ flex: 0 0 38%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;/,
    );
    assert.match(
      chart,
      /<span class="label title" style="padding-left:0px" title="mmap \/a\/very\/long\/directory\/[^"]*indeed\.so\.1\.2\.3">mmap libsomething-with-a-really-long-name-indeed\.so\.1\.2\.3<\/span><span class="addr">0x7ffff0000000<\/span>/,
    );
    save("maps-nested.html", renderPage("maps", chart));
  });

  it("census rows link to their allocations, which link to Describe; by type says what to do without types", () => {
    const chart = renderCensusChart(CENSUS);
    const links = [...chart.matchAll(/<a class="census-row link" href="([^"]+)"/g)].map((m) =>
      decodeURIComponent(m[1].replace(/&#38;/g, "&")),
    );
    assert.equal(links.length, 2);
    assert.equal(
      links[0],
      `command:allocs.listAllocations?${JSON.stringify([censusRowFilter(CENSUS.rows[0])])}`,
    );
    assert.match(links[0], /"site":"[^"]*ui_heap\.c:15"/);
    assert.deepEqual(censusRowFilter({ type: "struct point[]", count: 1, bytes: 36 }), {
      type: "struct point[]",
    });
    const byType = renderCensusHtml({ ...CENSUS, by: "type", rows: [{ type: null, count: 2, bytes: 66 }] });
    assert.match(byType, /<bdi>\(type unknown\)<\/bdi>/);
    assert.match(
      byType,
      /Allocations of unknown type: no type metadata for this program: build it with `allocs cc`/,
    );
    const page = renderCensusPageHtml(CENSUS, {
      ...CENSUS,
      by: "type",
      rows: [{ type: "int[]", count: 1, bytes: 40 }],
    });
    assert.match(page, /Heap by site[\s\S]*Heap by type/);
    const list = renderListHtml("int[]", {
      entries: [
        {
          allocator: "__default_lib_malloc",
          base: "0x5555555592e0",
          size: 40,
          type: "int[10]",
          site: { function: "main", file: "/w/p.c", line: 9 },
        },
      ],
      matched: 1,
    });
    assert.match(
      list,
      /<a href="command:allocs\.describeAddress\?%5B%220x5555555592e0%22%5D">0x5555555592e0<\/a>/,
    );
    assert.match(list, /int\[10\]<\/td><td>main at p\.c:9/);
    assert.doesNotMatch(renderPage("t", page), /<script/);
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

describe("vscode: the bridge's JSON these tests draw", () => {
  it("matches docs/schema: every copy is an answer the bridge may give", () => {
    assert.deepEqual(validate("description.schema.json", PTS_Y), []);
    assert.deepEqual(validate("description.schema.json", TYPED), []);
    assert.deepEqual(validate("census.schema.json", CENSUS), []);
    assert.deepEqual(validate("maps.schema.json", { maps: MAPS }), []);
  });
});
