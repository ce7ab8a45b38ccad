// The line-number program (.debug_line, versions 2-5): header (with DWARF 5 entry formats for
// directories and files), then the state machine, producing rows in typed arrays. `lookup(pc)`
// maps an address to file:line.

import { cstrAt, Cursor, grownF64, grownU8 } from "../bytes";
import { DW_FORM, DW_LNCT, DW_LNE, DW_LNS } from "./constants";
import { DwarfSections } from "./sections";
import * as path from "node:path";

export interface LineRow {
  address: number;
  file: number;
  line: number;
  column: number;
  isStmt: boolean;
  endSequence: boolean;
}

/** Rows a table makes room for at least (grown by doubling). */
const MIN_ROWS = 16;

/** A file entry. A DWARF 5 name in .debug_line_str or .debug_str is decoded when first asked
 * for (`strAt`, its offset, checked when read; `strForm` its form): a unit's table names ~10^2
 * files and a lookup wants one. */
export interface FileEntry {
  name?: string;
  strAt?: number;
  strForm?: number;
  dir: number;
}

export class LineTable {
  version = 0;
  dirs: string[] = [];
  /** File entries: in DWARF 5, index 0 is the primary file; in 2-4, index 1 is the first. */
  files: FileEntry[] = [];
  /** Where a file name given as a string offset (`FileEntry.strAt`) is read. */
  strings?: DwarfSections;
  /** The rows as columns, valid up to `length` (typed arrays: a large program's tables read by
   * the site analysis hold ~10^6 rows). */
  addresses: Float64Array<ArrayBuffer>;
  lines: Float64Array<ArrayBuffer>;
  columns: Float64Array<ArrayBuffer>;
  fileIdx: Float64Array<ArrayBuffer>;
  /** bit 0: is_stmt, bit 1: end_sequence */
  flags: Uint8Array<ArrayBuffer>;
  length = 0;

  /** `rows`: room for this many rows first (more is made as needed). */
  constructor(rows = MIN_ROWS) {
    const n = Math.max(MIN_ROWS, rows);
    this.addresses = new Float64Array(n);
    this.lines = new Float64Array(n);
    this.columns = new Float64Array(n);
    this.fileIdx = new Float64Array(n);
    this.flags = new Uint8Array(n);
  }

  /** Appends a row. */
  push(address: number, file: number, line: number, column: number, flags: number): void {
    const i = this.length;
    if (i === this.flags.length) this.grow();
    this.addresses[i] = address;
    this.lines[i] = line;
    this.columns[i] = column;
    this.fileIdx[i] = file;
    this.flags[i] = flags;
    this.length = i + 1;
  }

  private grow(): void {
    const cap = this.flags.length * 2;
    this.addresses = grownF64(this.addresses, cap);
    this.lines = grownF64(this.lines, cap);
    this.columns = grownF64(this.columns, cap);
    this.fileIdx = grownF64(this.fileIdx, cap);
    this.flags = grownU8(this.flags, cap);
  }

  row(i: number): LineRow {
    return {
      address: this.addresses[i],
      file: this.fileIdx[i],
      line: this.lines[i],
      column: this.columns[i],
      isStmt: (this.flags[i] & 1) !== 0,
      endSequence: (this.flags[i] & 2) !== 0,
    };
  }

  /** Full path of file entry `i` (relative to the compilation directory if not absolute). */
  fileName(i: number): string | undefined {
    const f = this.files[i];
    if (!f) return undefined;
    if (f.name === undefined) f.name = entryString(this.strings!, f.strForm!, f.strAt!);
    const dir = this.dirs[f.dir] ?? "";
    const name = f.name;
    return path.isAbsolute(name) || !dir ? name : path.posix.join(dir, name);
  }

  /** The row covering `pc`: the last row with address <= pc within a sequence. */
  lookup(pc: number): { file: string | undefined; line: number; column: number } | undefined {
    let best = -1;
    for (let i = 0; i < this.length; i++) {
      if (this.flags[i] & 2) {
        if (best >= 0 && pc < this.addresses[i]) break;
        best = -1;
        continue;
      }
      if (this.addresses[i] <= pc && (best < 0 || this.addresses[i] >= this.addresses[best])) best = i;
    }
    if (best < 0) return undefined;
    return { file: this.fileName(this.fileIdx[best]), line: this.lines[best], column: this.columns[best] };
  }
}

/** Reads the line program at `offset` in .debug_line. `addrSize` comes from the unit (DWARF < 5). */
export function readLineTable(secs: DwarfSections, offset: number, addrSize: number): LineTable {
  const buf = secs.get("line");
  const c = new Cursor(buf, secs.file, ".debug_line");
  c.seek(offset);
  const start = c.pos;
  let unitLength = c.u32();
  let offSize = 4;
  if (unitLength === 0xffffffff) {
    unitLength = c.u64();
    offSize = 8;
  }
  const end = c.pos + unitLength;
  if (end > buf.length) c.fail("line program length runs past the section end", start);
  c.end = end;
  // About one row per four bytes of a program (gcc's and clang's: at most one per two).
  const t = new LineTable((end - c.pos) >> 2);
  t.version = c.u16();
  if (t.version < 2 || t.version > 5) c.fail(`unsupported line table version ${t.version}`, start);
  if (t.version >= 5) {
    addrSize = c.u8();
    c.u8(); // segment selector size
  }
  const headerLength = c.offset(offSize);
  const progStart = c.pos + headerLength;
  if (progStart > end) c.fail("header_length runs past the line program", start);
  const minInst = c.u8();
  const maxOps = t.version >= 4 ? c.u8() : 1;
  const defaultIsStmt = c.u8() !== 0;
  const lineBase = c.i8();
  const lineRange = c.u8();
  const opcodeBase = c.u8();
  if (lineRange === 0) c.fail("line_range is 0", start);
  if (maxOps !== 1)
    c.fail("VLIW line tables (maximum_operations_per_instruction > 1) are not supported", start);
  const stdLens: number[] = [0];
  for (let i = 1; i < opcodeBase; i++) stdLens.push(c.u8());

  if (t.version >= 5) {
    readEntries(c, secs, offSize, false, (e) => t.dirs.push(e.path ?? ""));
    readEntries(c, secs, offSize, true, (e) =>
      t.files.push(
        e.path !== undefined
          ? { name: e.path, dir: e.dir }
          : { strAt: e.strAt, strForm: e.strForm, dir: e.dir },
      ),
    );
    t.strings = secs;
  } else {
    t.dirs.push(""); // index 0 is the compilation directory
    for (;;) {
      const d = c.cstr();
      if (!d) break;
      t.dirs.push(d);
    }
    t.files.push({ name: "", dir: 0 });
    for (;;) {
      const name = c.cstr();
      if (!name) break;
      const dir = c.uleb();
      c.skipLeb();
      c.skipLeb();
      t.files.push({ name, dir });
    }
  }

  c.seek(progStart);
  runProgram(c, t, end, { minInst, defaultIsStmt, lineBase, lineRange, opcodeBase, addrSize, stdLens });
  return t;
}

interface ProgramHeader {
  minInst: number;
  defaultIsStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  addrSize: number;
  stdLens: number[];
}

/** Runs the line-number program from c.pos to `end`, appending t's rows. The special opcodes
 * (most of a program) are read straight from the buffer; every other opcode reads its operands
 * through the bounds-checked cursor. */
function runProgram(c: Cursor, t: LineTable, end: number, h: ProgramHeader): void {
  const { minInst, defaultIsStmt, lineBase, lineRange, opcodeBase, addrSize, stdLens } = h;
  const buf = c.buf;
  let address = 0;
  let file = 1;
  let line = 1;
  let column = 0;
  let isStmt = defaultIsStmt;
  let pos = c.pos;
  while (pos < end) {
    const op = buf[pos++];
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      address += Math.floor(adj / lineRange) * minInst;
      line += lineBase + (adj % lineRange);
      t.push(address, file, line, column, isStmt ? 1 : 0);
      continue;
    }
    c.pos = pos;
    if (op === 0) {
      const len = c.uleb();
      const next = c.pos + len;
      if (len === 0 || next > end) c.fail("bad extended opcode length", c.pos - 1);
      const sub = c.u8();
      if (sub === DW_LNE.end_sequence) {
        t.push(address, file, line, column, (isStmt ? 1 : 0) | 2);
        address = 0;
        file = 1;
        line = 1;
        column = 0;
        isStmt = defaultIsStmt;
      } else if (sub === DW_LNE.set_address) {
        address = c.addr(len - 1 === 8 || len - 1 === 4 ? len - 1 : addrSize);
      } else if (sub === DW_LNE.define_file) {
        const name = c.cstr();
        const dir = c.uleb();
        t.files.push({ name, dir });
      }
      c.seek(next);
    } else {
      switch (op) {
        case DW_LNS.copy:
          t.push(address, file, line, column, isStmt ? 1 : 0);
          break;
        case DW_LNS.advance_pc:
          address += c.uleb() * minInst;
          break;
        case DW_LNS.advance_line:
          line += c.sleb();
          break;
        case DW_LNS.set_file:
          file = c.uleb();
          break;
        case DW_LNS.set_column:
          column = c.uleb();
          break;
        case DW_LNS.negate_stmt:
          isStmt = !isStmt;
          break;
        case DW_LNS.set_basic_block:
        case DW_LNS.set_prologue_end:
        case DW_LNS.set_epilogue_begin:
          break;
        case DW_LNS.const_add_pc:
          address += Math.floor((255 - opcodeBase) / lineRange) * minInst;
          break;
        case DW_LNS.fixed_advance_pc:
          address += c.u16();
          break;
        case DW_LNS.set_isa:
          c.skipLeb();
          break;
        default:
          // Unknown standard opcode: skip its declared number of LEB128 operands.
          for (let i = 0; i < stdLens[op]; i++) c.skipLeb();
      }
    }
    pos = c.pos;
  }
}

interface Entry {
  /** The path, or undefined when it is at `strAt` (lazy entries only). */
  path?: string;
  strAt?: number;
  strForm?: number;
  dir: number;
}

/** The string a DW_FORM_line_strp or DW_FORM_strp entry names. */
function entryString(secs: DwarfSections, form: number, off: number): string {
  return form === DW_FORM.line_strp ? secs.lineStr(off) : secs.str(off);
}

/** Fails as reading the string at `off` would, without decoding it. */
function checkEntryString(secs: DwarfSections, form: number, off: number): void {
  const line = form === DW_FORM.line_strp;
  const buf = secs.get(line ? "line_str" : "str");
  if (off >= 0 && off < buf.length && (buf[buf.length - 1] === 0 || buf.indexOf(0, off) >= 0)) return;
  cstrAt(buf, off, secs.file, line ? ".debug_line_str" : ".debug_str");
}

/** DWARF 5 directory/file entry lists: a format (content type, form) list then the entries.
 * With `lazy`, a path given as a string offset is checked, not decoded (FileEntry.strAt). */
function readEntries(
  c: Cursor,
  secs: DwarfSections,
  offSize: number,
  lazy: boolean,
  add: (e: Entry) => void,
): void {
  const nfmt = c.u8();
  const fmt: number[] = [];
  for (let i = 0; i < nfmt; i++) fmt.push(c.uleb(), c.uleb());
  const count = c.uleb();
  if (count > c.end - c.pos) c.fail(`implausible entry count ${count}`);
  for (let n = 0; n < count; n++) {
    const e: Entry = { path: "", dir: 0 };
    for (let i = 0; i < fmt.length; i += 2) {
      const type = fmt[i];
      const form = fmt[i + 1];
      let num = 0;
      let str: string | undefined;
      let strAt = -1; // a path left to decode later
      switch (form) {
        case DW_FORM.string:
          str = c.cstr();
          break;
        case DW_FORM.line_strp:
        case DW_FORM.strp: {
          const off = c.offset(offSize);
          if (lazy && type === DW_LNCT.path) checkEntryString(secs, form, (strAt = off));
          else str = entryString(secs, form, off);
          break;
        }
        case DW_FORM.udata:
          num = c.uleb();
          break;
        case DW_FORM.data1:
          num = c.u8();
          break;
        case DW_FORM.data2:
          num = c.u16();
          break;
        case DW_FORM.data4:
          num = c.u32();
          break;
        case DW_FORM.data8:
          num = c.u64();
          break;
        case DW_FORM.data16:
          c.skip(16);
          break;
        case DW_FORM.block:
          c.skip(c.uleb());
          break;
        default:
          c.fail(`unsupported form 0x${form.toString(16)} in line table entry format`);
      }
      if (type === DW_LNCT.path && str !== undefined) {
        e.path = str;
        e.strAt = undefined;
      } else if (strAt >= 0) {
        e.path = undefined;
        e.strAt = strAt;
        e.strForm = form;
      } else if (type === DW_LNCT.directory_index) e.dir = num;
    }
    add(e);
  }
}
