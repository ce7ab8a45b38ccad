// Where the parts of an installed checkout live, relative to the compiled CLI.
import * as fs from "node:fs";
import * as path from "node:path";

/** The checkout's root: dist/cli/src/paths.js -> ../../.. */
export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const RUNTIME_INCLUDE = path.join(ROOT, "runtime", "include");

export function runtimeLibrary(): string {
  return process.env.ALLOCS_RUNTIME ?? path.join(ROOT, "runtime", "build", "liballocs.so");
}

export function stubLibrary(): string {
  return path.join(ROOT, "runtime", "build", "liballocs_stub.so");
}

/** Fails with a message that says what to do when the runtime has not been built. */
export function requireBuilt(file: string): string {
  if (!fs.existsSync(file)) {
    throw new UsageError(
      `${file} does not exist: run \`npm install\` (or \`npm run build\`) in ${ROOT} first`,
    );
  }
  return file;
}

/** An error the user can fix; printed without a stack trace. */
export class UsageError extends Error {}
