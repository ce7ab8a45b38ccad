// The extension's entry point (package.json "main"): the `allocs` debugger type (adapter
// factory and configuration provider), the `allocs-lldb` type (lldb-dap with the LLDB front: ./lldb.ts), the process picker behind ${command:pickProcess}, and
// the commands that draw memory: Describe Address..., Show Heap Census, Show Memory Map.
import { execFile } from "node:child_process";
import * as fs from "node:fs";

import * as vscode from "vscode";

import {
  COMMANDS,
  DEBUG_TYPE,
  adapterCommand,
  checkSubstituted,
  defaultLaunchConfiguration,
  resolveConfiguration,
  type AllocsConfiguration,
  type FileChecks,
  type Resolution,
} from "./config";
import { headline, humanBytes, parseAddress } from "./description";
import { PS_ARGS, parseProcessList } from "./processes";
import {
  commandUri,
  escapeXml,
  renderCensusPageHtml,
  renderDescriptionHtml,
  renderListHtml,
  renderMemoryMapHtml,
  VIEW_COMMANDS,
} from "./render";
import { LLDB_DEBUG_TYPE, findLldbAdapter, lldbConfiguration, lldbRequests } from "./lldb";
import { census, describe, listAllocations, memoryMap, type RequestSession } from "./requests";
import { registerGraphCommands } from "./graph";
import { TREEMAP_COMMAND } from "./treemap-render";
import { registerPostMortem } from "./postmortem";
import { Views } from "./views";

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly root: string) {}

  createDebugAdapterDescriptor(
    session: vscode.DebugSession,
  ): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const port = session.configuration.debugServer;
    if (typeof port === "number") return new vscode.DebugAdapterServer(port);
    const c = adapterCommand(this.root, process.execPath);
    if (!fs.existsSync(c.args[0])) {
      throw new Error(
        `allocs: the debug adapter ${c.args[0]} is missing: the extension is not built or not installed completely`,
      );
    }
    return new vscode.DebugAdapterExecutable(c.command, c.args, { env: c.env });
  }
}

/** `allocs-lldb`: lldb-dap (lldb-vscode) with the LLDB front and the preload (./lldb.ts). */
class LldbAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  createDebugAdapterDescriptor(
    session: vscode.DebugSession,
  ): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const configured = session.configuration.lldbAdapter;
    const adapter = typeof configured === "string" ? configured : findLldbAdapter();
    if (adapter === undefined) {
      throw new Error("allocs: no lldb-dap or lldb-vscode on the PATH (Debian: apt install lldb-16)");
    }
    return new vscode.DebugAdapterExecutable(adapter, []);
  }
}

class LldbConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly root: string) {}

  resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    return lldbConfiguration(config, this.root) as vscode.DebugConfiguration;
  }
}

const realFiles: FileChecks = {
  isFile: (f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile() ?? false,
  isDirectory: (d) => fs.statSync(d, { throwIfNoEntry: false })?.isDirectory() ?? false,
  isExecutable: (f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

async function settle(r: Resolution): Promise<vscode.DebugConfiguration | undefined> {
  if (r.kind === "ok") return r.config as vscode.DebugConfiguration;
  const open = "Open launch.json";
  void vscode.window.showErrorMessage(r.message, open).then((choice) => {
    if (choice === open) void vscode.commands.executeCommand("workbench.action.debug.configure");
  });
  return undefined; // abort the launch
}

class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.ProviderResult<vscode.DebugConfiguration[]> {
    const c = defaultLaunchConfiguration();
    return [
      { ...c, program: "${workspaceFolder}/a.out", cwd: "${workspaceFolder}" } as vscode.DebugConfiguration,
    ];
  }

  resolveDebugConfiguration(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    const editor = vscode.window.activeTextEditor;
    return settle(
      resolveConfiguration(config as AllocsConfiguration, {
        activeFile: editor?.document.uri.scheme === "file" ? editor.document.uri.fsPath : undefined,
        languageId: editor?.document.languageId,
        hasFolder: folder !== undefined,
      }),
    );
  }

  resolveDebugConfigurationWithSubstitutedVariables(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    return settle(checkSubstituted(config as AllocsConfiguration, realFiles));
  }
}

function activeSession(): vscode.DebugSession | undefined {
  const s = vscode.debug.activeDebugSession;
  if (s !== undefined && (s.type === DEBUG_TYPE || s.type === LLDB_DEBUG_TYPE)) return s;
  return undefined;
}

function requireSession(): vscode.DebugSession {
  const s = activeSession();
  if (s === undefined) {
    throw new Error("allocs: start an allocs debug session (and stop the program) first");
  }
  return s;
}

/** What the commands ask: the allocs adapter answers allocs/* itself, lldb-dap through the front. */
function requestsFor(session: vscode.DebugSession): RequestSession {
  return session.type === LLDB_DEBUG_TYPE ? lldbRequests(session) : session;
}

/** The frame selected in the Call Stack view, when it belongs to this session. */
function selectedFrame(session: vscode.DebugSession): number | undefined {
  const item = vscode.debug.activeStackItem;
  if (item instanceof vscode.DebugStackFrame && item.session.id === session.id) return item.frameId;
  return undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs a command body, turning a failure into an error message rather than a silent rejection. */
function guarded<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const m = errorText(e);
      void vscode.window.showErrorMessage(m.startsWith("allocs") ? m : `allocs: ${m}`);
    }
  };
}

async function showDescription(
  views: Views,
  session: RequestSession,
  input: string,
  frameId?: number,
): Promise<void> {
  const { description } = await describe(session, input, frameId);
  if (description === undefined) {
    void vscode.window.showInformationMessage(`allocs: nothing is known about ${input}`);
    return;
  }
  // after a stop the same words are described again (an expression in the top frame then)
  const redraw = async (): Promise<{ body: string } | undefined> => {
    const again = await describe(session, input);
    return again.description === undefined ? undefined : { body: renderDescriptionHtml(again.description) };
  };
  views.show("describe", description.address, renderDescriptionHtml(description), redraw);
  vscode.window.setStatusBarMessage(headline(description), 10_000);
}

async function censusPage(session: RequestSession): Promise<{ body: string; title: string }> {
  const bySite = await census(session, "site");
  const byType = await census(session, "type").catch(() => undefined);
  const treemap = escapeXml(commandUri(TREEMAP_COMMAND, [{ by: "type" }]));
  return {
    body: `<p><a href="${treemap}">Show as a treemap</a></p>${renderCensusPageHtml(bySite, byType)}`,
    title: `(${bySite.total.chunks} allocations, ${humanBytes(bySite.total.bytes)})`,
  };
}

/** The words under the cursor or the selection, offered as the default input. */
function editorGuess(): string {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined) return "";
  const sel = editor.selection;
  if (!sel.isEmpty) return editor.document.getText(sel).trim();
  const range = editor.document.getWordRangeAtPosition(sel.active, /[A-Za-z_][\w.>-]*|0x[0-9a-fA-F]+/);
  return range === undefined ? "" : editor.document.getText(range);
}

interface VariableContext {
  variable?: { value?: string; evaluateName?: string; name?: string; memoryReference?: string };
}

function variableInput(arg: VariableContext | undefined): string | undefined {
  const v = arg?.variable;
  if (v === undefined) return undefined;
  const leading = /^(?:\([^)]*\)\s*)?(0x[0-9a-fA-F]+)\b/.exec((v.value ?? "").trim());
  if (leading !== null) return leading[1];
  return v.evaluateName ?? v.name;
}

function pickProcess(): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    execFile("ps", PS_ARGS, { maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) {
        reject(new Error(`allocs: could not list processes (ps): ${err.message}`));
        return;
      }
      const items = parseProcessList(stdout, process.pid).map((p) => ({
        label: p.name,
        description: String(p.pid),
        detail: p.command,
        pid: p.pid,
      }));
      vscode.window
        .showQuickPick(items, {
          title: "Attach to a process",
          placeHolder: "Process name or id (start it with `allocs run` to see its heap)",
          matchOnDescription: true,
          matchOnDetail: true,
        })
        .then((choice) => resolve(choice === undefined ? undefined : String(choice.pid)), reject);
    });
  });
}

export function activate(context: vscode.ExtensionContext): void {
  const views = new Views();
  registerPostMortem(context);
  registerGraphCommands(context, () => requestsFor(requireSession()), guarded, views);
  const provider = new ConfigurationProvider();
  context.subscriptions.push(
    views,
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new AdapterFactory(context.extensionPath)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider),
    vscode.debug.registerDebugAdapterDescriptorFactory(LLDB_DEBUG_TYPE, new LldbAdapterFactory()),
    vscode.debug.registerDebugConfigurationProvider(
      LLDB_DEBUG_TYPE,
      new LldbConfigurationProvider(context.extensionPath),
    ),
    vscode.commands.registerCommand(COMMANDS.pickProcess, pickProcess),
    vscode.commands.registerCommand(
      COMMANDS.describeAddress,
      guarded(async (preset?: unknown) => {
        const session = requireSession();
        let input = typeof preset === "string" ? preset : undefined;
        if (input === undefined) {
          input = await vscode.window.showInputBox({
            title: "Allocs: Describe Address",
            prompt:
              "An address (0x4052a0) or a C expression evaluated in the selected frame (ptr, &s.field, p + 3)",
            value: editorGuess(),
            validateInput: (v) => (v.trim() === "" ? "Type an address or an expression" : undefined),
          });
        }
        if (input === undefined || input.trim() === "") return;
        const frameId = parseAddress(input) === undefined ? selectedFrame(session) : undefined;
        await showDescription(views, requestsFor(session), input, frameId);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.describeVariable,
      guarded(async (arg?: VariableContext) => {
        const session = requireSession();
        const input = variableInput(arg);
        if (input === undefined) throw new Error("allocs: no variable to describe");
        await showDescription(views, requestsFor(session), input, selectedFrame(session));
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.showHeapCensus,
      guarded(async () => {
        const session = requireSession();
        const requests = requestsFor(session);
        const page = await censusPage(requests);
        views.show("census", page.title, page.body, () => censusPage(requests));
      }),
    ),
    // a census row's link: the allocations it counts, each linking to Describe
    vscode.commands.registerCommand(
      VIEW_COMMANDS.list,
      guarded(async (filter?: { type?: string; site?: string }) => {
        const session = requireSession();
        const what = filter?.type ?? filter?.site ?? "all";
        const draw = async (): Promise<{ body: string }> => ({
          body: renderListHtml(what, await listAllocations(requestsFor(session), filter ?? {})),
        });
        views.show("list", what, (await draw()).body, draw);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.showMemoryMap,
      guarded(async () => {
        const session = requireSession();
        const draw = async (): Promise<{ body: string }> => ({
          body: renderMemoryMapHtml(await memoryMap(requestsFor(session))),
        });
        views.show("maps", undefined, (await draw()).body, draw);
      }),
    ),
    // every stop of an allocs session (gdb or LLDB) redraws the view
    ...[DEBUG_TYPE, LLDB_DEBUG_TYPE].map((type) =>
      vscode.debug.registerDebugAdapterTrackerFactory(type, {
        createDebugAdapterTracker: () => ({
          onDidSendMessage: (m: { type?: string; event?: string }) => {
            if (m.type === "event" && m.event === "stopped") void views.refresh();
          },
        }),
      }),
    ),
  );
}

export function deactivate(): void {
  // everything is in context.subscriptions
}
