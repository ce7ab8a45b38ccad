// The program's own terminal, never gdb's stdout (the debuggee's output there corrupts MI
// records). With a client that can, VS Code's integrated terminal: runInTerminal starts a tiny
// shell that writes its tty's name to a file and sleeps, holding the terminal open; gdb then
// runs the program on that tty (-inferior-tty-set). Otherwise a pseudo-terminal the adapter
// owns (node-pty), whose output becomes `output` events (category stdout).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import type { Context } from "./context";

/** Writes "PID TTY" to $0 atomically, then holds the terminal open until killed. */
const HOLDER_SCRIPT = 'echo "$$ $(tty)" > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 2147483647';

const TTY_WARNING = '&"warning: GDB: Failed to set controlling terminal';

export interface ProgramTerminal {
  readonly tty: string;
  /** closes the terminal's holder process */
  dispose(): void;
}

async function waitForFile(file: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return fs.readFileSync(file, "utf8");
    } catch {
      if (Date.now() > deadline) throw new Error("the terminal did not report its tty");
      await new Promise((r) => setTimeout(r, 15));
    }
  }
}

function parseHolder(text: string): { pid: number; tty: string } {
  const m = /^(\d+) (\/dev\/\S+)/.exec(text.trim());
  if (m === null) throw new Error(`the terminal is not a tty (${text.trim()})`);
  return { pid: Number(m[1]), tty: m[2] };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // already gone
  }
}

/** VS Code's integrated terminal through the runInTerminal reverse request. */
export async function integratedTerminal(ctx: Context, title: string, cwd: string): Promise<ProgramTerminal> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-tty-"));
  const file = path.join(dir, "tty");
  try {
    const response = await ctx.client.runInTerminal(
      { kind: "integrated", title, cwd, args: ["/bin/sh", "-c", HOLDER_SCRIPT, file] },
      10000,
    );
    if (response.success === false) throw new Error(response.message ?? "runInTerminal failed");
    const { pid, tty } = parseHolder(await waitForFile(file, 10000));
    return { tty, dispose: () => killQuietly(pid) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A pseudo-terminal owned by the adapter; what the program writes arrives as `output` events. */
export function adapterTerminal(ctx: Context): ProgramTerminal {
  // node-pty is a native module: load it only when this path is taken.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pty = require("node-pty") as typeof import("node-pty");
  const term = pty.spawn("/bin/sh", ["-c", "exec sleep 2147483647"], {
    name: "xterm",
    cols: 200,
    rows: 50,
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  const tty = (term as unknown as { ptsName?: string }).ptsName;
  if (tty === undefined || !tty.startsWith("/dev/")) {
    term.kill();
    throw new Error("node-pty did not give the terminal's device name");
  }
  let pending = "";
  term.onData((data: string) => {
    // the terminal turns "\n" into "\r\n"; output events want plain lines
    pending = (pending + data).replace(/\r\n/g, "\n");
    let out = "";
    for (;;) {
      // gdb's own complaint that it could not make this terminal the program's controlling one
      const line = pending.indexOf("\n");
      const head = line < 0 ? pending : pending.slice(0, line);
      if (TTY_WARNING.startsWith(head.slice(0, TTY_WARNING.length)) && head.length > 0) {
        if (line < 0) break; // wait for the rest of the line
        if (head.startsWith(TTY_WARNING)) {
          pending = pending.slice(line + 1);
          continue;
        }
      }
      const keep = pending.endsWith("\r") ? 1 : 0;
      out += pending.slice(0, pending.length - keep);
      pending = pending.slice(pending.length - keep);
      break;
    }
    if (out !== "") ctx.output(out, "stdout");
  });
  return {
    tty,
    dispose: () => {
      try {
        term.kill();
      } catch {
        // already gone
      }
    },
  };
}
