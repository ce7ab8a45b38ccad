// The DWARF sections of one ELF file, decompressed on first use. A missing section is an empty
// buffer so readers can bounds-check uniformly (any offset into it is an error naming it).

import { cstrAt } from "../bytes";
import { ElfFile } from "../elf/elf-file";

const NAMES = [
  "info",
  "abbrev",
  "str",
  "str_offsets",
  "addr",
  "line",
  "line_str",
  "ranges",
  "rnglists",
  "loc",
  "loclists",
  "types",
] as const;
export type DwarfSectionName = (typeof NAMES)[number];

const EMPTY = Buffer.alloc(0);

export class DwarfSections {
  private readonly cache = new Map<DwarfSectionName, Buffer>();
  /**
   * Strings of .debug_str, decoded once: the same few thousand names recur in every unit.
   * `strSlot[off]` is 1 + the string's index in `strings` (0: not decoded yet); a typed array
   * indexed by offset is several times faster than a Map on this, the hottest lookup.
   */
  private strSlot: Int32Array | undefined;
  private readonly strings: string[] = [];

  constructor(readonly elf: ElfFile) {}

  get file(): string {
    return this.elf.path;
  }

  get(name: DwarfSectionName): Buffer {
    let b = this.cache.get(name);
    if (!b) {
      b = this.elf.sectionData(".debug_" + name) ?? EMPTY;
      this.cache.set(name, b);
    }
    return b;
  }

  has(name: DwarfSectionName): boolean {
    return this.get(name).length > 0;
  }

  /** A string from .debug_str. */
  str(off: number): string {
    let slots = this.strSlot;
    if (!slots) slots = this.strSlot = new Int32Array(this.get("str").length);
    if (off >= 0 && off < slots.length) {
      const k = slots[off];
      if (k > 0) return this.strings[k - 1];
    }
    const s = cstrAt(this.get("str"), off, this.file, ".debug_str");
    slots[off] = this.strings.push(s);
    return s;
  }

  /** .debug_str itself, and whether every offset inside it starts a terminated string. */
  get strBytes(): Buffer {
    return (this.strBuf ??= this.get("str"));
  }
  get strTerminated(): boolean {
    const b = this.strBytes;
    return b.length > 0 && b[b.length - 1] === 0;
  }
  private strBuf: Buffer | undefined;

  /** A string from .debug_line_str. */
  lineStr(off: number): string {
    return cstrAt(this.get("line_str"), off, this.file, ".debug_line_str");
  }
}

export const ALL_DWARF_SECTIONS = NAMES;
