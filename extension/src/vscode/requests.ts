// What the commands ask the debug adapter, over DAP: `allocs/describe` for one address, and
// the bridge's `alloc census --json` / `alloc maps --json` through the Debug Console's evaluate
// (custom requests `allocs/census` and `allocs/maps` are tried first, for an adapter that has
// them). Written against a one-method interface so tests use a fake session.
import {
  descriptionFromBody,
  isCensus,
  isMapNodes,
  jsonInText,
  parseAddress,
  type CensusJson,
  type DescriptionJson,
  type MapNodeJson,
} from "./description";

/** The part of vscode.DebugSession used here. */
export interface RequestSession {
  customRequest(command: string, args?: unknown): PromiseLike<unknown>;
}

export interface Described {
  readonly description: DescriptionJson | undefined;
  readonly summary: string | undefined;
}

/** Describes what a person typed: an address (hex or decimal) or a C expression evaluated in
 * the selected frame. */
export async function describe(session: RequestSession, input: string, frameId?: number): Promise<Described> {
  const address = parseAddress(input);
  const args: Record<string, unknown> = address !== undefined ? { address } : { expression: input.trim() };
  if (frameId !== undefined) args.frameId = frameId;
  const body = await session.customRequest("allocs/describe", args);
  const summary =
    typeof body === "object" && body !== null && typeof (body as { summary?: unknown }).summary === "string"
      ? (body as { summary: string }).summary
      : undefined;
  return { description: descriptionFromBody(body), summary };
}

function isUnknownRequest(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /unrecognized request|not supported|unknown request|unsupported/i.test(m);
}

async function viaConsole(session: RequestSession, command: string, frameId?: number): Promise<unknown> {
  const args: Record<string, unknown> = { expression: command, context: "repl" };
  if (frameId !== undefined) args.frameId = frameId;
  const body = (await session.customRequest("evaluate", args)) as { result?: unknown } | undefined;
  const text = typeof body?.result === "string" ? body.result : "";
  const json = jsonInText(text);
  if (json === undefined) {
    throw new Error(text.trim() !== "" ? text.trim() : `${command}: no answer from the debugger`);
  }
  return json;
}

async function customOrConsole(
  session: RequestSession,
  request: string,
  command: string,
  frameId?: number,
): Promise<unknown> {
  try {
    return await session.customRequest(request, {});
  } catch (e) {
    if (!isUnknownRequest(e)) throw e;
  }
  return viaConsole(session, command, frameId);
}

export async function census(session: RequestSession, frameId?: number): Promise<CensusJson> {
  const v = await customOrConsole(session, "allocs/census", "alloc census --json --by site", frameId);
  if (!isCensus(v)) throw new Error("the debugger's census answer is not a census");
  return v;
}

export async function memoryMap(session: RequestSession, frameId?: number): Promise<MapNodeJson[]> {
  const v = await customOrConsole(session, "allocs/maps", "alloc maps --json", frameId);
  const nodes = typeof v === "object" && v !== null && !Array.isArray(v) && "maps" in v ? v.maps : v;
  if (!isMapNodes(nodes)) throw new Error("the debugger's memory map answer is not a list of mappings");
  return nodes;
}
