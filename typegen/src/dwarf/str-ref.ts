// A string attribute as a number, so that the DIE walk keeps names in numeric columns (no
// string or object per DIE) and each is decoded when uniquing needs it, through the sections'
// string caches: an offset into one of the string sections of the main or the alt (dwz) file,
// or, for DW_FORM_string, the string's place in the DIE key space (which names the section and
// file it is in; dwarf.ts).

import { cstrAt } from "../bytes";
import { DwarfSections } from "./sections";
import { Unit } from "./units";

/** No such attribute (or an alt-file string without the alt file). */
export const NO_STR = -1;
/** The empty string (a fallback name). */
export const EMPTY_STR = -2;
/** DW_FORM_string at DIE key k: -(INLINE + k). */
const INLINE = 3;
/** Offsets into .debug_str are themselves; the other string sections start at these tags. */
export const LINE_STR = 2 ** 46;
export const ALT_STR = 2 ** 47;
export const ALT_LINE_STR = 2 ** 48;

export function inlineStr(key: number): number {
  return -(INLINE + key);
}

/** What resolving a reference needs: the files' string sections and the units by key. */
export interface StrSpace {
  readonly main: DwarfSections;
  readonly alt?: DwarfSections;
  unitFor(key: number): Unit | undefined;
}

/** The string `ref` names; undefined for NO_STR. */
export function resolveStr(d: StrSpace, ref: number): string | undefined {
  if (ref >= 0) {
    if (ref < LINE_STR) return d.main.str(ref);
    if (ref < ALT_STR) return d.main.lineStr(ref - LINE_STR);
    if (ref < ALT_LINE_STR) return d.alt?.str(ref - ALT_STR);
    return d.alt?.lineStr(ref - ALT_LINE_STR);
  }
  if (ref === NO_STR) return undefined;
  if (ref === EMPTY_STR) return "";
  const key = -ref - INLINE;
  const u = d.unitFor(key);
  if (!u) return undefined; // cannot happen: the reference was made from a unit's bytes
  return cstrAt(u.src.buf, key - u.src.base, u.file, u.src.secName);
}

/**
 * Fails as `resolveStr` would if `ref` names no string, decoding it only when that cannot be told
 * from its offset (a .debug_str offset inside a section ending in a terminator always can).
 */
export function checkStrRef(d: StrSpace, ref: number): void {
  if (ref >= 0 && ref < LINE_STR && ref < d.main.strBytes.length && d.main.strTerminated) return;
  if (ref === NO_STR || ref === EMPTY_STR) return;
  resolveStr(d, ref);
}
