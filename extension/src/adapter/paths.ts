// Where the adapter finds the gdb bridge and the runtime, relative to its own compiled file.
// Checkout and packaged .vsix share one layout:
//   <root>/dist/extension/src/adapter/*.js
//   <root>/gdb-python-bridge/allocs_gdb.py
//   <root>/runtime/build/liballocs.so
import * as path from "node:path";

/** The checkout (or installed extension) root: dist/extension/src/adapter -> ../../../.. */
export const ROOT = path.resolve(__dirname, "..", "..", "..", "..");

export function defaultBridgePath(): string {
  return process.env.ALLOCS_BRIDGE ?? path.join(ROOT, "gdb-python-bridge", "allocs_gdb.py");
}

export function defaultRuntimePath(): string {
  return process.env.ALLOCS_RUNTIME ?? path.join(ROOT, "runtime", "build", "liballocs.so");
}
