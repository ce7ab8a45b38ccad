// modules: the program and the shared libraries gdb has loaded (`-file-list-shared-libraries`),
// with their address ranges and whether gdb read their symbols; the allocs runtime says so.
import type { DebugProtocol } from "@vscode/debugprotocol";
import * as path from "node:path";

import type { MIValue } from "../mi";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";

function field(t: MIValue | undefined, name: string): MIValue | undefined {
  return t !== undefined && typeof t === "object" && t.kind === "tuple"
    ? t.results.find((r) => r.name === name)?.value
    : undefined;
}

function str(v: MIValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The runtime's library (preloaded into the program) is named as such. */
function moduleName(file: string, runtimePath: string | undefined): string {
  const base = path.basename(file);
  const isRuntime =
    (runtimePath !== undefined && path.resolve(file) === path.resolve(runtimePath)) ||
    /^liballocs[^/]*\.so/.test(base);
  return isRuntime ? `${base} (allocs runtime)` : base;
}

async function modules(
  ctx: Context,
  a: DebugProtocol.ModulesArguments,
): Promise<DebugProtocol.ModulesResponse["body"]> {
  const gdb = ctx.requireGdb();
  const out: DebugProtocol.Module[] = [];
  const program = ctx.config?.program;
  if (program !== undefined)
    out.push({ id: program, name: path.basename(program), path: program, symbolStatus: "Symbols loaded" });
  if (ctx.hasProcess) {
    const r = await gdb.send({ operation: "-file-list-shared-libraries" });
    const list = r.results.find((x) => x.name === "shared-libraries")?.value;
    const libs = list !== undefined && typeof list === "object" && list.kind === "list" ? list.values : [];
    for (const lib of libs) {
      const file = str(field(lib, "host-name")) ?? str(field(lib, "target-name")) ?? str(field(lib, "id"));
      if (file === undefined) continue;
      const ranges = field(lib, "ranges");
      const first =
        ranges !== undefined && typeof ranges === "object" && ranges.kind === "list"
          ? ranges.values[0]
          : undefined;
      const from = str(field(first, "from"));
      const to = str(field(first, "to"));
      out.push({
        id: file,
        name: moduleName(file, ctx.config?.runtimePath),
        path: file,
        symbolStatus: str(field(lib, "symbols-loaded")) === "1" ? "Symbols loaded" : "Symbols not loaded",
        addressRange: from !== undefined && to !== undefined ? `${from}-${to}` : undefined,
      });
    }
  }
  const start = a.startModule ?? 0;
  const page = a.moduleCount ? out.slice(start, start + a.moduleCount) : out.slice(start);
  return { modules: page, totalModules: out.length };
}

export const modulesFamily: RequestFamily = {
  name: "modules",
  capabilities: { supportsModulesRequest: true },
  requests: { modules: handler(modules) },
};
