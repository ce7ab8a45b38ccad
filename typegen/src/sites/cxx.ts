// C++ allocation functions and what their calls allocate, from DWARF alone.
// The replaceable allocation functions (Itanium C++ ABI names; size_t is `m`): every form of
// operator new takes the size first, so the site's size rule is argument 0.

import type { AllocFn } from "./decls";
import { ElfFile } from "../elf/elf-file";
import { readSymbols } from "../elf/symbols";
import { DW_ATE, DW_OP } from "../dwarf/constants";
import { SITE_ARRAY, SITE_GUESSED, SITE_TRAILING } from "../meta/format";
import { baseTypeName, summaryCode } from "../model/names";
import { CType, FunctionInfo, LocalVar, TypeId, TypeModel } from "../model/types";
import { openDebugElf, openDwarf } from "../index";
import { StdAllocatorRanges } from "./cxx-allocators";
import { typeAlignedStorage } from "./cxx-storage";
import { FunctionIndex } from "./fnindex";
import { ReceiverTyper } from "./receiver";
import { addressesBefore, scanNew } from "./cxx-scan";
import { decode } from "./x86-decode";

/** operator new and operator new[] in all their forms (plain, nothrow, aligned). */
export const CXX_NEW_FNS: readonly string[] = [
  "_Znwm",
  "_ZnwmRKSt9nothrow_t",
  "_ZnwmSt11align_val_t",
  "_ZnwmSt11align_val_tRKSt9nothrow_t",
];
export const CXX_NEW_ARRAY_FNS: readonly string[] = [
  "_Znam",
  "_ZnamRKSt9nothrow_t",
  "_ZnamSt11align_val_t",
  "_ZnamSt11align_val_tRKSt9nothrow_t",
];

/** libstdc++'s allocation of a thrown object (behind its header); the runtime records the
 * throw expression as the site (runtime/src/heap_cxx.c). */
export const CXX_EXCEPTION_FN = "__cxa_allocate_exception";
/** sizeof(__cxa_refcounted_exception) on x86-64 (libstdc++ and libc++abi): the thrown object
 * starts this far into the chunk. */
export const CXX_EXCEPTION_HEADER = 128;

export function cxxAllocFunctions(): AllocFn[] {
  return [...CXX_NEW_FNS, ...CXX_NEW_ARRAY_FNS, CXX_EXCEPTION_FN].map((name) => ({
    name,
    sizeArgs: [0],
    wrapper: false,
  }));
}

/** The class a vtable symbol names: `_ZTV` + a source name or a nested name of source names
 * (`_ZTVN3geo6CircleE` -> ["geo", "Circle"]; `St` is `std`); undefined for anything else
 * (templates, substitutions), which the caller then does not use. */
export function vtableClass(symbol: string, prefix = "_ZTV"): string[] | undefined {
  if (!symbol.startsWith(prefix)) return undefined;
  let s = symbol.slice(prefix.length);
  const nested = s.startsWith("N");
  if (nested) s = s.slice(1);
  const parts: string[] = [];
  if (s.startsWith("St")) {
    parts.push("std");
    s = s.slice(2);
  }
  for (;;) {
    const m = /^(\d+)/.exec(s);
    if (!m) break;
    const len = Number(m[1]);
    const id = s.slice(m[1].length, m[1].length + len);
    if (id.length !== len || len === 0) return undefined;
    parts.push(id);
    s = s.slice(m[1].length + len);
    if (!nested) break;
  }
  if (nested ? s !== "E" : s !== "") return undefined;
  return parts.length > 0 ? parts : undefined;
}

export interface CxxSite {
  type: TypeId;
  flags: number;
}

/**
 * Types the calls to operator new from what the code does with the new memory, before the
 * general receiver route (a `Shape *` receives a `new Circle`, so the receiver is the wrong
 * evidence for a class with a constructor):
 * - `new T(...)`: the constructor called on it (its `this` parameter's pointee), or the vtable
 *   stored into its first word by an inlined constructor (`_ZTV<T> + 16`), when the size is
 *   sizeof T (or unknown).
 * - `new T[n]` of a T with a destructor: the count is stored in a size_t cookie before the
 *   elements (Itanium C++ ABI 2.7), so the chunk is typed as the struct `{ unsigned long
 *   __count; T __elements[]; }` (CxxCookies), flagged TRAILING: base, size and element paths
 *   (`.__elements[2].tag`) stay right. T from the elements' constructor, else from what receives
 *   the elements' address.
 * - `new T[n]` of other T: the constructor called on its elements; else the general route.
 */
export class CxxSiteTyper {
  private readonly vtables = new Map<number, string[]>();
  /** typeinfo objects (`_ZTI<class>`) by address: what a throw passes to __cxa_throw. */
  private readonly typeinfos = new Map<number, string[]>();
  private readonly cookieTypes = new Map<TypeId, TypeId>();
  private readonly exceptionTypes = new Map<TypeId, TypeId>();
  private readonly allocators?: StdAllocatorRanges;

  constructor(
    private readonly model: TypeModel,
    elf: ElfFile,
    private readonly functions: FunctionIndex,
    private readonly typer: ReceiverTyper,
  ) {
    for (const sym of readSymbols(elf).symtab) {
      const cls = sym.value ? vtableClass(sym.name) : undefined;
      if (cls) this.vtables.set(sym.value + 16, cls);
      const ti = sym.value ? vtableClass(sym.name, "_ZTI") : undefined;
      if (ti) this.typeinfos.set(sym.value, ti);
    }
    typeAlignedStorage(model);
    try {
      this.allocators = new StdAllocatorRanges(openDwarf(openDebugElf(elf)), model);
    } catch {
      this.allocators = undefined; // malformed DWARF only loses the containers' types
    }
  }

  /** T, when pc is in the code of a std::allocator<T>::allocate instance (out of line or inlined). */
  allocatorElementAt(pc: number): TypeId | undefined {
    return this.allocators?.elementAt(pc);
  }

  static isNew(callee: string): boolean {
    return CXX_NEW_FNS.includes(callee) || CXX_NEW_ARRAY_FNS.includes(callee) || callee === CXX_EXCEPTION_FN;
  }

  /** A thrown object: the class whose typeinfo the code after the allocation passes on (to
   * __cxa_throw), when its size is the allocation's. */
  private thrownSite(code: Buffer, off: number, ret: number, total: number | undefined): CxxSite | undefined {
    let pc = ret;
    for (let at = off, n = 0; n < 64 && at < code.length; n++) {
      const insn = decode(code, at, pc);
      if (!insn || insn.op === "ret" || insn.op === "stop") break;
      if (insn.op === "lea" && insn.mem.base === "rip") {
        const parts = this.typeinfos.get(insn.mem.disp);
        const cls = parts && this.classNamed(parts, total);
        if (cls) return { type: this.exceptionType(cls), flags: SITE_GUESSED };
        if (parts) return undefined;
      }
      at += insn.len;
      pc += insn.len;
    }
    return undefined;
  }

  /** The class a function's `this` points to (its first parameter, a pointer to a class). */
  private thisClass(entry: number): CType | undefined {
    const fn = this.functions.at(entry);
    const p = fn && fn.lowPc === entry ? fn.params[0] : undefined;
    const pt = p ? this.model.types[p.type] : undefined;
    const cls = pt?.kind === "pointer" && pt.target !== undefined ? this.model.types[pt.target] : undefined;
    return cls && (cls.kind === "struct" || cls.kind === "union") && cls.byteSize ? cls : undefined;
  }

  private classNamed(parts: string[], size: number | undefined): CType | undefined {
    // Tags are qualified (`geo::Circle`) in C++ units.
    const qualified = parts.join("::");
    const fits = (t: CType): boolean =>
      t.kind === "struct" && t.complete !== false && (size === undefined || t.byteSize === size);
    return (
      this.model.types.find((t) => fits(t) && t.tag === qualified) ??
      this.model.types.find((t) => fits(t) && t.tag === parts[parts.length - 1])
    );
  }

  /** The pointee of a variable's pointer type (a complete type with a size). */
  private pointee(t: TypeId | undefined): CType | undefined {
    const rt = t === undefined ? undefined : this.model.types[t];
    const pt = rt?.kind === "pointer" && rt.target !== undefined ? this.model.types[rt.target] : undefined;
    return pt?.byteSize && pt.complete !== false && pt.kind !== "void" ? pt : undefined;
  }

  /** For `operator new` (not new[]) of `total` bytes received as a `base *`: the one class
   * deriving from base (its first member, transitively, an anonymous base at offset 0) that
   * has that size; undefined when there is none or more than one. */
  derivedOfSize(callee: string, base: CType, total: number): TypeId | undefined {
    if (!CXX_NEW_FNS.includes(callee) || base.kind !== "struct") return undefined;
    const derives = (t: CType, depth: number): boolean => {
      const first = t.members?.[0];
      if (!first || first.name !== null || first.offset !== 0 || depth > 8) return false;
      if (first.type === base.id) return true;
      const ft = this.model.types[first.type];
      return ft?.kind === "struct" && derives(ft, depth + 1);
    };
    const found = this.model.types.filter(
      (t) => t.kind === "struct" && t.byteSize === total && t.complete !== false && derives(t, 0),
    );
    return found.length === 1 ? found[0].id : undefined;
  }

  /** A variable computed as `breg<R> k; stack_value` while R holds the new memory. */
  private computedFrom(fn: FunctionInfo, held: { pc: number; regs: number[] }[]): LocalVar | undefined {
    for (const h of held)
      for (const v of fn.locals)
        for (const r of v.locations)
          if (
            r.lo <= h.pc &&
            h.pc < r.hi &&
            r.loc.kind === "expr" &&
            r.loc.length === 3 &&
            h.regs.some((reg) => reg < 32 && r.loc.kind === "expr" && r.loc.op === DW_OP.breg0 + reg)
          )
            return v;
    return undefined;
  }

  siteOf(
    callee: string,
    fn: FunctionInfo | undefined,
    code: Buffer,
    off: number,
    ret: number,
    total: number | undefined,
    entryOff: number | undefined,
  ): CxxSite | undefined {
    if (callee === CXX_EXCEPTION_FN) return this.thrownSite(code, off, ret, total);
    // Inside std::allocator<T>::allocate (out of line or inlined): T[n].
    const element = this.allocators?.elementAt(ret - 1);
    if (element !== undefined) return { type: element, flags: SITE_GUESSED | SITE_ARRAY };
    const array = CXX_NEW_ARRAY_FNS.includes(callee);
    const callOff = off - 5;
    const before =
      entryOff !== undefined && fn && entryOff <= callOff
        ? addressesBefore(code, entryOff, callOff, ret - (off - entryOff))
        : new Map<number, never>();
    const scan = scanNew(code, off, ret, before);
    if (!array) {
      const first = scan.thisCalls[0];
      let cls = first && first.disp === 0 && !first.indexed ? this.thisClass(first.target) : undefined;
      if (!cls)
        for (const a of scan.firstWordAddrs) {
          const parts = this.vtables.get(a);
          cls = parts && this.classNamed(parts, total);
          if (cls) break;
        }
      if (cls && (total === undefined || total === cls.byteSize))
        return { type: cls.id, flags: SITE_GUESSED };
      // No constructor call (a trivial or inlined one): what receives the new memory, or the
      // one class derived from it that has the allocation's size.
      if (cls || !fn || total === undefined) return undefined;
      let recv: CType | undefined;
      for (const slot of scan.slots0) {
        const at = { base: { k: "entry" as const, reg: 6, pc: slot.pc }, disp: slot.disp, indexed: false };
        recv = this.pointee(this.typer.storeTarget(fn, at, slot.pc)?.type);
        if (recv) break;
      }
      recv ??= this.pointee(this.typer.heldVariable(fn, scan.at0, false)?.type);
      if (!recv || recv.byteSize === total) return undefined; // the general route says the same
      const derived = this.derivedOfSize(callee, recv, total);
      return derived === undefined ? undefined : { type: derived, flags: SITE_GUESSED };
    }
    // The elements' type: the constructor run on them, else what receives their address.
    const ctor = scan.thisCalls.find((c) => c.disp === 0 || c.disp === 8);
    let el = ctor && this.thisClass(ctor.target);
    let cookie = scan.cookie || (ctor?.disp === 8 && scan.cookieCount !== undefined);
    if (!el && fn) {
      if (scan.elementsSlot) {
        const at = {
          base: { k: "entry" as const, reg: 6, pc: scan.elementsSlot.pc },
          disp: scan.elementsSlot.disp,
          indexed: false,
        };
        el = this.pointee(this.typer.storeTarget(fn, at, scan.elementsSlot.pc)?.type);
      }
      el ??= this.pointee(this.typer.heldVariable(fn, scan.at8, false)?.type);
      // Optimised code describes the elements' pointer as a computed value over a register
      // holding the new memory (`DW_OP_breg6 8; DW_OP_stack_value`): its expression is only
      // classified by its first operation, so the size check below must confirm it.
      if (!el && scan.cookieCount !== undefined) el = this.pointee(this.computedFrom(fn, scan.at0)?.type);
      if (el) cookie = true;
    }
    if (!el || !el.byteSize) return undefined;
    // A stored count must agree with the size: 8 + count * sizeof T.
    if (
      cookie &&
      total !== undefined &&
      scan.cookieCount !== undefined &&
      total !== 8 + scan.cookieCount * el.byteSize
    )
      return undefined;
    const payload = total === undefined ? undefined : total - (cookie ? 8 : 0);
    if (payload !== undefined && (payload < 0 || payload % el.byteSize !== 0)) return undefined;
    if (!cookie) return { type: el.id, flags: SITE_GUESSED | SITE_ARRAY };
    return { type: this.cookieType(el), flags: SITE_GUESSED | SITE_TRAILING };
  }

  private addType(t: Omit<CType, "id">): TypeId {
    const id = this.model.types.length;
    this.model.types.push({ ...t, id });
    return id;
  }

  /** `{ unsigned char __cxa_header[128]; T __thrown; }`: an exception in flight, made once
   * per T and added to the model. */
  exceptionType(el: CType): TypeId {
    const known = this.exceptionTypes.get(el.id);
    if (known !== undefined) return known;
    const types = this.model.types;
    const ucharName = baseTypeName(DW_ATE.unsigned_char, 8, "unsigned char");
    const uchar =
      types.find((t) => t.kind === "base" && t.name === ucharName.name)?.id ??
      this.addType({
        kind: "base",
        name: ucharName.name,
        key: ucharName.name,
        cName: ucharName.c,
        byteSize: 1,
        encoding: DW_ATE.unsigned_char,
        bitSize: 8,
      });
    const hdrName = `__ARR${CXX_EXCEPTION_HEADER}_${ucharName.name}`;
    const hdr =
      types.find((t) => t.kind === "array" && t.target === uchar && t.count === CXX_EXCEPTION_HEADER)?.id ??
      this.addType({
        kind: "array",
        name: hdrName,
        key: hdrName,
        cName: `${ucharName.c}[${CXX_EXCEPTION_HEADER}]`,
        byteSize: CXX_EXCEPTION_HEADER,
        target: uchar,
        count: CXX_EXCEPTION_HEADER,
      });
    const name = `__EXC_${el.name}`;
    const key = `${name}|${el.key}`;
    const id = this.addType({
      kind: "struct",
      name,
      key,
      cName: `thrown ${el.cName}`,
      byteSize: CXX_EXCEPTION_HEADER + (el.byteSize ?? 0),
      tag: name,
      complete: true,
      summaryCode: summaryCode(key),
      members: [
        { name: "__cxa_header", type: hdr, offset: 0 },
        { name: "__thrown", type: el.id, offset: CXX_EXCEPTION_HEADER },
      ],
    });
    this.exceptionTypes.set(el.id, id);
    return id;
  }

  /** `{ unsigned long __count; T __elements[]; }`, made once per T and added to the model. */
  cookieType(el: CType): TypeId {
    const known = this.cookieTypes.get(el.id);
    if (known !== undefined) return known;
    const types = this.model.types;
    const add = (t: Omit<CType, "id">): TypeId => {
      const id = types.length;
      types.push({ ...t, id });
      return id;
    };
    const ulongName = baseTypeName(DW_ATE.unsigned, 64, "unsigned long");
    const ulong =
      types.find((t) => t.kind === "base" && t.name === ulongName.name)?.id ??
      add({
        kind: "base",
        name: ulongName.name,
        key: ulongName.name,
        cName: ulongName.c,
        byteSize: 8,
        encoding: DW_ATE.unsigned,
        bitSize: 64,
      });
    const arrName = `__ARR0_${el.name}`;
    const arr =
      types.find((t) => t.kind === "array" && t.target === el.id && (t.count === null || t.count === 0))
        ?.id ??
      add({
        kind: "array",
        name: arrName,
        key: `${arrName}|${el.key}`,
        cName: `${el.cName}[]`,
        byteSize: null,
        target: el.id,
        count: null,
      });
    const name = `__NEWARR_${el.name}`;
    const key = `${name}|${el.key}`;
    const id = add({
      kind: "struct",
      name,
      key,
      cName: `new ${el.cName}[]`,
      byteSize: 8,
      tag: name,
      complete: true,
      summaryCode: summaryCode(key),
      members: [
        { name: "__count", type: ulong, offset: 0 },
        { name: "__elements", type: arr, offset: 8 },
      ],
    });
    this.cookieTypes.set(el.id, id);
    return id;
  }
}
