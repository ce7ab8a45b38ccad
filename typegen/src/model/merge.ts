// The last uniquing step, once every unit has been read: a declaration-only struct/union/enum
// becomes the complete one with the same kind and tag (when some unit completes it), and derived
// types that thereby became equal (pointer to the opaque and to the complete struct) merge too.
// Derived types always have larger ids than their components (they are interned after them), so
// one pass in id order sees every component's final identity first. Then ids are compacted.

import { LazyFunction } from "./lazy-locations";
import { CType, FunctionInfo, StaticVar, TypeId, Typedef } from "./types";

// Loops here are indexed: this runs once, unoptimised, and for-of over an array would allocate an
// iterator result per element (~6 MB over python3.11d's types and locals).

export interface MergeInput {
  types: CType[];
  typedefs: Typedef[];
  statics: StaticVar[];
  functions: FunctionInfo[];
}

function isAgg(t: CType): boolean {
  return t.kind === "struct" || t.kind === "union" || t.kind === "enum";
}

export function mergeIncomplete(m: MergeInput): void {
  const types = m.types;
  const n = types.length;
  const fwd = new Int32Array(n);
  for (let i = 0; i < n; i++) fwd[i] = i;
  // 1. Pick one complete aggregate per kind+tag (smallest key, for determinism).
  const complete = new Map<string, TypeId>();
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (!isAgg(t) || !t.complete || !t.tag) continue;
    const slot = `${t.kind}:${t.tag}`;
    const prev = complete.get(slot);
    if (prev === undefined || t.key < types[prev].key) complete.set(slot, t.id);
  }
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (!isAgg(t) || t.complete || !t.tag) continue;
    const c = complete.get(`${t.kind}:${t.tag}`);
    if (c !== undefined) fwd[t.id] = c;
  }
  const f = (x: TypeId): TypeId => {
    for (let i = 0; i < 64 && fwd[x] !== x; i++) x = fwd[x];
    return x;
  };
  // 2. Re-key derived types with forwarded components; equal keys merge into the first.
  const byKey = new Map<string, TypeId>();
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (fwd[t.id] !== t.id) continue;
    let key = t.key;
    if (t.kind === "pointer") key = "P" + f(t.target!);
    else if (t.kind === "array") key = `A${t.count ?? 0}:${f(t.target!)}`;
    else if (t.kind === "function")
      key = `F${f(t.returns!)}(${t.params!.map(f).join(",")}${t.varargs ? ",..." : ""})`;
    const prev = byKey.get(key);
    if (prev !== undefined && prev !== t.id) fwd[t.id] = prev;
    else {
      byKey.set(key, t.id);
      t.key = key;
    }
  }
  // 3. Compact and rewrite every reference.
  const newId = new Int32Array(n).fill(-1);
  const out: CType[] = [];
  for (let i = 0; i < n; i++)
    if (fwd[types[i].id] === types[i].id) newId[types[i].id] = out.push(types[i]) - 1;
  const r = (x: TypeId): TypeId => newId[f(x)];
  for (let i = 0; i < out.length; i++) {
    const t = out[i];
    t.id = newId[t.id];
    if (t.target !== undefined) t.target = r(t.target);
    if (t.returns !== undefined) t.returns = r(t.returns);
    if (t.params) t.params = t.params.map(r);
    const ms = t.members;
    if (ms) for (let j = 0; j < ms.length; j++) ms[j].type = r(ms[j].type);
  }
  // Derived keys name component ids; rewrite them in the new numbering.
  for (let i = 0; i < out.length; i++) {
    const t = out[i];
    if (t.kind === "pointer") t.key = "P" + t.target;
    else if (t.kind === "array") t.key = `A${t.count ?? 0}:${t.target}`;
    else if (t.kind === "function") t.key = `F${t.returns}(${t.params!.join(",")}${t.varargs ? ",..." : ""})`;
  }
  for (let i = 0; i < m.typedefs.length; i++) m.typedefs[i].type = r(m.typedefs[i].type);
  for (let i = 0; i < m.statics.length; i++) m.statics[i].type = r(m.statics[i].type);
  for (let i = 0; i < m.functions.length; i++) {
    const fn = m.functions[i];
    // Variables not made into objects yet are renumbered where they are (lazy-locations.ts).
    if (fn instanceof LazyFunction) {
      fn.remapTypes(r);
      continue;
    }
    fn.type = r(fn.type);
    for (let j = 0; j < fn.params.length; j++) fn.params[j].type = r(fn.params[j].type);
    for (let j = 0; j < fn.locals.length; j++) fn.locals[j].type = r(fn.locals[j].type);
  }
  m.types = out;
}
