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
import { StringTable } from "./string-table";

/** Every section's contents as the writer fills them. */
export class MetaSections {
  readonly strings = new StringTable();
  readonly types = new RecordBuffer(TYPE.size);
  readonly members = new RecordBuffer(MEMBER.size);
  readonly enumerators = new RecordBuffer(ENUMERATOR.size);
  readonly params: number[] = [];
  readonly statics = new RecordBuffer(STATIC.size);
  readonly frames = new RecordBuffer(FRAME.size);
  readonly frameVars = new RecordBuffer(FRAME_VAR.size);
  readonly sites = new RecordBuffer(SITE.size);

  /** The whole file: header (with `buildIdHex`, at most 20 bytes of it), then the sections. */
  assemble(buildIdHex: string): Buffer {
    const strBytes = this.strings.bytes();
    const records: (RecordBuffer | null)[] = [
      null,
      this.types,
      this.members,
      this.enumerators,
      null,
      this.statics,
      this.frames,
      this.frameVars,
      this.sites,
    ];
    const counts = records.map((r, s) =>
      r ? r.n : s === Section.STRINGS ? strBytes.length : this.params.length,
    );
    const offsets: number[] = [];
    let at = HEADER.size;
    for (let s = 0; s < NSECTIONS; s++) {
      at = (at + 7) & ~7;
      offsets.push(at);
      at += counts[s] * recordSize(s as Section);
    }
    const fileSize = (at + 7) & ~7;
    const buf = Buffer.alloc(fileSize);
    const id = Buffer.from(buildIdHex, "hex").subarray(0, 20);
    const header: Values = {
      magic: META_MAGIC,
      version: META_VERSION,
      header_size: HEADER.size,
      file_size: fileSize,
      build_id: id,
      build_id_len: id.length,
      flags: 0,
    };
    for (let s = 0; s < NSECTIONS; s++) {
      header[`sections[${s}].offset`] = offsets[s];
      header[`sections[${s}].count`] = counts[s];
    }
    writeRecord(buf, 0, HEADER, header);
    strBytes.copy(buf, offsets[Section.STRINGS]);
    for (let s = 0; s < NSECTIONS; s++) {
      const r = records[s];
      if (r) r.buf.copy(buf, offsets[s], 0, r.n * r.size);
    }
    const params = this.params;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    for (let i = 0, at = offsets[Section.PARAMS]; i < params.length; i++, at += 4) {
      const p = params[i];
      if (p >>> 0 === p) view.setUint32(at, p, true);
      else buf.writeUInt32LE(p, at); /* throws the RangeError it always did */
    }
    return buf;
  }
}
