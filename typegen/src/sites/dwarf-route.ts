// Allocation-site types from DWARF alone (`allocs typegen PROG` on a binary built with plain
// `gcc -g`): for each call to a malloc-family function or a declared wrapper, the type of what
// receives the result, every answer flagged ALLOCS_SITE_GUESSED.
// - The calls: the byte scan of the code (calls.ts), plus the DW_TAG_call_site DIEs naming an
//   allocator at a return address the scan missed (an indirect call), plus the calls of
//   functions that tail-call an allocator (tails.ts: `return malloc(n)` as `jmp malloc`, whose
//   site is its caller's call).
// - The receiver: the x86 walk (x86.ts) from the call's statement start through the call,
//   following the result to where it is stored: a local's stack slot (-O0), a global, a member
//   or element reached through a pointer held in a variable or loaded from one (receiver.ts),
//   or the variable whose location list starts where the result is held (optimised code), or
//   the function's own return type when the result is returned. A tail allocator's own return
//   type, when it points to something, comes first.
// - Single or array: a constant size (the argument set right before the call, or decoded from
//   the statement, or the call site's DW_AT_call_value) equal to sizeof T is one T, a multiple
//   an array, a larger odd size T with a tail; an unknown size is an array.
// A `void *` receiver, or none at all, stays unknown and is reported with its function and
// file:line.

import { openDebugElf, openDwarf } from "../index";
import { ElfFile, SectionHeader } from "../elf/elf-file";
import {
  SITE_ARRAY,
  SITE_GUESSED,
  SITE_HEADER,
  SITE_INLINED,
  SITE_SUBALLOC,
  SITE_TRAILING,
  SITE_WRAPPER,
  siteFlagsWithArg,
} from "../meta/format";
import { InlinedSites } from "./inlined";
import { CType, FunctionInfo, TypeId, TypeModel } from "../model/types";
import { AllocCall, allocTargets, scanBranches } from "./calls";
import { CfaRules } from "./cfi";
import { CallValue, CodeFacts, noCodeFacts, readCodeFacts } from "./callsites";
import { CxxSiteTyper } from "./cxx";
import { LibrarySeed, libraryChains } from "./cxx-chains";
import { AllocFn, SubDecl, allocFunctions, suballocFunctions } from "./decls";
import { FunctionIndex } from "./fnindex";
import { CallStartProver } from "./insn-bounds";
import { LineIndex, SiteReport, hasFlexibleMember } from "./index";
import { Receiver, ReceiverTyper } from "./receiver";
import { SizeRule, TailAllocator, TailFinder, ruleOf } from "./tails";
import { Wrapper, WrapperFinder } from "./wrappers";
import { returnedResult } from "./wrapper-flow";
import { ResultFlow, argDwarfReg, constantArg, followResult } from "./x86";
import { forgetDecoded } from "./x86-decode";

function execSectionAt(elf: ElfFile, addr: number): SectionHeader | undefined {
  return elf.sections.find((s) => s.flags & 0x4 && s.type === 1 && addr >= s.addr && addr < s.addr + s.size);
}

/** At most this many rounds of "a function returning a wrapper's result is one". */
const MAX_WRAPPER_ROUNDS = 8;

export interface DwarfSiteOptions {
  /** Allocation functions (default: the malloc family and LIBALLOCS_ALLOC_FNS). */
  fns?: Map<string, AllocFn>;
  /** Return addresses already typed by another route: left alone. */
  skip?: Set<number>;
  /** Declared suballocators and their frees (default: LIBALLOCS_SUBALLOC_FNS, _SUBFREE_FNS). */
  subs?: Map<string, SubDecl>;
}

/** Reads the call sites and split functions' ranges; a failure only loses what they add. */
function codeFacts(elf: ElfFile): { facts: CodeFacts; lines?: LineIndex } {
  try {
    const dwarf = openDwarf(openDebugElf(elf));
    const facts = readCodeFacts(dwarf);
    let lines: LineIndex | undefined;
    try {
      lines = new LineIndex(elf, dwarf, true);
    } catch {
      lines = undefined;
    }
    return { facts, lines };
  } catch {
    return { facts: noCodeFacts() };
  }
}

/** The constant value of argument `i` at a call, from the code or the call site's DWARF. */
function argConstant(
  i: number,
  code: Buffer,
  call: AllocCall,
  sec: SectionHeader,
  flow: ResultFlow,
  params: Map<number, CallValue> | undefined,
): number | undefined {
  if (!call.approx) {
    const c = constantArg(code, call.call - sec.addr, i);
    if (c !== undefined) return c;
  }
  const s = flow.args?.[i];
  if (s?.k === "const") return s.v;
  const reg = argDwarfReg(i);
  const v = reg === undefined ? undefined : params?.get(reg);
  return v?.k === "const" ? v.v : undefined;
}

export function inferDwarfSites(model: TypeModel, elfPath: string, o: DwarfSiteOptions = {}): SiteReport {
  try {
    return inferSites(model, elfPath, o);
  } finally {
    forgetDecoded(); // the code buffer and instructions decodeCached kept
  }
}

function inferSites(model: TypeModel, elfPath: string, o: DwarfSiteOptions): SiteReport {
  const report: SiteReport = { sites: [], unknown: [] };
  // Copied: the wrappers found in this binary are added to it.
  const fns = new Map(o.fns ?? allocFunctions());
  const elf = ElfFile.open(elfPath);
  const base = allocTargets(elf, new Set(fns.keys()));
  // Declared suballocators: their direct calls only (no wrappers or tail allocators built on
  // them); in `fns` for their size rule, which also keeps the wrapper finder off them.
  const subs = o.subs ?? suballocFunctions();
  const subTargets = subs.size ? allocTargets(elf, new Set(subs.keys())) : undefined;
  for (const [n, f] of subs) if (!fns.has(n)) fns.set(n, f);
  if (base.code.size === 0 && base.got.size === 0 && !subTargets?.code.size) {
    report.calls = 0;
    return report;
  }
  const { facts, lines } = codeFacts(elf);
  const functions = new FunctionIndex(model.functions, facts.ranges);
  const entryOf = (fn: FunctionInfo): number => facts.ranges.get(fn.lowPc)?.[0][0] ?? fn.lowPc;
  // Tail allocators and returning wrappers, each kind making more of both, to a fixpoint.
  const tailFinder = new TailFinder(elf, fns, functions, facts, entryOf);
  let { tails, branches } = tailFinder.find(base);
  const wrappers = new WrapperFinder(model, elf, fns, functions, facts, entryOf, (t) => tails.get(t)?.size);
  for (let round = 0; round < MAX_WRAPPER_ROUNDS && wrappers.scan(branches); round++) {
    for (const w of wrappers.wrappers.values()) base.code.set(w.entry, w.fn.name.split(".")[0]);
    ({ tails, branches } = tailFinder.find(base));
  }
  report.wrappers = [...wrappers.wrappers.values()].map((w) => w.fn.name);
  // Calls inside inlined wrappers: their site line is the inlined call's (inlined.ts).
  const withCode = new Set(model.functions.filter((f) => f.highPc > f.lowPc).map((f) => f.name));
  const inlined = new InlinedSites(
    facts.inlined,
    (c) => !!c.callee && (fns.has(c.callee) || (c.returnsPointer && !withCode.has(c.callee))),
  );
  report.inlined = new Map();
  const returnOf = new Map<string, TypeId>();
  for (const f of model.functions) {
    const r = model.types[f.type]?.returns;
    if (r !== undefined && !returnOf.has(f.name)) returnOf.set(f.name, r);
  }
  const calls = branches.filter((b) => !b.tail);
  const seen = new Set(calls.map((c) => c.ret));
  // Calls the byte scan cannot see (through a register) that the call site DIEs name.
  for (const cs of facts.callSites.callsTo((callee) => fns.has(callee)))
    if (!seen.has(cs.ret)) calls.push({ call: cs.ret - 1, ret: cs.ret, callee: cs.callee!, approx: true });
  calls.sort((a, b) => a.ret - b.ret);
  const called = new Set(branches.map((b) => b.target));
  const orphans = [...tails.values()].filter((t) => !called.has(t.entry));
  report.calls = calls.length + orphans.length;

  const typer = new ReceiverTyper(model, CfaRules.of(elf));
  const cxx = calls.some((c) => CxxSiteTyper.isNew(c.callee))
    ? new CxxSiteTyper(model, elf, functions, typer)
    : undefined;
  const whereOf = (pc: number): string => {
    const at = lines?.lookup(pc);
    return at ? `${at.file}:${at.line}` : `0x${pc.toString(16)}`;
  };
  for (const t of orphans)
    report.unknown.push({
      where: whereOf(t.jump.call),
      callee: t.to,
      why: `tail call: the sites are ${t.fn.name}'s callers, and no direct call to it was found`,
      function: t.fn.name,
      route: "dwarf",
    });
  const charType = model.types.find(
    (t) => t.kind === "base" && t.byteSize === 1 && (t.encoding === 6 || t.encoding === 8),
  );

  for (const call of calls) {
    const inlinedArg = call.approx ? undefined : inlined.argAt(call.call);
    if (inlinedArg !== undefined) report.inlined.set(call.ret, inlinedArg);
    const inWrapper = wrappers.calls.get(call.ret);
    // operator new in a function that returns its result (so it looks like a wrapper), which
    // cxx.ts can type where it is: std::allocator<T>::allocate's T[n] (a container's buffer or
    // node), or a factory's `new T` by its constructor or vtable. Stepping to the caller (for
    // allocate, library code whose receiver names no T) would lose that type.
    const cxxHere =
      inWrapper && cxx && CxxSiteTyper.isNew(call.callee)
        ? siteOf(call, functions.at(call.call), undefined)
        : undefined;
    if (cxxHere && !("why" in cxxHere)) {
      report.sites.push({ vaddr: call.ret, type: cxxHere.type, flags: cxxHere.flags });
      continue;
    }
    if (inWrapper) {
      // Its result is returned: the runtime steps over this frame to the wrapper's caller.
      report.sites.push({
        vaddr: call.ret,
        type: -1,
        flags: siteFlagsWithArg(SITE_WRAPPER | SITE_GUESSED, inWrapper.cfaOffset),
      });
      continue;
    }
    if (o.skip?.has(call.ret)) continue;
    const fn = functions.at(call.call);
    const fnDecl = fn ? fns.get(fn.name.split(".")[0]) : undefined;
    if (fnDecl?.wrapper) continue; // the runtime attributes these to the wrapper's caller
    const tail = call.target !== undefined ? tails.get(call.target) : undefined;
    const wrapper = call.target !== undefined ? wrappers.wrappers.get(call.target) : undefined;
    const callee = tail ? tail.fn.name : call.callee;
    const unknown = (why: string): void => {
      report.unknown.push({ where: whereOf(call.call), callee, why, function: fn?.name, route: "dwarf" });
    };
    if (!tail && (call.callee === "strdup" || call.callee === "strndup")) {
      if (charType)
        report.sites.push({ vaddr: call.ret, type: charType.id, flags: SITE_ARRAY | SITE_GUESSED });
      continue;
    }
    const r = siteOf(call, fn, tail ?? wrapper);
    if (wrapper?.offset && !("why" in r)) {
      // The chunk is a header, then the object: the size rule counted the object only.
      if (r.flags & SITE_ARRAY)
        unknown(`${wrapper.fn.name} puts a ${wrapper.offset}-byte header before an array`);
      else
        report.sites.push({
          vaddr: call.ret,
          type: r.type,
          flags: siteFlagsWithArg(r.flags | SITE_HEADER, wrapper.offset),
        });
      continue;
    }
    if ("why" in r) unknown(r.why);
    else report.sites.push({ vaddr: call.ret, type: r.type, flags: r.flags });
    if ("why" in r && inlinedArg !== undefined)
      report.sites.push({ vaddr: call.ret, type: -1, flags: SITE_GUESSED });
  }
  // Every record of a call in an inlined wrapper carries its call line.
  for (const s of report.sites) {
    const arg = report.inlined.get(s.vaddr);
    if (arg !== undefined && !(s.flags & (SITE_WRAPPER | SITE_HEADER)))
      s.flags = siteFlagsWithArg(s.flags | SITE_INLINED, arg);
  }
  // The standard library's allocations: sited at the user's call into the library (cxx-chains.ts).
  if (cxx && lines) {
    const seeds: LibrarySeed[] = [];
    for (const c of calls) {
      const type = CxxSiteTyper.isNew(c.callee) && !c.approx ? cxx.allocatorElementAt(c.ret - 1) : undefined;
      if (type !== undefined) seeds.push({ call: c, type });
    }
    const chains = libraryChains({
      elf,
      functions,
      allFunctions: model.functions,
      entryOf,
      lines,
      inlined: facts.inlined,
      seeds,
    });
    report.sites = report.sites.filter((s) => !chains.has(s.vaddr));
    for (const r of chains.values()) report.sites.push(r);
  }
  if (subTargets) suballocSites(subTargets);
  return report;

  /** Every direct call of a declared suballocator or free function: one SUBALLOC record each
   * (typed as a malloc site would be; a free's untyped), which the runtime patches. Jumps and
   * inlined copies cannot be patched: they are reported. */
  function suballocSites(t: NonNullable<typeof subTargets>): void {
    const callStarts = new CallStartProver(elf, facts);
    const byRet = new Map(report.sites.map((s, i) => [s.vaddr, i]));
    for (const b of scanBranches(elf, t, true)) {
      const decl = subs.get(b.callee);
      if (!decl || b.target === undefined) continue; // through the GOT: no rel32 to patch
      const fn = functions.at(b.call);
      if (b.tail) {
        report.unknown.push({
          where: whereOf(b.call),
          callee: b.callee,
          why: `a jump to suballocator ${b.callee} (a tail call) cannot be redirected: its objects stay untyped`,
          function: fn?.name,
          route: "dwarf",
        });
        continue;
      }
      const unproved = callStarts.whyNot(b, fn);
      if (unproved) {
        report.unknown.push({
          where: whereOf(b.call),
          callee: b.callee,
          why: unproved,
          function: fn?.name,
          route: "dwarf",
        });
        continue;
      }
      let rec = { vaddr: b.ret, type: -1, flags: SITE_SUBALLOC | SITE_GUESSED };
      if (!decl.free) {
        const r = siteOf(b, fn, undefined);
        if ("why" in r)
          report.unknown.push({
            where: whereOf(b.call),
            callee: b.callee,
            why: r.why,
            function: fn?.name,
            route: "dwarf",
          });
        else rec = { vaddr: b.ret, type: r.type, flags: r.flags | SITE_SUBALLOC };
      }
      const at = byRet.get(b.ret);
      if (at !== undefined) report.sites[at] = rec;
      else report.sites.push(rec);
    }
    for (const c of facts.inlined)
      if (c.callee && subs.has(c.callee) && c.ranges.length)
        report.unknown.push({
          where: whereOf(c.ranges[0][0]),
          callee: c.callee,
          why: `suballocator ${c.callee} inlined at line ${c.line}: only direct calls are redirected, so these objects stay untyped`,
          route: "dwarf",
        });
  }

  function siteOf(
    call: AllocCall,
    fn: FunctionInfo | undefined,
    tail: TailAllocator | Wrapper | undefined,
  ): { type: TypeId; flags: number } | { why: string } {
    const sec = execSectionAt(elf, call.ret);
    if (!sec) return { why: "return address outside the code" };
    const code = elf.data(sec);
    // Decode the call's statement from its first instruction, when it is in the same function.
    const start = call.approx ? undefined : lines?.lineStart(call.call);
    const from =
      fn && start !== undefined && start >= fn.lowPc && start <= call.call && start >= sec.addr
        ? start - sec.addr
        : undefined;
    const flow = followResult(code, call.ret - sec.addr, call.ret, {
      from,
      callOff: call.approx ? undefined : call.call - sec.addr,
    });
    // operator new: the constructor or vtable the code applies to the new memory (cxx.ts).
    if (cxx && CxxSiteTyper.isNew(call.callee) && !tail) {
      const site = facts.callSites.get(call.ret);
      const total = argConstant(0, code, call, sec, flow, site && facts.params(site));
      const entry = fn ? entryOf(fn) - sec.addr : undefined;
      const r = cxx.siteOf(call.callee, fn, code, call.ret - sec.addr, call.ret, total, entry);
      if (r) return r;
    }
    // Who receives the result, in order of evidence; the first that points to a type wins.
    const cands: Receiver[] = [];
    const pointee = (r: Receiver): CType | undefined => {
      const rt = model.types[r.type];
      const pt = rt?.kind === "pointer" && rt.target !== undefined ? model.types[rt.target] : undefined;
      return pt && pt.kind !== "void" && pt.kind !== "opaque" && pt.kind !== "function" ? pt : undefined;
    };

    // A tail allocator returning a typed pointer says what it allocates.
    const tailRet = tail ? model.types[tail.fn.type]?.returns : undefined;
    if (tail && tailRet !== undefined) cands.push({ type: tailRet, name: `${tail.fn.name}'s result` });
    // Each is looked for only while none before it points to a type (the first that does wins).
    const typed = (): boolean => cands.some((c) => pointee(c));
    if (fn) {
      const sink = flow.sink;
      // A local assigned the result (its location starts where the result is), a local's stack
      // slot, then memory through a pointer (`s->f = p` after `T *p = malloc(...)` is weaker).
      const exact = typed() ? undefined : typer.heldVariable(fn, flow.held, true);
      if (exact) cands.push({ type: exact.type, name: exact.name, local: true });
      const stored = sink.kind === "store" && !typed() ? typer.storeTarget(fn, sink.at, sink.pc) : undefined;
      if (stored) cands.push(stored);
      const v = typed() ? undefined : typer.heldVariable(fn, flow.held, false);
      if (v) cands.push({ type: v.type, name: v.name, local: true });
      // A function returning the allocation: its return type (also when it first stores the
      // pointer somewhere, `return table[i] = p;`, which makes it no wrapper).
      const ret = model.types[fn.type]?.returns;
      if (
        ret !== undefined &&
        !typed() &&
        (sink.kind === "return" ||
          returnedResult(code, call.ret - sec.addr, call.ret, undefined, { escapes: true }))
      )
        cands.push({ type: ret, name: `${fn.name}'s result` });
    }
    // Last: the call is in an inlined function returning a pointer (`get_var`, inlined, whose
    // `return variables[i] = bc_malloc(...)` leaves nothing else to follow).
    const inl = call.approx || typed() ? undefined : inlined.calleeAt(call.call);
    const inlRet = inl?.returnsPointer && inl.callee ? returnOf.get(inl.callee) : undefined;
    if (inlRet !== undefined) cands.push({ type: inlRet, name: `${inl!.callee}'s result` });
    if (cands.length === 0) {
      if (!fn) return { why: "no DWARF function around the call" };
      if (flow.sink.kind === "store") return { why: "result stored through a pointer to an unknown object" };
      return { why: "no variable receives the result" };
    }
    const recv = cands.find((c) => pointee(c)) ?? cands[0];
    const recvName = recv.name;
    const rt = model.types[recv.type];
    if (rt?.kind !== "pointer") return { why: `${recvName} is not a pointer` };
    const pt = pointee(recv);
    if (!pt) {
      const t = rt.target === undefined ? undefined : model.types[rt.target];
      return { why: `${recvName} is ${t?.kind === "function" ? "a function pointer" : "void *"}` };
    }
    const size = pt.byteSize;
    if (!size || pt.complete === false) return { why: `${recvName} points to an incomplete type` };
    // The allocation's size, when constant: one T, an array, or T with a tail.
    const rule: SizeRule | undefined = tail && "jump" in tail ? tail.size : ruleOf(fns.get(call.callee));
    const site = facts.callSites.get(call.ret);
    const params = site && facts.params(site);
    let total: number | undefined = rule?.factor;
    for (const i of rule?.args ?? []) {
      const c = argConstant(i, code, call, sec, flow, params);
      if (c === undefined || total === undefined) {
        total = undefined;
        break;
      }
      total *= c;
    }
    // `Base *p = new Derived` with Derived's constructor inlined: the one class derived from
    // the receiver's that has the allocation's size (cxx.ts).
    const derived =
      cxx && total !== undefined && total !== size ? cxx.derivedOfSize(call.callee, pt, total) : undefined;
    if (derived !== undefined) return { type: derived, flags: SITE_GUESSED };
    let flags = SITE_GUESSED;
    // A struct ending in a flexible array member is never an array of itself: room past it is
    // for the trailing elements (`malloc(sizeof(S) + n * sizeof(E))`).
    const flexible = hasFlexibleMember(model, pt.id);
    if (total === undefined || total === 0) flags |= flexible ? SITE_TRAILING : SITE_ARRAY;
    else if (total === size) flags |= 0;
    else if (flexible && total > size) flags |= SITE_TRAILING;
    else if (total % size === 0) flags |= SITE_ARRAY;
    else if (total > size || hasFlexibleMember(model, pt.id)) flags |= SITE_TRAILING;
    else return { why: `${total} bytes is smaller than ${pt.cName} (${recvName})` };
    return { type: pt.id, flags };
  }
}
