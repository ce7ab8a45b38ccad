// The one webview panel that shows the pictures of render.ts (an address, the heap census, the
// allocations behind a census row, the memory map): reused by every command in the column it
// opened in, its drawings as wide as the editor, and redrawn on every stop of the program (the
// view remembers how to draw itself again). Links in a page are `command:` URIs: no scripts.
import * as vscode from "vscode";

import { renderPage } from "./render";

export type ViewKind = "describe" | "census" | "list" | "maps";

const TITLES: Record<ViewKind, string> = {
  describe: "Allocs: Address",
  census: "Allocs: Heap Census",
  list: "Allocs: Allocations",
  maps: "Allocs: Memory Map",
};

/** Draws a view's body again (after a stop); undefined when there is nothing to draw any more. */
export type Redraw = () => Promise<string | undefined>;

export class Views implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private current?: { kind: ViewKind; title: string; redraw?: Redraw };

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
    let body: string | undefined;
    try {
      body = await now.redraw();
    } catch (e) {
      body = `<p class="note">${escapeHtml(e instanceof Error ? e.message : String(e))}</p>`;
    }
    if (body !== undefined && this.panel === panel && this.current === now)
      panel.webview.html = renderPage(now.title, body, panel.webview.cspSource);
  }

  dispose(): void {
    this.panel?.dispose();
    this.panel = undefined;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
