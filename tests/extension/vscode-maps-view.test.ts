// The Memory Map view (render.ts over description.ts's nesting): mappings nested by containment,
// the allocs runtime's own library and reservations labelled, names cut before the address column.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import {
  isRuntimeObject,
  nestMaps,
  type MapNodeJson,
  type NestedMapNode,
} from "../../extension/src/vscode/description";
import { renderMemoryMapChart, renderPage } from "../../extension/src/vscode/render";
import { MAPS, barWidths, chartLabels, save } from "./vscode-fixtures";

describe("vscode: the memory map view", () => {
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

  // as the bridge answers for a preloaded program: ELF files beside the mappings they span, the
  // stack's 8 MiB reservation under its 132 KiB mapping, the runtime's library
  const REAL: MapNodeJson[] = [
    { allocator: "mmap", base: "0x555555554000", size: 4096, name: "/w/prog", flags: "r--f" },
    {
      allocator: "elf_file",
      base: "0x555555554000",
      size: 16504,
      name: "/w/prog",
      flags: "---f",
      children: [
        { allocator: "elf_segment", base: "0x555555554000", size: 2128, name: "/w/prog", flags: "r--f" },
        { allocator: "elf_segment", base: "0x555555555000", size: 4085, name: "/w/prog", flags: "r-xf" },
      ],
    },
    { allocator: "mmap", base: "0x555555555000", size: 4096, name: "/w/prog", flags: "r-xf" },
    { allocator: "mmap", base: "0x555555558000", size: 4096, name: "/w/prog", flags: "rw-f" },
    {
      allocator: "elf_file",
      base: "0x7ffff7600000",
      size: 9451904,
      name: "/opt/allocs/runtime/build/liballocs.so",
      flags: "---f",
    },
    {
      allocator: "mmap",
      base: "0x7ffff7620000",
      size: 9322496,
      name: null,
      flags: "rw-",
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
          children: [{ allocator: "auxv", base: "0x7fffffffe760", size: 2200, name: null, flags: "rw-" }],
        },
      ],
    },
    {
      allocator: "mmap",
      base: "0x7ffff0000000",
      size: 4096,
      name: "/a/very/long/directory/name/that/goes/on/libsomething-with-a-really-long-name-indeed.so.1.2.3",
      flags: "r--f",
    },
  ];

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
    assert.deepEqual(rt.runtime, { part: "library", holds: [] });
    assert.ok(rt.children.some((c) => c.base === "0x7ffff7620000" && c.runtime));
    const chart = renderMemoryMapChart(REAL);
    assert.match(chart, /elf_file liballocs\.so \(allocs runtime\)/);
    assert.match(chart, /mmap \(allocs runtime\)/);
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

  it("labels the runtime's reservations from the bridge's own field (real `alloc maps --json`), set apart", () => {
    // `alloc maps --json` in test-programs/ui_heap.c at its BREAK line (paths shortened)
    const file = path.resolve(__dirname, "../../../tests/extension/fixtures/maps-ui_heap.json");
    const real = (JSON.parse(fs.readFileSync(file, "utf8")) as { maps: MapNodeJson[] }).maps;
    const chart = renderMemoryMapChart(real);
    const rows = [
      ...chart.matchAll(
        /<div class="map-row ([^"]*)"[^>]*><span[^>]*>([^<]*)<\/span><span class="addr">([^<]*)</g,
      ),
    ].map((m) => ({ cls: m[1], label: m[2], addr: m[3] }));
    const row = (addr: string): { cls: string; label: string } | undefined =>
      rows.find((r) => r.addr === addr);
    // the tables the runtime reserved: anonymous mappings a user would otherwise take for the program's
    assert.deepEqual(row("0x7ffff3400000"), {
      cls: "d0 runtime tables",
      label: "mmap (allocs runtime: chunk-start byte maps)",
      addr: "0x7ffff3400000",
    });
    assert.equal(
      row("0x7ffff51e0000")?.label,
      "mmap (allocs runtime: the pool bitmap index, the threads table, the site table, the large-chunk table)",
    );
    assert.equal(
      row("0x7ffff4000000")?.label,
      "mmap (allocs runtime: the levels table, the ELF objects table)",
    );
    assert.equal(row("0x7ffff7f73000")?.label, "mmap (allocs runtime: names)");
    // its library, and its .bss (the chunk-start map index) inside it
    assert.equal(row("0x7ffff7600000")?.label, "elf_file liballocs.so (allocs runtime)");
    assert.match(row("0x7ffff7600000")?.cls ?? "", /\bruntime library\b/);
    assert.match(row("0x7ffff7626000")?.cls ?? "", /\bruntime library\b/);
    // the program's own memory is not the runtime's
    for (const addr of ["0x555555554000", "0x555555559000"]) {
      assert.doesNotMatch(row(addr)?.cls ?? "runtime", /runtime/, addr);
      assert.doesNotMatch(row(addr)?.label ?? "runtime", /runtime/, addr);
    }
    // set apart: muted, italic labels and hatched bars
    const page = renderPage("maps", chart);
    assert.match(page, /\.map-row\.runtime \.label \{[^}]*font-style: italic/);
    assert.match(page, /\.map-row\.runtime \.mbar \{ background: repeating-linear-gradient/);
    save("maps-runtime.html", page);
  });
});
