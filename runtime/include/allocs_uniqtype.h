/* allocs_uniqtype.h: run-time types as the runtime holds them in memory.
 *
 * The runtime builds one struct uniqtype per type from each loaded metadata file
 * (allocs_meta_format.h), uniqued across every object by canonical name, so two pointers to
 * the same type compare equal. These records are also part of the in-memory layout the gdb
 * bridge reads (docs/runtime-layout.md): every field is fixed-width or a plain pointer.
 */
#ifndef ALLOCS_UNIQTYPE_H
#define ALLOCS_UNIQTYPE_H

#include <stdint.h>
#include "allocs_meta_format.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uniqtype;

struct uniqtype_member {
    const char *name; /* "" for an anonymous member */
    const struct uniqtype *type;
    uint64_t offset;     /* bytes; in a FRAME type, from the frame's CFA minus its size */
    uint16_t bit_offset; /* bit-fields only */
    uint16_t bit_size;   /* 0: not a bit-field */
    uint32_t reserved;
};

struct uniqtype_enumerator {
    const char *name;
    int64_t value;
};

struct uniqtype {
    const char *name;   /* canonical, symbol-safe: int$32, __PTR_signed_char$8, point */
    const char *c_name; /* for people: int, char *, struct point */
    uint64_t size;      /* bytes; 0 for void, functions, incomplete and unbounded types */
    uint8_t kind;       /* enum allocs_type_kind */
    uint8_t encoding;   /* base types: DW_ATE_* */
    uint16_t flags;     /* ALLOCS_TYPE_F_* */
    uint32_t bit_size;
    const struct uniqtype *related; /* pointee, element, return type, enum's base; or NULL */
    uint32_t count;                 /* array length (0 unbounded), members, enumerators, params */
    uint32_t reserved;
    union {
        const struct uniqtype_member *members;         /* STRUCT, UNION, FRAME */
        const struct uniqtype_enumerator *enumerators; /* ENUM */
        const struct uniqtype *const *params;          /* FUNCTION */
        const void *items;
    };
};

/* liballocs-style reflection. Every macro is safe on NULL except where noted. */
const char *__allocs_uniqtype_name(const struct uniqtype *t); /* "(no type)" for NULL */
#define UNIQTYPE_NAME(t) __allocs_uniqtype_name(t)
#define UNIQTYPE_C_NAME(t) ((t) ? (t)->c_name : "(no type)")
#define UNIQTYPE_SIZE_IN_BYTES(t) ((t) ? (t)->size : 0)
#define UNIQTYPE_KIND(t) ((t) ? (enum allocs_type_kind)(t)->kind : ALLOCS_KIND_VOID)
#define UNIQTYPE_IS_BASE_TYPE(t) (UNIQTYPE_KIND(t) == ALLOCS_KIND_BASE)
#define UNIQTYPE_IS_POINTER_TYPE(t) (UNIQTYPE_KIND(t) == ALLOCS_KIND_POINTER)
#define UNIQTYPE_IS_ARRAY_TYPE(t) (UNIQTYPE_KIND(t) == ALLOCS_KIND_ARRAY)
#define UNIQTYPE_IS_COMPOSITE_TYPE(t)                                                              \
    (UNIQTYPE_KIND(t) == ALLOCS_KIND_STRUCT || UNIQTYPE_KIND(t) == ALLOCS_KIND_UNION ||            \
     UNIQTYPE_KIND(t) == ALLOCS_KIND_FRAME)
#define UNIQTYPE_IS_SUBPROGRAM_TYPE(t) (UNIQTYPE_KIND(t) == ALLOCS_KIND_FUNCTION)
#define UNIQTYPE_POINTEE_TYPE(t) (UNIQTYPE_IS_POINTER_TYPE(t) ? (t)->related : NULL)
#define UNIQTYPE_ARRAY_ELEMENT_TYPE(t) (UNIQTYPE_IS_ARRAY_TYPE(t) ? (t)->related : NULL)
#define UNIQTYPE_ARRAY_LENGTH(t) (UNIQTYPE_IS_ARRAY_TYPE(t) ? (t)->count : 0)
#define UNIQTYPE_MEMBER_COUNT(t) (UNIQTYPE_IS_COMPOSITE_TYPE(t) ? (t)->count : 0)
#define UNIQTYPE_MEMBER(t, i) (&(t)->members[i]) /* t composite, i < count */
#define UNIQTYPE_ENUMERATOR_COUNT(t) (UNIQTYPE_KIND(t) == ALLOCS_KIND_ENUM ? (t)->count : 0)
#define UNIQTYPE_ENUMERATOR(t, i) (&(t)->enumerators[i])
#define UNIQTYPE_RETURN_TYPE(t) (UNIQTYPE_IS_SUBPROGRAM_TYPE(t) ? (t)->related : NULL)
#define UNIQTYPE_PARAM_COUNT(t) (UNIQTYPE_IS_SUBPROGRAM_TYPE(t) ? (t)->count : 0)
#define UNIQTYPE_PARAM(t, i) ((t)->params[i])

/* The loaded type with this canonical name, or NULL. */
const struct uniqtype *uniqtype_lookup(const char *canonical_name);

#ifdef __cplusplus
}
#endif
#endif
