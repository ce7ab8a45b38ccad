// Jump to Cursor (gotoTargets/goto), as cpptools does it: a temporary breakpoint at the line and
// gdb's `jump` there, so the program stops at once at the new line without running the lines
// between. The stop is reported with reason "goto".
import type { DebugProtocol } from "@vscode/debugprotocol";

import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";

interface Target {
  readonly file: string;
  readonly line: number;
}

const targets = new WeakMap<Context, Map<number, Target>>();

async function gotoTargets(
  ctx: Context,
  a: DebugProtocol.GotoTargetsArguments,
): Promise<DebugProtocol.GotoTargetsResponse["body"]> {
  ctx.requireStopped("jump");
  if (ctx.config?.kind === "core")
    throw new Error("cannot jump: this is a core file, a snapshot of a process that no longer runs");
  const file = a.source.path;
  if (file === undefined) throw new Error("cannot jump: the source has no path");
  let m = targets.get(ctx);
  if (m === undefined) {
    m = new Map();
    targets.set(ctx, m);
  }
  const id = m.size + 1;
  m.set(id, { file, line: a.line });
  return { targets: [{ id, label: `line ${a.line}`, line: a.line }] };
}

async function goto(ctx: Context, a: DebugProtocol.GotoArguments): Promise<void> {
  ctx.requireStopped("jump");
  const t = targets.get(ctx)?.get(a.targetId);
  if (t === undefined) throw new Error(`unknown jump target ${a.targetId}`);
  const gdb = ctx.requireGdb();
  const location = `${t.file}:${t.line}`;
  await gdb.send({ operation: "-break-insert", args: ["-t", location] });
  ctx.gotoPending = true;
  try {
    await gdb.send({ operation: "-exec-jump", args: ["--thread", String(a.threadId), location] });
  } catch (e) {
    ctx.gotoPending = false;
    throw e;
  }
}

export const gotoFamily: RequestFamily = {
  name: "goto",
  capabilities: { supportsGotoTargetsRequest: true },
  requests: { gotoTargets: handler(gotoTargets), goto: handler(goto) },
};
