// Page helpers for the VS Code workbench in the UI test: the command palette, a word's place on
// screen, the side bar's width, a webview's page, and reading text that settles over time.
import * as assert from "node:assert/strict";

import type { FrameLocator, Page } from "playwright-core";

/** TEXT as a user reads it: the workbench renders spaces as no-break spaces. */
export function plain(text: string): string {
  return text.replace(/\u00a0/g, " ");
}

/** Reads with READ every 250 ms until DONE holds or MS have passed; the last text read (the
 * caller asserts on it, so a timeout fails with what was on screen). */
export async function pollText(
  page: Page,
  read: () => Promise<string>,
  done: (text: string) => boolean,
  ms: number,
): Promise<string> {
  const deadline = Date.now() + ms;
  let text = "";
  while (Date.now() < deadline) {
    text = await read();
    if (done(text)) break;
    await page.waitForTimeout(250);
  }
  return text;
}

/** F1, then TEXT typed into the quick input (replacing its ">"), then a click on the first row
 * matching PICK. */
export async function palette(
  page: Page,
  text: string,
  pick: string | RegExp,
  timeoutMs = 15_000,
  /** the command asks for input in the same quick input: do not wait for it to close */
  asksInput = false,
): Promise<void> {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget .quick-input-box input");
  await input.waitFor({ state: "visible", timeout: timeoutMs });
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.type(text, { delay: 20 });
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: pick }).first();
  await row.waitFor({ state: "visible", timeout: timeoutMs });
  await row.click({ timeout: timeoutMs });
  if (asksInput) {
    await page
      .locator(
        ".quick-input-widget .quick-input-box input[placeholder], .quick-input-widget .quick-input-message",
        {
          hasText: /./,
        },
      )
      .first()
      .waitFor({ state: "attached", timeout: timeoutMs })
      .catch(() => undefined);
    return;
  }
  await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: timeoutMs });
}

/** The screen point in the middle of WORD on the editor line holding LINE_TEXT (the editor's font
 * is monospace: the line's own span is as wide as its characters). */
export async function wordPoint(
  page: Page,
  lineText: string,
  word: string,
): Promise<{ x: number; y: number }> {
  const line = page
    .locator(".monaco-editor .view-line", { hasText: lineText })
    .first()
    .locator("span")
    .first();
  const box = await line.boundingBox({ timeout: 10_000 });
  assert.ok(box !== null, `the line with ${lineText} is on screen`);
  const text = plain((await line.textContent({ timeout: 5_000 })) ?? "");
  const at = text.indexOf(word);
  assert.ok(at >= 0, `${word} is on the line ${text}`);
  const charW = box.width / Math.max(1, text.length);
  return { x: box.x + (at + word.length / 2) * charW, y: box.y + box.height / 2 };
}

/** Drags the sash between the side bar and the editor so that the Variables view's values are
 * readable in the screenshot (cosmetic: ignored when the layout differs). */
export async function widenSideBar(page: Page, by: number): Promise<void> {
  const box = await page
    .locator(".part.sidebar")
    .boundingBox({ timeout: 2_000 })
    .catch(() => null);
  if (box === null) return;
  const x = box.x + box.width - 1;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + by, y, { steps: 5 });
  await page.mouse.up();
}

/** The page of the webview in front: VS Code puts a webview in an iframe holding another
 * iframe with the page. */
export function activeWebview(page: Page): FrameLocator {
  return page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
}

/** The editor tab whose title matches TITLE, once it shows. */
export async function waitForTab(page: Page, title: RegExp, timeoutMs: number): Promise<void> {
  await page.locator(".tab", { hasText: title }).waitFor({ state: "visible", timeout: timeoutMs });
}

/** A click into the editor, so that the next key goes to it (and to the debugger's keys). */
export async function focusEditor(page: Page): Promise<void> {
  await page.locator(".monaco-editor .view-lines").first().click();
}
