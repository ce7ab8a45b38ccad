// The Describe view (render.ts): the hierarchy around an address as nested zooming bars, and
// the description page around it.
import * as assert from "node:assert/strict";

import { type DescriptionJson } from "../../extension/src/vscode/description";
import {
  escapeXml,
  renderDescriptionHtml,
  renderHierarchySvg,
  renderPage,
} from "../../extension/src/vscode/render";
import { PTS_Y, TYPED, attrs, save, texts } from "./vscode-fixtures";

describe("vscode: the Describe view", () => {
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
});
