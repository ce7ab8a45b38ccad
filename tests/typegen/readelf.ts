// Parsers for the parts of `readelf` output the tests compare against.

import { run } from "./helpers";

export interface RefDie {
  section: string;
  offset: number;
  depth: number;
  tag: string;
  attrs: Map<string, string>;
}

/** Every DIE printed by `readelf --debug-dump=info` (and .debug_types, if present). */
export function readelfDies(file: string): RefDie[] {
  const text = run("readelf", ["--debug-dump=info", "-W", file]);
  const out: RefDie[] = [];
  let section = ".debug_info";
  let cur: RefDie | undefined;
  for (const line of text.split("\n")) {
    const sec = /^Contents of the (\.debug_\w+) section/.exec(line);
    if (sec) {
      section = sec[1];
      continue;
    }
    const die = /^\s*<(\d+)><([0-9a-f]+)>: Abbrev Number: (\d+)(?: \((\w+)\))?/.exec(line);
    if (die) {
      cur = undefined;
      if (die[3] === "0") continue;
      cur = { section, offset: parseInt(die[2], 16), depth: +die[1], tag: die[4] ?? "?", attrs: new Map() };
      out.push(cur);
      continue;
    }
    const at = /^\s*<[0-9a-f]+>\s+(DW_AT_\w+)\s*:\s?(.*)$/.exec(line);
    // With -W, readelf prefixes each value with its form: "(data1) 40", "(strp) (offset: 0x13e): x".
    if (at && cur) cur.attrs.set(at[1], at[2].replace(/^\((?:DW_FORM_)?\w+\) /, ""));
  }
  return out;
}

/** The string value of a readelf attribute line ("(indirect string, offset: 0x1): int" -> "int"). */
export function refString(v: string): string {
  if (v.startsWith("(")) {
    const i = v.indexOf("): ");
    if (i >= 0) return v.slice(i + 3);
  }
  return v;
}

/** The leading number of a readelf value ("8\t(unsigned char)" -> 8, "0x1f" -> 31). */
export function refNumber(v: string): number | undefined {
  const m = /^(0x[0-9a-f]+|-?\d+)/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

/** "<0x1e>" -> 0x1e */
export function refRef(v: string): number | undefined {
  const m = /^<0x([0-9a-f]+)>/.exec(v.trim());
  return m ? parseInt(m[1], 16) : undefined;
}

export interface RefLineRow {
  line: number;
  address: number;
  end: boolean;
}

/** Rows of `readelf --debug-dump=decodedline`. */
export function readelfLines(file: string): RefLineRow[] {
  const text = run("readelf", ["--debug-dump=decodedline", "-W", file]);
  const out: RefLineRow[] = [];
  for (const line of text.split("\n")) {
    const m = /^\S.*?\s+(\d+|-)\s+(0x[0-9a-f]+)(?:\s+\d+)?(?:\s+x)?\s*$/.exec(line);
    if (!m) continue;
    out.push({ line: m[1] === "-" ? -1 : +m[1], address: parseInt(m[2], 16), end: m[1] === "-" });
  }
  return out;
}

export interface RefSection {
  index: number;
  name: string;
  type: string;
  offset: number;
  size: number;
  flags: string;
}

export function readelfSections(file: string): RefSection[] {
  const text = run("readelf", ["-S", "-W", file]);
  const out: RefSection[] = [];
  for (const line of text.split("\n")) {
    const m =
      /^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*?)\s+\d+\s+\d+\s+\d+$/.exec(
        line,
      );
    if (m)
      out.push({
        index: +m[1],
        name: m[2],
        type: m[3],
        offset: parseInt(m[5], 16),
        size: parseInt(m[6], 16),
        flags: m[7],
      });
  }
  return out;
}

export interface RefSymbol {
  table: string;
  value: number;
  size: number;
  type: string;
  bind: string;
  name: string;
}

export function readelfSymbols(file: string): RefSymbol[] {
  const text = run("readelf", ["-s", "-W", file]);
  const out: RefSymbol[] = [];
  let table = "";
  for (const line of text.split("\n")) {
    const t = /^Symbol table '(\S+)'/.exec(line);
    if (t) {
      table = t[1];
      continue;
    }
    const m = /^\s*\d+:\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+\w+\s+\S+\s*(.*)$/.exec(line);
    if (m)
      out.push({
        table,
        value: parseInt(m[1], 16),
        size: Number(m[2]),
        type: m[3],
        bind: m[4],
        name: m[5].replace(/@.*$/, "").trim(),
      });
  }
  return out;
}

export function readelfBuildId(file: string): string | undefined {
  const m = /Build ID: ([0-9a-f]+)/.exec(run("readelf", ["-n", file]));
  return m ? m[1] : undefined;
}
