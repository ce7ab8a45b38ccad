// The one webview panel that shows the pictures of render.ts, graph-render.ts and treemap-render.ts
// (an address, the heap census, the allocations behind a census row, the memory map, leaks,
// growth, retainers, the heap treemap): reused by every command in the column it opened in, its
// drawings as wide as the editor, and redrawn on every stop of the program (the view remembers how
// to draw itself again). Links in a page are `command:` URIs: no scripts.
import * as vscode from "vscode";

import { renderPage } from "./render";

export type ViewKind = "describe" | "census" | "list" | "maps" | "leaks" | "diff" | "retainers" | "treemap";

const TITLES: Record<ViewKind, string> = {
  describe: "Allocs: Address",
  census: "Allocs: Heap Census",
  list: "Allocs: Allocations",
  maps: "Allocs: Memory Map",
  leaks: "Allocs: Leaks",
  diff: "Allocs: Heap Growth",
  retainers: "Allocs: Retainers",
  treemap: "Allocs: Heap Treemap",
};

/** Draws a view's body (and title, when it says something that changes) again after a stop;
 * undefined when there is nothing to draw any more. */
export type Redraw = () => Promise<{ body: string; title?: string } | undefined>;

export class Views implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private current?: { readonly kind: ViewKind; title: string; readonly redraw?: Redraw };

  show(kind: ViewKind, title: string | undefined, body: string, redraw?: Redraw): vscode.WebviewPanel {
    const fullTitle = title ? `${TITLES[kind]} ${title}` : TITLES[kind];
    let panel = this.panel;
    if (panel === undefined) {
      panel = vscode.window.createWebviewPanel(
        "allocs.view",
        fullTitle,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        {
          enableScripts: false,
          enableCommandUris: true,
          enableFindWidget: true,
          retainContextWhenHidden: false,
        },
      );
      const created = panel;
      created.onDidDispose(() => {
        if (this.panel === created) {
          this.panel = undefined;
          this.current = undefined;
        }
      });
      this.panel = panel;
    } else {
      panel.title = fullTitle;
      panel.reveal(undefined, true);
    }
    this.current = { kind, title: fullTitle, redraw };
    panel.webview.html = renderPage(fullTitle, body, panel.webview.cspSource);
    return panel;
  }

  /** The program stopped again: the view shows the new state. */
  async refresh(): Promise<void> {
    const now = this.current;
    const panel = this.panel;
    if (now?.redraw === undefined || panel === undefined) return;
    let drawn: { body: string; title?: string } | undefined;
    try {
      drawn = await now.redraw();
    } catch (e) {
      drawn = { body: `<p class="note">${escapeHtml(e instanceof Error ? e.message : String(e))}</p>` };
    }
    if (drawn === undefined || this.panel !== panel || this.current !== now) return;
    if (drawn.title !== undefined) {
      now.title = `${TITLES[now.kind]} ${drawn.title}`;
      panel.title = now.title;
    }
    panel.webview.html = renderPage(now.title, drawn.body, panel.webview.cspSource);
  }

  dispose(): void {
    this.panel?.dispose();
    this.panel = undefined;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
