// OBJECT.allocsites: the source analysis of one object file, written by `allocs cc -c` next to
// the object and read back at link time (docs/metadata-format.md, "Allocation-site sidecars").
// JSON, keyed by "FILE:LINE:COLUMN" of each allocation call (FILE absolute):
//
//   { "format": "allocs-sites", "version": 1,
//     "sites": { "/src/a.c:12:20": { "callee": "malloc", "kind": "array", "type": "struct s" } } }
//
// `kind` is single | array | trailing | offsetof | bytes | unknown with `type` (a C spelling),
// `alt` (its desugared spelling), `value` (bytes: a constant size), `receiver` (bytes: the
// pointee the result is converted to) and `why` (unknown). Reading is defensive: a sidecar that
// does not parse or has the wrong shape is ignored with a reason, never trusted half-way.

import * as fs from "node:fs";
import * as path from "node:path";
import { SizeClass, SourceCall } from "./source";

export const SIDECAR_SUFFIX = ".allocsites";
export const SIDECAR_FORMAT = "allocs-sites";
export const SIDECAR_VERSION = 1;

interface SiteEntry {
  callee: string;
  kind: string;
  type?: string;
  alt?: string;
  value?: number;
  receiver?: string;
  why?: string;
}

export function sidecarPath(object: string): string {
  return object + SIDECAR_SUFFIX;
}

export function encodeSidecar(calls: SourceCall[]): string {
  const sites: Record<string, SiteEntry> = {};
  for (const c of calls)
    sites[`${path.resolve(c.file)}:${c.line}:${c.col}`] = { callee: c.callee, ...c.size };
  return JSON.stringify({ format: SIDECAR_FORMAT, version: SIDECAR_VERSION, sites }, null, 1) + "\n";
}

/** Writes atomically (temporary name, then rename): a parallel make never sees half a file. */
export function writeSidecar(object: string, calls: SourceCall[]): void {
  const out = sidecarPath(object);
  const tmp = `${out}.tmp${process.pid}`;
  fs.writeFileSync(tmp, encodeSidecar(calls));
  fs.renameSync(tmp, out);
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function toSize(e: Record<string, unknown>): SizeClass | undefined {
  const kind = str(e.kind);
  const type = str(e.type);
  switch (kind) {
    case "single":
    case "array":
    case "trailing":
    case "offsetof":
      return type ? { kind, type, alt: str(e.alt) } : undefined;
    case "bytes": {
      const value = typeof e.value === "number" && Number.isSafeInteger(e.value) ? e.value : undefined;
      return { kind, value, receiver: str(e.receiver) };
    }
    case "unknown":
      return { kind, why: str(e.why) ?? "unknown" };
    default:
      return undefined;
  }
}

/** The calls a sidecar records; throws an Error saying why when it is not a valid sidecar. */
export function decodeSidecar(text: string, name = "sidecar"): SourceCall[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON (${(e as Error).message})`);
  }
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== "object" || o.format !== SIDECAR_FORMAT)
    throw new Error(`${name}: not an allocs-sites file`);
  if (o.version !== SIDECAR_VERSION) throw new Error(`${name}: version ${String(o.version)} not supported`);
  const sites = o.sites;
  if (!sites || typeof sites !== "object") throw new Error(`${name}: no sites`);
  const out: SourceCall[] = [];
  for (const [key, v] of Object.entries(sites as Record<string, unknown>)) {
    const m = /^(.+):(\d+):(\d+)$/.exec(key);
    const e = v as Record<string, unknown>;
    const callee = e && typeof e === "object" ? str(e.callee) : undefined;
    const size = callee ? toSize(e) : undefined;
    if (!m || !callee || !size) throw new Error(`${name}: bad entry ${JSON.stringify(key)}`);
    out.push({ file: m[1], line: Number(m[2]), col: Number(m[3]), callee, size });
  }
  return out;
}

export function readSidecar(object: string): SourceCall[] | undefined {
  const p = sidecarPath(object);
  let text: string;
  try {
    text = fs.readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
  return decodeSidecar(text, p);
}

/** Member names of an ar archive (GNU and BSD-less SysV formats; thin archives too). */
export function archiveMembers(file: string): string[] {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch {
    return [];
  }
  const magic = b.subarray(0, 8).toString("latin1");
  if (magic !== "!<arch>\n" && magic !== "!<thin>\n") return [];
  const thin = magic === "!<thin>\n";
  const out: string[] = [];
  let longNames = "";
  let o = 8;
  while (o + 60 <= b.length) {
    const name = b
      .subarray(o, o + 16)
      .toString("latin1")
      .trimEnd();
    const size = Number(
      b
        .subarray(o + 48, o + 58)
        .toString("latin1")
        .trim(),
    );
    if (!Number.isSafeInteger(size) || size < 0) break;
    const data = o + 60;
    if (name === "//") longNames = b.subarray(data, Math.min(b.length, data + size)).toString("latin1");
    else if (name === "/" || name === "/SYM64/" || name === "__.SYMDEF") {
      /* symbol table */
    } else if (/^\/\d+$/.test(name)) {
      const at = Number(name.slice(1));
      const end = longNames.indexOf("/\n", at);
      if (end > at) out.push(longNames.slice(at, end));
    } else out.push(name.replace(/\/$/, ""));
    // Thin archives hold no member data, except the symbol and name tables.
    const skip = thin && name !== "/" && name !== "//" && name !== "/SYM64/" ? 0 : size;
    o = data + skip + ((data + skip) & 1);
  }
  return out;
}

/** The sidecars of a link's inputs: OBJECT.allocsites of each object, and for an archive the
 * sidecars of its members found next to the archive (where a Makefile usually builds them). */
export function gatherSidecars(inputs: string[], warn: (m: string) => void): SourceCall[] {
  const out: SourceCall[] = [];
  const seen = new Set<string>();
  const take = (object: string): void => {
    const k = path.resolve(object);
    if (seen.has(k)) return;
    seen.add(k);
    try {
      const c = readSidecar(object);
      if (c) out.push(...c);
    } catch (e) {
      warn((e as Error).message);
    }
  };
  for (const f of inputs) {
    if (f.endsWith(".a")) {
      for (const m of archiveMembers(f)) take(path.isAbsolute(m) ? m : path.join(path.dirname(f), m));
    } else take(f);
  }
  return out;
}
