// Debug Console completions, from gdb's own completer (`-complete`): an expression completes as
// `print` would complete it (symbols, struct members after `.` and `->`), `-exec CMD` and
// `alloc ...` complete as gdb commands.
import type { DebugProtocol } from "@vscode/debugprotocol";

import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";

const MAX = 200;

async function gdbComplete(ctx: Context, line: string): Promise<string[]> {
  const r = await ctx.requireGdb().send({ operation: "-complete", args: [line] });
  const m = r.results.find((x) => x.name === "matches")?.value;
  if (m === undefined || typeof m !== "object" || m.kind !== "list") return [];
  return m.values.filter((v): v is string => typeof v === "string").slice(0, MAX);
}

async function completions(
  ctx: Context,
  a: DebugProtocol.CompletionsArguments,
): Promise<DebugProtocol.CompletionsResponse["body"]> {
  // the text before the cursor (columns count from 1 in VS Code's requests)
  const before = a.text.slice(0, Math.max(0, a.column - 1));
  let asked: string;
  let shownPrefix: string;
  const exec = /^(\s*-exec\s+)(.*)$/s.exec(before);
  if (exec !== null) {
    asked = exec[2];
    shownPrefix = exec[1];
  } else if (/^\s*alloc(\s|$)/.test(before)) {
    asked = before.trimStart();
    shownPrefix = "";
  } else {
    asked = `print ${before}`;
    shownPrefix = "";
  }
  const matches = await gdbComplete(ctx, asked);
  const targets: DebugProtocol.CompletionItem[] = [];
  const seen = new Set<string>();
  for (const m of matches) {
    const line = exec === null && !/^\s*alloc/.test(before) ? m.replace(/^print /, "") : m;
    const text = shownPrefix + line;
    if (seen.has(text)) continue;
    seen.add(text);
    const label = /[\w$]+$/.exec(line)?.[0] ?? line;
    // each item replaces the whole text before the cursor (VS Code counts `length` back from it)
    targets.push({ label, text, length: before.length, type: exec !== null ? "keyword" : "variable" });
  }
  return { targets };
}

export const completionsFamily: RequestFamily = {
  name: "completions",
  capabilities: { supportsCompletionsRequest: true, completionTriggerCharacters: [".", ">"] },
  requests: { completions: handler(completions) },
};
