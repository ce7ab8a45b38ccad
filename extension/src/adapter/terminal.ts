// The program's own terminal, never gdb's stdout (the debuggee's output there corrupts MI
// records). With a client that can, VS Code's integrated terminal: runInTerminal starts a small
// helper that reports a tty and holds the terminal open; gdb then runs the program on that tty
// (-inferior-tty-set). Otherwise a pseudo-terminal the adapter owns (node-pty), whose output
// becomes `output` events (category stdout).
//
// The integrated terminal's helper lives in this session's own directory (made by the adapter,
// removed at the end of the session): VS Code types the command into a shell, so the command is
// short, and the helper clears the screen before anything else (the terminal then shows only the
// program). It claims the session with `mkdir` (a second run of the same command, or a late one
// after the session ended, does nothing). With python3, it makes a fresh pseudo-terminal and
// relays it to VS Code's: the program's tty then belongs to no session, so gdb can make it the
// program's controlling terminal (Ctrl-C, /dev/tty and job control work, and gdb's forked child
// has no "Failed to set controlling terminal" warning to print into it). Without python3, the
// shell reports its own tty (the terminal belongs to VS Code's shell, so that warning appears).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import type { Context } from "./context";

/** What gdb's forked child prints into the program's terminal when the terminal already belongs
 * to another session (always the case for a terminal node-pty made for its own child). */
const TTY_WARNING = '&"warning: GDB: Failed to set controlling terminal';

/** The integrated terminal's helper: `sh HELPER DIR`. */
const HELPER_SH = `# allocs: the program's terminal for one debug session (written by the debug adapter)
d=$1 py=$2
mkdir "$d/claimed" 2>/dev/null || exit 0
printf '\\033[H\\033[2J\\033[3J'
if [ -n "$py" ] && [ -x "$py" ]; then exec "$py" -I -S "$d/relay.py" "$d/tty"; fi
echo "$$ $(tty)" > "$d/tty.tmp" && mv "$d/tty.tmp" "$d/tty" && exec sleep 2147483647
`;

/** A fresh pseudo-terminal relayed to this one; reports "PID TTY" to argv[1] atomically. */
const RELAY_PY = `# allocs: the program's own pseudo-terminal, relayed to VS Code's (written by the debug adapter)
import fcntl, os, select, signal, sys, termios, tty

report = sys.argv[1]
master, slave = os.openpty()  # slave kept open: the relay outlives the program's runs
name = os.ttyname(slave)

def resize(*_):
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\\0" * 8))
    except OSError:
        pass

saved = None
try:
    saved = termios.tcgetattr(0)
    tty.setraw(0)
except termios.error:
    pass

def leave(*_):
    if saved is not None:
        try:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        except termios.error:
            pass
    os._exit(0)

resize()
signal.signal(signal.SIGWINCH, resize)
signal.signal(signal.SIGTERM, leave)
signal.signal(signal.SIGHUP, leave)
with open(report + ".tmp", "w") as f:
    f.write("%d %s\\n" % (os.getpid(), name))
os.rename(report + ".tmp", report)

def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]

fds = [0, master]
while True:
    ready = select.select(fds, [], [])[0]
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            write_all(1, data)
    if 0 in ready:
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            leave()
        write_all(master, data)
`;

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
      await new Promise((r) => setTimeout(r, 10));
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

/** A Python for the relay: the system's own first (a version manager's `python3` shim can take
 * a second to start), else the first `python3` on PATH; undefined when there is none. */
export function relayPython(): string | undefined {
  const dirs = ["/usr/bin", "/usr/local/bin", "/bin", ...(process.env.PATH ?? "").split(":")];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = path.join(dir, "python3");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** VS Code's integrated terminal through the runInTerminal reverse request. */
export async function integratedTerminal(
  ctx: Context,
  title: string,
  cwd: string,
  kind: "integrated" | "external" = "integrated",
): Promise<ProgramTerminal> {
  const dir = fs.mkdtempSync(path.join(ctx.sessionDir(), "terminal-"));
  const helper = path.join(dir, "t.sh");
  fs.writeFileSync(path.join(dir, "relay.py"), RELAY_PY);
  fs.writeFileSync(helper, HELPER_SH);
  const response = await ctx.client.runInTerminal(
    // `[ -f ]`: a late second run of the command, after the session, finds nothing and says nothing
    {
      kind,
      title,
      cwd,
      args: ["sh", "-c", '[ -f "$0" ] && exec sh "$0" "$1" "$2"', helper, dir, relayPython() ?? ""],
    },
    10000,
  );
  if (response.success === false) throw new Error(response.message ?? "runInTerminal failed");
  const { pid, tty } = parseHolder(await waitForFile(path.join(dir, "tty"), 10000));
  return { tty, dispose: () => killQuietly(pid) };
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
