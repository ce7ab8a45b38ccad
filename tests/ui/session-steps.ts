// The UI scenario's debugging steps, as a user does them: open the workbench, set a breakpoint
// from the keyboard, start the launch configuration, read the Variables view (summaries, a heap
// struct expanded), a hover, a failing watch, and the run to the program's end.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import type { Page } from "playwright-core";

import { OUT_DIR } from "./code-server";
import { screenshot, type Scene } from "./scene";
import { CONFIG_NAME, PROGRAM } from "./ui-workspace";
import { focusEditor, palette, plain, pollText, widenSideBar, wordPoint } from "./workbench";

/** The Call Stack's row of main stopped at LINE of the program. */
async function waitForMainAt(page: Page, line: number, timeoutMs: number): Promise<void> {
  await page
    .locator(".debug-call-stack .monaco-list-row", {
      hasText: new RegExp(`main[\\s\\S]*${PROGRAM}\\.c\\s*${line}:\\d+`),
    })
    .first()
    .waitFor({ state: "visible", timeout: timeoutMs });
}

/** Stops the program one line further with F10 (Step Over), in the editor. */
export async function stepOver(scene: Scene): Promise<void> {
  const { page, breakLine } = scene;
  await focusEditor(page);
  await page.keyboard.press("F10");
  await waitForMainAt(page, breakLine + 1, 30_000);
}

export async function openWorkbench(scene: Scene, serverUrl: string, workspace: string): Promise<void> {
  const { page } = scene;
  await page.goto(`${serverUrl}/?folder=${encodeURIComponent(workspace)}`, { timeout: 60_000 });
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
  // the explorer shows the workspace once the window has a folder
  await page
    .locator(".explorer-folders-view .monaco-list-row", { hasText: `${PROGRAM}.c` })
    .waitFor({ timeout: 60_000 });
  await scene.steps.done("workbench loaded");
}

/** Opens the source, goes to the marked line, toggles a breakpoint with F9. */
export async function setBreakpoint(scene: Scene): Promise<void> {
  const { page, breakLine } = scene;
  await page
    .locator(".explorer-folders-view .monaco-list-row", { hasText: `${PROGRAM}.c` })
    .first()
    .click();
  await page
    .locator(".monaco-editor .view-lines", { hasText: "BREAK" })
    .first()
    .waitFor({ state: "visible" });
  await focusEditor(page);
  await page.keyboard.press("Control+G");
  await page.locator(".quick-input-widget .quick-input-box input").waitFor({ state: "visible" });
  await page.keyboard.type(String(breakLine), { delay: 20 });
  await page.keyboard.press("Enter");
  await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  await page
    .locator(".statusbar-item", { hasText: new RegExp(`^\\s*Ln ${breakLine}, Col 1\\s*$`) })
    .waitFor({ state: "visible", timeout: 10_000 });
  // F9 does nothing until the workbench knows a debugger handles C (the extension's
  // "breakpoints" contribution): press it again while no breakpoint glyph appears
  const glyph = page.locator(".monaco-editor .codicon-debug-breakpoint").first();
  const f9deadline = Date.now() + 30_000;
  for (;;) {
    await page.keyboard.press("F9");
    const shown = await glyph
      .waitFor({ state: "visible", timeout: 4_000 })
      .then(() => true)
      .catch(() => false);
    if (shown) break;
    if (Date.now() > f9deadline) throw new Error("F9 did not set a breakpoint within 30 s");
  }
  await scene.steps.done("breakpoint set");
}

/** Starts the launch configuration by name: F1, "debug NAME". */
export async function startSession(scene: Scene): Promise<void> {
  const { page } = scene;
  await palette(page, `debug ${CONFIG_NAME}`, CONFIG_NAME);
  await page.locator(".debug-toolbar").waitFor({ state: "visible", timeout: 30_000 });
  await scene.steps.done("session started");
}

/** Stopped at the breakpoint: heap pointers show their allocation summaries (allocator, type,
 * site, size), and the Call Stack holds main with no error. */
export async function checkStoppedVariables(scene: Scene): Promise<void> {
  const { page, breakLine } = scene;
  // stopped at the breakpoint: the call stack's top frame is main at the marked line
  const variables = page.locator(".debug-variables");
  await waitForMainAt(page, breakLine, 60_000);
  const ptsRow = variables.locator(".monaco-list-row", { hasText: /^\s*pts\b/ }).first();
  await ptsRow.waitFor({ state: "visible", timeout: 30_000 });
  await scene.steps.done("stopped");
  // the summaries come with the variables; wait until the malloc'd pointers show theirs
  const text = await pollText(
    page,
    async () => plain(await variables.innerText({ timeout: 5_000 })),
    (t) => /pts[\s\S]*__default_lib_malloc/.test(t) && /name[\s\S]*__default_lib_malloc/.test(t),
    20_000,
  );
  await scene.steps.done("summaries shown");
  await widenSideBar(page, 330);
  await screenshot(page, "stopped-at-breakpoint.png");
  fs.writeFileSync(path.join(OUT_DIR, "variables.txt"), text);

  const rowText = async (name: string): Promise<string> => {
    const row = variables.locator(".monaco-list-row", { hasText: new RegExp(`^\\s*${name}\\b`) }).first();
    return ((await row.innerText({ timeout: 5_000 })) ?? "").replace(/\s+/g, " ").trim();
  };
  const pts = await rowText("pts");
  const name = await rowText("name");
  // "pts: 0x5555555592a0 → __default_lib_malloc struct point[3] @ ui_heap.c:14": the type from
  // the metadata `allocs cc` wrote, read by the runtime, decoded by the bridge
  assert.match(pts, /0x[0-9a-f]+/, `pts shows its value: ${pts}`);
  assert.match(pts, /__default_lib_malloc/, `pts shows its allocator: ${pts}`);
  assert.match(pts, /__default_lib_malloc struct point\[3\]/, `pts shows its type: ${pts}`);
  assert.match(pts, /@ ui_heap\.c:14/, `pts shows its allocation site: ${pts}`);
  assert.match(name, /__default_lib_malloc/, `name shows its allocator: ${name}`);
  assert.match(name, /\b42 B\b|char\[42\]/, `name shows its size (42 bytes): ${name}`);
  // the Call Stack holds main and nothing else: no error row from paging past the last frame,
  // and no error notification
  const stackText = await page.locator(".debug-call-stack").innerText({ timeout: 5_000 });
  assert.doesNotMatch(stackText, /stack-list-frames|Not enough frames/, `call stack: ${stackText}`);
  const toasts = await page
    .locator(".notifications-toasts")
    .innerText({ timeout: 2_000 })
    .catch(() => "");
  assert.doesNotMatch(toasts, /stack-list-frames|Not enough frames/, `notifications: ${toasts}`);
}

/** The Variables view of a heap struct: pts expands to its allocation and its three points, the
 * second one to its fields. */
export async function expandHeapStruct(scene: Scene): Promise<void> {
  const { page } = scene;
  const variables = page.locator(".debug-variables");
  const ptsRow = variables.locator(".monaco-list-row", { hasText: /^\s*pts\b/ }).first();
  await ptsRow.click();
  await page.keyboard.press("ArrowRight");
  const allocationRow = variables.locator(".monaco-list-row", { hasText: /^\s*\[allocation\]/ }).first();
  await allocationRow.waitFor({ state: "visible", timeout: 20_000 });
  const secondRow = variables.locator(".monaco-list-row", { hasText: /^\s*\[1\]/ }).first();
  await secondRow.waitFor({ state: "visible", timeout: 20_000 });
  assert.equal(
    await variables.locator(".monaco-list-row", { hasText: /^\s*\[3\]/ }).count(),
    0,
    "three points",
  );
  await secondRow.click();
  await page.keyboard.press("ArrowRight");
  await variables
    .locator(".monaco-list-row", { hasText: /^\s*y\s*[=:]?\s*10\b/ })
    .first()
    .waitFor({ timeout: 20_000 });
  const expanded = plain(await variables.innerText({ timeout: 5_000 }));
  assert.match(expanded, /\[allocation\]\s*=?\s*__default_lib_malloc struct point\[3\]/, expanded);
  assert.match(expanded, /x\s*[=:]?\s*1\b[\s\S]*y\s*[=:]?\s*10\b/, expanded);
  await scene.steps.done("heap struct expanded");
  await screenshot(page, "variables-heap-struct.png");
}

/** A hover over `name` in the source shows its value with the summary (the cursor on the word,
 * then "Debug: Show Hover": what a mouse hover shows, without depending on the mouse's timing). */
export async function hoverShowsSummary(scene: Scene): Promise<void> {
  const { page } = scene;
  const namePoint = await wordPoint(page, "BREAK", "name");
  await page.mouse.click(namePoint.x, namePoint.y);
  await palette(page, ">Debug: Show Hover", "Debug: Show Hover");
  const hover = page.locator(".debug-hover-widget");
  await hover.waitFor({ state: "visible", timeout: 20_000 });
  const hoverText = plain(await hover.innerText({ timeout: 5_000 }));
  assert.match(hoverText, /__default_lib_malloc/, `hover: ${hoverText}`);
  await scene.steps.done("hover shown");
  await screenshot(page, "hover.png");
  await page.mouse.move(5, 5);
  await page.keyboard.press("Escape");
}

/** A watch that fails: its error stays in the Watch view, no notification pops up. */
export async function watchErrorStaysInline(scene: Scene): Promise<void> {
  const { page } = scene;
  const wordAt = await wordPoint(page, "watch: not_in_scope", "not_in_scope");
  await page.mouse.dblclick(wordAt.x, wordAt.y);
  await palette(page, ">Debug: Add to Watch", "Debug: Add to Watch");
  const watch = page.locator(".debug-watch");
  await watch
    .locator(".monaco-list-row", { hasText: /not_in_scope/ })
    .first()
    .waitFor({ state: "visible", timeout: 20_000 });
  const watchText = await pollText(
    page,
    async () => plain(await watch.innerText({ timeout: 5_000 })),
    (t) => /No symbol/.test(t),
    10_000,
  );
  assert.match(watchText, /not_in_scope[\s\S]*No symbol "not_in_scope" in current context/, watchText);
  await page.waitForTimeout(1_000);
  const popups = await page
    .locator(".notifications-toasts .notification-toast")
    .allInnerTexts()
    .catch(() => [] as string[]);
  assert.deepEqual(
    popups.filter((t) => /No symbol|not_in_scope|moved on|running|var-create/.test(t)),
    [],
    `notifications: ${popups.join(" | ")}`,
  );
  await scene.steps.done("watch error inline, no pop-up");
  await screenshot(page, "watch-error-no-popup.png");
}

/** Continue to the end: the program prints its line in its terminal and exits; the session ends
 * and the toolbar goes away. The program's terminal shows the program's output only: no helper
 * command line, no gdb warning. */
export async function runToEnd(scene: Scene): Promise<void> {
  const { page } = scene;
  await focusEditor(page);
  await page.keyboard.press("F5");
  await page.locator(".debug-toolbar").waitFor({ state: "hidden", timeout: 30_000 });
  await scene.steps.done("program ran to its end");
  const terminal = page.locator(".terminal-wrapper.active .xterm-rows, .terminal .xterm-rows").first();
  const shown = await pollText(
    page,
    async () => plain(await terminal.innerText({ timeout: 5_000 }).catch(() => "")),
    (t) => t.includes("allocs 20"),
    15_000,
  );
  await screenshot(page, "program-terminal.png");
  fs.writeFileSync(path.join(OUT_DIR, "terminal.txt"), shown);
  assert.match(shown, /allocs 20/, `the program's output is in its terminal: ${shown}`);
  assert.doesNotMatch(
    shown,
    /warning|controlling terminal|allocs-session|tty\.tmp|\/bin\/sh/,
    `terminal: ${shown}`,
  );
  await scene.steps.done("terminal read");
}
