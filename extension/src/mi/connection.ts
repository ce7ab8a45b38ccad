// One running gdb speaking MI3 over pipes: sends tokened commands, matches
// result records to the promises waiting for them, and publishes everything
// else (async records, stream output, non-MI lines) as events.
//
// Failure is the part that matters most for a debugger UI: whatever happens to
// gdb (not installed, killed, crashed, wedged), every caller gets a rejection
// that says what happened, promptly, instead of a promise that never settles.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { statSync } from "node:fs";

import { TypedEmitter } from "./emitter";
import { GdbExitedError, GdbNotFoundError, GdbStartError, MIError, MITimeoutError } from "./errors";
import { MILineSplitter, parseRecord } from "./parser";
import { consoleCommand, formatCommand, type MICommand } from "./serialize";
import {
  optString,
  type MIAsyncRecord,
  type MIOtherRecord,
  type MIRecord,
  type MIResult,
  type MIStreamRecord,
} from "./values";

export interface GdbConnectionOptions {
  /** The gdb executable (a name looked up on PATH, or a path). Default "gdb". */
  readonly gdbPath?: string;
  /** Extra arguments after `-q -nx -i=mi3`. */
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Default time limit for every command; none when absent. */
  readonly commandTimeoutMs?: number;
  /** How long gdb may take to print its first prompt. Default 15 s. */
  readonly startTimeoutMs?: number;
  /** Sees every line written to gdb ("out") and read from it ("in"), for a debug log. */
  readonly trace?: (direction: "in" | "out", line: string) => void;
}

export interface SendOptions {
  /** Overrides the connection's default time limit for this command. */
  readonly timeoutMs?: number;
}

/** A command's successful answer. */
export interface MICommandResult {
  readonly resultClass: "done" | "running" | "connected" | "exit";
  readonly results: readonly MIResult[];
  /** Console stream (`~`) text gdb printed while this command was the oldest pending one. */
  readonly console: string;
  /** Log stream (`&`) text, likewise (warnings, CLI error messages). */
  readonly log: string;
}

export interface GdbExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface GdbConnectionEvents {
  /** Every record, in arrival order, before the more specific events. */
  record: MIRecord;
  /** `*running`, `*stopped` */
  exec: MIAsyncRecord;
  /** `+download` and other progress records */
  status: MIAsyncRecord;
  /** `=breakpoint-modified`, `=thread-group-started`, `=library-loaded`, ... */
  notify: MIAsyncRecord;
  stream: MIStreamRecord;
  /** A stream record printed while no command was pending: gdb speaking on its own (warnings,
   * notes while the program runs), not part of any command's answer. Also emitted as `stream`. */
  looseStream: MIStreamRecord;
  /** Lines that are not MI, usually the debuggee's own output on gdb's stdout. */
  other: MIOtherRecord;
  /** gdb's stderr, as it arrives. */
  stderr: string;
  /** gdb is gone; emitted once, after every pending command was rejected. */
  exit: GdbExit;
}

interface Pending {
  readonly token: number;
  readonly text: string;
  readonly resolve: (result: MICommandResult) => void;
  readonly reject: (error: Error) => void;
  console: string;
  log: string;
  /** Set when a timeout already rejected it; kept until gdb answers so stream output stays attributed. */
  settled: boolean;
  timer?: NodeJS.Timeout;
}

// How much of gdb's stderr to keep for exit messages.
const STDERR_KEEP = 4096;
// After "exit", stdout may still hold gdb's last records; "close" normally
// follows at once, but not if the debuggee inherited the pipe and lives on.
const CLOSE_GRACE_MS = 100;

export class GdbConnection extends TypedEmitter<GdbConnectionEvents> {
  private readonly splitter = new MILineSplitter();
  private readonly inflight: Pending[] = [];
  private nextToken = 1;
  private stderrTail = "";
  private exitInfo: GdbExit | undefined;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly gdbPath: string,
    private readonly defaultTimeoutMs: number | undefined,
    private readonly trace: GdbConnectionOptions["trace"],
  ) {
    super();
  }

  /**
   * Starts gdb and resolves once it has printed its first `(gdb)` prompt, i.e.
   * is ready for commands. Rejects with GdbNotFoundError when the executable
   * does not exist, GdbStartError for other start failures.
   */
  static start(options: GdbConnectionOptions = {}): Promise<GdbConnection> {
    const gdbPath = options.gdbPath ?? "gdb";
    if (options.cwd !== undefined && !isDirectory(options.cwd)) {
      // spawn reports a missing cwd as ENOENT too, which would blame gdb.
      return Promise.reject(
        new GdbStartError(`cannot start gdb: working directory ${options.cwd} does not exist`),
      );
    }
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(gdbPath, ["-q", "-nx", "-i=mi3", ...(options.args ?? [])], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: "pipe",
      });
    } catch (e) {
      return Promise.reject(new GdbStartError(`cannot start gdb at ${gdbPath}: ${errorText(e)}`));
    }
    const connection = new GdbConnection(child, gdbPath, options.commandTimeoutMs, options.trace);
    return connection.waitReady(options.startTimeoutMs ?? 15000);
  }

  /** gdb's process id (undefined if it never started). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether gdb has exited (every later command rejects at once). */
  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  /**
   * Sends one MI command. Resolves with its `^done`/`^running`/`^connected`/
   * `^exit` results; rejects with MIError on `^error`, MITimeoutError after the
   * time limit, GdbExitedError if gdb dies first.
   */
  send(command: MICommand, options: SendOptions = {}): Promise<MICommandResult> {
    const token = this.nextToken++;
    let line: string;
    try {
      line = formatCommand(command, token);
    } catch (e) {
      return Promise.reject(e);
    }
    const text = line.slice(String(token).length);
    if (this.exitInfo !== undefined) {
      return Promise.reject(this.exitError(text));
    }
    return new Promise<MICommandResult>((resolve, reject) => {
      const pending: Pending = { token, text, resolve, reject, console: "", log: "", settled: false };
      const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
      if (timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          pending.settled = true;
          reject(new MITimeoutError(text, timeoutMs));
        }, timeoutMs);
      }
      this.inflight.push(pending);
      this.trace?.("out", line);
      this.child.stdin.write(line + "\n");
    });
  }

  /**
   * Runs a CLI command through `-interpreter-exec console` and resolves with
   * what it printed (`console`), e.g. `print x` or a Python-defined `alloc info p`.
   */
  console(cli: string, options: SendOptions = {}): Promise<MICommandResult> {
    return this.send(consoleCommand(cli), options);
  }

  /** Sends a signal to gdb itself (SIGINT interrupts the debuggee when mi-async is off). */
  signal(signal: NodeJS.Signals): boolean {
    return this.exitInfo === undefined && this.child.kill(signal);
  }

  /**
   * Ends gdb: `-gdb-exit` first (gdb kills or detaches its debuggee as its own
   * exit would), SIGKILL if it has not gone within `graceMs`. Resolves when gdb
   * is gone; never rejects.
   */
  async close(graceMs = 2000): Promise<void> {
    if (this.exitInfo !== undefined) return;
    const gone = new Promise<void>((resolve) => this.once("exit", () => resolve()));
    this.send({ operation: "-gdb-exit" }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
  }

  /** Kills gdb at once; pending commands reject with GdbExitedError. */
  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.exitInfo !== undefined) return Promise.resolve();
    const gone = new Promise<void>((resolve) => this.once("exit", () => resolve()));
    this.child.kill(signal);
    return gone;
  }

  private waitReady(timeoutMs: number): Promise<GdbConnection> {
    return new Promise<GdbConnection>((resolve, reject) => {
      let done = false;
      const finish = (error?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        offRecord();
        offExit();
        if (error === undefined) resolve(this);
        else reject(error);
      };
      const timer = setTimeout(() => {
        finish(new GdbStartError(`gdb at ${this.gdbPath} did not become ready within ${timeoutMs} ms`));
        this.child.kill("SIGKILL");
      }, timeoutMs);
      const offRecord = this.on("record", (r) => {
        if (r.kind === "prompt") finish();
      });
      let spawnError: Error | undefined;
      const offExit = this.on("exit", () => {
        finish(
          spawnError ??
            new GdbStartError(`gdb at ${this.gdbPath} could not start: ${this.exitError(undefined).message}`),
        );
      });
      this.child.on("error", (e: NodeJS.ErrnoException) => {
        // "error" without "exit" means spawn itself failed.
        if (e.code === "ENOENT") spawnError = new GdbNotFoundError(this.gdbPath);
        else spawnError = new GdbStartError(`cannot start gdb at ${this.gdbPath}: ${e.message}`);
        if (this.child.pid === undefined) this.finalize({ code: null, signal: null });
      });
      this.wire();
    });
  }

  private wire(): void {
    this.child.stdout.on("data", (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk)) this.handleLine(line);
    });
    this.child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_KEEP);
      this.emit("stderr", text);
    });
    // Writing to a dead gdb raises EPIPE here; the exit handling reports it.
    this.child.stdin.on("error", () => undefined);
    this.child.on("exit", (code, signal) => {
      const info = { code, signal };
      let closed = false;
      const done = (): void => {
        if (closed) return;
        closed = true;
        this.finalize(info);
      };
      this.child.once("close", done);
      setTimeout(done, CLOSE_GRACE_MS);
    });
  }

  private handleLine(line: Buffer): void {
    // After finalize, only a debuggee that inherited the pipe can still write.
    if (this.exitInfo !== undefined) return;
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) return;
    this.trace?.("in", line.toString("utf8"));
    const record = parseRecord(line);
    this.emit("record", record);
    switch (record.kind) {
      case "result":
        this.handleResult(record.token, record.resultClass, record.results);
        break;
      case "async":
        this.emit(record.channel, record);
        break;
      case "stream": {
        const owner = this.inflight[0];
        if (owner !== undefined && record.stream === "console") owner.console += record.text;
        if (owner !== undefined && record.stream === "log") owner.log += record.text;
        this.emit("stream", record);
        if (owner === undefined) this.emit("looseStream", record);
        break;
      }
      case "other":
        this.emit("other", record);
        break;
      case "prompt":
        break;
    }
  }

  private handleResult(token: number | undefined, resultClass: string, results: readonly MIResult[]): void {
    // gdb runs commands one at a time, so an untokened answer (rare) belongs to the oldest.
    const index = token === undefined ? 0 : this.inflight.findIndex((p) => p.token === token);
    if (index < 0 || index >= this.inflight.length) return;
    const [pending] = this.inflight.splice(index, 1);
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    if (resultClass === "error") {
      pending.reject(
        new MIError(
          optString(results, "msg") ?? "unknown gdb error",
          optString(results, "code"),
          pending.text,
        ),
      );
    } else {
      pending.resolve({
        resultClass: resultClass as MICommandResult["resultClass"],
        results,
        console: pending.console,
        log: pending.log,
      });
    }
  }

  private exitError(command: string | undefined): GdbExitedError {
    return new GdbExitedError(
      this.exitInfo?.code ?? null,
      this.exitInfo?.signal ?? null,
      command,
      this.stderrTail,
    );
  }

  /** gdb is gone: flush its last output, reject everything pending, tell listeners. */
  private finalize(info: GdbExit): void {
    if (this.exitInfo !== undefined) return;
    const rest = this.splitter.flush();
    if (rest !== undefined) this.handleLine(rest);
    this.exitInfo = info;
    const pending = this.inflight.splice(0);
    for (const p of pending) {
      clearTimeout(p.timer);
      if (!p.settled) {
        p.settled = true;
        p.reject(this.exitError(p.text));
      }
    }
    // A debuggee that outlives gdb may hold the pipes open; let go of them so
    // they do not keep this process alive.
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.child.stdin.destroy();
    this.emit("exit", info);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
