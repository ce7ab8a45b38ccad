// The site of an allocation the C++ standard library makes for the user's code (a vector's
// buffer, a map's or list's node, make_shared's block): the first frame outside the library,
// i.e. the user's push_back/insert/make_shared line, with the library code kept as detail.
//
// The library's code is template instances in the user's binary, recognised by their source
// file (a header under an include directory `.../c++/<version>/`, libstdc++'s or libc++'s).
// Seeds: the calls to operator new inside std::allocator<T>::allocate (cxx-allocators.ts),
// which allocate T[n]. The library's own direct calls between its functions form a graph;
// reach(F), the set of element types a library function F can allocate through library code
// alone, is found to a fixpoint. Then, for a call to a library function L with one type T:
// - from another library function F that itself reaches only T: a WRAPPER record (F's CFA
//   offset at the call, from .eh_frame or F's -O0 prologue), so the runtime steps over F's
//   frame to its caller at the cost of a cache probe and a load per frame (heap_sites.c);
// - from user code: the site, typed T[n] and flagged LIBRARY (the call enters library code
//   that allocates: readers name the callee as the detail), plus INLINED when the call sits in
//   library code inlined into the user's function (-O2: the inlined call's line is the user's).
// A library function reaching two types (a vector<vector<int>>'s push_back copies the inner
// vector) is no hop: its calls keep their own typed records, and its sites stay inside it; so
// is a shared library's exported one (another object may call it, with no record for that call).
// operator new in allocate's code inlined into user code (-O2) keeps its typed record and gets
// LIBRARY and the user's line (INLINED) the same way.

import { ElfFile } from "../elf/elf-file";
import { readSymbols } from "../elf/symbols";
import {
  SITE_ARRAY,
  SITE_GUESSED,
  SITE_INLINED,
  SITE_LIBRARY,
  SITE_WRAPPER,
  siteFlagsWithArg,
} from "../meta/format";
import { FunctionInfo, TypeId } from "../model/types";
import { AllocCall, execSections, scanBranches } from "./calls";
import { InlinedCall } from "./callsites";
import { CfaRules } from "./cfi";
import { FunctionIndex } from "./fnindex";
import { LineIndex } from "./index";
import { InlinedSites } from "./inlined";
import { prologueDepth } from "./wrappers";

/** A header of the C++ standard library: /usr/include/c++/12/bits/stl_vector.h,
 * /usr/include/x86_64-linux-gnu/c++/12/bits/c++config.h, /usr/lib/llvm-16/include/c++/v1/vector. */
const LIBRARY_FILE = /\/c\+\+\/[^/]+\//;
export function isLibraryFile(file: string | undefined): boolean {
  return file !== undefined && LIBRARY_FILE.test(file);
}

/** A mangled name in namespace std (also std::__cxx11, libc++'s std::__1) or __gnu_cxx:
 * `_ZNSt6vector...`, `_ZNKSt...`, `_ZSt11make_shared...`, `_ZN9__gnu_cxx...`, and the Itanium
 * ABI's abbreviations `Sa` (std::allocator), `Sb` (std::basic_string), `Ss`, `Si`, `So`, `Sd`. */
const LIBRARY_SYMBOL = /^_Z(N[KVRO]*(St|S[abdios]|9__gnu_cxx)|St|S[abdios])/;
/** Whether a function is the standard library's: by its mangled name, else by its source file. */
export function isLibraryFunction(linkageName: string | undefined, file: () => string | undefined): boolean {
  if (linkageName?.startsWith("_Z")) return LIBRARY_SYMBOL.test(linkageName);
  return isLibraryFile(file());
}

/** At most this many rounds of "a library function reaches what its library callees reach". */
const MAX_ROUNDS = 64;
const DWARF_RSP = 7;
const DWARF_RBP = 6;
/** reach(F) when F reaches more than one type. */
const MANY = -2;

export interface LibrarySeed {
  call: AllocCall;
  /** T of the allocate<T> instance around the call. */
  type: TypeId;
}

export interface LibraryRecord {
  vaddr: number;
  type: TypeId;
  flags: number;
}

export interface ChainInput {
  elf: ElfFile;
  functions: FunctionIndex;
  allFunctions: readonly FunctionInfo[];
  entryOf: (fn: FunctionInfo) => number;
  lines: LineIndex;
  inlined: InlinedCall[];
  seeds: LibrarySeed[];
}

/** Records that replace or add to the general route's, by return address. */
export function libraryChains(input: ChainInput): Map<number, LibraryRecord> {
  const out = new Map<number, LibraryRecord>();
  if (input.seeds.length === 0) return out;
  const { elf, functions, entryOf, lines } = input;
  const libraryEntry = new Map<number, string>();
  for (const fn of input.allFunctions) {
    if (fn.highPc <= fn.lowPc) continue;
    const entry = entryOf(fn);
    if (isLibraryFunction(fn.linkageName, () => lines.lookup(entry)?.file)) libraryEntry.set(entry, fn.name);
  }
  const isLibraryFn = (fn: FunctionInfo | undefined): boolean => !!fn && libraryEntry.has(entryOf(fn));
  // A shared library's exported function is called from other objects (libstdc++.so's
  // basic_string<char> members from every program), whose calls have no record typing them: its
  // allocations keep their site inside it, typed, rather than hop to an untyped caller. (An
  // executable exports the instances libstdc++.so also defines, which libstdc++'s own calls then
  // reach; those are stepped over all the same: the user's calls to them matter more.)
  const PT_INTERP = 3;
  const shared = !elf.segments.some((p) => p.type === PT_INTERP);
  const exported = new Set(
    shared
      ? readSymbols(elf)
          .dynsym.filter((x) => x.value !== 0)
          .map((x) => x.value)
      : [],
  );
  const branches = scanBranches(elf, { code: libraryEntry, got: new Map() }, false);

  // reach: a library function's entry -> its one type, or MANY.
  const reach = new Map<number, number>();
  const add = (entry: number, t: number): boolean => {
    const had = reach.get(entry);
    if (had === t || had === MANY) return false;
    reach.set(entry, had === undefined ? t : MANY);
    return true;
  };
  for (const s of input.seeds) {
    const f = functions.at(s.call.call);
    if (f && isLibraryFn(f)) add(entryOf(f), s.type);
  }
  for (let round = 0, grew = true; grew && round < MAX_ROUNDS; round++) {
    grew = false;
    for (const b of branches) {
      const t = b.target === undefined ? undefined : reach.get(b.target);
      const f = functions.at(b.call);
      if (t !== undefined && f && isLibraryFn(f) && add(entryOf(f), t)) grew = true;
    }
  }

  const cfa = CfaRules.of(elf);
  const sections = execSections(elf);
  /** The CFA minus rsp at ret in f's frame; undefined when not known. */
  const cfaOffset = (f: FunctionInfo, ret: number): number | undefined => {
    const rule = cfa.at(ret);
    if (rule?.reg === DWARF_RSP && rule.offset >= 8) return rule.offset;
    if (rule?.reg !== DWARF_RBP || rule.offset !== 16) return undefined;
    const entry = entryOf(f);
    const sec = sections.find((s) => entry >= s.addr && entry < s.addr + s.size);
    return sec ? prologueDepth(elf.data(sec), entry - sec.addr) : undefined;
  };
  const libraryInlined = new Map<InlinedCall, boolean>();
  const inlinedLibrary = new InlinedSites(input.inlined, (c) => {
    let v = libraryInlined.get(c);
    if (v === undefined) {
      const lo = c.ranges.find(([a, b]) => b > a)?.[0];
      v = isLibraryFunction(c.callee, () => (lo === undefined ? undefined : lines.lookup(lo)?.file));
      libraryInlined.set(c, v);
    }
    return v;
  });
  /** A site in user code: the user's line when the call is in inlined library code. */
  const userSite = (call: AllocCall, type: TypeId): LibraryRecord => {
    const arg = inlinedLibrary.argAt(call.call);
    const flags = SITE_GUESSED | SITE_ARRAY | SITE_LIBRARY;
    return {
      vaddr: call.ret,
      type,
      flags: arg === undefined ? flags : siteFlagsWithArg(flags | SITE_INLINED, arg),
    };
  };
  /** A call in f, to code that allocates only T: a hop when f reaches only T too. */
  const record = (call: AllocCall, f: FunctionInfo | undefined, type: TypeId): LibraryRecord | undefined => {
    if (!f) return undefined;
    if (!isLibraryFn(f)) return userSite(call, type);
    const hop = reach.get(entryOf(f)) === type && !exported.has(entryOf(f));
    const k = hop ? cfaOffset(f, call.ret) : undefined;
    if (k === undefined || k % 8 !== 0) return { vaddr: call.ret, type, flags: SITE_GUESSED | SITE_ARRAY };
    return { vaddr: call.ret, type: -1, flags: siteFlagsWithArg(SITE_WRAPPER | SITE_GUESSED, k) };
  };
  for (const s of input.seeds) {
    const r = record(s.call, functions.at(s.call.call), s.type);
    if (r) out.set(r.vaddr, r);
  }
  for (const b of branches) {
    const t = b.target === undefined ? undefined : reach.get(b.target);
    if (t === undefined || t === MANY) continue;
    const r = record(b, functions.at(b.call), t);
    if (r) out.set(r.vaddr, r);
  }
  return out;
}
