// The JSON the extension shows, as the bridge writes it (docs/address-description.md): the
// address description, the heap census and the memory map. Only views and helpers here: no
// `vscode` import, so everything in this file is unit-tested in plain node.

import type { DescriptionJson, LevelJson, SiteJson } from "../description-json";

export type { DescriptionJson, LevelJson, SiteJson };

export interface CensusRowJson {
  readonly site?: SiteJson | null;
  readonly type?: string | null;
  readonly count: number;
  readonly bytes: number;
}

export interface CensusJson {
  readonly by: string;
  readonly rows: readonly CensusRowJson[];
  readonly total: { chunks: number; bytes: number; poolObjects?: number; poolBytes?: number };
  readonly runtimeStats?: {
    liveChunks: number;
    liveBytes: number;
    totalAllocs: number;
    totalFrees: number;
  } | null;
}

export interface MapNodeJson {
  readonly allocator: string;
  readonly base: string;
  readonly size: number;
  readonly name?: string | null;
  readonly flags?: string;
  /** the allocs runtime's own memory (docs/schema/maps.schema.json), null when not */
  readonly runtime?: RuntimeOwnJson | null;
  readonly children?: readonly MapNodeJson[];
}

/** What of the allocs runtime's a mapping or level holds: inside its library, or its tables. */
export interface RuntimeOwnJson {
  readonly part: "library" | "tables";
  readonly holds: readonly string[];
}

/** One allocation of `allocs/ls` (the bridge's `alloc ls --json`). */
export interface LsEntryJson {
  readonly allocator: string;
  readonly base: string;
  readonly size: number;
  readonly type?: string | null;
  readonly site?: SiteJson | null;
}

export interface LsJson {
  readonly entries: readonly LsEntryJson[];
  readonly matched: number;
}

/** What to do when a program's allocations have no types. */
export const NO_TYPES_ADVICE =
  "no type metadata for this program: build it with `allocs cc`, or run `allocs typegen PROGRAM` " +
  "once, then restart the session";

/** The allocs runtime's own library (preloaded into every program it watches). */
export function isRuntimeObject(name: string | null | undefined): boolean {
  return typeof name === "string" && /(^|\/)liballocs[^/]*\.so(\.|$)/.test(name);
}

const PAGE = 4096n;

function endOf(n: MapNodeJson): bigint {
  const end = BigInt(n.base) + BigInt(n.size);
  // an ELF file or segment ends inside its last page, which its mapping covers whole
  return n.allocator === "elf_file" || n.allocator === "elf_segment"
    ? ((end + PAGE - 1n) / PAGE) * PAGE
    : end;
}

/** The memory map as a person reads it: every node under the smallest node that contains it
 * (an ELF file over the mappings it spans, a stack's reservation over its mapped part), so no
 * child is larger than its parent; nodes that only overlap stay side by side. Each node's
 * `runtime` says it is the allocs runtime's own: its library, or the tables it reserved. */
export function nestMaps(nodes: readonly MapNodeJson[]): NestedMapNode[] {
  const flat: { node: MapNodeJson; depth: number; order: number }[] = [];
  const walk = (ns: readonly MapNodeJson[], depth: number): void => {
    for (const n of ns) {
      flat.push({ node: n, depth, order: flat.length });
      walk(n.children ?? [], depth + 1);
    }
  };
  walk(nodes, 0);
  // outer first: lower base, then longer, then the bridge's own order (a parent before its child)
  flat.sort((a, b) => {
    const ba = BigInt(a.node.base);
    const bb = BigInt(b.node.base);
    if (ba !== bb) return ba < bb ? -1 : 1;
    const ea = BigInt(a.node.size);
    const eb = BigInt(b.node.size);
    if (ea !== eb) return ea > eb ? -1 : 1;
    return a.depth - b.depth || a.order - b.order;
  });
  const roots: NestedMapNode[] = [];
  const open: { end: bigint; base: bigint; out: NestedMapNode }[] = [];
  for (const { node } of flat) {
    const base = BigInt(node.base);
    const end = base + BigInt(node.size);
    while (open.length > 0 && open[open.length - 1].end <= base) open.pop();
    // the innermost open node that contains this one whole
    let parent: (typeof open)[number] | undefined;
    for (let i = open.length - 1; i >= 0; i--) {
      if (open[i].base <= base && end <= open[i].end) {
        parent = open[i];
        break;
      }
    }
    const out: NestedMapNode = {
      allocator: node.allocator,
      base: node.base,
      size: node.size,
      name: node.name ?? null,
      flags: node.flags,
      runtime: runtimeOwn(node, parent?.out),
      children: [],
    };
    if (parent !== undefined) parent.out.children.push(out);
    else roots.push(out);
    open.push({ base, end: endOf(node), out });
  }
  return roots;
}

/** The bridge's label; from a bridge that gives none, the runtime's library by its name and what
 * lies inside it. */
function runtimeOwn(node: MapNodeJson, parent: NestedMapNode | undefined): RuntimeOwnJson | null {
  if (node.runtime !== undefined) return node.runtime;
  return isRuntimeObject(node.name) || parent?.runtime?.part === "library"
    ? { part: "library", holds: [] }
    : null;
}

export interface NestedMapNode extends MapNodeJson {
  readonly runtime: RuntimeOwnJson | null;
  readonly children: NestedMapNode[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The description in an `allocs/describe` response body: the adapter answers
 * `{ description, summary }`; a bare description is accepted too. Undefined when nothing is known. */
export function descriptionFromBody(body: unknown): DescriptionJson | undefined {
  const d = isObject(body) && "description" in body ? body.description : body;
  if (!isObject(d) || typeof d.address !== "string" || !Array.isArray(d.chain)) return undefined;
  return d as unknown as DescriptionJson;
}

export function isCensus(v: unknown): v is CensusJson {
  return isObject(v) && Array.isArray(v.rows) && isObject(v.total);
}

export function isMapNodes(v: unknown): v is MapNodeJson[] {
  return Array.isArray(v) && v.every((n) => isObject(n) && typeof n.allocator === "string");
}

/** An address typed by a person: hex (0x...) or decimal. Undefined for anything else
 * (which is then an expression for gdb). */
export function parseAddress(text: string): string | undefined {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return `0x${BigInt(t).toString(16)}`;
  if (/^[0-9]+$/.test(t)) return `0x${BigInt(t).toString(16)}`;
  return undefined;
}

/** "24 B", "1.5 KiB", "132 KiB", "2.0 MiB". */
export function humanBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} B`;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export function basename(file: string): string {
  const i = file.lastIndexOf("/");
  return i < 0 ? file : file.slice(i + 1);
}

/** Where an allocation came from, for people: "make_points at pts.c:14", "local 'p' in main". */
export function siteText(site: SiteJson | null | undefined): string | undefined {
  if (!site) return undefined;
  if (site.variable) {
    return (
      `local '${site.variable}' in ${site.function ?? "??"}` +
      (site.file ? ` at ${basename(site.file)}:${site.line ?? "?"}` : "")
    );
  }
  if (site.obstack) {
    return (
      `${site.part === "free" ? "free tail" : "used part"} of obstack ${site.obstack}` +
      (site.chunk ? ` (chunk ${site.chunk}..${site.limit ?? "?"})` : "")
    );
  }
  if (site.symbol) {
    return (
      site.symbol +
      (site.section ? ` in ${site.section}` : "") +
      (site.object ? ` of ${basename(site.object)}` : "")
    );
  }
  if (site.function || site.file) {
    const where = site.function ?? "??";
    return site.file ? `${where} at ${basename(site.file)}:${site.line ?? "?"}` : where;
  }
  if (site.pc) return `pc ${site.pc}`;
  return undefined;
}

/** The one-sentence answer: "0x4052ac is 12 bytes into a live 24-byte __default_lib_malloc allocation at 0x4052a0". */
export function headline(d: DescriptionJson): string {
  if (d.allocator === null || d.base === null) return `${d.address}: nothing known about this address`;
  const state = d.state === "live" ? "" : `${d.state} `;
  const size = d.size === null ? "?-byte" : `${d.size}-byte`;
  const off = d.offset ?? 0;
  return `${d.address} is ${off} byte${off === 1 ? "" : "s"} into a ${state}${size} ${d.allocator} allocation at ${d.base}`;
}

/** The levels to draw, outermost first, ending with the leaf allocation itself (added when the
 * chain does not already end with it). */
export function levelsOf(d: DescriptionJson): LevelJson[] {
  const levels = d.chain.map((l) => ({ ...l }));
  if (d.allocator !== null && d.base !== null && d.size !== null) {
    const last = levels[levels.length - 1];
    const same =
      last !== undefined &&
      last.allocator === d.allocator &&
      BigInt(last.base) === BigInt(d.base) &&
      last.size === d.size;
    if (!same) levels.push({ allocator: d.allocator, base: d.base, size: d.size, name: null });
  }
  return levels;
}

/** The label of a census row: its site or its type. */
export function censusRowLabel(row: CensusRowJson, by = "site"): string {
  if (row.type !== undefined && row.type !== null) return row.type;
  if (by === "type") return "(type unknown)";
  return siteText(row.site) ?? "(unknown site)";
}
