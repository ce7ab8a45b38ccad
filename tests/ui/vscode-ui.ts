// End-to-end in a real VS Code (`npm run test:ui`): the packaged .vsix installed into
// code-server, a workspace with a C program and a launch.json, a breakpoint set from the
// keyboard, the launch configuration started from the command palette, and the Variables view
// read while stopped: heap pointers must show their allocation summaries. Screenshots go to
// .test-output/ui/. Not named *.test.ts: the default mocha run does not pick it up (it needs
// the .vsix, which `npm run test:ui` builds first).
//
// This file holds the run's life (install, start, clean up) and the scenario's order; the steps
// are in session-steps.ts and view-steps.ts, the page helpers in workbench.ts.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import type { Browser, Page } from "playwright-core";

import { assertChromiumInstalled, launchBrowser, openPage } from "./browser";
import {
  CodeServer,
  OUT_DIR,
  installCodeServer,
  installExtension,
  makeScratch,
  type Scratch,
} from "./code-server";
import { StepLog, type Scene } from "./scene";
import {
  checkStoppedVariables,
  expandHeapStruct,
  hoverShowsSummary,
  openWorkbench,
  runToEnd,
  setBreakpoint,
  startSession,
  watchErrorStaysInline,
} from "./session-steps";
import { killLeftovers, makeWorkspace, vsixPath } from "./ui-workspace";
import { censusRedrawnAfterStep, describeAddress, heapCensus, heapTreemap } from "./view-steps";

describe("VS Code UI (code-server + the packaged extension)", function () {
  this.timeout(240_000);
  let installDir: string;
  let scratch: Scratch;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace: string;
  let started = 0;

  before(function () {
    this.timeout(15 * 60_000); // the first install on a clean machine downloads ~300 packages
    const t0 = Date.now();
    installDir = installCodeServer(14 * 60_000);
    console.log(`      code-server ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${installDir})`);
    assertChromiumInstalled();
    assert.ok(fs.existsSync(vsixPath()), `${vsixPath()} is missing: run \`npm run package\` first`);
  });

  after(async function () {
    this.timeout(30_000);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (workspace) killLeftovers(workspace);
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
    const steps = new StepLog(started);
    fs.mkdirSync(OUT_DIR, { recursive: true });
    for (const f of fs.readdirSync(OUT_DIR)) if (f.endsWith(".png")) fs.rmSync(path.join(OUT_DIR, f));
    scratch = makeScratch(path.join(OUT_DIR, "scratch"));
    workspace = path.join(scratch.dir, "workspace");
    const { breakLine } = makeWorkspace(workspace);

    const extDir = installExtension(installDir, scratch, vsixPath(), 60_000);
    assert.ok(fs.existsSync(path.join(extDir, "dist", "extension", "src", "adapter", "main.js")));
    await steps.done("workspace built, extension installed");

    server = await CodeServer.start(
      installDir,
      scratch,
      workspace,
      path.join(OUT_DIR, "code-server.log"),
      60_000,
    );
    browser = await launchBrowser(60_000);
    page = await openPage(browser);
    steps.page = page;
    await steps.done("server and browser started");
    const scene: Scene = { page, breakLine, steps };

    await openWorkbench(scene, server.url, workspace);
    await setBreakpoint(scene);
    await startSession(scene);
    await checkStoppedVariables(scene);
    await expandHeapStruct(scene);
    await hoverShowsSummary(scene);
    await watchErrorStaysInline(scene);
    await describeAddress(scene);
    await heapCensus(scene);
    await censusRedrawnAfterStep(scene);
    await heapTreemap(scene);
    await runToEnd(scene);
  });
});
