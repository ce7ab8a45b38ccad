// The webview panels that show the pictures of render.ts: one panel per kind (an address,
// the heap census, the memory map), reused and revealed on each command.
import * as vscode from "vscode";

import { renderPage } from "./render";

export type ViewKind = "describe" | "census" | "maps";

const TITLES: Record<ViewKind, string> = {
  describe: "Allocs: Address",
  census: "Allocs: Heap Census",
  maps: "Allocs: Memory Map",
};

export class Views implements vscode.Disposable {
  private readonly panels = new Map<ViewKind, vscode.WebviewPanel>();

  show(kind: ViewKind, title: string | undefined, body: string): vscode.WebviewPanel {
    let panel = this.panels.get(kind);
    const fullTitle = title ? `${TITLES[kind]} ${title}` : TITLES[kind];
    if (panel === undefined) {
      panel = vscode.window.createWebviewPanel(
        `allocs.${kind}`,
        fullTitle,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: false, enableFindWidget: true, retainContextWhenHidden: false },
      );
      const created = panel;
      created.onDidDispose(() => {
        if (this.panels.get(kind) === created) this.panels.delete(kind);
      });
      this.panels.set(kind, panel);
    } else {
      panel.title = fullTitle;
      panel.reveal(undefined, true);
    }
    panel.webview.html = renderPage(fullTitle, body, panel.webview.cspSource);
    return panel;
  }

  dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
  }
}
