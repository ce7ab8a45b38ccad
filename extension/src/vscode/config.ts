// Launch configurations before they reach the adapter: defaults filled in, and mistakes caught
// with a message that says what to change. No `vscode` import: the provider in extension.ts
// calls these with plain objects, and the unit tests do the same.
import * as path from "node:path";

export const DEBUG_TYPE = "allocs";

/** The command ids of package.json's contributes.commands, in one place. */
export const COMMANDS = {
  describeAddress: "allocs.describeAddress",
  showHeapCensus: "allocs.showHeapCensus",
  showMemoryMap: "allocs.showMemoryMap",
  describeVariable: "allocs.describeVariable",
  pickProcess: "allocs.pickProcess",
  // the heap-graph commands (graph.ts)
  showLeaks: "allocs.showLeaks",
  takeSnapshot: "allocs.takeSnapshot",
  compareSnapshot: "allocs.compareSnapshot",
  showRetainers: "allocs.showRetainers",
  showHeapCensusByType: "allocs.showHeapCensusByType",
  showHeapTreemap: "allocs.showHeapTreemap",
  // the lock on the debug toolbar of a core file's session (postmortem.ts)
  postMortemInfo: "allocs.postMortemInfo",
} as const;

/** The context key that is true while the focused session is a core file's: VS Code enables
 * Continue and the steps by its debug state alone (no DAP capability or context key turns them
 * off), so the extension adds a lock to the toolbar and takes the execution keys itself. */
export const POST_MORTEM_CONTEXT = "allocs.postMortem";

export const POST_MORTEM_NOTICE =
  "allocs: this is a core file, a snapshot of a process that no longer runs: it cannot continue or step. " +
  "Inspect it, or launch the program to run it.";

/** Whether a session's configuration opens a core file (a launch with coreDumpPath). */
export function isPostMortem(c: AllocsConfiguration | undefined): boolean {
  return c?.request === "launch" && typeof c.coreDumpPath === "string" && c.coreDumpPath.trim() !== "";
}

/** A debug configuration as VS Code hands it over (launch.json plus our attributes). */
export interface AllocsConfiguration {
  type?: string;
  request?: string;
  name?: string;
  program?: unknown;
  args?: unknown;
  cwd?: unknown;
  environment?: unknown;
  env?: unknown;
  stopAtEntry?: unknown;
  miDebuggerPath?: unknown;
  preload?: unknown;
  metadataDir?: unknown;
  coreDumpPath?: unknown;
  processId?: unknown;
  [key: string]: unknown;
}

/** What the editor knows when F5 is pressed without a launch.json. */
export interface EditorContext {
  /** The file in the active editor, if any. */
  activeFile?: string;
  /** Its language id ("c", ...). */
  languageId?: string;
  /** Whether a workspace folder is open. */
  hasFolder?: boolean;
}

export type Resolution =
  | { readonly kind: "ok"; readonly config: AllocsConfiguration }
  /** Stop the launch and show this message. */
  | { readonly kind: "error"; readonly message: string };

const PICK_PROCESS = "${command:pickProcess}";

function ok(config: AllocsConfiguration): Resolution {
  return { kind: "ok", config };
}

function error(message: string): Resolution {
  return { kind: "error", message };
}

function named(c: AllocsConfiguration): string {
  return c.name ? `the configuration '${c.name}'` : "the launch configuration";
}

/** The configuration offered when launch.json does not exist yet (or F5 with no launch.json):
 * debug the executable built from the C file in the editor. */
export function defaultLaunchConfiguration(): AllocsConfiguration {
  return {
    type: DEBUG_TYPE,
    request: "launch",
    name: "allocs: launch",
    program: "${fileDirname}/${fileBasenameNoExtension}",
    args: [],
    cwd: "${fileDirname}",
    stopAtEntry: false,
    preload: true,
  };
}

function checkStringArray(c: AllocsConfiguration, key: string): string | undefined {
  const v = c[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((a) => typeof a !== "string")) {
    return `"${key}" in ${named(c)} must be an array of strings, e.g. ["--verbose", "input.txt"]`;
  }
  return undefined;
}

function checkEnvironment(c: AllocsConfiguration): string | undefined {
  const e = c.environment;
  if (e !== undefined) {
    const fine =
      Array.isArray(e) &&
      e.every(
        (x) => typeof x === "object" && x !== null && typeof (x as { name?: unknown }).name === "string",
      );
    if (!fine) return `"environment" in ${named(c)} must be a list like [{ "name": "VAR", "value": "text" }]`;
  }
  const env = c.env;
  if (env !== undefined && (typeof env !== "object" || env === null || Array.isArray(env))) {
    return `"env" in ${named(c)} must be an object like { "VAR": "text" }`;
  }
  return undefined;
}

function checkTypes(c: AllocsConfiguration, keys: Record<string, "string" | "boolean">): string | undefined {
  for (const [key, type] of Object.entries(keys)) {
    const v = c[key];
    if (v !== undefined && typeof v !== type) return `"${key}" in ${named(c)} must be a ${type}`;
  }
  return undefined;
}

/** Step one (before ${...} variables are substituted): supply a configuration when there is none,
 * fill defaults, and reject what can never work. */
export function resolveConfiguration(input: AllocsConfiguration, editor: EditorContext = {}): Resolution {
  let c: AllocsConfiguration = { ...input };
  if (!c.type && !c.request && !c.name) {
    // F5 without a launch.json
    if (editor.languageId === "c" || (editor.activeFile && /\.[ch]$/.test(editor.activeFile))) {
      c = defaultLaunchConfiguration();
    } else {
      return error(
        "allocs: nothing to debug. Open the C file whose program you want to debug, or add an " +
          '"allocs" configuration to .vscode/launch.json (Run > Add Configuration...).',
      );
    }
  }
  c.type = DEBUG_TYPE;
  if (c.request === undefined) c.request = "launch";
  if (c.request !== "launch" && c.request !== "attach") {
    return error(`allocs: "request" in ${named(c)} must be "launch" or "attach", not "${String(c.request)}"`);
  }
  if (!c.name) c.name = c.request === "attach" ? "allocs: attach" : "allocs: launch";

  const typeError = checkTypes(c, {
    cwd: "string",
    miDebuggerPath: "string",
    metadataDir: "string",
    coreDumpPath: "string",
    stopAtEntry: "boolean",
    preload: "boolean",
  });
  if (typeError) return error(`allocs: ${typeError}`);

  if (c.request === "attach") {
    if (c.processId === undefined || c.processId === null || c.processId === "") {
      c.processId = PICK_PROCESS;
    }
    const pid = c.processId;
    const fine =
      (typeof pid === "number" && Number.isInteger(pid) && pid > 0) ||
      (typeof pid === "string" && (/^\s*\d+\s*$/.test(pid) || pid.includes("${")));
    if (!fine) {
      return error(
        `allocs: "processId" in ${named(c)} must be a process id or "${PICK_PROCESS}", not ${JSON.stringify(pid)}`,
      );
    }
    if (c.miDebuggerPath === undefined) c.miDebuggerPath = "gdb";
    return ok(c);
  }

  if (typeof c.program !== "string" || c.program.trim() === "") {
    const hint = c.coreDumpPath
      ? "the executable that dumped the core"
      : "the executable to debug, built with gcc -g";
    return error(
      `allocs: ${named(c)} has no "program": set it to ${hint} (for example "\${workspaceFolder}/a.out").`,
    );
  }
  const arrayError = checkStringArray(c, "args") ?? checkEnvironment(c);
  if (arrayError) return error(`allocs: ${arrayError}`);
  if (c.args === undefined) c.args = [];
  if (c.stopAtEntry === undefined) c.stopAtEntry = false;
  if (c.preload === undefined) c.preload = true;
  if (c.miDebuggerPath === undefined) c.miDebuggerPath = "gdb";
  if (c.cwd === undefined && editor.hasFolder) c.cwd = "${workspaceFolder}";
  return ok(c);
}

/** What the file system says, so that step two can be tested with fakes. */
export interface FileChecks {
  isFile(file: string): boolean;
  isDirectory(dir: string): boolean;
  isExecutable(file: string): boolean;
}

/** Step two (after substitution): the files named must exist. The adapter checks again; these
 * messages come first and point at the attribute to fix. */
export function checkSubstituted(c: AllocsConfiguration, fsx: FileChecks): Resolution {
  const cwd = typeof c.cwd === "string" && c.cwd !== "" ? c.cwd : undefined;
  if (cwd !== undefined && !fsx.isDirectory(cwd)) {
    return error(`allocs: the working directory "${cwd}" ("cwd" in ${named(c)}) does not exist.`);
  }
  const resolve = (p: string): string => (cwd !== undefined ? path.resolve(cwd, p) : path.resolve(p));
  if (c.request === "attach") {
    if (typeof c.processId === "string") {
      const t = c.processId.trim();
      if (!/^\d+$/.test(t)) return error(`allocs: no process was chosen to attach to ("processId": "${t}").`);
      c = { ...c, processId: Number(t) };
    }
    return ok(c);
  }
  if (typeof c.program === "string") {
    const program = resolve(c.program);
    if (!fsx.isFile(program)) {
      return error(
        `allocs: the program "${program}" does not exist. Build it first (gcc -g -o ${path.basename(program)} ...) ` +
          `or fix "program" in ${named(c)}.`,
      );
    }
    if (typeof c.coreDumpPath !== "string" && !fsx.isExecutable(program)) {
      return error(`allocs: the program "${program}" is not executable ("program" in ${named(c)}).`);
    }
  }
  if (typeof c.coreDumpPath === "string") {
    const core = resolve(c.coreDumpPath);
    if (!fsx.isFile(core)) {
      return error(`allocs: the core file "${core}" ("coreDumpPath" in ${named(c)}) does not exist.`);
    }
  }
  return ok(c);
}

/** The adapter's entry point inside the extension (the checkout's layout, kept by the .vsix). */
export function adapterMain(extensionRoot: string): string {
  return path.join(extensionRoot, "dist", "extension", "src", "adapter", "main.js");
}

export interface AdapterCommand {
  readonly command: string;
  readonly args: string[];
  readonly env: Record<string, string>;
}

/** How to run the adapter: with the extension host's own node (`process.execPath`; in desktop
 * VS Code that is Electron, which ELECTRON_RUN_AS_NODE turns into plain node). */
export function adapterCommand(extensionRoot: string, execPath: string): AdapterCommand {
  return { command: execPath, args: [adapterMain(extensionRoot)], env: { ELECTRON_RUN_AS_NODE: "1" } };
}
