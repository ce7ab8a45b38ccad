// ELF notes (SHT_NOTE sections, or PT_NOTE segments when sections are stripped) and the GNU
// build-id, which keys separate debug files and typegen's metadata.

import { Cursor } from "../bytes";
import { NT_GNU_BUILD_ID, PT_NOTE, SHT_NOTE } from "./constants";
import { ElfFile } from "./elf-file";

export interface ElfNote {
  name: string;
  type: number;
  desc: Buffer;
  /** Section or segment it came from. */
  where: string;
}

/** Parses one note area. Alignment is 4 bytes except for 8-aligned areas (GNU property notes). */
export function parseNotes(buf: Buffer, file: string, where: string, align: number): ElfNote[] {
  const a = align === 8 ? 8 : 4;
  const c = new Cursor(buf, file, where);
  const out: ElfNote[] = [];
  while (c.end - c.pos >= 12) {
    const namesz = c.u32();
    const descsz = c.u32();
    const type = c.u32();
    const nameBytes = c.bytes(namesz);
    c.seek(Math.min(c.end, alignUp(c.pos, a)));
    const desc = c.bytes(descsz);
    c.seek(Math.min(c.end, alignUp(c.pos, a)));
    const nul = nameBytes.indexOf(0);
    out.push({ name: nameBytes.toString("latin1", 0, nul < 0 ? namesz : nul), type, desc, where });
  }
  return out;
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** All notes of the file, from note sections if present, else from PT_NOTE segments. */
export function readNotes(elf: ElfFile): ElfNote[] {
  const out: ElfNote[] = [];
  const noteSections = elf.sections.filter((s) => s.type === SHT_NOTE);
  if (noteSections.length > 0) {
    for (const s of noteSections) out.push(...parseNotes(elf.rawData(s), elf.path, s.name, s.addralign));
    return out;
  }
  for (const p of elf.segments) {
    if (p.type !== PT_NOTE) continue;
    if (p.offset > elf.size || p.filesz > elf.size - p.offset) continue;
    out.push(...parseNotes(elf.bytes(p.offset, p.filesz), elf.path, "PT_NOTE", p.align));
  }
  return out;
}

/** The NT_GNU_BUILD_ID as lowercase hex, or undefined. */
export function buildId(elf: ElfFile): string | undefined {
  for (const n of readNotes(elf))
    if (n.name === "GNU" && n.type === NT_GNU_BUILD_ID) return n.desc.toString("hex");
  return undefined;
}
