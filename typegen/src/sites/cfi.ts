// The canonical frame address rule at a pc, from the binary's .eh_frame (the call frame
// information every x86-64 object carries for unwinding; its format is DWARF's .debug_frame with
// the LSB's changes: CIE id 0, pointer encodings, augmentation data). Optimised code keeps
// locals in rsp-relative slots while DWARF locates them relative to the CFA (DW_OP_fbreg under
// DW_OP_call_frame_cfa); knowing "CFA = rsp + N" at the store's pc turns one into the other.
// Only the CFA rule is tracked (register + offset); a CFA expression gives no answer. Malformed
// data gives no answer either: this is a refinement of a guess, never a reason to fail.

import { Cursor, grownF64, grownI32 } from "../bytes";
import { ElfFile } from "../elf/elf-file";
import { stableOrderBy } from "./sort-order";

// DW_EH_PE_* pointer encodings (LSB, "DWARF Extensions": low nibble the format, high the application).
const PE_omit = 0xff;
const PE_pcrel = 0x10;
const PE_datarel = 0x30;
const PE_indirect = 0x80;
// Call frame instructions (DWARF 5 section 7.24, table 7.29); the first three in the high 2 bits.
const CFA_advance_loc = 1;
const CFA_offset = 2;
const CFA_restore = 3;
const CFA = {
  nop: 0x00,
  set_loc: 0x01,
  advance_loc1: 0x02,
  advance_loc2: 0x03,
  advance_loc4: 0x04,
  offset_extended: 0x05,
  restore_extended: 0x06,
  undefined: 0x07,
  same_value: 0x08,
  register: 0x09,
  remember_state: 0x0a,
  restore_state: 0x0b,
  def_cfa: 0x0c,
  def_cfa_register: 0x0d,
  def_cfa_offset: 0x0e,
  def_cfa_expression: 0x0f,
  expression: 0x10,
  offset_extended_sf: 0x11,
  def_cfa_sf: 0x12,
  def_cfa_offset_sf: 0x13,
  val_offset: 0x14,
  val_offset_sf: 0x15,
  val_expression: 0x16,
  GNU_args_size: 0x2e,
} as const;

export interface CfaRule {
  /** DWARF register number. */
  reg: number;
  offset: number;
}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  fdeEnc: number;
  hasAugData: boolean;
  insns: [number, number];
}

interface Fde {
  lo: number;
  hi: number;
  cie: Cie;
  insns: [number, number];
}

/** The FDEs as columns, sorted by start address: an object is made for the FDE asked about. */
interface FdeTable {
  length: number;
  lo: Float64Array;
  hi: Float64Array;
  /** Where its instructions start and end in .eh_frame. */
  start: Float64Array;
  end: Float64Array;
  /** Its CIE (an index into the CIEs read). */
  cie: Int32Array;
  fde(i: number): Fde;
}

function emptyFdeTable(): FdeTable {
  const none = new Float64Array(0);
  return {
    length: 0,
    lo: none,
    hi: none,
    start: none,
    end: none,
    cie: new Int32Array(0),
    fde: () => {
      throw new Error("no FDE");
    },
  };
}

export class CfaRules {
  private fdes: FdeTable | undefined;
  private readonly buf: Buffer;
  private readonly addr: number;
  private readonly file: string;

  private static readonly shared = new WeakMap<ElfFile, CfaRules>();

  /** The rules of `elf`, one reader per ElfFile: the site analysis asks from several places
   * (receivers, wrappers, C++ chains), and each reader parsed every FDE again (34,000 on
   * PostgreSQL's backend). */
  static of(elf: ElfFile): CfaRules {
    let r = CfaRules.shared.get(elf);
    if (!r) CfaRules.shared.set(elf, (r = new CfaRules(elf)));
    return r;
  }

  constructor(elf: ElfFile) {
    const s = elf.section(".eh_frame");
    this.buf = s && s.type !== 8 ? elf.data(s) : Buffer.alloc(0);
    this.addr = s?.addr ?? 0;
    this.file = elf.path;
  }

  /** The FDEs, read on first use (columns; ~10^4 on a large program). */
  private get table(): FdeTable {
    if (!this.fdes) {
      try {
        this.fdes = this.readFdes();
      } catch {
        this.fdes = emptyFdeTable();
      }
    }
    return this.fdes;
  }

  /** The FDE (its index in the table) of pc, found as before: the last by start at or before
   * pc, when it holds pc. */
  private fdeAt(pc: number): Fde | undefined {
    const t = this.table;
    const los = t.lo;
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (los[mid] <= pc) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0 || pc >= t.hi[i]) return undefined;
    return t.fde(i);
  }

  /** The CFA rule in effect at `pc`, if the frame information gives a register + offset one. */
  at(pc: number): CfaRule | undefined {
    const f = this.fdeAt(pc);
    if (!f) return undefined;
    try {
      return this.run(f, pc);
    } catch {
      return undefined;
    }
  }

  /** The CFA rule over each stretch of the function whose FDE holds `pc`, in address order
   * (undefined rule: an expression, or no answer); empty when no FDE holds pc. */
  segments(pc: number): { lo: number; hi: number; rule: CfaRule | undefined }[] {
    const t = this.table;
    let f: Fde | undefined;
    for (let i = 0; i < t.length && !f; i++) if (t.lo[i] <= pc && pc < t.hi[i]) f = t.fde(i);
    if (!f) return [];
    const out: { lo: number; hi: number; rule: CfaRule | undefined }[] = [];
    const st: RunState = { cfa: undefined, saved: [], loc: f.lo };
    try {
      if (this.exec(f, f.cie.insns, st, Infinity) === "stop") return [];
      const row = (lo: number, hi: number, rule: CfaRule | undefined): void => {
        if (hi > lo) out.push({ lo, hi: Math.min(hi, f.hi), rule: rule && { ...rule } });
      };
      if (this.exec(f, f.insns, st, Infinity, row) === "stop") return out;
    } catch {
      return out;
    }
    if (st.loc < f.hi) out.push({ lo: st.loc, hi: f.hi, rule: st.cfa && { ...st.cfa } });
    return out;
  }

  private cursor(): Cursor {
    return new Cursor(this.buf, this.file, ".eh_frame");
  }

  /** Reads an encoded pointer at c.pos (`fieldAddr` its virtual address, for pc-relative ones). */
  private pointer(c: Cursor, enc: number): number {
    const fieldAddr = this.addr + c.pos;
    let v: number;
    switch (enc & 0x0f) {
      case 0x00:
        v = c.u64();
        break;
      case 0x01:
        v = c.uleb();
        break;
      case 0x02:
        v = c.u16();
        break;
      case 0x03:
        v = c.u32();
        break;
      case 0x04:
        v = c.u64();
        break;
      case 0x09:
        v = c.sleb();
        break;
      case 0x0a: {
        const u = c.u16();
        v = u >= 0x8000 ? u - 0x10000 : u;
        break;
      }
      case 0x0b:
        v = c.i32();
        break;
      case 0x0c:
        v = c.i64();
        break;
      default:
        return c.fail(`pointer encoding 0x${enc.toString(16)}`);
    }
    if ((enc & 0x70) === PE_pcrel) v += fieldAddr;
    else if ((enc & 0x70) !== 0 && (enc & 0x70) !== PE_datarel)
      c.fail(`pointer application 0x${enc.toString(16)}`);
    return v;
  }

  private readCie(off: number, cache: Map<number, Cie>): Cie {
    const hit = cache.get(off);
    if (hit) return hit;
    const c = this.cursor();
    c.seek(off);
    let len = c.u32();
    if (len === 0xffffffff) len = c.u64();
    const end = c.pos + len;
    c.skip(4); // CIE id
    const version = c.u8();
    const aug = c.cstr();
    const cie: Cie = {
      codeAlign: 1,
      dataAlign: 1,
      fdeEnc: 0,
      hasAugData: aug.startsWith("z"),
      insns: [0, 0],
    };
    if (aug.includes("eh")) c.skip(8);
    cie.codeAlign = c.uleb();
    cie.dataAlign = c.sleb();
    if (version === 1) c.u8();
    else c.uleb();
    if (cie.hasAugData) {
      const n = c.uleb();
      const dataEnd = c.pos + n;
      for (const ch of aug.slice(1)) {
        if (ch === "R") cie.fdeEnc = c.u8();
        else if (ch === "L") c.u8();
        else if (ch === "P") {
          const enc = c.u8();
          if (enc !== PE_omit) this.pointer(c, enc & ~PE_indirect);
        } else if (ch !== "S" && ch !== "B" && ch !== "G") break;
      }
      c.seek(dataEnd);
    }
    cie.insns = [c.pos, end];
    cache.set(off, cie);
    return cie;
  }

  private readFdes(): FdeTable {
    // Growing columns, not arrays pushed to (~17,000 FDEs on PostgreSQL's backend, ~3 MB of
    // young-generation arrays): room for one FDE per 32 bytes first.
    let cap = Math.max(64, this.buf.length >> 5);
    let lo = new Float64Array(cap);
    let hi = new Float64Array(cap);
    let start = new Float64Array(cap);
    let end = new Float64Array(cap);
    let cieOf = new Int32Array(cap);
    let m = 0;
    const cies: Cie[] = [];
    const cieIndex = new Map<Cie, number>();
    const cieCache = new Map<number, Cie>();
    const c = this.cursor();
    while (c.pos + 4 <= this.buf.length) {
      const at = c.pos;
      let len = c.u32();
      if (len === 0) break; // the terminator
      if (len === 0xffffffff) len = c.u64();
      const idPos = c.pos;
      const next = idPos + len;
      if (next > this.buf.length) break;
      const id = c.u32();
      if (id !== 0) {
        const cie = this.readCie(idPos - id, cieCache);
        const l = this.pointer(c, cie.fdeEnc);
        const range = this.pointer(c, cie.fdeEnc & 0x0f);
        if (cie.hasAugData) c.skip(c.uleb());
        if (range > 0) {
          let k = cieIndex.get(cie);
          if (k === undefined) cieIndex.set(cie, (k = cies.push(cie) - 1));
          if (m === cap) {
            cap *= 2;
            lo = grownF64(lo, cap);
            hi = grownF64(hi, cap);
            start = grownF64(start, cap);
            end = grownF64(end, cap);
            cieOf = grownI32(cieOf, cap);
          }
          lo[m] = l;
          hi[m] = l + range;
          start[m] = c.pos;
          end[m] = next;
          cieOf[m++] = k;
        }
      }
      if (next <= at) break;
      c.seek(next);
    }
    // By start address, ties in file order (a stable sort, as Array.prototype.sort's was).
    const order = stableOrderBy(lo.subarray(0, m));
    const n = order.length;
    const t: FdeTable = {
      length: n,
      lo: new Float64Array(n),
      hi: new Float64Array(n),
      start: new Float64Array(n),
      end: new Float64Array(n),
      cie: new Int32Array(n),
      fde(i) {
        return { lo: t.lo[i], hi: t.hi[i], cie: cies[t.cie[i]], insns: [t.start[i], t.end[i]] };
      },
    };
    for (let j = 0; j < n; j++) {
      const i = order[j];
      t.lo[j] = lo[i];
      t.hi[j] = hi[i];
      t.start[j] = start[i];
      t.end[j] = end[i];
      t.cie[j] = cieOf[i];
    }
    return t;
  }

  /** Runs the CIE's and the FDE's instructions up to `pc`. */
  private run(f: Fde, pc: number): CfaRule | undefined {
    const st: RunState = { cfa: undefined, saved: [], loc: f.lo };
    if (this.exec(f, f.cie.insns, st, Infinity) === "stop") return undefined;
    return this.exec(f, f.insns, st, pc) === "stop" ? undefined : st.cfa;
  }

  /** Executes instructions in [range) until the location passes `pc`. */
  private exec(
    f: Fde,
    range: [number, number],
    st: RunState,
    pc: number,
    row?: (lo: number, hi: number, rule: CfaRule | undefined) => void,
  ): "done" | "stop" {
    const c = this.cursor();
    c.seek(range[0]);
    c.end = range[1];
    while (c.pos < range[1]) {
      const op = c.u8();
      const hi2 = op >> 6;
      let advance = 0;
      if (hi2 === CFA_advance_loc) advance = (op & 0x3f) * f.cie.codeAlign;
      else if (hi2 === CFA_offset) c.uleb();
      else if (hi2 !== CFA_restore)
        switch (op) {
          case CFA.nop:
            break;
          case CFA.remember_state:
            st.saved.push(st.cfa && { ...st.cfa });
            break;
          case CFA.restore_state:
            st.cfa = st.saved.pop();
            break;
          case CFA.set_loc:
            advance = this.pointer(c, f.cie.fdeEnc) - st.loc;
            break;
          case CFA.advance_loc1:
            advance = c.u8() * f.cie.codeAlign;
            break;
          case CFA.advance_loc2:
            advance = c.u16() * f.cie.codeAlign;
            break;
          case CFA.advance_loc4:
            advance = c.u32() * f.cie.codeAlign;
            break;
          case CFA.offset_extended:
          case CFA.register:
          case CFA.val_offset:
            c.uleb();
            c.uleb();
            break;
          case CFA.offset_extended_sf:
          case CFA.val_offset_sf:
            c.uleb();
            c.sleb();
            break;
          case CFA.restore_extended:
          case CFA.undefined:
          case CFA.same_value:
          case CFA.GNU_args_size:
            c.uleb();
            break;
          case CFA.def_cfa:
            st.cfa = { reg: c.uleb(), offset: c.uleb() };
            break;
          case CFA.def_cfa_sf:
            st.cfa = { reg: c.uleb(), offset: c.sleb() * f.cie.dataAlign };
            break;
          case CFA.def_cfa_register: {
            const reg = c.uleb();
            st.cfa = st.cfa && { reg, offset: st.cfa.offset };
            break;
          }
          case CFA.def_cfa_offset: {
            const offset = c.uleb();
            st.cfa = st.cfa && { reg: st.cfa.reg, offset };
            break;
          }
          case CFA.def_cfa_offset_sf: {
            const offset = c.sleb() * f.cie.dataAlign;
            st.cfa = st.cfa && { reg: st.cfa.reg, offset };
            break;
          }
          case CFA.def_cfa_expression:
            c.skip(c.uleb());
            st.cfa = undefined;
            break;
          case CFA.expression:
          case CFA.val_expression:
            c.uleb();
            c.skip(c.uleb());
            break;
          default:
            return "stop";
        }
      if (advance > 0) {
        if (st.loc + advance > pc) return "done";
        row?.(st.loc, st.loc + advance, st.cfa);
        st.loc += advance;
      }
    }
    return "done";
  }
}

interface RunState {
  cfa: CfaRule | undefined;
  saved: (CfaRule | undefined)[];
  loc: number;
}
