// One family of requests: the handlers and the capabilities they implement, declared together
// so that `initialize` announces exactly what the handlers serve.
import type { DebugProtocol } from "@vscode/debugprotocol";

import type { Context } from "./context";

/** Answers one request: resolves with the response body (or undefined), rejects with an error to show. */
export type RequestHandler = (
  ctx: Context,
  args: unknown,
  request: DebugProtocol.Request,
) => Promise<unknown>;

export interface RequestFamily {
  readonly name: string;
  readonly capabilities?: DebugProtocol.Capabilities;
  readonly requests: Readonly<Record<string, RequestHandler>>;
}

/** Types a handler's arguments (DAP arguments arrive as JSON; each handler checks what it uses). */
export function handler<A>(
  fn: (ctx: Context, args: A, request: DebugProtocol.Request) => Promise<unknown>,
): RequestHandler {
  return (ctx, args, request) => fn(ctx, (args ?? {}) as A, request);
}
