// Allocation-site types from DWARF alone (`allocs typegen PROG` on a binary built with plain
// `gcc -g`): for each call to a malloc-family function or a declared wrapper (calls.ts), the
// type of what receives the result, every answer flagged ALLOCS_SITE_GUESSED:
// - at -O0 the result is stored right after the call to a local's stack slot (x86.ts): the
//   slot's rbp/rsp offset, turned into a DW_OP_fbreg offset through the function's frame base
//   (DW_OP_call_frame_cfa: rbp = CFA - 16; rbp or rsp themselves), names the variable;
// - optimised, a variable whose location-list entry starts where the result is held (rax at the
//   return address, or the register it was moved to) receives it;
// - a global receives it through a rip-relative store; `return malloc(...)` gives the function's
//   own return type.
// The receiver's pointee is the type; a constant size argument passed right before the call
// decides single (size == sizeof T) or array (a multiple; unknown sizes are arrays too). A
// `void *` receiver, a store through a pointer, or no receiver stays unknown and is reported
// with its function and file:line.

import { ElfFile, SectionHeader } from "../elf/elf-file";
import { SITE_ARRAY, SITE_GUESSED, SITE_TRAILING } from "../meta/format";
import { FunctionInfo, LocalVar, TypeId, TypeModel } from "../model/types";
import { findAllocCallsInBinary } from "./calls";
import { AllocFn, allocFunctions } from "./decls";
import { LineIndex, SiteReport, hasFlexibleMember } from "./index";
import { constantArg, followResult, ResultSink } from "./x86";

const DWARF_RBP = 6;
const DWARF_RSP = 7;

function execSectionAt(elf: ElfFile, addr: number): SectionHeader | undefined {
  return elf.sections.find((s) => s.flags & 0x4 && s.type === 1 && addr >= s.addr && addr < s.addr + s.size);
}

/** The fbreg offset of a stack slot at base+disp, given the function's frame base at pc. */
function fbregOffset(fn: FunctionInfo, pc: number, base: "rbp" | "rsp", disp: number): number | undefined {
  const fb = fn.frameBase.find((r) => r.lo <= pc && pc < r.hi) ?? fn.frameBase[0];
  if (!fb) return undefined;
  const reg = base === "rbp" ? DWARF_RBP : DWARF_RSP;
  const l = fb.loc;
  if (l.kind === "cfa") return base === "rbp" ? disp - 16 : undefined;
  if (l.kind === "reg" && l.reg === reg) return disp;
  if (l.kind === "breg" && l.reg === reg) return disp - l.offset;
  return undefined;
}

function stackVariable(fn: FunctionInfo, sink: Extract<ResultSink, { kind: "stack" }>): LocalVar | undefined {
  const fbo = fbregOffset(fn, sink.pc, sink.base, sink.disp);
  const reg = sink.base === "rbp" ? DWARF_RBP : DWARF_RSP;
  const hit = (v: LocalVar, strict: boolean): boolean =>
    v.locations.some(
      (r) =>
        (!strict || (r.lo <= sink.pc && sink.pc < r.hi)) &&
        ((r.loc.kind === "fbreg" && r.loc.offset === fbo) ||
          (r.loc.kind === "breg" && r.loc.reg === reg && r.loc.offset === sink.disp)),
    );
  const vars = [...fn.locals, ...fn.params];
  return vars.find((v) => hit(v, true)) ?? vars.find((v) => hit(v, false));
}

/** A variable whose location starts (or, failing that, holds) where the result is held. */
function registerVariable(fn: FunctionInfo, held: { pc: number; regs: number[] }[]): LocalVar | undefined {
  const vars = [...fn.locals, ...fn.params];
  for (const exact of [true, false])
    for (const h of held)
      for (const v of vars)
        if (
          v.locations.some(
            (r) =>
              (exact ? r.lo === h.pc : r.lo <= h.pc && h.pc < r.hi) &&
              r.loc.kind === "reg" &&
              h.regs.includes(r.loc.reg),
          )
        )
          return v;
  return undefined;
}

export interface DwarfSiteOptions {
  /** Allocation functions (default: the malloc family and LIBALLOCS_ALLOC_FNS). */
  fns?: Map<string, AllocFn>;
  /** Return addresses already typed by another route: left alone. */
  skip?: Set<number>;
}

export function inferDwarfSites(model: TypeModel, elfPath: string, o: DwarfSiteOptions = {}): SiteReport {
  const report: SiteReport = { sites: [], unknown: [] };
  const fns = o.fns ?? allocFunctions();
  const elf = ElfFile.open(elfPath);
  const calls = findAllocCallsInBinary(elf, new Set(fns.keys()));
  report.calls = calls.length;
  if (calls.length === 0) return report;
  const functions = [...model.functions].filter((f) => f.highPc > f.lowPc).sort((a, b) => a.lowPc - b.lowPc);
  const enclosing = (pc: number): FunctionInfo | undefined => {
    let lo = 0;
    let hi = functions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (functions[mid].lowPc <= pc) lo = mid + 1;
      else hi = mid;
    }
    const f = functions[lo - 1];
    return f && pc < f.highPc ? f : undefined;
  };
  const staticsByAddr = new Map<number, TypeId>();
  for (const s of model.statics) if (!s.tls) staticsByAddr.set(s.addr, s.type);
  let lines: LineIndex | undefined;
  const whereOf = (pc: number): string => {
    try {
      lines ??= new LineIndex(elf);
      const at = lines.lookup(pc);
      return at ? `${at.file}:${at.line}` : `0x${pc.toString(16)}`;
    } catch {
      return `0x${pc.toString(16)}`;
    }
  };
  const charType = model.types.find(
    (t) => t.kind === "base" && t.byteSize === 1 && (t.encoding === 6 || t.encoding === 8),
  );

  for (const call of calls) {
    if (o.skip?.has(call.ret)) continue;
    const fn = enclosing(call.call);
    const fnDecl = fn ? fns.get(fn.name.split(".")[0]) : undefined;
    if (fnDecl?.wrapper) continue; // the runtime attributes these to the wrapper's caller
    const unknown = (why: string): void => {
      report.unknown.push({
        where: whereOf(call.call),
        callee: call.callee,
        why,
        function: fn?.name,
        route: "dwarf",
      });
    };
    if (call.callee === "strdup" || call.callee === "strndup") {
      if (charType)
        report.sites.push({ vaddr: call.ret, type: charType.id, flags: SITE_ARRAY | SITE_GUESSED });
      continue;
    }
    const sec = execSectionAt(elf, call.ret);
    if (!sec) {
      unknown("return address outside the code");
      continue;
    }
    const code = elf.data(sec);
    const flow = followResult(code, call.ret - sec.addr, call.ret);
    let recvType: TypeId | undefined;
    let recvName = "";
    const sink = flow.sink;
    if (sink.kind === "global") {
      recvType = staticsByAddr.get(sink.addr);
      recvName = "a global";
    } else if (sink.kind === "return" && fn) {
      // A function returning the allocation: its return type (unless something else holds it).
      const v = registerVariable(fn, flow.held);
      recvType = v ? v.type : model.types[fn.type]?.returns;
      recvName = v ? v.name : `${fn.name}'s result`;
    } else if (fn && sink.kind === "stack") {
      const v = stackVariable(fn, sink);
      if (v) {
        recvType = v.type;
        recvName = v.name;
      }
    } else if (fn) {
      const v = registerVariable(fn, flow.held);
      if (v) {
        recvType = v.type;
        recvName = v.name;
      }
    }
    if (recvType === undefined) {
      unknown(
        !fn
          ? "no DWARF function around the call"
          : sink.kind === "pointer"
            ? "result stored through a pointer"
            : "no variable receives the result",
      );
      continue;
    }
    const rt = model.types[recvType];
    if (rt?.kind !== "pointer") {
      unknown(`${recvName} is not a pointer`);
      continue;
    }
    const pt = rt.target === undefined ? undefined : model.types[rt.target];
    if (!pt || pt.kind === "void" || pt.kind === "opaque" || pt.kind === "function") {
      unknown(`${recvName} is ${pt?.kind === "function" ? "a function pointer" : "void *"}`);
      continue;
    }
    const size = pt.byteSize;
    if (!size || pt.complete === false) {
      unknown(`${recvName} points to an incomplete type`);
      continue;
    }
    // A constant size argument right before the call: one T, an array, or T with a tail.
    const decl = fns.get(call.callee);
    const callOff = call.call - sec.addr;
    let total: number | undefined = decl?.sizeArgs.length ? 1 : undefined;
    for (const i of decl?.sizeArgs ?? []) {
      const c = constantArg(code, callOff, i);
      if (c === undefined || total === undefined) {
        total = undefined;
        break;
      }
      total *= c;
    }
    let flags = SITE_GUESSED;
    if (total === undefined || total === 0) flags |= SITE_ARRAY;
    else if (total === size) flags |= 0;
    else if (total % size === 0) flags |= SITE_ARRAY;
    else if (total > size || hasFlexibleMember(model, pt.id)) flags |= SITE_TRAILING;
    else {
      unknown(`${total} bytes is smaller than ${pt.cName} (${recvName})`);
      continue;
    }
    report.sites.push({ vaddr: call.ret, type: pt.id, flags });
  }
  return report;
}
