// End-to-end in a real VS Code (`npm run test:ui`): the packaged .vsix installed into
// code-server, a workspace with a C program and a launch.json, a breakpoint set from the
// keyboard, the launch configuration started from the command palette, and the Variables view
// read while stopped: heap pointers must show their allocation summaries. Screenshots go to
// .test-output/ui/. Not named *.test.ts: the default mocha run does not pick it up (it needs
// the .vsix, which `npm run test:ui` builds first).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import { chromium, type Browser, type Page } from "playwright-core";

import {
  CodeServer,
  OUT_DIR,
  ROOT,
  installCodeServer,
  installExtension,
  makeScratch,
  type Scratch,
} from "./code-server";
import { allocsCc } from "../lib/programs";

const PROGRAM = "ui_heap";
const CONFIG_NAME = "allocs: ui heap";
const CHROMIUM = process.env.ALLOCS_UI_CHROMIUM ?? "/usr/bin/chromium";

function vsixPath(): string {
  if (process.env.ALLOCS_VSIX) return process.env.ALLOCS_VSIX;
  const version = (
    JSON.parse(fs.readFileSync(path.join(ROOT, "extension", "package.json"), "utf8")) as { version: string }
  ).version;
  return path.join(ROOT, "dist", `allocs-${version}.vsix`);
}

/** The workspace: the program's source, its `allocs cc` build (debug info and type metadata,
 * PROGRAM.allocsmeta beside it), and a launch.json naming it. */
function makeWorkspace(dir: string): { source: string; breakLine: number } {
  fs.mkdirSync(path.join(dir, ".vscode"), { recursive: true });
  const source = path.join(dir, `${PROGRAM}.c`);
  fs.copyFileSync(path.join(ROOT, "test-programs", `${PROGRAM}.c`), source);
  allocsCc(["-O0", "-o", path.join(dir, PROGRAM), source]);
  const launch = {
    version: "0.2.0",
    configurations: [
      {
        name: CONFIG_NAME,
        type: "allocs",
        request: "launch",
        program: `\${workspaceFolder}/${PROGRAM}`,
        args: [],
        cwd: "${workspaceFolder}",
        stopAtEntry: false,
        preload: true,
      },
    ],
  };
  fs.writeFileSync(path.join(dir, ".vscode", "launch.json"), JSON.stringify(launch, null, 2));
  const lines = fs.readFileSync(source, "utf8").split("\n");
  const breakLine = lines.findIndex((l) => l.includes("/* BREAK */")) + 1;
  assert.ok(breakLine > 0, "the program marks its breakpoint line with BREAK");
  return { source, breakLine };
}

/** Processes still running from the workspace (the debuggee, if gdb left it behind). */
function leftovers(workspace: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const exe = fs.readlinkSync(`/proc/${entry}/exe`);
      if (exe.startsWith(workspace + path.sep)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** F1, then TEXT typed into the quick input (replacing its ">"), then a click on the first row
 * matching PICK. */
async function palette(
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
async function wordPoint(page: Page, lineText: string, word: string): Promise<{ x: number; y: number }> {
  const line = page
    .locator(".monaco-editor .view-line", { hasText: lineText })
    .first()
    .locator("span")
    .first();
  const box = await line.boundingBox({ timeout: 10_000 });
  assert.ok(box !== null, `the line with ${lineText} is on screen`);
  const text = ((await line.textContent({ timeout: 5_000 })) ?? "").replace(/\u00a0/g, " ");
  const at = text.indexOf(word);
  assert.ok(at >= 0, `${word} is on the line ${text}`);
  const charW = box.width / Math.max(1, text.length);
  return { x: box.x + (at + word.length / 2) * charW, y: box.y + box.height / 2 };
}

/** Drags the sash between the side bar and the editor so that the Variables view's values are
 * readable in the screenshot (cosmetic: ignored when the layout differs). */
async function widenSideBar(page: Page, by: number): Promise<void> {
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

describe("VS Code UI (code-server + the packaged extension)", function () {
  this.timeout(240_000);
  let installDir: string;
  let scratch: Scratch;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let workspace: string;
  let started = 0;

  before(function () {
    this.timeout(15 * 60_000); // the first install on a clean machine downloads ~300 packages
    const t0 = Date.now();
    installDir = installCodeServer(14 * 60_000);
    console.log(`      code-server ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${installDir})`);
    assert.ok(
      fs.existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run \`npm run setup\` (Debian package chromium)`,
    );
    assert.ok(fs.existsSync(vsixPath()), `${vsixPath()} is missing: run \`npm run package\` first`);
  });

  after(async function () {
    this.timeout(30_000);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (workspace) {
      for (const pid of leftovers(workspace)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    if (started) console.log(`      UI run: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) {
      const file = path.join(
        OUT_DIR,
        `failed-${(this.currentTest.title ?? "test").replace(/\W+/g, "-")}.png`,
      );
      await page.screenshot({ path: file, timeout: 10_000 }).catch(() => undefined);
      console.log(`      screenshot of the failure: ${file}`);
    }
  });

  it("installs the .vsix, stops at a breakpoint and shows heap pointers' allocation summaries", async () => {
    started = Date.now();
    let last = started;
    const debug = process.env.ALLOCS_UI_DEBUG === "1";
    const step = async (what: string): Promise<void> => {
      const now = Date.now();
      console.log(`      ${((now - last) / 1000).toFixed(1).padStart(5)} s  ${what}`);
      last = now;
      if (debug && page) {
        await page
          .screenshot({ path: path.join(OUT_DIR, `step-${what.replace(/\W+/g, "-")}.png`) })
          .catch(() => undefined);
      }
    };
    fs.mkdirSync(OUT_DIR, { recursive: true });
    for (const f of fs.readdirSync(OUT_DIR)) if (f.endsWith(".png")) fs.rmSync(path.join(OUT_DIR, f));
    scratch = makeScratch(path.join(OUT_DIR, "scratch"));
    workspace = path.join(scratch.dir, "workspace");
    const { breakLine } = makeWorkspace(workspace);

    const extDir = installExtension(installDir, scratch, vsixPath(), 60_000);
    assert.ok(fs.existsSync(path.join(extDir, "dist", "extension", "src", "adapter", "main.js")));
    await step("workspace built, extension installed");

    server = await CodeServer.start(
      installDir,
      scratch,
      workspace,
      path.join(OUT_DIR, "code-server.log"),
      60_000,
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(20_000);
    await step("server and browser started");
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 60_000 });
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    // the explorer shows the workspace once the window has a folder
    await page
      .locator(".explorer-folders-view .monaco-list-row", { hasText: `${PROGRAM}.c` })
      .waitFor({ timeout: 60_000 });
    await step("workbench loaded");

    // open the source, go to the marked line, toggle a breakpoint with F9
    await page
      .locator(".explorer-folders-view .monaco-list-row", { hasText: `${PROGRAM}.c` })
      .first()
      .click();
    await page
      .locator(".monaco-editor .view-lines", { hasText: "BREAK" })
      .first()
      .waitFor({ state: "visible" });
    await page.locator(".monaco-editor .view-lines").first().click();
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
    await step("breakpoint set");

    // start the launch configuration by name: F1, "debug NAME"
    await palette(page, `debug ${CONFIG_NAME}`, CONFIG_NAME);
    await page.locator(".debug-toolbar").waitFor({ state: "visible", timeout: 30_000 });
    await step("session started");

    // stopped at the breakpoint: the call stack's top frame is main at the marked line
    const variables = page.locator(".debug-variables");
    await page
      .locator(".debug-call-stack .monaco-list-row", {
        hasText: new RegExp(`main[\\s\\S]*${PROGRAM}\\.c\\s*${breakLine}:\\d+`),
      })
      .first()
      .waitFor({ state: "visible", timeout: 60_000 });
    const ptsRow = variables.locator(".monaco-list-row", { hasText: /^\s*pts\b/ }).first();
    await ptsRow.waitFor({ state: "visible", timeout: 30_000 });
    await step("stopped");
    // the summaries come with the variables; wait until the malloc'd pointers show theirs
    const deadline = Date.now() + 20_000;
    let text = "";
    while (Date.now() < deadline) {
      text = (await variables.innerText({ timeout: 5_000 })).replace(/\u00a0/g, " ");
      if (/pts[\s\S]*__default_lib_malloc/.test(text) && /name[\s\S]*__default_lib_malloc/.test(text)) break;
      await page.waitForTimeout(250);
    }
    await step("summaries shown");
    await widenSideBar(page, 330);
    await page.screenshot({ path: path.join(OUT_DIR, "stopped-at-breakpoint.png"), timeout: 10_000 });
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

    // the Variables view of a heap struct: pts expands to its allocation and its three points,
    // the second one to its fields
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
    const expanded = (await variables.innerText({ timeout: 5_000 })).replace(/\u00a0/g, " ");
    assert.match(expanded, /\[allocation\]\s*=?\s*__default_lib_malloc struct point\[3\]/, expanded);
    assert.match(expanded, /x\s*[=:]?\s*1\b[\s\S]*y\s*[=:]?\s*10\b/, expanded);
    await step("heap struct expanded");
    await page.screenshot({ path: path.join(OUT_DIR, "variables-heap-struct.png"), timeout: 10_000 });

    // a hover over `name` in the source shows its value with the summary
    // (the cursor on the word, then "Debug: Show Hover": what a mouse hover shows, without
    // depending on the mouse's timing)
    const namePoint = await wordPoint(page, "BREAK", "name");
    await page.mouse.click(namePoint.x, namePoint.y);
    await palette(page, ">Debug: Show Hover", "Debug: Show Hover");
    const hover = page.locator(".debug-hover-widget");
    await hover.waitFor({ state: "visible", timeout: 20_000 });
    const hoverText = (await hover.innerText({ timeout: 5_000 })).replace(/\u00a0/g, " ");
    assert.match(hoverText, /__default_lib_malloc/, `hover: ${hoverText}`);
    await step("hover shown");
    await page.screenshot({ path: path.join(OUT_DIR, "hover.png"), timeout: 10_000 });
    await page.mouse.move(5, 5);
    await page.keyboard.press("Escape");

    // a watch that fails: its error stays in the Watch view, no notification pops up
    const wordAt = await wordPoint(page, "watch: not_in_scope", "not_in_scope");
    await page.mouse.dblclick(wordAt.x, wordAt.y);
    await palette(page, ">Debug: Add to Watch", "Debug: Add to Watch");
    const watch = page.locator(".debug-watch");
    await watch
      .locator(".monaco-list-row", { hasText: /not_in_scope/ })
      .first()
      .waitFor({ state: "visible", timeout: 20_000 });
    let watchText = "";
    const watchDeadline = Date.now() + 10_000;
    while (Date.now() < watchDeadline) {
      watchText = (await watch.innerText({ timeout: 5_000 })).replace(/\u00a0/g, " ");
      if (/No symbol/.test(watchText)) break;
      await page.waitForTimeout(250);
    }
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
    await step("watch error inline, no pop-up");
    await page.screenshot({ path: path.join(OUT_DIR, "watch-error-no-popup.png"), timeout: 10_000 });

    // Allocs: Describe Address... on `pts`: a webview draws the chain down to the 24-byte chunk
    await palette(page, ">Allocs: Describe Address", "Allocs: Describe Address...", 15_000, true);
    // the input box of the command (its prompt), not the palette
    await page
      .locator(".quick-input-widget", { hasText: /address .* or a C expression/i })
      .waitFor({ state: "visible", timeout: 15_000 });
    await page.locator(".quick-input-widget .quick-input-box input").waitFor({ state: "visible" });
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("pts", { delay: 20 });
    await page.keyboard.press("Enter");
    await page
      .locator(".tab", { hasText: /Allocs: Address 0x[0-9a-f]+/ })
      .waitFor({ state: "visible", timeout: 20_000 });
    // VS Code puts a webview in an iframe holding another iframe with the page
    const view = page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
    const picture = view.locator("svg.hierarchy");
    await picture.waitFor({ state: "visible", timeout: 20_000 });
    const drawn = await picture.innerHTML({ timeout: 5_000 });
    assert.match(drawn, /data-allocator="__default_lib_malloc"/, "the chunk is drawn");
    assert.match(drawn, />24 B</, "with its size");
    assert.match(drawn, /data-allocator="brk"|data-allocator="mmap"/, "inside the heap's levels");
    const facts = await view.locator("table.facts").innerText({ timeout: 5_000 });
    assert.match(facts, /__default_lib_malloc \(live\)/);
    assert.match(facts, /main at ui_heap\.c:14/);
    await step("Describe Address drawn");
    await page.screenshot({ path: path.join(OUT_DIR, "describe-address.png"), timeout: 10_000 });

    // the census in the same panel (one view, not another editor column), by site and by type
    await palette(page, ">Allocs: Show Heap Census", "Allocs: Show Heap Census");
    await page
      .locator(".tab", { hasText: /Allocs: Heap Census/ })
      .waitFor({ state: "visible", timeout: 20_000 });
    assert.equal(await page.locator(".tab", { hasText: /Allocs: / }).count(), 1, "one panel for the views");
    const censusView = page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
    await censusView.locator(".census.chart").first().waitFor({ state: "visible", timeout: 20_000 });
    const censusText = await censusView.locator("body").innerText({ timeout: 5_000 });
    assert.match(censusText, /Heap by site[\s\S]*Heap by type/, censusText);
    assert.ok((await censusView.locator(".census a.census-row").count()) > 0, "census rows are links");
    await step("census drawn");
    await page.screenshot({ path: path.join(OUT_DIR, "heap-census.png"), timeout: 10_000 });
    assert.match(censusText, /2 live heap allocations/, censusText);

    // a step over the printf (whose stdout buffer is one more heap allocation): the view is
    // redrawn at the stop, without asking
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("F10");
    await page
      .locator(".debug-call-stack .monaco-list-row", {
        hasText: new RegExp(`main[\\s\\S]*${PROGRAM}\\.c\\s*${breakLine + 1}:\\d+`),
      })
      .first()
      .waitFor({ state: "visible", timeout: 30_000 });
    let redrawn = "";
    const redrawDeadline = Date.now() + 20_000;
    while (Date.now() < redrawDeadline) {
      redrawn = await censusView
        .locator("body")
        .innerText({ timeout: 5_000 })
        .catch(() => "");
      if (/3 live heap allocations/.test(redrawn)) break;
      await page.waitForTimeout(250);
    }
    assert.match(redrawn, /3 live heap allocations/, `the census after the step: ${redrawn}`);
    await page
      .locator(".tab", { hasText: /Allocs: Heap Census \(3 allocations/ })
      .waitFor({ state: "visible", timeout: 10_000 });
    await step("census redrawn after a step");
    await page.screenshot({ path: path.join(OUT_DIR, "heap-census-after-step.png"), timeout: 10_000 });

    // the treemap of the live heap by type, in the same panel; a rectangle taken from the keyboard
    // (focus, Enter) lists its allocations as a census row does
    await palette(page, ">Allocs: Show Heap Treemap", "Allocs: Show Heap Treemap");
    await page
      .locator(".tab", { hasText: /Allocs: Heap Treemap by type \(3 allocations/ })
      .waitFor({ state: "visible", timeout: 20_000 });
    assert.equal(await page.locator(".tab", { hasText: /Allocs: / }).count(), 1, "one panel for the views");
    // 24 of about 1 KiB: a thin rectangle, too small for its label (found by its type)
    const cell = censusView.locator('.treemap a.tm-cell[data-key^="struct point"]').first();
    await cell.waitFor({ state: "visible", timeout: 20_000 });
    assert.match((await cell.getAttribute("aria-label")) ?? "", /^struct point\S* 24 B in 1 allocation$/);
    await step("treemap drawn");
    await page.screenshot({ path: path.join(OUT_DIR, "heap-treemap.png"), timeout: 10_000 });
    await cell.focus();
    await page.keyboard.press("Enter");
    await page
      .locator(".tab", { hasText: /Allocs: Allocations struct point/ })
      .waitFor({ state: "visible", timeout: 20_000 });
    await step("treemap rectangle listed its allocations");

    // continue to the end: the program prints its line in its terminal and exits; the session
    // ends and the toolbar goes away
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("F5");
    await page.locator(".debug-toolbar").waitFor({ state: "hidden", timeout: 30_000 });
    await step("program ran to its end");
    // the program's terminal shows the program's output only: no helper command line, no
    // gdb warning
    const terminal = page.locator(".terminal-wrapper.active .xterm-rows, .terminal .xterm-rows").first();
    let shown = "";
    const termDeadline = Date.now() + 15_000;
    while (Date.now() < termDeadline) {
      shown = (await terminal.innerText({ timeout: 5_000 }).catch(() => "")).replace(/\u00a0/g, " ");
      if (shown.includes("allocs 20")) break;
      await page.waitForTimeout(250);
    }
    await page.screenshot({ path: path.join(OUT_DIR, "program-terminal.png"), timeout: 10_000 });
    fs.writeFileSync(path.join(OUT_DIR, "terminal.txt"), shown);
    assert.match(shown, /allocs 20/, `the program's output is in its terminal: ${shown}`);
    assert.doesNotMatch(
      shown,
      /warning|controlling terminal|allocs-session|tty\.tmp|\/bin\/sh/,
      `terminal: ${shown}`,
    );
    await step("terminal read");
  });
});
