// The UI scenario's steps through the extension's own views, in the one Allocs panel: Describe
// Address (the hierarchy drawn as a picture), the heap census, its redraw at the next stop, and
// the heap treemap.
import * as assert from "node:assert/strict";

import type { Page } from "playwright-core";

import { screenshot, type Scene } from "./scene";
import { stepOver } from "./session-steps";
import { activeWebview, palette, pollText, waitForTab } from "./workbench";

/** The Allocs views share one panel (one view, not another editor column). */
async function assertOnePanel(page: Page): Promise<void> {
  assert.equal(await page.locator(".tab", { hasText: /Allocs: / }).count(), 1, "one panel for the views");
}

/** Allocs: Describe Address... on `pts`: a webview draws the chain down to the 24-byte chunk. */
export async function describeAddress(scene: Scene): Promise<void> {
  const { page } = scene;
  await palette(page, ">Allocs: Describe Address", "Allocs: Describe Address...", 15_000, true);
  // the input box of the command (its prompt), not the palette
  await page
    .locator(".quick-input-widget", { hasText: /address .* or a C expression/i })
    .waitFor({ state: "visible", timeout: 15_000 });
  await page.locator(".quick-input-widget .quick-input-box input").waitFor({ state: "visible" });
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.type("pts", { delay: 20 });
  await page.keyboard.press("Enter");
  await waitForTab(page, /Allocs: Address 0x[0-9a-f]+/, 20_000);
  const view = activeWebview(page);
  const picture = view.locator("svg.hierarchy");
  await picture.waitFor({ state: "visible", timeout: 20_000 });
  const drawn = await picture.innerHTML({ timeout: 5_000 });
  assert.match(drawn, /data-allocator="__default_lib_malloc"/, "the chunk is drawn");
  assert.match(drawn, />24 B</, "with its size");
  assert.match(drawn, /data-allocator="brk"|data-allocator="mmap"/, "inside the heap's levels");
  const facts = await view.locator("table.facts").innerText({ timeout: 5_000 });
  assert.match(facts, /__default_lib_malloc \(live\)/);
  assert.match(facts, /main at ui_heap\.c:14/);
  await scene.steps.done("Describe Address drawn");
  await screenshot(page, "describe-address.png");
}

/** The census in the same panel, by site and by type. */
export async function heapCensus(scene: Scene): Promise<void> {
  const { page } = scene;
  await palette(page, ">Allocs: Show Heap Census", "Allocs: Show Heap Census");
  await waitForTab(page, /Allocs: Heap Census/, 20_000);
  await assertOnePanel(page);
  const censusView = activeWebview(page);
  await censusView.locator(".census.chart").first().waitFor({ state: "visible", timeout: 20_000 });
  const censusText = await censusView.locator("body").innerText({ timeout: 5_000 });
  assert.match(censusText, /Heap by site[\s\S]*Heap by type/, censusText);
  assert.ok((await censusView.locator(".census a.census-row").count()) > 0, "census rows are links");
  await scene.steps.done("census drawn");
  await screenshot(page, "heap-census.png");
  assert.match(censusText, /2 live heap allocations/, censusText);
}

/** A step over the printf (whose stdout buffer is one more heap allocation): the census is
 * redrawn at the stop, without asking. */
export async function censusRedrawnAfterStep(scene: Scene): Promise<void> {
  const { page } = scene;
  await stepOver(scene);
  const censusView = activeWebview(page);
  const redrawn = await pollText(
    page,
    () =>
      censusView
        .locator("body")
        .innerText({ timeout: 5_000 })
        .catch(() => ""),
    (t) => /3 live heap allocations/.test(t),
    20_000,
  );
  assert.match(redrawn, /3 live heap allocations/, `the census after the step: ${redrawn}`);
  await waitForTab(page, /Allocs: Heap Census \(3 allocations/, 10_000);
  await scene.steps.done("census redrawn after a step");
  await screenshot(page, "heap-census-after-step.png");
}

/** The treemap of the live heap by type, in the same panel; a rectangle taken from the keyboard
 * (focus, Enter) lists its allocations as a census row does. */
export async function heapTreemap(scene: Scene): Promise<void> {
  const { page } = scene;
  await palette(page, ">Allocs: Show Heap Treemap", "Allocs: Show Heap Treemap");
  await waitForTab(page, /Allocs: Heap Treemap by type \(3 allocations/, 20_000);
  await assertOnePanel(page);
  // 24 of about 1 KiB: a thin rectangle, too small for its label (found by its type)
  const cell = activeWebview(page).locator('.treemap a.tm-cell[data-key^="struct point"]').first();
  await cell.waitFor({ state: "visible", timeout: 20_000 });
  assert.match((await cell.getAttribute("aria-label")) ?? "", /^struct point\S* 24 B in 1 allocation$/);
  await scene.steps.done("treemap drawn");
  await screenshot(page, "heap-treemap.png");
  await cell.focus();
  await page.keyboard.press("Enter");
  await waitForTab(page, /Allocs: Allocations struct point/, 20_000);
  await scene.steps.done("treemap rectangle listed its allocations");
}
