// What every handler shares: the client (events, reverse requests), the running gdb, the
// session's configuration, and the state that lives only while the program is stopped
// (variable handles, frame handles, varobjs, cached address descriptions). Handlers keep no
// state of their own outside this object.
import { Handles, OutputEvent, TerminatedEvent } from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { GdbConnection, MICommands, type MIVariable } from "../mi";
import type { AddressDescription } from "./describe";
import type { SessionConfig } from "./config";

/** What the handlers need from the DAP session object. */
export interface Client {
  sendEvent(event: DebugProtocol.Event): void;
  runInTerminal(
    args: DebugProtocol.RunInTerminalRequestArguments,
    timeoutMs: number,
  ): Promise<DebugProtocol.RunInTerminalResponse>;
}

/** What the client said about itself in `initialize`. */
export interface ClientCapabilities {
  supportsRunInTerminal: boolean;
  supportsMemoryReferences: boolean;
  supportsInvalidatedEvent: boolean;
  supportsMemoryEvent: boolean;
  supportsProgressReporting?: boolean;
}

/** A frame as the client knows it: a thread and a level in that thread's stack. */
export interface FrameRef {
  readonly thread: number;
  readonly level: number;
}

/** Something the client can expand (a `variablesReference`). */
export type Container =
  | { readonly kind: "locals"; readonly frame: FrameRef }
  | { readonly kind: "registers"; readonly frame: FrameRef }
  /** an aggregate expression, turned into a varobj only when expanded */
  | { readonly kind: "expr"; readonly expression: string; readonly frame?: FrameRef }
  | { readonly kind: "varobj"; readonly name: string; readonly numchild: number }
  /** a pointer: its allocation and its target (an array of the chunk's real length when it is one) */
  | {
      readonly kind: "pointer";
      readonly address: string;
      readonly pointeeType: string;
      readonly label: string;
      readonly description?: AddressDescription;
      readonly frame?: FrameRef;
    }
  /** elements from..to (inclusive) of an array varobj, for long arrays */
  | { readonly kind: "range"; readonly varobj: string; readonly from: number; readonly to: number }
  /** the "[allocation]" child: `alloc info` of the description's address */
  | { readonly kind: "allocation"; readonly description: AddressDescription }
  /** a plain JSON value (the address description and its parts) */
  | { readonly kind: "json"; readonly value: unknown };

/** State that is only valid while the program stays stopped. */
class StopScope {
  readonly containers = new Handles<Container>(1000);
  readonly frames = new Handles<FrameRef>(1);
  /** varobjs created during this stop, deleted when the program resumes */
  readonly varobjs: string[] = [];
  /** container reference -> child display name -> what setVariable assigns to */
  readonly assignTargets = new Map<number, Map<string, AssignTarget>>();
  readonly descriptions = new Map<string, Promise<AddressDescription | undefined>>();
  /** "thread:level" -> the frame's locals (`-stack-list-variables --simple-values`): asked for
   * once per stop (the top frame's as soon as the stop is reported) */
  readonly locals = new Map<string, Promise<MIVariable[]>>();
}

export type AssignTarget =
  | { readonly kind: "varobj"; readonly name: string }
  | { readonly kind: "expression"; readonly expression: string; readonly frame?: FrameRef };

export class Context {
  config?: SessionConfig;
  gdb?: GdbConnection;
  mi?: MICommands;
  /** the bridge is loaded and `-alloc-describe` exists */
  bridge = false;
  /** settles when the bridge's loading (started at launch, maybe behind `-exec-run`) is over */
  bridgeLoading: Promise<void> = Promise.resolve();
  /** the program is running (no stop state to answer from) */
  running = false;
  /** a process (or core) exists */
  hasProcess = false;
  /** first stop after `-exec-run --start` is reported as "entry" */
  expectEntry = false;
  /** stops are not reported while the session is being set up (attach) */
  quietStops = false;
  /** the next SIGINT stop answers a pause request */
  pauseRequested = false;
  /** the next breakpoint stop ends a Jump to Cursor (goto) */
  gotoPending = false;
  /** the thread of the last stop */
  stoppedThread = 1;
  /** logpoint breakpoint number -> message template */
  readonly logpoints = new Map<string, string>();
  /** the session is ending: gdb's exit is expected */
  ending = false;
  private terminated = false;
  private stop = new StopScope();
  /** type name -> sizeof, valid for the whole session */
  readonly sizes = new Map<string, Promise<number | undefined>>();
  private readonly cleanups: (() => void | Promise<void>)[] = [];
  private dir?: string;
  private disposed = false;

  constructor(
    readonly client: Client,
    readonly clientCaps: ClientCapabilities,
  ) {}

  /** The MI commands, or a clear error when no session is running. */
  requireMi(): MICommands {
    if (this.mi === undefined || this.gdb === undefined || this.gdb.exited) {
      throw new Error("no debug session: gdb is not running");
    }
    return this.mi;
  }

  requireGdb(): GdbConnection {
    this.requireMi();
    return this.gdb as GdbConnection;
  }

  requireStopped(what: string): MICommands {
    const mi = this.requireMi();
    if (this.running) throw new Error(`cannot ${what} while the program is running: pause it first`);
    if (!this.hasProcess) throw new Error(`cannot ${what}: the program is not running`);
    return mi;
  }

  get containers(): Handles<Container> {
    return this.stop.containers;
  }

  get frames(): Handles<FrameRef> {
    return this.stop.frames;
  }

  get descriptions(): Map<string, Promise<AddressDescription | undefined>> {
    return this.stop.descriptions;
  }

  /** The frame's locals with their simple values, listed once per stop (shared by the stop's
   * prefetch and the variables request; dropped when values change). */
  frameLocals(frame: FrameRef): Promise<MIVariable[]> {
    const key = `${frame.thread}:${frame.level}`;
    const stop = this.stop;
    let p = stop.locals.get(key);
    if (p === undefined) {
      p = this.requireMi().stackListVariables({ thread: frame.thread, frame: frame.level }, "simple");
      stop.locals.set(key, p);
      // a failure is not kept: the next request asks gdb again
      p.catch(() => {
        if (stop.locals.get(key) === p) stop.locals.delete(key);
      });
    }
    return p;
  }

  /** True while the stop that was current when `token` was taken is still the current one. */
  sameStop(token: object): boolean {
    return this.stop === token;
  }

  /** A token for the current stop (see sameStop). */
  get stopToken(): object {
    return this.stop;
  }

  frame(frameId: number | undefined): FrameRef | undefined {
    if (frameId === undefined) return undefined;
    const f = this.stop.frames.get(frameId);
    if (f === undefined) throw new Error(`unknown frame ${frameId} (the program has moved on)`);
    return f;
  }

  container(reference: number): Container {
    const c = this.stop.containers.get(reference);
    if (c === undefined)
      throw new Error(`unknown variables reference ${reference} (the program has moved on)`);
    return c;
  }

  addContainer(c: Container): number {
    return this.stop.containers.create(c);
  }

  rememberVarobj(name: string): void {
    this.stop.varobjs.push(name);
  }

  setAssignTargets(reference: number, targets: Map<string, AssignTarget>): void {
    this.stop.assignTargets.set(reference, targets);
  }

  assignTarget(reference: number, name: string): AssignTarget | undefined {
    return this.stop.assignTargets.get(reference)?.get(name);
  }

  /** The program resumes: everything tied to the stop is dropped (varobjs deleted in gdb). */
  resumed(): void {
    const old = this.stop;
    this.stop = new StopScope();
    this.running = true;
    if (this.mi !== undefined && this.gdb !== undefined && !this.gdb.exited) {
      for (const name of old.varobjs) this.mi.varDelete(name).catch(() => undefined);
    }
  }

  /** Something changed memory or registers without a resume: drop cached values. */
  invalidateValues(): void {
    this.stop.descriptions.clear();
    this.stop.locals.clear();
  }

  output(text: string, category: "console" | "stdout" | "stderr" | "important" = "console"): void {
    const whole = category === "stdout" || text.endsWith("\n") ? text : text + "\n";
    this.client.sendEvent(new OutputEvent(whole, category));
  }

  /** Sends `terminated` once. */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.client.sendEvent(new TerminatedEvent());
  }

  /** This session's own temporary directory (made on first use, removed at dispose): the
   * terminal's helper scripts and reports, nothing shared with another session. */
  sessionDir(): string {
    if (this.dir === undefined) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-session-"));
      this.dir = dir;
      this.onDispose(() => fs.rmSync(dir, { recursive: true, force: true }));
    }
    return this.dir;
  }

  onDispose(fn: () => void | Promise<void>): void {
    if (this.disposed) {
      // the session already ended (a helper that arrived late): clean up at once
      Promise.resolve()
        .then(fn)
        .catch(() => undefined);
      return;
    }
    this.cleanups.push(fn);
  }

  /** Ends gdb and everything the session started; safe to call twice. */
  async dispose(): Promise<void> {
    this.ending = true;
    this.disposed = true;
    const gdb = this.gdb;
    if (gdb !== undefined && !gdb.exited) await gdb.close(1500);
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // best effort: a helper process may already be gone
      }
    }
  }
}
