// The heap-graph commands of the extension: "Show Leaks", "Take Heap Snapshot", "Compare with
// Heap Snapshot...", "Show Retainers..." and "Show Heap Census by Type" (the census command's
// by-type view). Each asks the adapter (extension/src/adapter/graph.ts) and draws its answer with
// graph-render.ts in a webview panel of its own.
import * as vscode from "vscode";

import { COMMANDS } from "./config";
import { census, type RequestSession } from "./requests";
import { renderCensusHtml, renderPage } from "./render";
import {
  isDiff,
  isLeaks,
  isRetainers,
  renderDiffHtml,
  renderLeaksHtml,
  renderRetainersHtml,
  retainersInput,
} from "./graph-render";

type Guard = <A extends unknown[]>(fn: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;

class Panels implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  show(kind: string, title: string, body: string): void {
    let panel = this.panels.get(kind);
    if (panel === undefined) {
      const created = vscode.window.createWebviewPanel(
        `allocs.${kind}`,
        title,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: false, enableFindWidget: true },
      );
      created.onDidDispose(() => this.panels.delete(kind));
      this.panels.set(kind, created);
      panel = created;
    } else {
      panel.title = title;
      panel.reveal(undefined, true);
    }
    panel.webview.html = renderPage(title, body, panel.webview.cspSource);
  }

  dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
  }
}

export function registerGraphCommands(
  context: vscode.ExtensionContext,
  /** The stopped session's requests (a gdb `allocs` session, or an `allocs-lldb` one's). */
  requireSession: () => RequestSession,
  guarded: Guard,
): void {
  const panels = new Panels();
  context.subscriptions.push(
    panels,
    vscode.commands.registerCommand(
      COMMANDS.showLeaks,
      guarded(async () => {
        const j = await requireSession().customRequest("allocs/leaks", {});
        if (!isLeaks(j)) throw new Error("the debugger's answer is not a leak report");
        panels.show("leaks", "Allocs: Leaks", renderLeaksHtml(j));
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.takeSnapshot,
      guarded(async () => {
        const session = requireSession();
        const name = await vscode.window.showInputBox({
          prompt: "Snapshot name (letters, digits, . _ -), or empty for the next free one",
        });
        if (name === undefined) return;
        const j = (await session.customRequest("allocs/snapshot", name ? { action: "save", name } : {})) as {
          name?: string;
          chunks?: number;
        };
        void vscode.window.showInformationMessage(`allocs: snapshot ${j.name} taken (${j.chunks} chunks)`);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.compareSnapshot,
      guarded(async () => {
        const session = requireSession();
        const ls = (await session.customRequest("allocs/snapshot", { action: "ls" })) as {
          snapshots?: { name: string }[];
        };
        const names = (ls.snapshots ?? []).map((s) => s.name);
        if (!names.length)
          throw new Error("no heap snapshot yet: take one first (Allocs: Take Heap Snapshot)");
        const from = await vscode.window.showQuickPick(names, {
          placeHolder: "Compare now with the snapshot...",
        });
        if (from === undefined) return;
        const j = await session.customRequest("allocs/diff", { from });
        if (!isDiff(j)) throw new Error("the debugger's answer is not a comparison");
        panels.show("diff", `Allocs: ${from} → now`, renderDiffHtml(j));
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.showRetainers,
      guarded(async (arg?: { variable?: { value?: string; evaluateName?: string; name?: string } }) => {
        const session = requireSession();
        const expression =
          retainersInput(arg?.variable) ??
          (await vscode.window.showInputBox({ prompt: "Retainers of (an address or expression)" }));
        if (!expression) return;
        const j = await session.customRequest("allocs/retainers", { expression });
        if (!isRetainers(j)) throw new Error("the debugger's answer is not a list of retainers");
        panels.show("retainers", "Allocs: Retainers", renderRetainersHtml(j));
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.showHeapCensusByType,
      guarded(async () => {
        const c = await census(requireSession(), "type");
        panels.show("censusByType", "Allocs: Heap Census by Type", renderCensusHtml(c));
      }),
    ),
  );
}
