// The heap-graph commands of the extension: "Show Leaks", "Take Heap Snapshot", "Compare with
// Heap Snapshot...", "Show Retainers...", "Show Heap Census by Type" (the census command's
// by-type view) and "Show Heap Treemap" (treemap-page.ts: by type or site, or growth since a snapshot). Each asks the adapter (extension/src/adapter/graph.ts) and draws its answer with
// graph-render.ts in the one allocs view (views.ts), redrawn at every stop.
import * as vscode from "vscode";

import { COMMANDS } from "./config";
import { census, type RequestSession } from "./requests";
import { renderCensusHtml } from "./render";
import { Views } from "./views";
import { treemapPage } from "./treemap-page";
import { TREEMAP_COMMAND, type TreemapArgs } from "./treemap-render";
import { commandUri, escapeXml } from "./render";
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

export function registerGraphCommands(
  context: vscode.ExtensionContext,
  /** The stopped session's requests (a gdb `allocs` session, or an `allocs-lldb` one's). */
  requireSession: () => RequestSession,
  guarded: Guard,
  views: Views,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(
      COMMANDS.showLeaks,
      guarded(async () => {
        const session = requireSession();
        const draw = async (): Promise<{ body: string }> => {
          const j = await session.customRequest("allocs/leaks", {});
          if (!isLeaks(j)) throw new Error("the debugger's answer is not a leak report");
          return { body: renderLeaksHtml(j) };
        };
        views.show("leaks", undefined, (await draw()).body, draw);
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
        const draw = async (): Promise<{ body: string }> => {
          const j = await session.customRequest("allocs/diff", { from });
          if (!isDiff(j)) throw new Error("the debugger's answer is not a comparison");
          const picture = escapeXml(commandUri(TREEMAP_COMMAND, [{ by: "type", from }]));
          return { body: `<p><a href="${picture}">Show as a treemap</a></p>${renderDiffHtml(j)}` };
        };
        views.show("diff", `${from} → now`, (await draw()).body, draw);
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
        const draw = async (): Promise<{ body: string }> => {
          const j = await session.customRequest("allocs/retainers", { expression });
          if (!isRetainers(j)) throw new Error("the debugger's answer is not a list of retainers");
          return { body: renderRetainersHtml(j) };
        };
        views.show("retainers", `of ${expression}`, (await draw()).body, draw);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.showHeapCensusByType,
      guarded(async () => {
        const session = requireSession();
        const draw = async (): Promise<{ body: string }> => ({
          body: renderCensusHtml(await census(session, "type")),
        });
        views.show("census", "by type", (await draw()).body, draw);
      }),
    ),
    // from the palette (by type, live), or a page's link (by type/site, growth since a snapshot)
    vscode.commands.registerCommand(
      COMMANDS.showHeapTreemap,
      guarded(async (arg?: TreemapArgs) => {
        const session = requireSession();
        const args: TreemapArgs = {
          by: arg?.by === "site" ? "site" : "type",
          from: typeof arg?.from === "string" ? arg.from : undefined,
        };
        const draw = (): Promise<{ body: string; title: string }> => treemapPage(session, args);
        const page = await draw();
        views.show("treemap", page.title, page.body, draw);
      }),
    ),
  );
}
