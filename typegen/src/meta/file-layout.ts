// The metadata file being written, section by section, and its final layout: the header, then
// each section 8-byte aligned, in section order (docs/metadata-format.md).

import {
  ENUMERATOR,
  FRAME,
  FRAME_VAR,
  HEADER,
  MEMBER,
  META_MAGIC,
  META_VERSION,
  NSECTIONS,
  SITE,
  STATIC,
  Section,
  TYPE,
  Values,
  recordSize,
  writeRecord,
} from "./format";
import { RecordBuffer } from "./record-buffer";
import { OffsetSet, StringTable } from "./string-table";

/** Every section's contents as the writer fills them. */
export class MetaSections {
  readonly strings: StringTable;
  /** The names of the types written so far (FRAME types' included): each a type's name once. */
  readonly typeNames = new OffsetSet();
  readonly types = new RecordBuffer(TYPE.size);
  readonly members = new RecordBuffer(MEMBER.size);
  readonly enumerators = new RecordBuffer(ENUMERATOR.size);
  /** PARAMS: one u32 (a type index) per function type parameter. */
  readonly params = new RecordBuffer(4);
  readonly statics = new RecordBuffer(STATIC.size);
  readonly frames = new RecordBuffer(FRAME.size);
  readonly frameVars = new RecordBuffer(FRAME_VAR.size);
  readonly sites = new RecordBuffer(SITE.size);

  /** `prefixes`: the string table's (StringTable). */
  constructor(prefixes: readonly string[] = []) {
    this.strings = new StringTable(prefixes);
  }

  /** The whole file: header (with `buildIdHex`, at most 20 bytes of it), then the sections. */
  assemble(buildIdHex: string): Buffer {
    return Buffer.concat(this.chunks(buildIdHex));
  }

  /**
   * The whole file as consecutive pieces (`assemble` joins them): the header, each section's
   * bytes where the writer made them (no copy into one buffer: a file of 7 MB held twice at the
   * writer's peak), and the zeros aligning each section and the end.
   */
  chunks(buildIdHex: string): Buffer[] {
    const strBytes = this.strings.bytes();
    const records: (RecordBuffer | null)[] = [
      null,
      this.types,
      this.members,
      this.enumerators,
      this.params,
      this.statics,
      this.frames,
      this.frameVars,
      this.sites,
    ];
    const bodies = records.map((r) => (r ? r.buf.subarray(0, r.n * r.size) : strBytes));
    const counts = records.map((r) => (r ? r.n : strBytes.length));
    const header = Buffer.alloc(HEADER.size);
    const out: Buffer[] = [header];
    const offsets: number[] = [];
    let at = HEADER.size;
    for (let s = 0; s < NSECTIONS; s++) {
      const aligned = (at + 7) & ~7;
      if (aligned > at) out.push(Buffer.alloc(aligned - at));
      offsets.push(aligned);
      out.push(bodies[s]);
      at = aligned + counts[s] * recordSize(s as Section);
    }
    const fileSize = (at + 7) & ~7;
    if (fileSize > at) out.push(Buffer.alloc(fileSize - at));
    const id = Buffer.from(buildIdHex, "hex").subarray(0, 20);
    const values: Values = {
      magic: META_MAGIC,
      version: META_VERSION,
      header_size: HEADER.size,
      file_size: fileSize,
      build_id: id,
      build_id_len: id.length,
      flags: 0,
    };
    for (let s = 0; s < NSECTIONS; s++) {
      values[`sections[${s}].offset`] = offsets[s];
      values[`sections[${s}].count`] = counts[s];
    }
    writeRecord(header, 0, HEADER, values);
    return out;
  }
}
