// Builds the type model of one binary's DWARF: walk each unit (collect.ts), unique its types
// into the shared list (unique.ts), then merge declarations into definitions (merge.ts) and
// name everything (spell.ts).

import { CodeDies, Dwarf } from "../dwarf/dwarf";
import { Collector } from "./collect";
import { releaseNative } from "./collect-native";
import { MergeInput, mergeIncomplete } from "./merge";
import { cSpelling, canonicalName, uniqueKey } from "./spell";
import { TypeModel } from "./types";
import { Uniquer } from "./unique";

export function buildModel(dwarf: Dwarf, file: string, debugFile: string): TypeModel {
  // The main walk's table is refilled for each unit; units loaded for cross-unit references
  // keep their own.
  const main = new Collector(dwarf, true);
  // The call facts' DIEs, noted on the way (sites/callsites.ts); kept only once every unit is walked.
  const codeDies = new CodeDies();
  main.codeDies = codeDies;
  const side = new Collector(dwarf, false);
  const uq = new Uniquer(dwarf, (u) => {
    const t = side.collectUnit(u).types;
    t.resolveNames(dwarf);
    return t;
  });
  for (const u of dwarf.units) {
    const rec = main.collectUnit(u);
    rec.types.resolveNames(dwarf);
    const { functions, statics } = rec.frames.materialize(u, dwarf);
    uq.addUnit(rec.types, functions, statics);
  }
  dwarf.codeDies = codeDies;
  // The C walker's abbrev tables are not needed after the walk (the peak is in the writer's).
  releaseNative(dwarf);
  const m = { types: uq.types, typedefs: uq.typedefs, statics: uq.statics, functions: uq.functions };
  // Spelled names of base types are kept by old id; carry them through the merge.
  const spelled = new Map<object, string>();
  for (const [id, s] of uq.baseSpelled) spelled.set(uq.types[id], s);
  mergeIncomplete(m);
  nameTypes(m, spelled);
  return {
    file,
    debugFile,
    types: m.types,
    typedefs: m.typedefs,
    statics: m.statics,
    functions: m.functions,
    units: dwarf.units.length,
  };
}

/**
 * Names the merged types, sizes arrays and statics. Apart from buildModel, whose loop over the
 * units V8 compiles on the stack: these loops need not be in that compile.
 */
function nameTypes(m: MergeInput, spelled: Map<object, string>): void {
  // An anonymous aggregate defined in a type unit cannot see the typedef that names it (that is
  // in the compile unit): name it by the first typedef of it, as the in-unit path does.
  for (const td of m.typedefs) {
    const t = m.types[td.type];
    if (
      (t.kind === "struct" || t.kind === "union" || t.kind === "enum") &&
      !t.tag &&
      t.name.startsWith("__anon_")
    )
      t.name = td.name;
  }
  const types = m.types;
  // Array sizes need their element's size, which for an aggregate is only known once it was
  // filled; elements always have smaller ids, so one pass in id order settles nested arrays too.
  // Indexed loops: this runs once, unoptimised, where for-of allocates per element.
  for (let i = 0; i < types.length; i++) {
    const t = types[i];
    if (t.kind === "array") {
      const es = types[t.target ?? 0].byteSize;
      t.byteSize = t.count !== null && t.count !== undefined && es !== null ? t.count * es : null;
    }
  }
  for (let i = 0; i < types.length; i++) canonicalName(types, i);
  const memo = new Map<number, string>();
  for (let i = 0; i < types.length; i++) types[i].key = uniqueKey(types, i, memo);
  const spelledOf = (id: number): string | undefined => spelled.get(types[id]);
  for (let i = 0; i < types.length; i++) types[i].cName = cSpelling(types, i, "", 0, spelledOf);
  for (let i = 0; i < m.statics.length; i++) m.statics[i].size = types[m.statics[i].type].byteSize;
}
