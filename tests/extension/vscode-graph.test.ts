// The heap-graph pictures (extension/src/vscode/graph-render.ts) on answers shaped as the bridge
// gives them (docs/snapshot-format.md): leak tables by kind, growth tables with bars, retainer
// chains; text escaped, every group and row present.
import * as assert from "node:assert/strict";

import {
  isDiff,
  isLeaks,
  isRetainers,
  renderDiffHtml,
  renderLeaksHtml,
  renderRetainersHtml,
  retainersInput,
  type DiffJson,
  type LeaksJson,
  type RetainersJson,
} from "../../extension/src/vscode/graph-render";

const site = { function: "lose_list", file: "/src/leaks_target.c", line: 87, pc: "0x1234" };

describe("vscode: heap-graph pictures", () => {
  it("draws leaks by kind, type and site", () => {
    const j: LeaksJson = {
      groups: [
        { kind: "definite", type: "struct node", site, count: 1, bytes: 16, example: "0x10", untyped: 0 },
        { kind: "indirect", type: "struct node", site, count: 2, bytes: 32, example: "0x20", untyped: 0 },
        { kind: "conservative", type: "struct <x>", site, count: 1, bytes: 40, example: "0x30", untyped: 0 },
      ],
      definite: { count: 1, bytes: 16 },
      indirect: { count: 2, bytes: 32 },
      conservative: { count: 1, bytes: 40 },
      live: { count: 9, bytes: 400 },
    };
    assert.ok(isLeaks(j));
    const html = renderLeaksHtml(j);
    assert.match(
      html,
      /Definitely lost<\/h3>.*<td>1<\/td><td>16<\/td><td>struct node<\/td><td>lose_list at leaks_target\.c:87/,
    );
    assert.match(html, /Indirectly lost .*<td>2<\/td><td>32<\/td>/);
    assert.match(html, /struct &#60;x&#62;/, "type names are escaped");
    assert.doesNotMatch(html, /No leaks/);
  });

  it("draws the growth by type and by site, largest first, with bars", () => {
    const row = { added: 5, addedBytes: 160, freed: 0, freedBytes: 0, net: 5, netBytes: 160 };
    const j: DiffJson = {
      from: "first",
      to: "now",
      total: { added: 5, addedBytes: 160, freed: 2, freedBytes: 32, net: 3, netBytes: 128 },
      byType: [
        { type: "struct grow", ...row },
        { type: "struct entry", added: 0, addedBytes: 0, freed: 2, freedBytes: 32, net: -2, netBytes: -32 },
      ],
      bySite: [{ site: "grow at leaks_target.c:171", ...row }],
    };
    assert.ok(isDiff(j));
    const html = renderDiffHtml(j);
    assert.match(html, /From first to now/);
    assert.match(html, /<td>\+160<\/td><td><svg width="120" height="10"><rect width="120"/);
    assert.match(html, /<td>-32<\/td><td><svg width="120" height="10"><rect width="24"/);
    assert.match(html, /grow at leaks_target\.c:171/);
  });

  it("draws retainer chains, and says when nothing retains", () => {
    const j: RetainersJson = {
      target: { base: "0x40", size: 16, type: "struct entry" },
      reachable: true,
      chains: [{ length: 2, steps: [{ text: "g_cache .buckets[12]" }, { text: "struct entry .next" }] }],
    };
    assert.ok(isRetainers(j));
    assert.match(
      renderRetainersHtml(j),
      /<li>g_cache \.buckets\[12\] → struct entry \.next → struct entry<\/li>/,
    );
    assert.match(renderRetainersHtml({ ...j, reachable: false, chains: [] }), /it is leaked/);
    assert.ok(!isLeaks(j) && !isDiff(j));
  });

  it("asks about a variable's pointer value, else its expression", () => {
    assert.equal(
      retainersInput({ value: "0x55555555a440 → __default_lib_malloc struct entry", name: "p" }),
      "0x55555555a440",
    );
    assert.equal(retainersInput({ value: "(struct entry *) 0x10", name: "p" }), "0x10");
    assert.equal(
      retainersInput({ value: "{...}", evaluateName: "g_cache.buckets[12]", name: "[12]" }),
      "g_cache.buckets[12]",
    );
    assert.equal(retainersInput(undefined), undefined);
  });
});
