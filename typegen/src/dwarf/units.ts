// Unit headers of .debug_info (DWARF 2-5: compile, partial, type, skeleton units) and of
// .debug_types (DWARF 4 type units). A unit knows its format (offset and address size), its
// abbrev table and, once `init` has read its root DIE, the base offsets that strx/addrx/
// rnglistx/loclistx forms are relative to.

import { Cursor } from "../bytes";
import { AbbrevTable } from "./abbrev";
import { DW_UT } from "./constants";
import { FormatParams } from "./forms";
import { DwarfSections } from "./sections";
import { nativeAddon } from "./native-addon";
import { NO_STR, StrSpace, resolveStr } from "./str-ref";

/** Where a unit's bytes come from, and where its DIE offsets live in the global key space. */
export interface UnitSource {
  sections: DwarfSections;
  /** ".debug_info" or ".debug_types" */
  secName: string;
  buf: Buffer;
  /** Added to a section offset to make a global DIE key (unique across sections and files). */
  base: number;
  /** Key base of the same file's .debug_info (DW_FORM_ref_addr targets). */
  infoBase: number;
  /** Key base of the alt file's .debug_info (DW_FORM_GNU_ref_alt targets), or -1. */
  altInfoBase: number;
  /** The alt (dwz) file's sections, for DW_FORM_GNU_strp_alt. */
  alt?: DwarfSections;
  /** True for the alt file's own units (their string forms name the alt file's sections). */
  isAlt: boolean;
}

export class Unit implements FormatParams {
  version = 0;
  unitType = 0;
  addrSize = 8;
  offsetSize = 4;
  abbrevOffset = 0;
  /** First DIE's section offset. */
  dieOffset = 0;
  typeSignature?: bigint;
  /** Section offset of the type DIE of a type unit. */
  typeOffset = 0;
  /** Set when the table was parsed with the headers (no native addon, or it failed to parse). */
  private abbrevTable: AbbrevTable | undefined;
  /** Where to parse it on first use, and the tables shared by (offset, unit format). */
  private abbrevCache: Map<string, AbbrevTable> | undefined;
  private abbrevKey = "";

  /**
   * The unit's abbrev table. With the native walk, a unit's JS table is made only when JS reads
   * one of its DIEs (the C walker keeps its own): readUnits had the addon parse it, so it is
   * known to parse and no error moves.
   */
  get abbrevs(): AbbrevTable {
    return (this.abbrevTable ??= this.parseAbbrevs());
  }

  /** The table for this unit from `cache`, parsed now (`now`) or on first use. */
  setAbbrevs(cache: Map<string, AbbrevTable>, key: string, now: boolean): void {
    this.abbrevCache = cache;
    this.abbrevKey = key;
    this.abbrevTable = cache.get(key);
    if (now && !this.abbrevTable) this.abbrevTable = this.parseAbbrevs();
  }

  private parseAbbrevs(): AbbrevTable {
    const cache = this.abbrevCache!;
    let table = cache.get(this.abbrevKey);
    if (!table) {
      const secs = this.src.sections;
      table = new AbbrevTable(secs.get("abbrev"), secs.file, this.abbrevOffset, this);
      cache.set(this.abbrevKey, table);
    }
    return table;
  }

  // Filled by DieCursor.initUnit from the root DIE.
  initialised = false;
  strOffsetsBase = -1;
  addrBase = -1;
  rnglistsBase = -1;
  loclistsBase = -1;
  lowPc = 0;
  stmtList = -1;
  /**
   * DW_AT_name, DW_AT_comp_dir and DW_AT_producer as string references (str-ref.ts), decoded on
   * first read: most units' are never read, and decoding three strings per unit was a tenth of
   * the walk's per-unit cost on libc's 2,000 units.
   */
  nameRef = NO_STR;
  compDirRef = NO_STR;
  producerRef = NO_STR;
  private nameStr: string | undefined;
  private compDirStr: string | undefined;
  private producerStr: string | undefined;
  language = 0;
  rootTag = 0;

  constructor(
    readonly src: UnitSource,
    /** Section offset of the unit header. */
    readonly offset: number,
    /** Section offset one past the unit's last byte. */
    readonly end: number,
  ) {}

  get name(): string {
    return (this.nameStr ??= this.decode(this.nameRef));
  }
  get compDir(): string {
    return (this.compDirStr ??= this.decode(this.compDirRef));
  }
  get producer(): string {
    return (this.producerStr ??= this.decode(this.producerRef));
  }

  /** A string reference made from this unit's DIEs ("" if it names none, as a missing attribute). */
  private decode(ref: number): string {
    const src = this.src;
    // An alt (dwz) file's own units refer to its sections as the alt ones.
    const space: StrSpace = {
      main: src.sections,
      alt: src.isAlt ? src.sections : src.alt,
      unitFor: () => this,
    };
    return resolveStr(space, ref) ?? "";
  }

  get keyStart(): number {
    return this.src.base + this.offset;
  }
  get keyEnd(): number {
    return this.src.base + this.end;
  }
  get file(): string {
    return this.src.sections.file;
  }
  isTypeUnit(): boolean {
    return this.typeSignature !== undefined;
  }
}

/** Reads every unit header of one section. Abbrev tables are shared through `abbrevCache`. */
export function readUnits(src: UnitSource, abbrevCache: Map<string, AbbrevTable>): Unit[] {
  const native = nativeAddon();
  /** Tables the addon checked (parsed by JS on first use). */
  const lazyKeys = new Set<string>();
  const buf = src.buf;
  const c = new Cursor(buf, src.sections.file, src.secName);
  const out: Unit[] = [];
  const isTypes = src.secName === ".debug_types";
  while (c.pos < buf.length) {
    const start = c.pos;
    let length = c.u32();
    let offsetSize = 4;
    if (length === 0xffffffff) {
      length = c.u64();
      offsetSize = 8;
    } else if (length >= 0xfffffff0) c.fail(`reserved unit length 0x${length.toString(16)}`, start);
    const end = c.pos + length;
    if (end > buf.length) c.fail(`unit length 0x${length.toString(16)} runs past the section end`, start);
    const u = new Unit(src, start, end);
    u.offsetSize = offsetSize;
    c.end = end;
    u.version = c.u16();
    if (u.version < 2 || u.version > 5) c.fail(`unsupported DWARF version ${u.version}`, start);
    if (u.version >= 5) {
      u.unitType = c.u8();
      u.addrSize = c.u8();
      u.abbrevOffset = c.offset(offsetSize);
      if (u.unitType === DW_UT.type || u.unitType === DW_UT.split_type) {
        u.typeSignature = c.u64big();
        u.typeOffset = start + c.offset(offsetSize);
      } else if (u.unitType === DW_UT.skeleton || u.unitType === DW_UT.split_compile) {
        c.skip(8); // dwo_id
      }
    } else {
      u.abbrevOffset = c.offset(offsetSize);
      u.addrSize = c.u8();
      u.unitType = isTypes ? DW_UT.type : DW_UT.compile;
      if (isTypes) {
        u.typeSignature = c.u64big();
        u.typeOffset = start + c.offset(offsetSize);
      }
    }
    if (u.addrSize !== 8 && u.addrSize !== 4) c.fail(`unsupported address size ${u.addrSize}`, start);
    if (u.typeSignature !== undefined && (u.typeOffset < c.pos || u.typeOffset >= end))
      c.fail(`type_offset outside its unit`, start);
    u.dieOffset = c.pos;
    const key = `${src.sections.file}:${u.abbrevOffset}:${u.version}:${u.addrSize}:${offsetSize}`;
    // A table is parsed here (its errors thrown in header order) unless the native addon has
    // parsed it without error: then JS parses it on first use, if ever (Unit.abbrevs).
    const abbrev = native && !abbrevCache.has(key) ? src.sections.get("abbrev") : undefined;
    const checked =
      !!abbrev && native!.checkAbbrevs(abbrev, u.abbrevOffset, u.version, u.addrSize, offsetSize);
    u.setAbbrevs(abbrevCache, key, !checked && !lazyKeys.has(key));
    if (checked) lazyKeys.add(key);
    out.push(u);
    c.end = buf.length;
    c.seek(end);
  }
  return out;
}
