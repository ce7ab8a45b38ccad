// A core file's session in VS Code: the toolbar keeps Continue and the steps enabled (VS Code
// enables them by the session's debug state alone: no DAP capability or context key an adapter or
// extension sets turns them off, and cpptools' engine refuses them the same way). So while a core
// file's session has the focus, the context key `allocs.postMortem` is set: the toolbar shows a
// lock that says why the program cannot run, and F5/F10/F11/Shift+F11 say so in the status bar
// instead of sending a request the adapter refuses (package.json's menus and keybindings).
import * as vscode from "vscode";

import { COMMANDS, DEBUG_TYPE, POST_MORTEM_CONTEXT, POST_MORTEM_NOTICE, isPostMortem } from "./config";

function update(session: vscode.DebugSession | undefined): void {
  const postMortem = session?.type === DEBUG_TYPE && isPostMortem(session.configuration);
  void vscode.commands.executeCommand("setContext", POST_MORTEM_CONTEXT, postMortem);
}

export function registerPostMortem(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.onDidChangeActiveDebugSession(update),
    vscode.debug.onDidStartDebugSession(() => update(vscode.debug.activeDebugSession)),
    vscode.debug.onDidTerminateDebugSession(() => update(vscode.debug.activeDebugSession)),
    // the status bar, not a notification: the lock and the keys are the user's own question
    vscode.commands.registerCommand(COMMANDS.postMortemInfo, () =>
      vscode.window.setStatusBarMessage(POST_MORTEM_NOTICE, 10_000),
    ),
  );
}
