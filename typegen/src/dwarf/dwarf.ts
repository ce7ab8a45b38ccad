// All the DWARF of one binary: its .debug_info and .debug_types units plus the dwz alt file's
// units, in one global "DIE key" space (section offset + a per-section base), so that a reference
// of any form (unit-relative, ref_addr, GNU_ref_alt, ref_sig8) becomes one number.

import { grownF64, grownI32, smi } from "../bytes";
import { TypegenFormatError } from "../errors";
import { ElfFile } from "../elf/elf-file";
import { AbbrevTable } from "./abbrev";
import { DieCursor } from "./die";
import { DwarfSections } from "./sections";
import { Unit, UnitSource, readUnits } from "./units";

/**
 * The DIEs the allocation-site analysis reads call facts from (sites/callsites.ts), as the type
 * model's walk met them: subprograms with DW_AT_ranges, call sites, and inlined subroutines with
 * children, each in a sibling list reached from its compile unit through subprograms and
 * lexical blocks only, in DIE order, with its nesting depth. With it the site analysis visits
 * these DIEs instead of walking every unit's tree a second time.
 */
export class CodeDies {
  keys = new Float64Array(1024);
  depths = new Int32Array(1024);
  length = 0;

  add(key: number, depth: number): void {
    const n = this.length;
    if (n === this.keys.length) this.grow();
    this.keys[n] = key;
    this.depths[n] = depth;
    this.length = n + 1;
  }

  /** Doubles the room (the native walk writes into it directly). */
  grow(): void {
    const n = this.keys.length * 2;
    this.keys = grownF64(this.keys, n);
    this.depths = grownI32(this.depths, n);
  }
}

export class Dwarf {
  /** Set by the model build once its walk has gone through every unit (model/build.ts). */
  codeDies?: CodeDies;
  readonly main: DwarfSections;
  readonly alt?: DwarfSections;
  /** Every unit, sorted by key. */
  readonly units: Unit[] = [];
  private sigMap?: Map<bigint, number>;
  private lastUnit?: Unit;

  constructor(elf: ElfFile, altElf?: ElfFile) {
    this.main = new DwarfSections(elf);
    if (altElf) this.alt = new DwarfSections(altElf);
    const info = this.main.get("info");
    const types = this.main.get("types");
    const altInfo = this.alt ? this.alt.get("info") : Buffer.alloc(0);
    const typesBase = info.length;
    const altBase = typesBase + types.length;
    const cache = new Map<string, AbbrevTable>();
    const srcs: UnitSource[] = [
      {
        sections: this.main,
        secName: ".debug_info",
        buf: info,
        base: 0,
        infoBase: 0,
        altInfoBase: this.alt ? altBase : -1,
        alt: this.alt,
        isAlt: false,
      },
      {
        sections: this.main,
        secName: ".debug_types",
        buf: types,
        base: typesBase,
        infoBase: 0,
        altInfoBase: this.alt ? altBase : -1,
        alt: this.alt,
        isAlt: false,
      },
    ];
    if (this.alt)
      srcs.push({
        sections: this.alt,
        secName: ".debug_info",
        buf: altInfo,
        base: altBase,
        infoBase: altBase,
        altInfoBase: -1,
        isAlt: true,
      });
    for (const s of srcs) if (s.buf.length > 0) this.units.push(...readUnits(s, cache));
  }

  /** A fresh cursor; one per walk. */
  cursor(): DieCursor {
    return new DieCursor((sig) => this.resolveSig(sig));
  }

  /** The unit containing DIE key `key`, or undefined. */
  unitFor(key: number): Unit | undefined {
    const last = this.lastUnit;
    if (last && key >= last.keyStart && key < last.keyEnd) return last;
    const us = this.units;
    let lo = 0;
    let hi = us.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = us[mid];
      if (key < u.keyStart) hi = mid - 1;
      else if (key >= u.keyEnd) lo = mid + 1;
      else {
        this.lastUnit = u;
        return u;
      }
    }
    return undefined;
  }

  /** Positions `cur` on the DIE with key `key`; throws a typed error for a dangling reference. */
  seek(cur: DieCursor, key: number): boolean {
    const u = this.unitFor(key);
    if (!u) throw new TypegenFormatError(this.main.file, ".debug_info", key, "reference to no unit");
    cur.setUnit(u);
    // Keys often come from Float64Array columns (CodeDies): a small integer, not a boxed
    // double, must reach the cursor's position (bytes.ts smi).
    const off = smi(key - u.src.base);
    if (off < u.dieOffset) cur.fail("reference into a unit header", off);
    return cur.read(off);
  }

  /** DW_FORM_ref_sig8: the type DIE of the type unit with that signature, or -1. */
  resolveSig(sig: bigint): number {
    if (!this.sigMap) {
      this.sigMap = new Map();
      for (const u of this.units)
        if (u.typeSignature !== undefined && !this.sigMap.has(u.typeSignature))
          this.sigMap.set(u.typeSignature, u.src.base + u.typeOffset);
    }
    return this.sigMap.get(sig) ?? -1;
  }
}
