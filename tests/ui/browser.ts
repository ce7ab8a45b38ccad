// The browser that drives code-server in the UI test: Debian's Chromium through playwright-core
// (which downloads no browser of its own), headless, with the flags the notes in
// ../../../shared/notes/vscode-ui-testing.md found needed on these machines.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";

import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.ALLOCS_UI_CHROMIUM ?? "/usr/bin/chromium";

export function assertChromiumInstalled(): void {
  assert.ok(
    fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run \`npm run setup\` (Debian package chromium)`,
  );
}

export async function launchBrowser(timeoutMs: number): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: timeoutMs,
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
}

/** A page as large as a laptop's screen, every wait on it 20 s unless told otherwise. */
export async function openPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(20_000);
  return page;
}
