// FNV-1a, the hash behind aggregates' "summary codes", fed piece by piece: the code of a layout
// is the hash of its text ("struct|16|x@0:::int$32;..."), and hashing the pieces as they are
// produced gives the same value without building that text. Building it was most of what
// uniquing allocated: every unit repeats the structs of the headers it includes.

import { LINE_STR, StrSpace, resolveStr } from "../dwarf/str-ref";
import { ENUMERATORS, RawTable } from "./raw-table";
import { aggKind } from "./tags";

export const FNV_BASIS = 0x811c9dc5;

/** Hashes one UTF-16 code unit. */
export function fnvChar(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

/** Hashes a string's code units. */
export function fnvStr(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** A number's characters, last first. */
const digits = new Uint8Array(16);

/**
 * Hashes a number as `${n}` would spell it. Digits of 32-bit integers (offsets, sizes, most
 * values) are computed directly in integer arithmetic (a `%` on a float is a call to C's fmod),
 * the sign included in the same steps: a branch first taken late (the first negative value)
 * would deoptimise the compiled code this is inlined into. Anything else is spelled by String.
 */
export function fnvNum(h: number, n: number): number {
  let v = n | 0;
  if (v !== n || v === -0x80000000) return fnvStr(h, String(n));
  v = Math.abs(v);
  let k = 0;
  do {
    const q = (v / 10) | 0;
    digits[k++] = 48 + v - q * 10;
    v = q;
  } while (v > 0);
  digits[k] = 45; // "-", counted only for a negative n
  k += n < 0 ? 1 : 0;
  while (k > 0) h = Math.imul(h ^ digits[--k], 0x01000193);
  return h;
}

/** The code as written: 8 hex digits. */
export function codeHex(h: number): string {
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * FNV-1a of the string `ref` names, continuing from `h`, as hashing the decoded
 * string's UTF-16 code units would give ("" for NO_STR). An ASCII string of .debug_str is hashed
 * from its bytes, without decoding it: uniquing hashes every member and enumerator name of every
 * unit, and needs the strings themselves only for the first definition of each type.
 */
export function fnvStrRef(d: StrSpace, ref: number, h: number): number {
  if (ref >= 0 && ref < LINE_STR) {
    const buf = d.main.strBytes;
    if (ref < buf.length) {
      let x = h;
      for (let i = ref; i < buf.length; i++) {
        const b = buf[i];
        if (b === 0) return x;
        if (b >= 0x80) break;
        x = Math.imul(x ^ b, 0x01000193);
      }
    }
  }
  return fnvStr(h, resolveStr(d, ref) ?? "");
}

// The pieces of an aggregate's layout text (unique.ts hashes member types' names itself).

/** UTF-16 code units of the layout text's punctuation. */
export const C_BAR = 0x7c;
const C_EQ = 0x3d;
export const C_SEMI = 0x3b;
const C_AT = 0x40;
const C_COLON = 0x3a;

/** The layout text's hash up to its size: `kind|` (every aggregate's head, hashed once here). */
const STRUCT_HEAD = fnvChar(fnvStr(FNV_BASIS, "struct"), C_BAR);
const UNION_HEAD = fnvChar(fnvStr(FNV_BASIS, "union"), C_BAR);
const ENUM_HEAD = fnvChar(fnvStr(FNV_BASIS, "enum"), C_BAR);
const OTHER_HEAD = fnvChar(fnvStr(FNV_BASIS, "undefined"), C_BAR);

export function kindHash(tag: number): number {
  switch (aggKind(tag)) {
    case "struct":
      return STRUCT_HEAD;
    case "union":
      return UNION_HEAD;
    case "enum":
      return ENUM_HEAD;
    default:
      return OTHER_HEAD;
  }
}

/** `name=value;` of each of record r's enumerators, continuing hash h. */
export function hashEnumerators(t: RawTable, r: number, h: number): number {
  for (let i = t.first(r, ENUMERATORS); i >= 0; i = t.itemNext[i]) {
    h = fnvChar(fnvStrRef(t.strs, t.itemNameRef[i], h), C_EQ);
    h = fnvChar(fnvNum(h, t.itemA[i]), C_SEMI);
  }
  return h;
}

/** `name@offset:bits:bitoffset:` of member item i (its type's name and `;` follow), continuing hash h. */
export function hashMemberPlace(t: RawTable, i: number, h: number): number {
  h = fnvChar(fnvStrRef(t.strs, t.itemNameRef[i], h), C_AT);
  h = fnvChar(fnvNum(h, t.itemOffset[i]), C_COLON);
  const bs = t.itemBitSize[i];
  if (bs === bs) h = fnvNum(fnvChar(fnvNum(h, bs), C_COLON), t.itemBitOffset[i]);
  else h = fnvChar(h, C_COLON);
  return fnvChar(h, C_COLON);
}
