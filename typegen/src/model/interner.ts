// The growing list of distinct types and the lookups that make each one once. Keys are strings
// ("P12": pointer to type 12, "A3:7", "F0(1,2)", "Sstruct:point#3f2a...", "Bint$32"); derived
// types and aggregates are found through maps keyed by their components instead, so a unit that
// repeats known types (every unit of a large binary does) builds no key string: a type's key is
// written once, when it is made.

import { codeHex } from "./layout-code";
import { CType, TypeId, TypeKind } from "./types";

/** The layout code of an incomplete aggregate (spelled "?"); every real code is a 32-bit int. */
export const INCOMPLETE = 2 ** 32;

/** One step of the function-type lookup: by return type, then by each parameter in turn. */
class FnNode {
  readonly next = new Map<TypeId, FnNode>();
  id = -1;
  idVarargs = -1;
}

export type AggKind = "struct" | "union" | "enum";

export class Interner {
  readonly types: CType[] = [];
  private readonly idByKey = new Map<string, TypeId>();
  /** Aggregates by kind, name and numeric layout code. */
  private readonly aggIds = {
    struct: new Map<string, Map<number, TypeId>>(),
    union: new Map<string, Map<number, TypeId>>(),
    enum: new Map<string, Map<number, TypeId>>(),
  };
  /**
   * Pointer type id + 1 by target id (0: none yet); ids are dense, so an array beats a Map.
   * Sized for most binaries' types from the start: growing is a path first taken late, which
   * would deoptimise the compiled code around it.
   */
  private pointerTo = new Int32Array(1 << 16);
  /** Arrays by element, then count (0 for unbounded, as in the key). */
  private readonly arrays = new Map<TypeId, Map<number, TypeId>>();
  private readonly fnByReturn = new Map<TypeId, FnNode>();
  private readonly hex = new Map<number, string>();

  private make(key: string, name: string, kind: TypeKind): TypeId {
    const id = this.types.length;
    // Every field from the start, in one literal: all types share one hidden class, so the code
    // reading them stays monomorphic and no later field addition deoptimises it.
    this.types.push({
      id,
      kind,
      name,
      key,
      cName: "",
      byteSize: null,
      encoding: undefined,
      bitSize: undefined,
      target: undefined,
      count: undefined,
      tag: undefined,
      complete: undefined,
      summaryCode: undefined,
      members: undefined,
      enumerators: undefined,
      returns: undefined,
      params: undefined,
      varargs: undefined,
      prototyped: undefined,
    });
    return id;
  }

  /** The type with this key (base, void, opaque and unspecified types), made on first sight. */
  intern(key: string, name: string, kind: TypeKind): TypeId {
    let id = this.idByKey.get(key);
    if (id === undefined) {
      id = this.make(key, name, kind);
      this.idByKey.set(key, id);
    }
    return id;
  }

  /** A layout code as written (8 hex digits, "?" when incomplete); one string per code. */
  codeText(code: number): string {
    if (code === INCOMPLETE) return "?";
    let s = this.hex.get(code);
    if (s === undefined) {
      s = codeHex(code);
      this.hex.set(code, s);
    }
    return s;
  }

  /** The aggregate of this kind, name and layout code. */
  aggregate(kind: AggKind, name: string, code: number): TypeId {
    const byName = this.aggIds[kind];
    let byCode = byName.get(name);
    if (!byCode) {
      byCode = new Map();
      byName.set(name, byCode);
    }
    let id = byCode.get(code);
    if (id === undefined) {
      id = this.make(`S${kind}:${name}#${this.codeText(code)}`, name, kind);
      byCode.set(code, id);
    }
    return id;
  }

  pointer(target: TypeId): TypeId {
    let p = this.pointerTo;
    if (target < p.length) {
      const known = p[target];
      if (known > 0) return known - 1;
    }
    const id = this.make("P" + target, "", "pointer");
    if (target >= p.length) {
      const grown = new Int32Array(Math.max(target + 1, p.length * 2));
      grown.set(p);
      p = this.pointerTo = grown;
    }
    p[target] = id + 1;
    return id;
  }

  array(el: TypeId, count: number | null): TypeId {
    const n = count ?? 0;
    let byCount = this.arrays.get(el);
    if (!byCount) {
      byCount = new Map();
      this.arrays.set(el, byCount);
    }
    let id = byCount.get(n);
    if (id === undefined) {
      id = this.make(`A${n}:${el}`, "", "array");
      byCount.set(n, id);
    }
    return id;
  }

  /**
   * The function type returning `ret` with parameters `params[from, to)` (a slice of the
   * caller's scratch stack: a type seen before costs no array).
   */
  fn(ret: TypeId, params: ArrayLike<TypeId>, from: number, to: number, varargs: boolean): TypeId {
    let node: FnNode | undefined = this.fnByReturn.get(ret);
    if (!node) {
      node = new FnNode();
      this.fnByReturn.set(ret, node);
    }
    for (let i = from; i < to; i++) {
      const p = params[i];
      let next: FnNode | undefined = node.next.get(p);
      if (!next) {
        next = new FnNode();
        node.next.set(p, next);
      }
      node = next;
    }
    let id = varargs ? node.idVarargs : node.id;
    if (id < 0) {
      let list = "";
      for (let i = from; i < to; i++) list += (i > from ? "," : "") + params[i];
      id = this.make(`F${ret}(${list}${varargs ? ",..." : ""})`, "", "function");
      if (varargs) node.idVarargs = id;
      else node.id = id;
    }
    return id;
  }
}
