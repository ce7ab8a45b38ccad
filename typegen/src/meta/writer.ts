// TypeModel (+ allocation-site types) -> the metadata file (docs/metadata-format.md): the
// model's types (type-records.ts), then one FRAME type per function (frame-records.ts), the
// statics and the sites, laid out by file-layout.ts. File type index i is model type id i;
// strings are deduplicated (string-table.ts); statics, frames and sites are sorted by address
// as the format requires.

import { TypeModel, TypeId } from "../model/types";
import {
  SITE,
  SITE_INLINED,
  SITE_SUBALLOC,
  SITE_WRAPPER,
  STATIC,
  STATIC_FUNCTION,
  STATIC_VARIABLE,
  META_NONE,
} from "./format";
import { MetaSections } from "./file-layout";
import { CfaSegments } from "./frame-vars";
import { FRAME_NAME_PREFIXES, writeFrames } from "./frame-records";
import { fieldsOf } from "./record-buffer";
import { typeRef, writeTypes } from "./type-records";

export type { CfaSegments } from "./frame-vars";

/**
 * One allocation site's type: the input the allocation-site analysis (typegen/src/sites/, or
 * later the DWARF-only inference) gives the writer. `vaddr` is the return address of the
 * allocating call (ELF virtual address), `type` a model type id, `flags` ALLOCS_SITE_*.
 */
export interface SiteType {
  vaddr: number;
  type: TypeId;
  flags: number;
}
export type SiteTypes = SiteType[];

const S_ = fieldsOf(STATIC);
const SI_ = fieldsOf(SITE);

export interface WriteOptions {
  /** Overrides the model's build-id (hex). */
  buildId?: string;
  /** The binary's CFA rules (.eh_frame, sites/cfi.ts): rsp-relative locations become
   * CFA-relative where the rule is "CFA = rsp + N" (clang without a frame pointer). */
  cfa?: CfaSegments;
}

export function writeMeta(model: TypeModel, sites: SiteTypes = [], o: WriteOptions = {}): Buffer {
  return Buffer.concat(writeMetaChunks(model, sites, o));
}

/** The file `writeMeta` makes, as consecutive pieces (to write without joining them). */
export function writeMetaChunks(model: TypeModel, sites: SiteTypes = [], o: WriteOptions = {}): Buffer[] {
  const out = new MetaSections(FRAME_NAME_PREFIXES);
  const nModel = model.types.length;
  const ref = typeRef(model);
  const fns = model.functions.filter((f) => f.highPc > f.lowPc);
  // The records whose number is known before writing (a FRAME type per function at most).
  out.types.reserve(nModel + fns.length);
  out.frames.reserve(fns.length);
  out.statics.reserve(model.statics.length + fns.length);
  out.sites.reserve(sites.length);
  writeTypes(model, out);

  // Statics: variables (TLS ones have no address) and functions, sorted by address.
  // `nameOff`: the name's string offset when known (a function's, from its frame), else -1.
  const statics: {
    vaddr: number;
    size: number;
    name: string;
    nameOff: number;
    type: number;
    kind: number;
  }[] = [];
  const mStatics = model.statics;
  for (let i = 0; i < mStatics.length; i++) {
    const s = mStatics[i];
    if (s.tls) continue;
    statics.push({
      vaddr: s.addr,
      size: s.size ?? model.types[s.type]?.byteSize ?? 0,
      name: s.name,
      nameOff: -1,
      type: ref(s.type),
      kind: STATIC_VARIABLE,
    });
  }
  const fnStatics = fns.map((f) => ({
    vaddr: f.lowPc,
    size: f.highPc - f.lowPc,
    name: f.name,
    nameOff: -1,
    type: ref(f.type),
    kind: STATIC_FUNCTION,
  }));
  for (let i = 0; i < fnStatics.length; i++) statics.push(fnStatics[i]);
  statics.sort(
    (a, b) => a.vaddr - b.vaddr || a.kind - b.kind || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );

  const fnNameOffs = writeFrames(fns, out, ref, o.cfa);
  for (let i = 0; i < fns.length; i++) fnStatics[i].nameOff = fnNameOffs[i];

  // A WRAPPER, INLINED or SUBALLOC record may have no type (META_NONE): it still says where
  // the site is.
  const siteRecs = [...sites]
    .filter(
      (s) =>
        (s.type >= 0 && s.type < nModel) ||
        (s.type === -1 && s.flags & (SITE_WRAPPER | SITE_INLINED | SITE_SUBALLOC)),
    )
    .map((s) => (s.type === -1 ? { ...s, type: META_NONE } : s))
    .sort((a, b) => a.vaddr - b.vaddr)
    .filter((s, i, a) => i === 0 || a[i - 1].vaddr !== s.vaddr);

  const { strings, statics: staticRecs, sites: siteOut } = out;
  for (let i = 0; i < statics.length; i++) {
    const s = statics[i];
    const at = staticRecs.add();
    staticRecs.u64(at + S_.vaddr, s.vaddr);
    staticRecs.u64(at + S_.size, s.size);
    staticRecs.u32(at + S_.name, s.nameOff >= 0 ? s.nameOff : strings.add(s.name));
    staticRecs.u32(at + S_.type, s.type);
    staticRecs.u32(at + S_.kind, s.kind);
  }
  for (let i = 0; i < siteRecs.length; i++) {
    const s = siteRecs[i];
    const at = siteOut.add();
    siteOut.u64(at + SI_.vaddr, s.vaddr);
    siteOut.u32(at + SI_.type, s.type);
    siteOut.u32(at + SI_.flags, s.flags);
  }
  return out.chunks(o.buildId ?? model.buildId ?? "");
}
