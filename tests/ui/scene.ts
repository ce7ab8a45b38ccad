// What every step of the UI scenario shares: the page, the program's breakpoint line, and the
// step log (timings on the console, screenshots in .test-output/ui/).
import * as path from "node:path";

import type { Page } from "playwright-core";

import { OUT_DIR } from "./code-server";

/** Prints each step's time since the previous one; with ALLOCS_UI_DEBUG=1 also takes a
 * screenshot after each step. */
export class StepLog {
  /** set once the browser has a page: steps before it have no screenshot */
  page: Page | undefined;
  private last: number;
  private readonly debug = process.env.ALLOCS_UI_DEBUG === "1";

  constructor(readonly started: number) {
    this.last = started;
  }

  async done(what: string): Promise<void> {
    const now = Date.now();
    console.log(`      ${((now - this.last) / 1000).toFixed(1).padStart(5)} s  ${what}`);
    this.last = now;
    if (this.debug && this.page) {
      await this.page
        .screenshot({ path: path.join(OUT_DIR, `step-${what.replace(/\W+/g, "-")}.png`) })
        .catch(() => undefined);
    }
  }
}

export interface Scene {
  readonly page: Page;
  /** the program's line marked BREAK, where the breakpoint is set */
  readonly breakLine: number;
  readonly steps: StepLog;
}

/** A screenshot into .test-output/ui/NAME, kept for the reader of the run. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT_DIR, name), timeout: 10_000 });
}
