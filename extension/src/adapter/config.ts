// The launch and attach attributes the adapter understands (cppdbg-like names plus the
// runtime's own), and their validation into one normalised configuration.
import * as fs from "node:fs";
import * as path from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { defaultBridgePath, defaultRuntimePath } from "./paths";

export interface AllocsLaunchArguments extends DebugProtocol.LaunchRequestArguments {
  program?: string;
  args?: string[];
  cwd?: string;
  /** `{ "NAME": "value" }` */
  env?: Record<string, string | null>;
  /** cppdbg style: `[{ "name": "NAME", "value": "value" }]` */
  environment?: { name: string; value: string }[];
  stopAtEntry?: boolean;
  miDebuggerPath?: string;
  /** Preload the allocs runtime into the program (default true). */
  preload?: boolean;
  /** Where the runtime looks for type metadata (passed to the runtime as ALLOCS_META_PATH). */
  metadataDir?: string;
  /** Overrides of the bridge script and the runtime library. */
  bridgePath?: string;
  runtimePath?: string;
  /** Post-mortem: a core file of `program`. */
  coreDumpPath?: string;
  /** "integratedTerminal" (default when the client can), "externalTerminal", or "internalConsole"
   * (a pty the adapter owns). */
  console?: "integratedTerminal" | "externalTerminal" | "internalConsole";
  /** cppdbg: true runs the program in an external terminal (console "externalTerminal"). */
  externalConsole?: boolean;
  /** cppdbg: gdb commands run before the program is loaded (`-...` are MI commands). */
  setupCommands?: SetupCommand[];
  /** cppdbg: the debugger; only "gdb" here. */
  MIMode?: string;
  /** Log every MI line to the Debug Console. */
  traceMI?: boolean;
}

/** cppdbg's setupCommands entry. */
export interface SetupCommand {
  text: string;
  description?: string;
  ignoreFailures?: boolean;
}

export interface AllocsAttachArguments extends DebugProtocol.AttachRequestArguments {
  processId?: number | string;
  setupCommands?: SetupCommand[];
  MIMode?: string;
  program?: string;
  miDebuggerPath?: string;
  bridgePath?: string;
  stopAtEntry?: boolean;
  traceMI?: boolean;
}

export type SessionKind = "launch" | "attach" | "core";

export interface SessionConfig {
  readonly kind: SessionKind;
  readonly program?: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env: ReadonlyMap<string, string | null>;
  readonly stopAtEntry: boolean;
  readonly gdbPath: string;
  readonly preload: boolean;
  readonly metadataDir?: string;
  readonly bridgePath: string;
  readonly runtimePath: string;
  readonly coreDumpPath?: string;
  readonly processId?: number;
  readonly useIntegratedTerminal: boolean;
  /** runInTerminal's kind when the program gets a client terminal */
  readonly terminalKind: "integrated" | "external";
  readonly setupCommands: readonly SetupCommand[];
  readonly traceMI: boolean;
}

/** A configuration the user must fix; shown as-is. */
export class ConfigError extends Error {}

function existingFile(what: string, file: string, base?: string): string {
  const full = base !== undefined ? path.resolve(base, file) : path.resolve(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    throw new ConfigError(`${what} ${full} does not exist`);
  }
  if (!st.isFile()) throw new ConfigError(`${what} ${full} is not a file`);
  return full;
}

function envMap(a: AllocsLaunchArguments): Map<string, string | null> {
  const env = new Map<string, string | null>();
  for (const e of a.environment ?? []) {
    if (typeof e?.name === "string") env.set(e.name, e.value === undefined ? "" : String(e.value));
  }
  for (const [k, v] of Object.entries(a.env ?? {})) env.set(k, v === null ? null : String(v));
  return env;
}

/** cppdbg's MIMode: gdb, or a clear refusal (lldb sessions are the allocs-lldb debugger type). */
function checkMIMode(mode: unknown): void {
  if (mode === undefined || mode === "gdb") return;
  throw new ConfigError(
    `"MIMode": ${JSON.stringify(mode)} is not supported: this debugger type drives gdb ("MIMode": "gdb"); ` +
      'for lldb use the debugger type "allocs-lldb"',
  );
}

function setupCommands(list: unknown): SetupCommand[] {
  if (list === undefined) return [];
  const ok =
    Array.isArray(list) &&
    list.every((c) => c !== null && typeof c === "object" && typeof (c as SetupCommand).text === "string");
  if (!ok)
    throw new ConfigError(
      '"setupCommands" must be a list of { "text": "gdb command", "ignoreFailures": true|false }',
    );
  return (list as SetupCommand[]).map((c) => ({
    text: c.text,
    description: c.description,
    ignoreFailures: c.ignoreFailures === true,
  }));
}

const CONSOLES = ["integratedTerminal", "externalTerminal", "internalConsole"];

export function launchConfig(a: AllocsLaunchArguments, clientHasTerminal: boolean): SessionConfig {
  checkMIMode(a.MIMode);
  if (a.console !== undefined && !CONSOLES.includes(a.console))
    throw new ConfigError(`"console": ${JSON.stringify(a.console)} is not one of ${CONSOLES.join(", ")}`);
  if (typeof a.program !== "string" || a.program.trim() === "") {
    throw new ConfigError(
      'no program to debug: set "program" in the launch configuration to the path of an executable',
    );
  }
  if (a.cwd !== undefined && !fs.existsSync(a.cwd)) {
    throw new ConfigError(`working directory ${a.cwd} ("cwd") does not exist`);
  }
  const program = existingFile("program", a.program, a.cwd);
  const core = a.coreDumpPath !== undefined ? existingFile("core file", a.coreDumpPath, a.cwd) : undefined;
  if (a.args !== undefined && !Array.isArray(a.args))
    throw new ConfigError('"args" must be an array of strings');
  return {
    kind: core !== undefined ? "core" : "launch",
    program,
    args: (a.args ?? []).map(String),
    cwd: a.cwd,
    env: envMap(a),
    stopAtEntry: a.stopAtEntry === true,
    gdbPath: a.miDebuggerPath ?? "gdb",
    preload: a.preload !== false,
    metadataDir: a.metadataDir,
    bridgePath: a.bridgePath ?? defaultBridgePath(),
    runtimePath: a.runtimePath ?? defaultRuntimePath(),
    coreDumpPath: core,
    useIntegratedTerminal: clientHasTerminal && a.console !== "internalConsole",
    terminalKind: a.console === "externalTerminal" || a.externalConsole === true ? "external" : "integrated",
    setupCommands: setupCommands(a.setupCommands),
    traceMI: a.traceMI === true,
  };
}

export function attachConfig(a: AllocsAttachArguments): SessionConfig {
  checkMIMode(a.MIMode);
  const pid = Number(a.processId);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new ConfigError('attach needs "processId": the id of a running process');
  }
  if (!fs.existsSync(`/proc/${pid}`)) throw new ConfigError(`there is no process ${pid} to attach to`);
  return {
    kind: "attach",
    program: a.program !== undefined ? existingFile("program", a.program) : undefined,
    args: [],
    env: new Map(),
    stopAtEntry: a.stopAtEntry === true,
    gdbPath: a.miDebuggerPath ?? "gdb",
    preload: false,
    bridgePath: a.bridgePath ?? defaultBridgePath(),
    runtimePath: defaultRuntimePath(),
    processId: pid,
    useIntegratedTerminal: false,
    terminalKind: "integrated",
    setupCommands: setupCommands(a.setupCommands),
    traceMI: a.traceMI === true,
  };
}
