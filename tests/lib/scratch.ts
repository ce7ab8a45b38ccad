// A scratch folder for a describe block's tests: made before them, under the system's temporary
// folder, and removed after them, whatever they left in it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Scratch {
  /** the folder; "" until the block's before hooks ran (or when the block was skipped) */
  dir: string;
}

/** Registers the hooks: before the block's tests `requireTools` (which skips the block, saying why,
 * when something it needs is missing), then a fresh folder named from `tmpPrefix`; after them,
 * the folder removed. */
export function useScratchDir(
  tmpPrefix: string,
  requireTools: (ctx: Mocha.Context) => void = () => {},
): Scratch {
  const scratch: Scratch = { dir: "" };
  before(function () {
    requireTools(this);
    scratch.dir = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  });
  after(() => scratch.dir && fs.rmSync(scratch.dir, { recursive: true, force: true }));
  return scratch;
}
