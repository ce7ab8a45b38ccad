// One FRAME type per function (appended after the model's types: its members are the
// function's stack variables, by offset from the frame's low end), one FRAME record naming it,
// and the function's FRAME_VAR records (each variable's CFA offset per PC range).

import { FunctionInfo, TypeId } from "../model/types";
import { FRAME, FRAME_VAR, FRAME_VAR_PARAM, Kind, MEMBER, META_NONE, TYPE } from "./format";
import { MetaSections } from "./file-layout";
import { CfaSegments, FrameVarCollector, FrameVarOut } from "./frame-vars";
import { fieldsOf } from "./record-buffer";

const T_ = fieldsOf(TYPE);
const M_ = fieldsOf(MEMBER);
const F_ = fieldsOf(FRAME);
const V_ = fieldsOf(FRAME_VAR);

/** A frame's member: a variable at one CFA offset (`rawType` the model id, `type` as written). */
interface FrameMember {
  name: string;
  rawType: TypeId;
  type: number;
  offset: number;
  /** Its name's string offset, once written (-1 before). */
  nameOff: number;
}

/** A FRAME type's name and C name are these prefixes and the function's name: the string
 * table's prefixes (MetaSections), P_* their indexes. */
export const FRAME_NAME_PREFIXES = ["__FRAME_", "frame of "] as const;
const P_FRAME_NAME = 0;
const P_FRAME_C_NAME = 1;

/** The member of `ms` at `offset` named and typed as `v`, if there is one. */
function memberLike(ms: FrameMember[], v: FrameVarOut, offset: number): FrameMember | undefined {
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i];
    if (m.offset === offset && m.name === v.name && m.rawType === v.type) return m;
  }
  return undefined;
}

/** Up to this many variable ranges, a frame's members are found by comparing each with those
 * kept so far; a map by offset costs more than that for a handful (V8 allocates a new table
 * for every Map.clear). */
const SCAN_LIMIT = 32;

/**
 * Writes the frames of `fns` (functions with code), by address; a function at the address of
 * the previous one is its alias and gets none; a FRAME type's name is made unique against the
 * type names written so far (`out.typeNames`). `ref` maps a model type id as written.
 * Returns the string offset of each function's name (-1: an alias, not written), by index in
 * `fns`, for its STATIC record.
 */
export function writeFrames(
  fns: FunctionInfo[],
  out: MetaSections,
  ref: (id: TypeId | undefined) => number,
  cfa: CfaSegments | undefined,
): Int32Array {
  const byLo = fns.map((_, i) => i).sort((a, b) => fns[a].lowPc - fns[b].lowPc || a - b);
  const nameOffs = new Int32Array(fns.length).fill(-1);
  const w = new FrameWriter(out, ref, cfa);
  let lastLo = -1;
  for (let k = 0; k < byLo.length; k++) {
    const i = byLo[k];
    const f = fns[i];
    if (f.lowPc === lastLo) continue; /* an alias of the previous function */
    lastLo = f.lowPc;
    nameOffs[i] = w.write(f);
  }
  return nameOffs;
}

/**
 * Writes one function's frame at a time. The per-function work is in these small methods, not
 * in the loop over functions: V8 would otherwise compile the whole loop on stack replacement,
 * a large compile of a function that runs once.
 */
class FrameWriter {
  private readonly collector: FrameVarCollector;
  /** One map for every function (cleared): a frame's members by CFA offset. */
  private readonly atOffset = new Map<number, FrameMember[]>();
  /** The last variable name written and its string offset: a variable's ranges are
   * consecutive and share its name (one string), so each is looked up once. */
  private lastVarName = "";
  private lastVarNameOff = 0;
  /** Per variable range of the function being written: the member it is (null: none, at a
   * CFA offset >= 0), whose name offset its FRAME_VAR record takes without a lookup. */
  private readonly memberOf: (FrameMember | null)[] = [];

  constructor(
    private readonly out: MetaSections,
    private readonly ref: (id: TypeId | undefined) => number,
    cfa: CfaSegments | undefined,
  ) {
    this.collector = new FrameVarCollector(cfa);
  }

  /** Writes the frame of `f`; returns its name's string offset. */
  write(f: FunctionInfo): number {
    const fv = this.collector.collect(f);
    let size = 0;
    for (let i = 0; i < fv.length; i++) if (fv[i].cfaOffset < 0) size = Math.max(size, -fv[i].cfaOffset);
    const typeIndex = this.writeType(f, size, this.members(fv, size));
    const { strings, frames, frameVars: vars } = this.out;
    const fa = frames.add();
    frames.u64(fa + F_.lo, f.lowPc);
    frames.u64(fa + F_.hi, f.highPc);
    const nameOff = strings.add(f.name);
    frames.u32(fa + F_.function, nameOff);
    frames.u32(fa + F_.type, typeIndex);
    frames.u32(fa + F_.first_var, vars.n);
    frames.u32(fa + F_.nvars, fv.length);
    const memberOf = this.memberOf;
    for (let i = 0; i < fv.length; i++) {
      const m = memberOf[i];
      this.writeVar(fv[i], m !== null ? m.nameOff : this.varNameOff(fv[i].name));
    }
    return nameOff;
  }

  /**
   * The frame's members: each (name, offset, type) once, the first met (no key string per
   * variable). Sorted by offset, then name.
   */
  private members(fv: FrameVarOut[], size: number): FrameMember[] {
    const fm = fv.length <= SCAN_LIMIT ? this.membersByScan(fv, size) : this.membersByOffset(fv, size);
    if (fm.length > 1) fm.sort((a, b) => a.offset - b.offset || (a.name < b.name ? -1 : 1));
    return fm;
  }

  /** `members` of a few variables (nearly every function): each compared with those kept. */
  private membersByScan(fv: FrameVarOut[], size: number): FrameMember[] {
    const fm: FrameMember[] = [];
    const memberOf = this.memberOf;
    for (let i = 0; i < fv.length; i++) {
      const v = fv[i];
      let m: FrameMember | null | undefined = null;
      if (v.cfaOffset < 0 && (m = memberLike(fm, v, v.cfaOffset + size)) === undefined)
        fm.push((m = this.member(v, size)));
      memberOf[i] = m;
    }
    return fm;
  }

  /** `members` of many variables: those at one offset compared by name and type. */
  private membersByOffset(fv: FrameVarOut[], size: number): FrameMember[] {
    const fm: FrameMember[] = [];
    const atOffset = this.atOffset;
    const memberOf = this.memberOf;
    atOffset.clear();
    for (let i = 0; i < fv.length; i++) {
      const v = fv[i];
      memberOf[i] = null;
      if (v.cfaOffset < 0) {
        let same = atOffset.get(v.cfaOffset);
        if (same === undefined) atOffset.set(v.cfaOffset, (same = []));
        const known = memberLike(same, v, v.cfaOffset + size);
        if (known !== undefined) {
          memberOf[i] = known;
          continue;
        }
        const m = this.member(v, size);
        same.push(m);
        fm.push(m);
        memberOf[i] = m;
      }
    }
    return fm;
  }

  private member(v: FrameVarOut, size: number): FrameMember {
    return { name: v.name, rawType: v.type, type: this.ref(v.type), offset: v.cfaOffset + size, nameOff: -1 };
  }

  /** The FRAME type of `f` and its members; returns its type index. */
  private writeType(f: FunctionInfo, size: number, fm: FrameMember[]): number {
    const { strings, types, members } = this.out;
    // The name, unless a type has it already (then with the address): a type name's offset is
    // looked up once, not the name hashed into a set of names as well.
    const typeNames = this.out.typeNames;
    let nameOff = strings.findWith(P_FRAME_NAME, f.name);
    if (nameOff < 0) nameOff = strings.addWith(P_FRAME_NAME, f.name);
    else if (typeNames.has(nameOff))
      nameOff = strings.addWith(P_FRAME_NAME, `${f.name}$${f.lowPc.toString(16)}`);
    typeNames.add(nameOff);
    const typeIndex = types.n;
    const at = types.add();
    types.u32(at + T_.name, nameOff);
    types.u32(at + T_.c_name, strings.addWith(P_FRAME_C_NAME, f.name));
    types.u64(at + T_.size, size);
    types.u8(at + T_.kind, Kind.FRAME);
    types.u32(at + T_.related, META_NONE);
    types.u32(at + T_.count, fm.length);
    types.u32(at + T_.first, members.n);
    for (let i = 0; i < fm.length; i++) {
      const m = fm[i];
      const ma = members.add();
      m.nameOff = strings.add(m.name);
      members.u32(ma + M_.name, m.nameOff);
      members.u32(ma + M_.type, m.type);
      members.u64(ma + M_.offset, m.offset);
    }
    return typeIndex;
  }

  /** A variable's name's string offset (its ranges are consecutive: looked up once). */
  private varNameOff(name: string): number {
    if (name !== this.lastVarName) {
      this.lastVarName = name;
      this.lastVarNameOff = this.out.strings.add(name);
    }
    return this.lastVarNameOff;
  }

  private writeVar(v: FrameVarOut, nameOff: number): void {
    const vars = this.out.frameVars;
    const va = vars.add();
    vars.u64(va + V_.pc_lo, v.pcLo);
    vars.u64(va + V_.pc_hi, v.pcHi);
    vars.i64(va + V_.cfa_offset, v.cfaOffset);
    vars.u32(va + V_.name, nameOff);
    vars.u32(va + V_.type, this.ref(v.type));
    vars.u32(va + V_.flags, v.param ? FRAME_VAR_PARAM : 0);
  }
}
