// A real VS Code for the UI test: code-server 4.100.3 (VS Code 1.100.3 in the browser) installed
// by install-code-server.sh into a cache, run with every state folder inside a scratch folder,
// stopped by its process id. See ../../../shared/notes/vscode-ui-testing.md for why each step is
// done the way it is.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const OUT_DIR = path.join(ROOT, ".test-output", "ui");

export function cacheDir(): string {
  return process.env.ALLOCS_UI_CACHE ?? path.join(os.homedir(), ".cache", "allocs-ui-test");
}

/** Installs code-server once (minutes on a clean machine, instant afterwards); its folder. */
export function installCodeServer(timeoutMs: number): string {
  const script = path.join(ROOT, "tests", "ui", "install-code-server.sh");
  const r = spawnSync("bash", [script, cacheDir()], { encoding: "utf8", timeout: timeoutMs });
  if (r.error) throw new Error(`install-code-server.sh: ${r.error.message}\n${r.stderr ?? ""}`);
  if (r.status !== 0) throw new Error(`install-code-server.sh failed (${r.status}):\n${r.stderr}`);
  const dir = r.stdout.trim().split("\n").pop() ?? "";
  const entry = entryOf(dir);
  if (!fs.existsSync(entry)) throw new Error(`code-server is not at ${entry} after install`);
  return dir;
}

function entryOf(installDir: string): string {
  return path.join(installDir, "node_modules", "code-server", "out", "node", "entry.js");
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The folders a run keeps to itself. */
export interface Scratch {
  readonly dir: string;
  readonly userData: string;
  readonly extensions: string;
  readonly config: string;
  readonly xdgConfig: string;
  readonly xdgData: string;
}

export function makeScratch(dir: string): Scratch {
  fs.rmSync(dir, { recursive: true, force: true });
  const s: Scratch = {
    dir,
    userData: path.join(dir, "user-data"),
    extensions: path.join(dir, "extensions"),
    config: path.join(dir, "config.yaml"),
    xdgConfig: path.join(dir, "xdg-config"),
    xdgData: path.join(dir, "xdg-data"),
  };
  for (const d of [s.userData, s.extensions, s.xdgConfig, s.xdgData]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(s.config, "auth: none\ncert: false\n");
  const settings = {
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "update.mode": "none",
    "telemetry.telemetryLevel": "off",
    "extensions.autoUpdate": false,
    "extensions.autoCheckUpdates": false,
    "extensions.ignoreRecommendations": true,
    "git.enabled": false,
    "debug.openDebug": "openOnSessionStart",
    "debug.internalConsoleOptions": "neverOpen",
    "terminal.integrated.enablePersistentSessions": false,
    // the DOM renderer: the program's terminal can then be read as text
    "terminal.integrated.gpuAcceleration": "off",
    "editor.minimap.enabled": false,
    "window.restoreWindows": "none",
  };
  fs.mkdirSync(path.join(s.userData, "User"), { recursive: true });
  fs.writeFileSync(path.join(s.userData, "User", "settings.json"), JSON.stringify(settings, null, 2));
  return s;
}

function baseArgs(s: Scratch): string[] {
  return ["--config", s.config, "--user-data-dir", s.userData, "--extensions-dir", s.extensions];
}

function env(s: Scratch): NodeJS.ProcessEnv {
  return { ...process.env, XDG_CONFIG_HOME: s.xdgConfig, XDG_DATA_HOME: s.xdgData, VSCODE_PROXY_URI: "" };
}

/** `code-server --install-extension FILE`; the extension folder's name. */
export function installExtension(installDir: string, s: Scratch, vsix: string, timeoutMs: number): string {
  const r = spawnSync(process.execPath, [entryOf(installDir), ...baseArgs(s), "--install-extension", vsix], {
    encoding: "utf8",
    env: env(s),
    timeout: timeoutMs,
  });
  if (r.error || r.status !== 0) {
    throw new Error(`installing ${vsix} failed (${r.error?.message ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  const installed = fs.readdirSync(s.extensions).filter((d) => d.startsWith("allocs.allocs-"));
  if (installed.length !== 1) {
    throw new Error(
      `expected one allocs extension in ${s.extensions}, found: ${fs.readdirSync(s.extensions).join(", ")}`,
    );
  }
  return path.join(s.extensions, installed[0]);
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/healthz`, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}

export class CodeServer {
  private exited = false;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.once("exit", () => (this.exited = true));
  }

  /** Starts the server on a free port with the workspace folder open; resolves once /healthz
   * answers. Its output goes to logFile. */
  static async start(
    installDir: string,
    s: Scratch,
    workspace: string,
    logFile: string,
    timeoutMs: number,
  ): Promise<CodeServer> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const log = fs.openSync(logFile, "w");
    const child = spawn(
      process.execPath,
      [
        entryOf(installDir),
        ...baseArgs(s),
        "--auth",
        "none",
        "--bind-addr",
        `127.0.0.1:${port}`,
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        workspace,
      ],
      { env: env(s), stdio: ["ignore", log, log], detached: true },
    );
    fs.closeSync(log);
    const server = new CodeServer(child, url);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (server.exited) throw new Error(`code-server exited at start; see ${logFile}`);
      if (await healthy(url)) return server;
      await new Promise((r) => setTimeout(r, 250));
    }
    await server.stop();
    throw new Error(`code-server did not answer ${url}/healthz within ${timeoutMs} ms; see ${logFile}`);
  }

  /** Stops the server and everything it started (its process group: extension host, adapter,
   * gdb, the debuggee), by its process id: SIGTERM, then SIGKILL after a grace period. */
  async stop(graceMs = 3000): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const signalGroup = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    signalGroup("SIGTERM");
    const deadline = Date.now() + graceMs;
    while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    signalGroup("SIGKILL");
  }
}
