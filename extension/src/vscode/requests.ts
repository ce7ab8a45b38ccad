// What the commands ask the debug adapter, over DAP: the custom requests `allocs/describe` (one
// address), `allocs/census` (live allocations by site or type) and `allocs/maps` (the memory
// map). Written against a one-method interface so tests use a fake session.
import {
  descriptionFromBody,
  isCensus,
  isMapNodes,
  parseAddress,
  type CensusJson,
  type DescriptionJson,
  type LsJson,
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

/** Live allocations by site (or by run-time type): the adapter's `allocs/census`. */
export async function census(session: RequestSession, by: "site" | "type" = "site"): Promise<CensusJson> {
  const v = await session.customRequest("allocs/census", { by });
  if (!isCensus(v)) throw new Error("the debugger's census answer is not a census");
  return v;
}

/** The hierarchy of big allocations: the adapter's `allocs/maps`. */
export async function memoryMap(session: RequestSession): Promise<MapNodeJson[]> {
  const v = await session.customRequest("allocs/maps", {});
  const nodes = typeof v === "object" && v !== null && !Array.isArray(v) && "maps" in v ? v.maps : v;
  if (!isMapNodes(nodes)) throw new Error("the debugger's memory map answer is not a list of mappings");
  return nodes;
}

/** The allocations of one type or site (a census row): the adapter's `allocs/ls`. */
export async function listAllocations(
  session: RequestSession,
  filter: { type?: string; site?: string },
): Promise<LsJson> {
  const v = await session.customRequest("allocs/ls", { ...filter, limit: 500 });
  if (typeof v !== "object" || v === null || !Array.isArray((v as { entries?: unknown }).entries))
    throw new Error("the debugger's list of allocations is not a list");
  return v as LsJson;
}
