// Names of uniqued types: the canonical name of derived types is composed from their components'
// names (written once per distinct type, at the end), and the C spelling is built by declarator
// composition. Rules: docs/type-names.md.

import { baseTypeName, joinDecl } from "./names";
import { CType, TypeId } from "./types";

const MAX_DEPTH = 64;

// Parameter lists are gathered by indexed loops and joined only when there are some:
// `.map(...).join(...)` made arrays of two element kinds (an empty list's and a full one's), and
// the code joining them was deoptimised by the second. Joined, not appended one by one: a name
// built by `+=` is kept as a chain of string pieces (~28,000 more on python3.11d, ~0.9 MB).

/** Canonical name of type `id` (memoised in t.name). */
export function canonicalName(types: CType[], id: TypeId, depth = 0): string {
  const t = types[id];
  if (t.name !== "") return t.name;
  if (depth > MAX_DEPTH) return "__cycle";
  let n: string;
  switch (t.kind) {
    case "pointer":
      n = "__PTR_" + canonicalName(types, t.target ?? 0, depth + 1);
      break;
    case "array":
      n = `__ARR${t.count ?? 0}_` + canonicalName(types, t.target ?? 0, depth + 1);
      break;
    case "function": {
      let params = "";
      const ps = t.params;
      if (ps !== undefined && ps.length > 0) {
        const parts: string[] = [];
        for (let i = 0; i < ps.length; i++) parts.push(`__ARG${i}_` + canonicalName(types, ps[i], depth + 1));
        params = parts.join("");
      }
      n =
        `__FUN_FROM_${params}${t.varargs ? "__VA_" : ""}__FUN_TO_` +
        canonicalName(types, t.returns ?? 0, depth + 1);
      break;
    }
    default:
      n = "__opaque";
  }
  t.name = n;
  return n;
}

/** C spelling of type `id` around declarator text `inner` ("" for the bare type). */
export function cSpelling(
  types: CType[],
  id: TypeId,
  inner = "",
  depth = 0,
  baseSpelled?: (id: TypeId) => string | undefined,
): string {
  const t = types[id];
  if (depth > MAX_DEPTH) return joinDecl("...", inner);
  switch (t.kind) {
    case "void":
      return joinDecl("void", inner);
    case "base":
      return joinDecl(baseTypeName(t.encoding ?? 0, t.bitSize ?? 0, baseSpelled?.(id)).c, inner);
    case "pointer": {
      const target = types[t.target ?? 0];
      const p = "*" + inner;
      const wrapped = target.kind === "array" || target.kind === "function" ? `(${p})` : p;
      return cSpelling(types, t.target ?? 0, wrapped, depth + 1, baseSpelled);
    }
    case "array":
      return cSpelling(types, t.target ?? 0, `${inner}[${t.count ?? ""}]`, depth + 1, baseSpelled);
    case "function": {
      const ps = t.params;
      let list: string;
      if ((ps === undefined || ps.length === 0) && !t.varargs) list = t.prototyped === false ? "" : "void";
      else {
        const parts: string[] = [];
        if (ps !== undefined)
          for (let i = 0; i < ps.length; i++) parts.push(cSpelling(types, ps[i], "", depth + 1, baseSpelled));
        if (t.varargs) parts.push("...");
        list = parts.join(", ");
      }
      return cSpelling(types, t.returns ?? 0, `${inner}(${list})`, depth + 1, baseSpelled);
    }
    case "struct":
    case "union":
    case "enum": {
      // A typedef'd anonymous aggregate is spelled by its typedef name, as people wrote it.
      const spec = t.tag ? `${t.kind} ${t.tag}` : t.name.startsWith("__anon_") ? `${t.kind} {...}` : t.name;
      return joinDecl(spec, inner);
    }
    default:
      return joinDecl(t.name, inner);
  }
}

/**
 * The content-based unique key of a type (stable across runs and binaries): base types and
 * derived types by their canonical composition, aggregates by name plus layout summary code.
 */
export function uniqueKey(types: CType[], id: TypeId, memo: Map<TypeId, string>, depth = 0): string {
  const m = memo.get(id);
  if (m !== undefined) return m;
  const t = types[id];
  if (depth > MAX_DEPTH) return "__cycle";
  let k: string;
  switch (t.kind) {
    case "pointer":
      k = "__PTR_" + uniqueKey(types, t.target ?? 0, memo, depth + 1);
      break;
    case "array":
      k = `__ARR${t.count ?? 0}_` + uniqueKey(types, t.target ?? 0, memo, depth + 1);
      break;
    case "function": {
      let params = "";
      const ps = t.params;
      if (ps !== undefined && ps.length > 0) {
        const parts: string[] = [];
        for (let i = 0; i < ps.length; i++)
          parts.push(`__ARG${i}_` + uniqueKey(types, ps[i], memo, depth + 1));
        params = parts.join("");
      }
      k =
        `__FUN_FROM_${params}${t.varargs ? "__VA_" : ""}__FUN_TO_` +
        uniqueKey(types, t.returns ?? 0, memo, depth + 1);
      break;
    }
    case "struct":
    case "union":
    case "enum":
      k = `${t.name}#${t.summaryCode ?? "?"}`;
      break;
    default:
      k = t.name;
  }
  memo.set(id, k);
  return k;
}
