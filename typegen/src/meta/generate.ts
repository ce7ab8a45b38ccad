// One metadata file for one binary: read its types (readTypes), add allocation-site types (from
// source when `sources` are given: typegen/src/sites/), write the file next to the binary, to
// an explicit path, or into the cache by build-id (docs/metadata-format.md, "Where the runtime
// looks"). Written to a temporary name and renamed, so a reader never sees half a file.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readTypes } from "../index";
import { SourceUnit, inferSourceSites } from "../sites/index";
import { META_SUFFIX } from "./format";
import { SiteTypes, writeMeta } from "./writer";

export interface GenerateOptions {
  out?: string;
  /** Write to ${XDG_CACHE_HOME:-~/.cache}/allocs/meta/BUILDID.allocsmeta. */
  cache?: boolean;
  /** C sources of the binary and their flags: allocation sites from source. */
  sources?: SourceUnit[];
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
  unknownSites: { where: string; callee: string; why: string }[];
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
  let unknown: GenerateResult["unknownSites"] = [];
  if (o.sources?.length) {
    stage("allocation sites", 0.7);
    const r = inferSourceSites(model, prog, o.sources);
    sites = [...sites, ...r.sites];
    unknown = r.unknown;
  }
  stage("writing", 0.9);
  const buf = writeMeta(model, sites);
  let out = o.out ?? prog + META_SUFFIX;
  if (o.cache) {
    if (!model.buildId)
      throw new Error(`${prog} has no build-id: the cache is keyed by build-id (use --out)`);
    out = path.join(cacheDir(), model.buildId + META_SUFFIX);
  }
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.tmp${process.pid}`;
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, out);
  stage("done", 1);
  return {
    out,
    bytes: buf.length,
    types: model.types.length,
    statics: model.statics.length + model.functions.length,
    frames: model.functions.length,
    sites: sites.length,
    unknownSites: unknown,
    buildId: model.buildId,
  };
}
