// Naming rules (written down in docs/type-names.md): the canonical symbol-safe name of each
// type (liballocs's UNIQTYPE_NAME style) and its C spelling. Base types are named from their
// DWARF encoding and width, never from the spelled name, so gcc's "long unsigned int" and
// clang's "unsigned long" are the same type `unsigned_long$64`.

import { DW_ATE } from "../dwarf/constants";
import { FNV_BASIS, codeHex, fnvStr } from "./layout-code";

export interface BaseName {
  /** Canonical name without the "$bits" suffix. */
  stem: string;
  /** C spelling. */
  c: string;
}

const SIGNED: Record<number, BaseName> = {
  8: { stem: "signed_char", c: "char" },
  16: { stem: "short", c: "short" },
  32: { stem: "int", c: "int" },
  64: { stem: "long", c: "long" },
  128: { stem: "__int128", c: "__int128" },
};
const UNSIGNED: Record<number, BaseName> = {
  8: { stem: "unsigned_char", c: "unsigned char" },
  16: { stem: "unsigned_short", c: "unsigned short" },
  32: { stem: "unsigned_int", c: "unsigned int" },
  64: { stem: "unsigned_long", c: "unsigned long" },
  128: { stem: "unsigned___int128", c: "unsigned __int128" },
};
const FLOATS: Record<number, BaseName> = {
  16: { stem: "_Float16", c: "_Float16" },
  32: { stem: "float", c: "float" },
  64: { stem: "double", c: "double" },
  80: { stem: "long_double", c: "long double" },
  128: { stem: "long_double", c: "long double" },
};

/** Replaces anything outside [A-Za-z0-9_] so the name can be part of a symbol. */
export function symbolSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Canonical name ("int$32") and C spelling ("int") of a base type. */
export function baseTypeName(
  encoding: number,
  bits: number,
  dwarfName: string | undefined,
): { name: string; c: string } {
  const spelled = dwarfName ?? "";
  let b: BaseName | undefined;
  switch (encoding) {
    case DW_ATE.signed:
    case DW_ATE.signed_char:
      b = SIGNED[bits];
      break;
    case DW_ATE.unsigned:
    case DW_ATE.unsigned_char:
      b = UNSIGNED[bits];
      // C's plain char is spelled "char" wherever the ABI makes it unsigned.
      if (bits === 8 && spelled === "char") b = { stem: "unsigned_char", c: "char" };
      break;
    case DW_ATE.boolean:
      b = { stem: "_Bool", c: "_Bool" };
      break;
    case DW_ATE.float:
      // _Float128 and long double are both 128 bits wide on x86-64 but different formats.
      b = /float128|_Float\d/i.test(spelled) ? { stem: symbolSafe(spelled), c: spelled } : FLOATS[bits];
      break;
    case DW_ATE.complex_float: {
      const half = FLOATS[bits / 2];
      if (half) b = { stem: "complex_" + half.stem, c: "_Complex " + half.c };
      break;
    }
    case DW_ATE.UTF:
      b = { stem: `char${bits}_t`, c: spelled || `char${bits}_t` };
      break;
  }
  if (!b) b = { stem: symbolSafe(spelled || `base_enc${encoding}`), c: spelled || `base_enc${encoding}` };
  return { name: `${b.stem}$${bits}`, c: b.c };
}

/** FNV-1a over a string, as 8 hex digits: the "summary code" of an aggregate's layout. */
export function summaryCode(s: string): string {
  return codeHex(fnvStr(FNV_BASIS, s));
}

/**
 * C declarator composition: `spell(T, inner)` writes T around the declarator text `inner`.
 * No space before "[" ("int[42]"); a space otherwise ("char **", "int (int, char **)").
 */
export function joinDecl(spec: string, inner: string): string {
  if (inner === "") return spec;
  return inner[0] === "[" ? spec + inner : spec + " " + inner;
}
