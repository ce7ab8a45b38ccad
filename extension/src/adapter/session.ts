// The DAP session: thin. It records what the client can do, dispatches each request to the
// handler family that serves it, and answers `initialize` with the capabilities those
// families declare. Everything else lives in the families (one module each).
import { DebugSession, Response } from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { ConfigError } from "./config";
import { Context } from "./context";
import { allocationFamily } from "./describe";
import { breakpointsFamily } from "./breakpoints";
import { dataBreakpointsFamily } from "./data-breakpoints";
import { disassembleFamily } from "./disassemble";
import { evaluateFamily } from "./evaluate";
import { executionFamily } from "./execution";
import type { RequestFamily, RequestHandler } from "./handler";
import { completionsFamily } from "./completions";
import { gotoFamily } from "./goto";
import { graphFamily } from "./graph";
import { heapFamily } from "./heap";
import { modulesFamily } from "./modules";
import { launchFamily, prestartGdb } from "./launch";
import { memoryFamily } from "./memory";
import { stackFamily } from "./stack";
import { variablesFamily } from "./variables";

export const FAMILIES: readonly RequestFamily[] = [
  launchFamily,
  breakpointsFamily,
  dataBreakpointsFamily,
  executionFamily,
  stackFamily,
  variablesFamily,
  evaluateFamily,
  completionsFamily,
  gotoFamily,
  modulesFamily,
  memoryFamily,
  disassembleFamily,
  allocationFamily,
  heapFamily,
  graphFamily,
];

export function capabilities(): DebugProtocol.Capabilities {
  return Object.assign({}, ...FAMILIES.map((f) => f.capabilities ?? {})) as DebugProtocol.Capabilities;
}

const HANDLERS = new Map<string, RequestHandler>(FAMILIES.flatMap((f) => Object.entries(f.requests)));

/** Requests whose failure the user asked for and must see as a notification. Everything else
 * fails quietly: VS Code shows a failed watch's message inline in the Watch view, a failed repl
 * evaluation in the Debug Console, and nothing for a failed hover; a failed stackTrace,
 * scopes or variables request only leaves that part of a view empty. */
const USER_REQUESTS = new Set([
  "launch",
  "attach",
  "configurationDone",
  "setVariable",
  "setExpression",
  "setDataBreakpoints",
  "writeMemory",
  "gotoTargets",
  "goto",
  "continue",
  "next",
  "stepIn",
  "stepOut",
  "pause",
]);

function showsUser(request: DebugProtocol.Request): boolean {
  return USER_REQUESTS.has(request.command);
}

/** Errors that only mean the client asked about a stop that is over: never the user's business. */
export function isRace(message: string): boolean {
  return /the program has moved on|while the program is running|the program is not running|no debug session/.test(
    message,
  );
}

export class AllocsDebugSession extends DebugSession {
  private ctx?: Context;

  private context(): Context {
    if (this.ctx === undefined) throw new Error("initialize must come first");
    return this.ctx;
  }

  protected override initializeRequest(
    response: DebugProtocol.InitializeResponse,
    args: DebugProtocol.InitializeRequestArguments,
  ): void {
    this.ctx = new Context(
      {
        sendEvent: (e) => this.sendEvent(e),
        runInTerminal: (a, timeoutMs) =>
          new Promise((resolve) =>
            this.runInTerminalRequest(a, timeoutMs, (r) => resolve(r as DebugProtocol.RunInTerminalResponse)),
          ),
      },
      {
        supportsRunInTerminal: args.supportsRunInTerminalRequest === true,
        supportsMemoryReferences: args.supportsMemoryReferences === true,
        supportsInvalidatedEvent: args.supportsInvalidatedEvent === true,
        supportsProgressReporting: args.supportsProgressReporting === true,
        supportsMemoryEvent: args.supportsMemoryEvent === true,
      },
    );
    response.body = capabilities();
    this.sendResponse(response);
    // every session needs a gdb: start the usual one while the client sends launch or attach
    prestartGdb(this.ctx);
  }

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const h = HANDLERS.get(request.command);
    if (h === undefined || request.command === "initialize") {
      super.dispatchRequest(request);
      return;
    }
    const response = new Response(request) as DebugProtocol.Response;
    let ctx: Context;
    try {
      ctx = this.context();
    } catch (e) {
      this.fail(response, e);
      return;
    }
    h(ctx, request.arguments, request).then(
      (body) => {
        if (body !== undefined) response.body = body;
        this.sendResponse(response);
        if (request.command === "disconnect") this.shutdown();
      },
      (e: unknown) => {
        this.fail(response, e, showsUser(request));
        if (request.command === "launch" || request.command === "attach") void ctx.dispose();
        if (request.command === "disconnect") this.shutdown();
      },
    );
  }

  private fail(response: DebugProtocol.Response, e: unknown, showUser = true): void {
    const message = e instanceof Error ? e.message : String(e);
    // user-facing configuration problems show without a "details" button
    this.sendErrorResponse(response, {
      id: e instanceof ConfigError ? 1001 : 1002,
      format: message.replace(/[{}]/g, (c) => (c === "{" ? "(" : ")")),
      showUser: showUser && !isRace(message),
    });
  }

  override shutdown(): void {
    const ctx = this.ctx;
    if (ctx !== undefined) void ctx.dispose();
    super.shutdown();
  }
}
