// ELF64 little-endian (x86-64) file: header, section headers with names, program headers, and
// section contents (decompressed when SHF_COMPRESSED). Bytes come from a buffer or straight from
// the file, range by range (byte-source.ts); every offset/size taken from the file is checked
// against its size before use.

import { Cursor, cstrAt } from "../bytes";
import { ByteSource, bufferSource, fileSource } from "./byte-source";
import { TypegenFormatError } from "../errors";
import { inflateElfSection, inflateZdebug } from "./compress";
import { ELFCLASS64, ELFDATA2LSB, SHF_COMPRESSED, SHF_EXECINSTR, SHN_XINDEX, SHT_NOBITS } from "./constants";

export interface ElfHeader {
  type: number;
  machine: number;
  version: number;
  entry: number;
  phoff: number;
  shoff: number;
  flags: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface SectionHeader {
  index: number;
  name: string;
  nameOffset: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

const EHDR = "ELF header";

export class ElfFile {
  readonly header: ElfHeader;
  readonly sections: SectionHeader[];
  readonly segments: ProgramHeader[];
  private readonly byName = new Map<string, SectionHeader>();
  private readonly dataCache = new Map<number, Buffer>();
  private readonly src: ByteSource;
  private whole: Buffer | undefined;
  /** The file's size in bytes. */
  readonly size: number;
  /** Read from the file at `path` (`open`), not from bytes in memory that only carry its name. */
  fromFile = false;

  /** The file at `path`, read lazily: headers now, each section's bytes when first asked for. */
  static open(path: string): ElfFile {
    let src: ByteSource;
    try {
      src = fileSource(path);
    } catch (e) {
      throw new TypegenFormatError(path, "file", 0, `cannot read: ${(e as Error).message}`);
    }
    const elf = new ElfFile(src, path);
    elf.fromFile = true;
    return elf;
  }

  /** An ELF image in memory (`buf`), or one read through a byte source. */
  constructor(
    source: Buffer | ByteSource,
    readonly path: string,
  ) {
    this.src = Buffer.isBuffer(source) ? bufferSource(source) : source;
    if (Buffer.isBuffer(source)) this.whole = source;
    this.size = this.src.size;
    const buf = this.bytes(0, Math.min(64, this.size));
    const c = new Cursor(buf, path, EHDR);
    c.need(64);
    if (buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46)
      c.fail("not an ELF file", 0);
    if (buf[4] !== ELFCLASS64) c.fail(`unsupported ELF class ${buf[4]} (only ELF64)`, 4);
    if (buf[5] !== ELFDATA2LSB) c.fail(`unsupported data encoding ${buf[5]} (only little-endian)`, 5);
    c.seek(16);
    const h: ElfHeader = {
      type: c.u16(),
      machine: c.u16(),
      version: c.u32(),
      entry: c.u64(),
      phoff: c.u64(),
      shoff: c.u64(),
      flags: c.u32(),
      phentsize: 0,
      phnum: 0,
      shentsize: 0,
      shnum: 0,
      shstrndx: 0,
    };
    c.u16(); // e_ehsize
    h.phentsize = c.u16();
    h.phnum = c.u16();
    h.shentsize = c.u16();
    h.shnum = c.u16();
    h.shstrndx = c.u16();
    this.header = h;
    this.sections = this.readSectionHeaders(h);
    this.segments = this.readProgramHeaders(h);
    for (const s of this.sections) if (s.name && !this.byName.has(s.name)) this.byName.set(s.name, s);
  }

  /** The whole file (read in full on first use when the file is read lazily). */
  get buf(): Buffer {
    return (this.whole ??= this.src.read(0, this.size));
  }

  /** `length` bytes at file offset `offset`; the range must lie inside the file. */
  bytes(offset: number, length: number): Buffer {
    if (!(offset >= 0 && length >= 0 && offset <= this.size && length <= this.size - offset))
      this.fail(
        "file",
        offset,
        `range [0x${offset.toString(16)}, +0x${length.toString(16)}) beyond end of file`,
      );
    return this.whole ? this.whole.subarray(offset, offset + length) : this.src.read(offset, length);
  }

  private fail(section: string, offset: number, detail: string): never {
    throw new TypegenFormatError(this.path, section, offset, detail);
  }

  private readSectionHeaders(h: ElfHeader): SectionHeader[] {
    if (h.shoff === 0) return [];
    if (h.shentsize !== 64) this.fail(EHDR, 58, `unexpected e_shentsize ${h.shentsize}`);
    let count = h.shnum;
    let strndx = h.shstrndx;
    if (h.shoff > this.size - 64) this.fail(EHDR, 40, `e_shoff 0x${h.shoff.toString(16)} beyond end of file`);
    // Extended numbering: more than 0xff00 sections put the real counts in section 0.
    const first = new Cursor(this.bytes(h.shoff, 64), this.path, "section headers", 0);
    if (count === 0) {
      first.seek(32);
      count = first.u64();
    }
    if (strndx === SHN_XINDEX) {
      first.seek(40);
      strndx = first.u32();
    }
    if (count > (this.size - h.shoff) / 64)
      this.fail(EHDR, 60, `${count} section headers do not fit in the file`);
    const c = new Cursor(this.bytes(h.shoff, count * 64), this.path, "section headers", 0);
    const out: SectionHeader[] = [];
    for (let i = 0; i < count; i++) {
      c.seek(i * 64);
      out.push({
        index: i,
        name: "",
        nameOffset: c.u32(),
        type: c.u32(),
        flags: c.u64(),
        addr: c.u64(),
        offset: c.u64(),
        size: c.u64(),
        link: c.u32(),
        info: c.u32(),
        addralign: c.u64(),
        entsize: c.u64(),
      });
    }
    if (count > 0) {
      const strtab = out[strndx];
      if (!strtab) this.fail(EHDR, 62, `e_shstrndx ${strndx} out of range`);
      const data = this.rawData(strtab);
      for (const s of out)
        s.name =
          s.nameOffset === 0 && data.length === 0 ? "" : cstrAt(data, s.nameOffset, this.path, ".shstrtab");
    }
    return out;
  }

  private readProgramHeaders(h: ElfHeader): ProgramHeader[] {
    if (h.phoff === 0 || h.phnum === 0) return [];
    if (h.phentsize !== 56) this.fail(EHDR, 54, `unexpected e_phentsize ${h.phentsize}`);
    if (h.phoff > this.size || h.phnum * 56 > this.size - h.phoff)
      this.fail(EHDR, 32, "program headers extend beyond end of file");
    const c = new Cursor(this.bytes(h.phoff, h.phnum * 56), this.path, "program headers", 0);
    const out: ProgramHeader[] = [];
    for (let i = 0; i < h.phnum; i++) {
      out.push({
        type: c.u32(),
        flags: c.u32(),
        offset: c.u64(),
        vaddr: c.u64(),
        paddr: c.u64(),
        filesz: c.u64(),
        memsz: c.u64(),
        align: c.u64(),
      });
    }
    return out;
  }

  section(name: string): SectionHeader | undefined {
    return this.byName.get(name);
  }

  /** The section's bytes as stored in the file (compressed if SHF_COMPRESSED; empty if NOBITS). */
  rawData(s: SectionHeader): Buffer {
    if (s.type === SHT_NOBITS) return Buffer.alloc(0);
    if (s.offset > this.size || s.size > this.size - s.offset)
      this.fail(
        s.name || `section ${s.index}`,
        0,
        `section data [0x${s.offset.toString(16)}, +0x${s.size.toString(16)}) beyond end of file`,
      );
    return this.bytes(s.offset, s.size);
  }

  /** The section's contents, decompressed if needed (cached). */
  data(s: SectionHeader): Buffer {
    const hit = this.dataCache.get(s.index);
    if (hit) return hit;
    const out = this.readData(s);
    this.dataCache.set(s.index, out);
    return out;
  }

  /**
   * The section's contents as `data` gives them, but not kept by this ElfFile unless they already
   * are: for a section read once per pass (.symtab and .strtab, ~1 MB on python3.11d or
   * PostgreSQL's backend), which the cache would otherwise hold for as long as the ElfFile lives
   * (the one that read the types lives until the metadata is written).
   */
  transientData(s: SectionHeader): Buffer {
    return this.dataCache.get(s.index) ?? this.readData(s);
  }

  private readData(s: SectionHeader): Buffer {
    const raw = this.rawData(s);
    if (s.flags & SHF_COMPRESSED) return inflateElfSection(raw, this.path, s.name);
    if (s.name.startsWith(".zdebug")) return inflateZdebug(raw, this.path, s.name);
    return raw;
  }

  /** Contents of a section by name; ".debug_x" also finds a legacy ".zdebug_x". */
  sectionData(name: string): Buffer | undefined {
    let s = this.byName.get(name);
    if (!s && name.startsWith(".debug_")) s = this.byName.get(".z" + name.slice(1));
    if (!s || s.type === SHT_NOBITS) return undefined;
    return this.data(s);
  }

  /** True when the file carries real DWARF (not NOBITS placeholders as in a stripped binary). */
  hasDwarf(): boolean {
    const s = this.byName.get(".debug_info") ?? this.byName.get(".zdebug_info");
    return !!s && s.type !== SHT_NOBITS && s.size > 0;
  }

  /** True when some executable section has its bytes in this file: a separate debug file's
   * `.text` is a NOBITS placeholder, so there is no code to find allocation calls in. */
  hasCode(): boolean {
    return this.sections.some((s) => s.flags & SHF_EXECINSTR && s.type !== SHT_NOBITS && s.size > 0);
  }
}
