// The `allocs-lldb` debugger type: LLVM's own DAP server (lldb-dap, or Debian's lldb-vscode-16)
// with the bridge's LLDB front imported by `initCommands` and the runtime preloaded into the
// program through the launch's `env`. Pointers in Variables, Watch and hovers then show their
// allocation (the front's LLDB summaries) and expand to a heap chunk's real length (its
// synthetic children). The commands (Describe Address, Heap Census, Memory Map) reach the
// front through `evaluate` in the REPL context with LLDB's command escape (a backquote):
// `lldbRequests` answers the extension's `allocs/*` requests that way: the evaluate result is the
// command's JSON alone (after lldb-dap's echo of the command line), its shape checked. No vscode import here,
// so the tests drive it with a real DAP client.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

import { runtimeFirst } from "../../../cli/src/ld-preload";
import { descriptionFromBody, isCensus, isMapNodes } from "./description";
import type { RequestSession } from "./requests";

export const LLDB_DEBUG_TYPE = "allocs-lldb";

/** The DAP servers tried in order: LLVM 17+'s name, then lldb-vscode by version, then unversioned. */
export const LLDB_ADAPTERS = ["lldb-dap", "lldb-vscode-16", "lldb-vscode-15", "lldb-vscode"];

/** The first DAP server on the PATH, or undefined (the setting `lldbAdapter` overrides). */
export function findLldbAdapter(candidates: readonly string[] = LLDB_ADAPTERS): string | undefined {
  for (const name of candidates) {
    if (spawnSync("sh", ["-c", `command -v "$1"`, "sh", name], { encoding: "utf8" }).status === 0)
      return name;
  }
  return undefined;
}

/** Where the bridge's LLDB front and the runtime are in a checkout or an installed extension. */
export function lldbPluginPath(root: string): string {
  return path.join(root, "gdb-python-bridge", "allocs_lldb.py");
}

export function lldbRuntimePath(root: string): string {
  return path.join(root, "runtime", "build", "liballocs.so");
}

export interface LldbLaunchConfiguration {
  type?: string;
  request?: string;
  program?: string;
  initCommands?: string[];
  /** lldb-dap's environment: "NAME=VALUE" strings */
  env?: string[];
  /** false: do not preload the runtime into the program */
  preload?: boolean;
  [key: string]: unknown;
}

/** The configuration lldb-dap gets: the plugin imported first, the runtime preloaded into a
 * launched program (the user's own LD_PRELOAD kept after it); everything else passes through. */
export function lldbConfiguration(config: LldbLaunchConfiguration, root: string): LldbLaunchConfiguration {
  const out: LldbLaunchConfiguration = { ...config, type: LLDB_DEBUG_TYPE };
  const importLine = `command script import ${lldbPluginPath(root)}`;
  out.initCommands = [importLine, ...(config.initCommands ?? []).filter((c) => c !== importLine)];
  if ((out.request ?? "launch") === "launch" && config.preload !== false) {
    const runtime = lldbRuntimePath(root);
    const env = [...(config.env ?? [])];
    const i = env.findIndex((e) => e.startsWith("LD_PRELOAD="));
    const value = `LD_PRELOAD=${runtimeFirst(runtime, i >= 0 ? env[i].slice("LD_PRELOAD=".length) : undefined)}`;
    if (i >= 0) env[i] = value;
    else env.push(value);
    out.env = env;
  }
  return out;
}

/** The part of a DAP session used to reach lldb's command line. */
export interface EvaluateSession {
  customRequest(command: string, args?: unknown): PromiseLike<unknown>;
}

/** Runs an `alloc` command with --json through lldb-dap's REPL: the evaluate result is the
 * command's whole output (allocReply); the command's one-line error (`error: alloc...`) becomes a
 * thrown Error. */
export async function allocJson(
  session: EvaluateSession,
  command: string,
  frameId?: number,
): Promise<unknown> {
  const args: Record<string, unknown> = { expression: `\`${command}`, context: "repl" };
  if (frameId !== undefined) args.frameId = frameId;
  const body = (await session.customRequest("evaluate", args)) as { result?: unknown } | undefined;
  return allocReply(typeof body?.result === "string" ? body.result : "", command);
}

/** lldb-dap's evaluate result for a command: its echo of the command line (`(lldb) COMMAND`, which
 * lldb-dap writes before the command's output), then the output. For `alloc ... --json` that output
 * is one JSON document and nothing else, or the command's one error line: anything else (text
 * around the JSON, two documents) is refused, not searched. */
export function allocReply(result: string, command: string): unknown {
  let output = result;
  const echo = `(lldb) ${command}\n`;
  if (output.startsWith(echo)) output = output.slice(echo.length);
  const text = output.trim();
  if (text.startsWith("{") || text.startsWith("[")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`alloc: lldb's answer to ${command} is not one JSON document: ${text.slice(0, 200)}`);
    }
  }
  const error = /^error: ([^\n]*)$/.exec(text);
  if (error !== null) throw new Error(error[1]);
  throw new Error(`alloc: no JSON from lldb for ${command}${text !== "" ? `: ${text.slice(0, 200)}` : ""}`);
}

/** The extension's `allocs/describe`, `allocs/census`, `allocs/maps` and `allocs/ls` requests answered by
 * the LLDB front, so the commands and views work unchanged in an `allocs-lldb` session. */
/** A snapshot name or path as one word of the command line (the command splits on blanks). */
function snapshotWord(v: string): string {
  if (!/^[^\s"'`]+$/.test(v))
    throw new Error(`allocs: a snapshot name or path without blanks or quotes, not ${v}`);
  return v;
}

export function lldbRequests(session: EvaluateSession): RequestSession {
  return {
    async customRequest(command: string, args?: unknown): Promise<unknown> {
      const a = (args ?? {}) as { address?: string; expression?: string; frameId?: number; by?: string };
      switch (command) {
        case "allocs/describe": {
          const what = a.address ?? a.expression;
          if (what === undefined || what.trim() === "")
            throw new Error("allocs: an address or expression is needed");
          const description = await allocJson(session, `alloc info --json ${what}`, a.frameId);
          if (descriptionFromBody(description) === undefined)
            throw new Error("alloc info: lldb's answer is not an address description");
          return { description };
        }
        case "allocs/census": {
          const c = await allocJson(
            session,
            `alloc census --json --by ${a.by === "type" ? "type" : "site"}`,
            a.frameId,
          );
          if (!isCensus(c)) throw new Error("alloc census: lldb's answer is not a census");
          return c;
        }
        case "allocs/maps": {
          const m = await allocJson(session, "alloc maps --json", a.frameId);
          const list = Array.isArray(m) ? m : (m as { maps?: unknown } | null)?.maps;
          if (!isMapNodes(list)) throw new Error("alloc maps: lldb's answer is not a list of mappings");
          return m;
        }
        case "allocs/ls": {
          const f = (args ?? {}) as { type?: string; site?: string; limit?: number };
          const quote = (v: string) => JSON.stringify(v); // the command line's "..." for a value with spaces
          const opts = [
            f.type !== undefined ? `--type ${quote(f.type)}` : "",
            f.site !== undefined ? `--site ${quote(f.site)}` : "",
            typeof f.limit === "number" ? `--limit ${Math.floor(f.limit)}` : "",
          ].filter(Boolean);
          const r = await allocJson(session, ["alloc ls --json", ...opts].join(" "), a.frameId);
          if (typeof r !== "object" || r === null || !Array.isArray((r as { entries?: unknown }).entries))
            throw new Error("alloc ls: lldb's answer is not a list of allocations");
          return r;
        }
        case "allocs/leaks":
          return allocJson(session, "alloc leaks --json", a.frameId);
        case "allocs/retainers": {
          const r = (args ?? {}) as { expression?: string; limit?: number };
          if (!r.expression?.trim()) throw new Error("allocs: an address or expression is needed");
          const limit = typeof r.limit === "number" ? ` --limit ${Math.floor(r.limit)}` : "";
          return allocJson(session, `alloc retainers --json${limit} ${r.expression}`, a.frameId);
        }
        case "allocs/snapshot": {
          const r = (args ?? {}) as { action?: string; name?: string };
          const name = r.name !== undefined ? ` ${snapshotWord(r.name)}` : "";
          if (r.action === "ls") return allocJson(session, "alloc snapshot ls --json", a.frameId);
          if (r.action === "rm") return allocJson(session, `alloc snapshot rm --json${name}`, a.frameId);
          return allocJson(session, `alloc snapshot save --json${name}`, a.frameId);
        }
        case "allocs/diff": {
          const r = (args ?? {}) as { from?: string; to?: string };
          // one word each, as for allocs/snapshot: the command takes no quotes (a quoted name is
          // looked up quotes and all)
          const names = [r.from, r.to].filter((x): x is string => x !== undefined).map(snapshotWord);
          return allocJson(session, ["alloc diff --json", ...names].join(" "), a.frameId);
        }
        default:
          return session.customRequest(command, args);
      }
    },
  };
}
