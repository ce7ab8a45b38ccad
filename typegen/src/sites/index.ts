// Allocation-site types. Two routes produce the writer's SiteTypes list:
// - from source (the `allocs cc` route): the calls clang's AST shows and their sizeof analysis
//   (source.ts), analysed at compile time (or at link time for sources on the link line) and
//   carried in OBJECT.allocsites sidecars (sidecar.ts) to the link, where they are matched to the
//   call instructions in the binary (calls.ts) through the DWARF line table (file, line and, in
//   DWARF 5, column of each call) and their type spellings resolved to model types;
// - from DWARF alone (dwarf-route.ts, `allocs typegen` on any `gcc -g` binary): the type of the
//   variable that receives the result, flagged ALLOCS_SITE_GUESSED.

import * as path from "node:path";
import { ElfFile } from "../elf/elf-file";
import { SITE_ARRAY, SITE_TRAILING } from "../meta/format";
import { SiteTypes } from "../meta/writer";
import { CType, TypeModel, TypeId } from "../model/types";
import { baseTypeName } from "../model/names";
import { findAllocCallsInBinary } from "./calls";
import { allocFunctions } from "./decls";
import { SizeClass, SourceCall, analyseSource } from "./source";
import { LineIndex } from "./line-index";

export { LineIndex } from "./line-index";

export interface SourceUnit {
  file: string;
  /** Compile flags (-I, -D, ... as given to cc). */
  flags: string[];
}

export interface UnknownSite {
  where: string;
  callee: string;
  why: string;
  /** The enclosing function, when known. */
  function?: string;
  /** Which analysis left it unknown. */
  route: "source" | "dwarf";
}

export interface SiteReport {
  sites: SiteTypes;
  /** Calls whose type stayed unknown, and why. */
  unknown: UnknownSite[];
  /** Allocation calls found in the binary. */
  calls?: number;
  /** Allocation wrappers found in the code (dwarf-route.ts, wrappers.ts). */
  wrappers?: string[];
  /** Calls inside inlined wrappers: return address -> the INLINED flag's argument. */
  inlined?: Map<number, number>;
}

/** Finds the model type a C spelling from clang names ("int", "struct point", "point_t"). */
export class TypeResolver {
  private byC = new Map<string, TypeId>();
  constructor(private model: TypeModel) {
    for (const t of model.types)
      if (!this.byC.has(t.cName) && t.kind !== "opaque") this.byC.set(t.cName, t.id);
    for (const td of model.typedefs) if (!this.byC.has(td.name)) this.byC.set(td.name, td.type);
  }
  resolve(spelling: string | undefined): TypeId | undefined {
    if (!spelling) return undefined;
    const s = spelling.replace(/\s+/g, " ").trim();
    const hit = this.byC.get(s);
    if (hit !== undefined) return hit;
    const base = BASES[s];
    if (!base) return undefined;
    // A base type the program never mentions otherwise (malloc(42) in a program without char).
    const n = baseTypeName(base[0], base[1], s);
    const existing = this.model.types.find((x) => x.name === n.name);
    if (existing) return existing.id;
    const id = this.model.types.length;
    const t: CType = {
      id,
      kind: "base",
      name: n.name,
      key: n.name,
      cName: n.c,
      byteSize: base[1] / 8,
      encoding: base[0],
      bitSize: base[1],
    };
    this.model.types.push(t);
    this.byC.set(s, id);
    return id;
  }
}

const BASES: Record<string, [number, number]> = {
  char: [6, 8],
  "signed char": [6, 8],
  "unsigned char": [8, 8],
  int: [5, 32],
  "unsigned int": [7, 32],
  long: [5, 64],
  "unsigned long": [7, 64],
  short: [5, 16],
  double: [4, 64],
  float: [4, 32],
};

/** True when a struct ends in a flexible array member (`char data[];`). */
export function hasFlexibleMember(model: TypeModel, id: TypeId): boolean {
  const t = model.types[id];
  const ms = t?.kind === "struct" ? (t.members ?? []) : [];
  const last = ms[ms.length - 1];
  const lt = last ? model.types[last.type] : undefined;
  return lt?.kind === "array" && (lt.count === null || lt.count === undefined || lt.count === 0);
}

/** A size class resolved against the model: the site's type and flags, or why not. */
export function resolveSize(
  model: TypeModel,
  resolver: TypeResolver,
  size: SizeClass,
): { type: TypeId; flags: number } | { why: string } {
  if (size.kind === "unknown") return { why: size.why };
  const charArray = (): { type: TypeId; flags: number } | { why: string } => {
    const c = resolver.resolve("char");
    return c === undefined ? { why: "no char type" } : { type: c, flags: SITE_ARRAY };
  };
  if (size.kind === "bytes") {
    const r = resolver.resolve(size.receiver);
    const bytes = r === undefined ? null : model.types[r].byteSize;
    if (r === undefined || !bytes) return charArray();
    // No sizeof: the receiving pointer's pointee, when the size fits it.
    if (size.value === undefined) return { type: r, flags: SITE_ARRAY };
    if (size.value === bytes) return { type: r, flags: 0 };
    if (size.value % bytes === 0) return { type: r, flags: SITE_ARRAY };
    return charArray();
  }
  const type = resolver.resolve(size.type) ?? resolver.resolve(size.alt);
  if (type === undefined) return { why: `type ${size.type} not in the DWARF` };
  switch (size.kind) {
    case "single":
      return { type, flags: 0 };
    case "array":
      return { type, flags: SITE_ARRAY };
    case "trailing":
      return { type, flags: SITE_TRAILING };
    case "offsetof":
      return { type, flags: hasFlexibleMember(model, type) ? SITE_TRAILING : 0 };
  }
}

/** Matches analysed source calls (from sources or sidecars) to the binary's call instructions. */
export function matchSourceSites(model: TypeModel, elfPath: string, srcCalls: SourceCall[]): SiteReport {
  const report: SiteReport = { sites: [], unknown: [] };
  const byLine = new Map<string, SourceCall[]>();
  for (const c of srcCalls) {
    const k = `${path.resolve(c.file)}:${c.line}`;
    const l = byLine.get(k) ?? [];
    l.push(c);
    byLine.set(k, l);
  }
  if (byLine.size === 0) return report;
  const elf = ElfFile.open(elfPath);
  const fns = allocFunctions();
  for (const c of srcCalls)
    if (!fns.has(c.callee)) fns.set(c.callee, { name: c.callee, sizeArgs: [], wrapper: true });
  const calls = findAllocCallsInBinary(elf, new Set(fns.keys()));
  report.calls = calls.length;
  const lines = new LineIndex(elf);
  const resolver = new TypeResolver(model);
  const used = new Set<SourceCall>();
  for (const call of calls) {
    const at = lines.lookup(call.call);
    if (!at) continue;
    const onLine = byLine.get(`${at.file}:${at.line}`) ?? [];
    let cands = onLine.filter((c) => c.callee === call.callee);
    // The optimiser may have changed the callee (malloc + memset -> calloc): the line decides.
    if (cands.length === 0) cands = onLine.filter((c) => !used.has(c));
    if (cands.length === 0) continue;
    // Same line: the column decides (DWARF 5), else the first call not yet matched.
    const src = cands.find((c) => c.col === at.column) ?? cands.find((c) => !used.has(c)) ?? cands[0];
    used.add(src);
    const where = `${src.file}:${src.line}:${src.col}`;
    const r = resolveSize(model, resolver, src.size);
    if ("why" in r) report.unknown.push({ where, callee: src.callee, why: r.why, route: "source" });
    else report.sites.push({ vaddr: call.ret, type: r.type, flags: r.flags });
  }
  return report;
}

/** Analyses C sources with clang. When clang fails on one: with `onError`, that source is
 * reported and the others kept; without, the error is thrown. */
export function analyseUnits(units: SourceUnit[], onError?: (file: string, e: Error) => void): SourceCall[] {
  const calls: SourceCall[] = [];
  for (const u of units) {
    let found: SourceCall[];
    try {
      found = analyseSource(u.file, u.flags);
    } catch (e) {
      if (!onError) throw e;
      onError(u.file, e as Error);
      continue;
    }
    for (const c of found) calls.push(c); // not push(...found): a big source has many calls
  }
  return calls;
}

/** Analyses C sources with clang and matches their calls to `elfPath`'s code. */
export function inferSourceSites(model: TypeModel, elfPath: string, units: SourceUnit[]): SiteReport {
  return matchSourceSites(model, elfPath, analyseUnits(units));
}
