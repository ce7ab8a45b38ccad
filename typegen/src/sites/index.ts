// Allocation-site types from source (the `allocs cc` route): the calls clang's AST shows
// (source.ts), matched to the call instructions in the binary (calls.ts) through the DWARF line
// table (file, line and, in DWARF 5, column of each call), and the sizeof type resolved to a
// model type. The result is the writer's SiteTypes input.
//
// TODO(site analysis, next engineer): the DWARF-only route for plain `gcc -g` binaries (the
// receiving variable's type), sizes flowing through locals, offsetof-based sizes, declared
// wrappers. They produce the same SiteTypes list (flags ALLOCS_SITE_GUESSED when inferred).

import * as path from "node:path";
import { openDebugElf, openDwarf } from "../index";
import { ElfFile } from "../elf/elf-file";
import { readLineTable, LineTable } from "../dwarf/line";
import { SITE_ARRAY, SITE_TRAILING } from "../meta/format";
import { SiteTypes } from "../meta/writer";
import { CType, TypeModel, TypeId } from "../model/types";
import { baseTypeName } from "../model/names";
import { findAllocCallsInBinary } from "./calls";
import { ALLOC_FUNCTIONS, SourceCall, analyseSource } from "./source";

export interface SourceUnit {
  file: string;
  /** Compile flags (-I, -D, ... as given to cc). */
  flags: string[];
}

export interface SiteReport {
  sites: SiteTypes;
  /** Calls found in the source whose type stayed unknown, and why. */
  unknown: { where: string; callee: string; why: string }[];
}

/** Finds the model type a C spelling from clang names ("int", "struct point", "point_t"). */
export class TypeResolver {
  private byC = new Map<string, TypeId>();
  constructor(private model: TypeModel) {
    for (const t of model.types)
      if (!this.byC.has(t.cName) && t.kind !== "opaque") this.byC.set(t.cName, t.id);
    for (const td of model.typedefs) if (!this.byC.has(td.name)) this.byC.set(td.name, td.type);
  }
  resolve(spelling: string): TypeId | undefined {
    const s = spelling.replace(/\s+/g, " ").trim();
    const hit = this.byC.get(s);
    if (hit !== undefined) return hit;
    const base = BASES[s];
    if (!base) return undefined;
    // A base type the program never mentions otherwise (malloc(42) in a program without char).
    const n = baseTypeName(base[0], base[1], s);
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
    if (this.model.types.some((x) => x.name === n.name))
      return this.model.types.find((x) => x.name === n.name)?.id;
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

function lineTables(elf: ElfFile): { table: LineTable; compDir: string }[] {
  const dwarf = openDwarf(openDebugElf(elf));
  const cur = dwarf.cursor();
  const out: { table: LineTable; compDir: string }[] = [];
  for (const u of dwarf.units) {
    if (u.typeSignature !== undefined) continue;
    cur.setUnit(u);
    if (u.stmtList < 0) continue;
    out.push({ table: readLineTable(u.src.sections, u.stmtList, u.addrSize), compDir: u.compDir });
  }
  return out;
}

export function inferSourceSites(model: TypeModel, elfPath: string, units: SourceUnit[]): SiteReport {
  const report: SiteReport = { sites: [], unknown: [] };
  const byLine = new Map<string, SourceCall[]>();
  for (const u of units) {
    for (const c of analyseSource(u.file, u.flags)) {
      const k = `${path.resolve(c.file)}:${c.line}`;
      const l = byLine.get(k) ?? [];
      l.push(c);
      byLine.set(k, l);
    }
  }
  if (byLine.size === 0) return report;
  const elf = ElfFile.open(elfPath);
  const calls = findAllocCallsInBinary(elf, new Set(Object.keys(ALLOC_FUNCTIONS)));
  const tables = lineTables(elf);
  const resolver = new TypeResolver(model);
  const used = new Set<SourceCall>();
  for (const call of calls) {
    let at: { file: string; line: number; column: number } | undefined;
    for (const t of tables) {
      const r = t.table.lookup(call.call);
      if (r?.file) {
        at = { file: path.resolve(t.compDir, r.file), line: r.line, column: r.column };
        break;
      }
    }
    if (!at) continue;
    const cands = (byLine.get(`${at.file}:${at.line}`) ?? []).filter((c) => c.callee === call.callee);
    if (cands.length === 0) continue;
    // Same line: the column decides (DWARF 5), else the first call not yet matched.
    const src = cands.find((c) => c.col === at.column) ?? cands.find((c) => !used.has(c)) ?? cands[0];
    used.add(src);
    const where = `${src.file}:${src.line}:${src.col}`;
    if (src.size.kind === "unknown") {
      report.unknown.push({ where, callee: src.callee, why: src.size.why });
      continue;
    }
    const type = resolver.resolve(src.size.type);
    if (type === undefined) {
      report.unknown.push({ where, callee: src.callee, why: `type ${src.size.type} not in the DWARF` });
      continue;
    }
    const flags = src.size.kind === "array" ? SITE_ARRAY : src.size.kind === "trailing" ? SITE_TRAILING : 0;
    report.sites.push({ vaddr: call.ret, type, flags });
  }
  return report;
}
