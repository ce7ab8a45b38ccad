/* allocs_meta_format.h: the type metadata file format (version 1), written by typegen and
 * loaded by the runtime. docs/metadata-format.md explains it; these are the normative record
 * layouts (typegen/src/meta/format.ts mirrors them, and a test checks the two agree).
 *
 * The file is data, never code: the runtime reads it into its own memory, validates every
 * index, offset and count, and refuses it whole on the first inconsistency. All integers are
 * little-endian; records are naturally aligned; sections are 8-byte aligned.
 */
#ifndef ALLOCS_META_FORMAT_H
#define ALLOCS_META_FORMAT_H

#include <stdint.h>

#define ALLOCS_META_MAGIC "ALLOCSMD" /* 8 bytes, no NUL */
#define ALLOCS_META_VERSION 1u
#define ALLOCS_META_SUFFIX ".allocsmeta"
#define ALLOCS_META_NONE 0xffffffffu /* "no type" in any type-index field */

enum allocs_meta_section {
    ALLOCS_META_STRINGS = 0, /* bytes: NUL-terminated strings; offset 0 is "" */
    ALLOCS_META_TYPES,       /* struct allocs_meta_type[] */
    ALLOCS_META_MEMBERS,     /* struct allocs_meta_member[] */
    ALLOCS_META_ENUMERATORS, /* struct allocs_meta_enumerator[] */
    ALLOCS_META_PARAMS,      /* uint32_t[]: parameter type indices */
    ALLOCS_META_STATICS,     /* struct allocs_meta_static[], sorted by vaddr */
    ALLOCS_META_FRAMES,      /* struct allocs_meta_frame[], sorted by lo */
    ALLOCS_META_FRAME_VARS,  /* struct allocs_meta_frame_var[] */
    ALLOCS_META_SITES,       /* struct allocs_meta_site[], sorted by vaddr */
    ALLOCS_META_NSECTIONS
};

struct allocs_meta_section_desc {
    uint64_t offset; /* from the start of the file */
    uint64_t count;  /* records (bytes for STRINGS) */
};

struct allocs_meta_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size; /* sizeof(struct allocs_meta_header) */
    uint64_t file_size;
    uint8_t build_id[20]; /* the described ELF object's NT_GNU_BUILD_ID, zero-padded */
    uint32_t build_id_len;
    uint32_t flags; /* reserved, 0 */
    struct allocs_meta_section_desc sections[ALLOCS_META_NSECTIONS];
};

/* Type kinds (also struct uniqtype's kind field). */
enum allocs_type_kind {
    ALLOCS_KIND_VOID = 0,
    ALLOCS_KIND_BASE,     /* encoding = DW_ATE_*, bit_size */
    ALLOCS_KIND_POINTER,  /* related = pointee (NONE: void *) */
    ALLOCS_KIND_ARRAY,    /* related = element; count = elements, 0 = unbounded */
    ALLOCS_KIND_STRUCT,   /* members first .. first + count */
    ALLOCS_KIND_UNION,    /* members */
    ALLOCS_KIND_ENUM,     /* enumerators; related = underlying base type or NONE */
    ALLOCS_KIND_FUNCTION, /* related = return type (NONE: void); params first .. first+count */
    ALLOCS_KIND_FRAME     /* a function's stack frame: members are its locals (see doc) */
};

#define ALLOCS_TYPE_F_INCOMPLETE 0x1u /* declared, never defined: size unknown */
#define ALLOCS_TYPE_F_VARARGS 0x2u    /* function type ends with ... */
#define ALLOCS_TYPE_F_FLEXIBLE 0x4u   /* struct ends with a flexible array member */

struct allocs_meta_type {
    uint32_t name;   /* string: canonical name (docs/type-names.md), unique in the file */
    uint32_t c_name; /* string: C spelling for people */
    uint64_t size;   /* bytes; 0 for void, functions, incomplete and unbounded types */
    uint8_t kind;    /* enum allocs_type_kind */
    uint8_t encoding;
    uint16_t flags; /* ALLOCS_TYPE_F_* */
    uint32_t bit_size;
    uint32_t related;
    uint32_t count;
    uint32_t first;
    uint32_t reserved;
};

struct allocs_meta_member {
    uint32_t name; /* string; 0 ("") for an anonymous member */
    uint32_t type;
    uint64_t offset;     /* bytes from the start of the enclosing type */
    uint16_t bit_offset; /* bit-fields: bits from offset (little-endian bit order) */
    uint16_t bit_size;   /* 0: not a bit-field */
    uint32_t reserved;
};

struct allocs_meta_enumerator {
    uint32_t name;
    uint32_t reserved;
    int64_t value;
};

#define ALLOCS_STATIC_FUNCTION 1u
#define ALLOCS_STATIC_VARIABLE 2u

struct allocs_meta_static {
    uint64_t vaddr; /* ELF virtual address (add the object's load bias) */
    uint64_t size;
    uint32_t name;
    uint32_t type;
    uint32_t kind; /* ALLOCS_STATIC_* */
    uint32_t reserved;
};

struct allocs_meta_frame {
    uint64_t lo, hi;    /* the function's ELF virtual address range [lo, hi) */
    uint32_t function;  /* string: the function's name */
    uint32_t type;      /* its ALLOCS_KIND_FRAME type */
    uint32_t first_var; /* frame_vars first_var .. first_var + nvars */
    uint32_t nvars;
};

#define ALLOCS_FRAME_VAR_PARAM 0x1u

struct allocs_meta_frame_var {
    uint64_t pc_lo, pc_hi; /* where this location is valid (ELF virtual addresses) */
    int64_t cfa_offset;    /* the variable's address minus the frame's CFA */
    uint32_t name;
    uint32_t type;
    uint32_t flags; /* ALLOCS_FRAME_VAR_* */
    uint32_t reserved;
};

#define ALLOCS_SITE_ARRAY 0x1u    /* the chunk is an array of `type`, sized by the chunk */
#define ALLOCS_SITE_TRAILING 0x2u /* `type` followed by a trailing array (sizeof(T) + n*...) */
#define ALLOCS_SITE_GUESSED 0x4u  /* inferred from DWARF alone (no source analysis) */
/* The call is inside an allocation wrapper (a function returning what it allocates): the site
 * is the wrapper's caller. ALLOCS_SITE_ARG is the wrapper's CFA minus rsp at this return
 * address (from .eh_frame, CFA = rsp + k), so the caller's return address is at
 * CFA(entry point) + k - 8; 0 when the CFA is not rsp-based (the runtime then unwinds). */
#define ALLOCS_SITE_WRAPPER 0x8u
/* The call is in the body of an allocation wrapper inlined into its caller: ALLOCS_SITE_ARG
 * is the line of the inlined call (DW_AT_call_line) in the enclosing function's file. */
#define ALLOCS_SITE_INLINED 0x10u
/* The chunk starts with a header of ALLOCS_SITE_ARG bytes, then one `type` (a wrapper that
 * returns `p + H`): the chunk is `__HDR<H>_T`, a struct {unsigned char __header[H]; T object}. */
#define ALLOCS_SITE_HEADER 0x20u
/* The call is a direct `call rel32` to a suballocator declared in LIBALLOCS_SUBALLOC_FNS (or its
 * free function, LIBALLOCS_SUBFREE_FNS): what it returns is a pool object one level below the
 * malloc chunk it lies in, typed by this record. The runtime redirects the call through a stub
 * that registers the object (runtime/src/suballoc.c). `type` may be ALLOCS_META_NONE. */
#define ALLOCS_SITE_SUBALLOC 0x40u
/* The call enters C++ standard-library code that made the allocation (a container's push_back,
 * insert, std::make_shared): the site is the user's call; the library function it calls (or,
 * with INLINED, the library code inlined there) is the detail a reader may show. */
#define ALLOCS_SITE_LIBRARY 0x80u
#define ALLOCS_SITE_KNOWN_FLAGS 0xffu
/* flags bits 8-31: the argument of WRAPPER, INLINED or HEADER (one per record) */
#define ALLOCS_SITE_ARG_SHIFT 8
#define ALLOCS_SITE_ARG(flags) ((flags) >> ALLOCS_SITE_ARG_SHIFT)

struct allocs_meta_site {
    uint64_t vaddr; /* return address of the allocating call (ELF virtual address) */
    uint32_t type;
    uint32_t flags; /* ALLOCS_SITE_* */
};

#ifdef __cplusplus
#define ALLOCS_META_STATIC_ASSERT static_assert
#else
#define ALLOCS_META_STATIC_ASSERT _Static_assert
#endif
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_header) == 200, "header layout");
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_type) == 40, "type layout");
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_member) == 24, "member layout");
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_enumerator) == 16, "enumerator layout");
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_static) == 32, "static layout");
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_frame) == 32, "frame layout");
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_frame_var) == 40, "frame var layout");
ALLOCS_META_STATIC_ASSERT(sizeof(struct allocs_meta_site) == 16, "site layout");

#endif
