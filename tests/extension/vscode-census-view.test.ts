// The census view (render.ts): bars by site and by type, rows linking to their allocations,
// which link to Describe.
import * as assert from "node:assert/strict";

import {
  censusRowFilter,
  renderCensusChart,
  renderCensusHtml,
  renderCensusPageHtml,
  renderListHtml,
  renderPage,
} from "../../extension/src/vscode/render";
import { CENSUS, barWidths, chartLabels, save } from "./vscode-fixtures";

describe("vscode: the census view", () => {
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
