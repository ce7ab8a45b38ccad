// Which DWARF tags are aggregates and which merely alias another type (qualifiers, typedefs),
// shared by the raw tables and uniquing.

import { DW_TAG } from "../dwarf/constants";

/**
 * Pseudo tag for a declaration stub that names its type by DW_AT_signature (the type itself is
 * in a type unit): uniquing treats it as an alias of the signature's target. Above every DW_TAG.
 */
export const TAG_SIGNATURE_STUB = 0x10000;

export function aggKind(tag: number): "struct" | "union" | "enum" | undefined {
  switch (tag) {
    case DW_TAG.structure_type:
    case DW_TAG.class_type:
      return "struct";
    case DW_TAG.union_type:
      return "union";
    case DW_TAG.enumeration_type:
      return "enum";
    default:
      return undefined;
  }
}

/** Tags whose type is their DW_AT_type's (typedefs and qualifiers). */
export function isAliasTag(tag: number): boolean {
  switch (tag) {
    case DW_TAG.typedef:
    case DW_TAG.const_type:
    case DW_TAG.volatile_type:
    case DW_TAG.restrict_type:
    case DW_TAG.atomic_type:
    case DW_TAG.immutable_type:
    case DW_TAG.packed_type:
    case DW_TAG.shared_type:
    case TAG_SIGNATURE_STUB:
      return true;
    default:
      return false;
  }
}
