// One metadata file for one binary: read its types (readTypes), add allocation-site types (from
// source when `sources` are given: typegen/src/sites/), write the file next to the binary, to
// an explicit path, or into the cache by build-id (docs/metadata-format.md, "Where the runtime
// looks"). Written to a temporary name and renamed, so a reader never sees half a file.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ElfFile } from "../elf/elf-file";
import { readTypes } from "../index";
import { SiteReport, SourceUnit, UnknownSite, analyseUnits, matchSourceSites } from "../sites/index";
import { inferDwarfSites } from "../sites/dwarf-route";
import { SUBFNS_SUFFIX, suballocKeyFor } from "./ensure";
import { SourceCall } from "../sites/source";
import { META_SUFFIX, SITE_INLINED, SITE_WRAPPER, siteFlagsWithArg } from "./format";
import { SiteTypes, writeMetaChunks } from "./writer";
import { CfaRules } from "../sites/cfi";

export interface GenerateOptions {
  out?: string;
  /** Write to ${XDG_CACHE_HOME:-~/.cache}/allocs/meta/BUILDID.allocsmeta. */
  cache?: boolean;
  /** C sources of the binary and their flags: allocation sites from source. */
  sources?: SourceUnit[];
  /** Analysed source calls (from OBJECT.allocsites sidecars): matched like `sources`. */
  calls?: SourceCall[];
  /** Type the sites the source route did not from DWARF alone (GUESSED); default true. */
  dwarfSites?: boolean;
  /** More site types (another analysis). */
  sites?: SiteTypes;
  onStage?: (stage: string, fraction: number) => void;
}

export interface GenerateResult {
  out: string;
  bytes: number;
  types: number;
  statics: number;
  frames: number;
  sites: number;
  /** Allocation calls found in the binary, and how many of them the DWARF route guessed. */
  allocCalls: number;
  guessedSites: number;
  /** Source-route sites left unknown, then DWARF-route ones (`function` set). */
  unknownSites: UnknownSite[];
  buildId?: string;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache");
  return path.join(base, "allocs", "meta");
}

export function generateMeta(prog: string, o: GenerateOptions = {}): GenerateResult {
  const stage = o.onStage ?? (() => {});
  stage("reading DWARF", 0);
  const model = readTypes(prog);
  let sites: SiteTypes = [...(o.sites ?? [])];
  let unknown: UnknownSite[] = [];
  let allocCalls = 0;
  let guessed = 0;
  const calls = [...(o.calls ?? []), ...(o.sources?.length ? analyseUnits(o.sources) : [])];
  if (calls.length) {
    stage("allocation sites", 0.7);
    const r = matchSourceSites(model, prog, calls);
    sites = [...sites, ...r.sites];
    unknown = r.unknown;
    allocCalls = r.calls ?? 0;
  }
  // A separate debug file has DWARF but no code: there are no calls to find (and looking costs
  // a third of the run on libc's debug file).
  if (o.dwarfSites !== false && ElfFile.open(prog).hasCode()) {
    stage("allocation sites (DWARF)", 0.8);
    const skip = new Set(sites.map((s) => s.vaddr));
    let r: SiteReport;
    try {
      r = inferDwarfSites(model, prog, { skip });
    } catch (e) {
      // A guess is never worth losing the types: the sites stay unknown.
      r = {
        sites: [],
        unknown: [
          { where: prog, callee: "*", why: `DWARF route failed: ${(e as Error).message}`, route: "dwarf" },
        ],
      };
    }
    // Source-route sites in inlined wrappers get their call line too.
    for (const site of sites) {
      const arg = r.inlined?.get(site.vaddr);
      if (arg !== undefined && !(site.flags & (SITE_WRAPPER | SITE_INLINED)))
        site.flags = siteFlagsWithArg(site.flags | SITE_INLINED, arg);
    }
    sites = [...sites, ...r.sites];
    guessed = r.sites.length;
    if (!calls.length) unknown = r.unknown;
    else unknown.push(...r.unknown.filter((u) => !unknown.some((k) => k.where.startsWith(u.where + ":"))));
    allocCalls = Math.max(allocCalls, r.calls ?? 0);
  }
  stage("writing", 0.9);
  // No full collection of the site analysis's leftovers before writing (there was one until
  // issue 16's sixth round): it kept ~33 MB off the peak RSS on PostgreSQL's backend (~187 ->
  // ~220 MB without it, still two thirds of pahole's) for 2-4% of the run's CPU (issue 16).
  let cfa: CfaRules | undefined;
  try {
    cfa = new CfaRules(ElfFile.open(prog));
  } catch {
    cfa = undefined; // no .eh_frame to read: rsp-relative locals stay out of the frames
  }
  // The file's pieces are written as they are (writev), not joined into one buffer first.
  const chunks = writeMetaChunks(model, sites, { cfa: cfa && ((pc) => (cfa as CfaRules).segments(pc)) });
  let bytes = 0;
  for (const c of chunks) bytes += c.length;
  let out = o.out ?? prog + META_SUFFIX;
  if (o.cache) {
    if (!model.buildId)
      throw new Error(`${prog} has no build-id: the cache is keyed by build-id (use --out)`);
    out = path.join(cacheDir(), model.buildId + META_SUFFIX);
  }
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.tmp${process.pid}`;
  writeChunks(tmp, chunks);
  fs.renameSync(tmp, out);
  // The suballocator declarations it was made with, for zero setup's cache check (ensure.ts).
  const subKey = suballocKeyFor(ElfFile.open(prog));
  if (subKey) fs.writeFileSync(out + SUBFNS_SUFFIX, subKey + "\n");
  else fs.rmSync(out + SUBFNS_SUFFIX, { force: true });
  stage("done", 1);
  return {
    out,
    bytes,
    types: model.types.length,
    statics: model.statics.length + model.functions.length,
    frames: model.functions.length,
    sites: sites.length,
    allocCalls,
    guessedSites: guessed,
    unknownSites: unknown,
    buildId: model.buildId,
  };
}

/** Writes `chunks`, in order, as file `file` (created or truncated). */
function writeChunks(file: string, chunks: Buffer[]): void {
  const fd = fs.openSync(file, "w");
  try {
    const left = chunks.filter((c) => c.length > 0);
    while (left.length > 0) {
      // writev may write less than asked (and takes at most IOV_MAX pieces): go on from there.
      let n = fs.writevSync(fd, left.slice(0, 512));
      while (n > 0 && n >= left[0].length) n -= left.shift()!.length;
      if (n > 0) left[0] = left[0].subarray(n);
    }
  } finally {
    fs.closeSync(fd);
  }
}
