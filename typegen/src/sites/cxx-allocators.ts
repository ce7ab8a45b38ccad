// The standard allocators' `allocate(n)` in a C++ binary, from DWARF: the address ranges of
// every out-of-line or inlined instance of std::__new_allocator<T>::allocate (gcc 12),
// __gnu_cxx::new_allocator<T>::allocate (older libstdc++) and std::allocator<T>::allocate, with
// T from the class's DW_TAG_template_type_param. A call to operator new inside one allocates
// T[n]: a vector's buffer (T[capacity]), a map's or list's node (`_Rb_tree_node<pair<...>>[1]`),
// make_shared's control block with the object inside (`_Sp_counted_ptr_inplace<T, ...>[1]`).
// The allocator classes are instantiated in the user's binary (templates), so this works on a
// plain `g++ -g` build at any optimisation level; only std::string's buffer is allocated inside
// libstdc++.so (an explicit instantiation), where the user's binary has no code.

import { DW_AT, DW_TAG } from "../dwarf/constants";
import { DieCursor } from "../dwarf/die";
import { Dwarf } from "../dwarf/dwarf";
import { readRanges } from "../dwarf/ranges";
import { baseTypeName } from "../model/names";
import { CType, TypeId, TypeModel } from "../model/types";

const ALLOCATOR_CLASS = /^(std::)?(__new_allocator|new_allocator|allocator)</;
const MAX_DEPTH = 128;
const MAX_HOPS = 6;

interface Instance {
  lo: number;
  hi: number;
  /** The DIE this instance refers to (abstract origin or specification). */
  origin: number;
}

export class StdAllocatorRanges {
  /** allocate's declaration DIE -> the DIE of T. */
  private readonly allocateDecls = new Map<number, number>();
  private readonly instances: Instance[] = [];
  private readonly ranges: { lo: number; hi: number; type: TypeId }[] = [];

  constructor(
    private readonly dwarf: Dwarf,
    private readonly model: TypeModel,
  ) {
    const cur = dwarf.cursor();
    for (const u of dwarf.units) {
      if (u.typeSignature !== undefined) continue;
      cur.setUnit(u);
      if (u.dieOffset >= u.end || !cur.read(u.dieOffset) || !cur.hasChildren) continue;
      this.walk(cur, cur.next, 1, u.end);
    }
    if (this.allocateDecls.size === 0) return;
    const aux = dwarf.cursor();
    const typeOf = new Map<number, TypeId | undefined>();
    for (const inst of this.instances) {
      const t = this.elementDie(aux, inst.origin);
      if (t === undefined) continue;
      if (!typeOf.has(t)) typeOf.set(t, this.modelType(aux, t));
      const type = typeOf.get(t);
      if (type !== undefined) this.ranges.push({ lo: inst.lo, hi: inst.hi, type });
    }
  }

  /** The element type of the innermost allocate instance whose code holds pc. */
  elementAt(pc: number): TypeId | undefined {
    let best: { lo: number; hi: number; type: TypeId } | undefined;
    for (const r of this.ranges)
      if (r.lo <= pc && pc < r.hi && (!best || r.hi - r.lo < best.hi - best.lo)) best = r;
    return best?.type;
  }

  private walk(cur: DieCursor, off: number, depth: number, end: number): number {
    if (depth > MAX_DEPTH) cur.fail("DIE tree nested too deeply", off);
    while (off < end) {
      if (!cur.read(off)) return cur.next;
      const tag = cur.tag;
      if ((tag === DW_TAG.class_type || tag === DW_TAG.structure_type) && cur.hasChildren) {
        const name = cur.str(DW_AT.name);
        if (name && ALLOCATOR_CLASS.test(name)) off = this.allocatorClass(cur);
        else off = this.walk(cur, cur.next, depth + 1, end);
        continue;
      }
      if (tag === DW_TAG.subprogram || tag === DW_TAG.inlined_subroutine) this.instance(cur);
      if (!cur.hasChildren) off = cur.next;
      else if (
        tag === DW_TAG.namespace ||
        tag === DW_TAG.subprogram ||
        tag === DW_TAG.lexical_block ||
        tag === DW_TAG.inlined_subroutine
      )
        off = this.walk(cur, cur.next, depth + 1, end);
      else off = cur.skipChildren();
    }
    return off;
  }

  /** Records a code instance that refers to another DIE (a candidate allocate). */
  private instance(cur: DieCursor): void {
    let origin = cur.ref(DW_AT.abstract_origin);
    if (origin < 0) origin = cur.ref(DW_AT.specification);
    if (origin < 0) return;
    if (cur.has(DW_AT.ranges)) {
      for (const [lo, hi] of readRanges(cur.unit, cur.form(DW_AT.ranges), cur.udata(DW_AT.ranges) ?? 0))
        this.instances.push({ lo, hi, origin });
      return;
    }
    const lo = cur.addr(DW_AT.low_pc);
    const hi = lo === undefined ? undefined : cur.highPc(lo);
    if (lo !== undefined && hi !== undefined && hi > lo) this.instances.push({ lo, hi, origin });
  }

  /** An allocator class: its template parameter T and its `allocate` members. */
  private allocatorClass(cur: DieCursor): number {
    const end = cur.unit.end;
    let off = cur.next;
    let t = -1;
    const decls: number[] = [];
    while (off < end) {
      if (!cur.read(off)) {
        off = cur.next;
        break;
      }
      if (cur.tag === DW_TAG.template_type_parameter && t < 0) t = cur.ref(DW_AT.type);
      else if (cur.tag === DW_TAG.subprogram && cur.str(DW_AT.name) === "allocate") decls.push(cur.key);
      off = cur.hasChildren ? cur.skipChildren() : cur.next;
    }
    if (t >= 0) for (const d of decls) this.allocateDecls.set(d, t);
    return off;
  }

  /** T's DIE, when `origin` leads (through abstract origins and specifications) to allocate. */
  private elementDie(aux: DieCursor, origin: number): number | undefined {
    let key = origin;
    for (let i = 0; i < MAX_HOPS && key >= 0; i++) {
      const t = this.allocateDecls.get(key);
      if (t !== undefined) return t;
      if (!this.dwarf.seek(aux, key)) return undefined;
      const name = aux.str(DW_AT.name);
      if (name !== undefined && name !== "allocate") return undefined;
      let next = aux.ref(DW_AT.abstract_origin);
      if (next < 0) next = aux.ref(DW_AT.specification);
      key = next;
    }
    return undefined;
  }

  /** The model type of a DIE: a struct/class/union by name and size, or a base type. */
  private modelType(aux: DieCursor, key: number): TypeId | undefined {
    for (let i = 0; i < MAX_HOPS; i++) {
      if (!this.dwarf.seek(aux, key)) return undefined;
      const tag = aux.tag;
      const size = aux.udata(DW_AT.byte_size);
      const name = aux.str(DW_AT.name);
      if (tag === DW_TAG.base_type) {
        const enc = aux.udata(DW_AT.encoding);
        if (enc === undefined || size === undefined) return undefined;
        const n = baseTypeName(enc, size * 8, name).name;
        return this.model.types.find((t) => t.kind === "base" && t.name === n)?.id;
      }
      if (tag === DW_TAG.class_type || tag === DW_TAG.structure_type || tag === DW_TAG.union_type) {
        if (!name || size === undefined) return undefined;
        // The model's tags are qualified by their namespaces (`std::_Rb_tree_node<...>`).
        const ok = (t: CType): boolean => (t.kind === "struct" || t.kind === "union") && t.byteSize === size;
        return (
          this.model.types.find((t) => ok(t) && t.tag === name) ??
          this.model.types.find((t) => ok(t) && t.tag?.endsWith(`::${name}`))
        )?.id;
      }
      // const T, a typedef: what it names
      const next = aux.ref(DW_AT.type);
      if (next < 0) return undefined;
      key = next;
    }
    return undefined;
  }
}
