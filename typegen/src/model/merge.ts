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

// Each step is a function of its own: this runs once, and V8 compiles its long loops on the
// stack (OSR); small functions make small compiles.

export function mergeIncomplete(m: MergeInput): void {
  const types = m.types;
  const n = types.length;
  const fwd = new Int32Array(n);
  for (let i = 0; i < n; i++) fwd[i] = i;
  forwardDeclarations(types, fwd);
  forwardDerived(types, fwd);
  const newId = compact(types, fwd);
  const out: CType[] = [];
  for (let i = 0; i < n; i++) if (fwd[i] === i) out.push(types[i]);
  const r = (x: TypeId): TypeId => newId[follow(fwd, x)];
  renumberTypes(out, newId, r);
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

/** Where type x ends up after forwarding. */
function follow(fwd: Int32Array, x: TypeId): TypeId {
  for (let i = 0; i < 64 && fwd[x] !== x; i++) x = fwd[x];
  return x;
}

/** 1. Forwards each declaration-only aggregate to one complete one of its kind and tag (the smallest key, for determinism). */
function forwardDeclarations(types: CType[], fwd: Int32Array): void {
  const n = types.length;
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
}

/**
 * 2. Derived types whose forwarded components are equal merge into the first (in id order): a
 * pointer by its target, an array by element and count, a function by return, parameters and
 * varargs (what their keys spell: "P12", "A3:7", "F0(1,2,...)"), compared as numbers. Other
 * types' keys are all distinct (the interner made them), and never equal a derived one's.
 * Keys stay as the interner made them: buildModel replaces every key afterwards.
 */
function forwardDerived(types: CType[], fwd: Int32Array): void {
  const n = types.length;
  const pointerTo = new Int32Array(n).fill(-1);
  const arrays = new Map<TypeId, Map<number, TypeId>>();
  const fns = new Map<number, Signature[]>();
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (fwd[i] !== i) continue;
    let prev = -1;
    if (t.kind === "pointer") prev = samePointer(pointerTo, follow(fwd, t.target!), i);
    else if (t.kind === "array") prev = sameArray(arrays, follow(fwd, t.target!), t.count ?? 0, i);
    else if (t.kind === "function") prev = sameFunction(fns, fwd, t, i);
    if (prev >= 0) fwd[i] = prev;
  }
}

/** The first pointer to `target`, or -1 when `id` is (and is noted as) the first. */
function samePointer(pointerTo: Int32Array, target: TypeId, id: TypeId): TypeId {
  const prev = pointerTo[target];
  if (prev >= 0) return prev;
  pointerTo[target] = id;
  return -1;
}

function sameArray(arrays: Map<TypeId, Map<number, TypeId>>, el: TypeId, count: number, id: TypeId): TypeId {
  let byCount = arrays.get(el);
  if (byCount === undefined) {
    byCount = new Map();
    arrays.set(el, byCount);
  }
  const prev = byCount.get(count);
  if (prev !== undefined) return prev;
  byCount.set(count, id);
  return -1;
}

/** A function type's forwarded signature as it was when noted: return, varargs (0/1), parameters. */
type Signature = number[];

function sameFunction(fns: Map<number, Signature[]>, fwd: Int32Array, t: CType, id: TypeId): TypeId {
  const ps = t.params!;
  const sig: Signature = [follow(fwd, t.returns!), t.varargs ? 1 : 0];
  for (let i = 0; i < ps.length; i++) sig.push(follow(fwd, ps[i]));
  let h = 0x811c9dc5;
  for (let i = 0; i < sig.length; i++) h = Math.imul(h ^ sig[i], 0x01000193);
  const known = fns.get(h);
  if (known !== undefined)
    for (let j = 0; j < known.length; j++) {
      const o = known[j];
      if (o.length !== sig.length + 1) continue;
      let same = true;
      for (let i = 0; i < sig.length && same; i++) same = o[i] === sig[i];
      if (same) return o[sig.length];
    }
  // The id goes last.
  sig.push(id);
  if (known === undefined) fns.set(h, [sig]);
  else known.push(sig);
  return -1;
}

/** 3. New ids, in order, for the types not forwarded (-1 for the others). */
function compact(types: CType[], fwd: Int32Array): Int32Array {
  const n = types.length;
  const newId = new Int32Array(n).fill(-1);
  let next = 0;
  for (let i = 0; i < n; i++) if (fwd[i] === i) newId[i] = next++;
  return newId;
}

/** Rewrites every type's id and references in the new numbering. */
function renumberTypes(out: CType[], newId: Int32Array, r: (x: TypeId) => TypeId): void {
  for (let i = 0; i < out.length; i++) {
    const t = out[i];
    t.id = newId[t.id];
    if (t.target !== undefined) t.target = r(t.target);
    if (t.returns !== undefined) t.returns = r(t.returns);
    const ps = t.params;
    if (ps) for (let j = 0; j < ps.length; j++) ps[j] = r(ps[j]);
    const ms = t.members;
    if (ms) for (let j = 0; j < ms.length; j++) ms[j].type = r(ms[j].type);
  }
}
