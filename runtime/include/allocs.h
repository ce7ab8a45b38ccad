/* allocs.h: the in-process API of the allocs runtime.
 *
 * A program includes this header and links against the stub library (`allocs cc` adds it).
 * Run with the runtime preloaded (`allocs run -- PROG`), every call answers from the live
 * allocation hierarchy; run without it, the stub answers "no runtime" and the program still
 * works. Names follow liballocs so its programs compile unchanged.
 *
 * Every function here is safe on any pointer value: NULL, garbage and freed addresses give an
 * error code (or an empty answer), never a crash.
 */
#ifndef ALLOCS_H
#define ALLOCS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h> /* liballocs's demo calls malloc with only this header included */

#ifdef __cplusplus
extern "C" {
#endif

/* Run-time types (struct uniqtype and its reflection macros). Until metadata is loaded for
 * an object (docs/metadata-format.md), alloc_get_type answers NULL for its addresses. */
#include "allocs_uniqtype.h"

/* An allocator: one leaf or level of the allocation hierarchy. Allocators are never freed,
 * so the pointer stays valid and can be compared with ==. */
struct allocator {
    const char *name; /* "__default_lib_malloc", "static", "stackframe", "auxv", "mmap", ... */
    uint32_t id;      /* enum allocs_allocator_id, or >= ALLOCS_FIRST_CUSTOM_ALLOCATOR */
    uint32_t flags;   /* ALLOCS_ALLOCATOR_F_* */
};

enum allocs_allocator_id {
    ALLOCS_ALLOCATOR_UNKNOWN = 0, /* the address is in no allocation the runtime knows */
    ALLOCS_ALLOCATOR_NO_RUNTIME,  /* the stub: the runtime is not preloaded */
    ALLOCS_ALLOCATOR_MMAP,        /* a memory mapping (level) */
    ALLOCS_ALLOCATOR_BRK,         /* the brk heap (level) */
    ALLOCS_ALLOCATOR_STACK,       /* a thread's whole stack (level) */
    ALLOCS_ALLOCATOR_ELF_FILE,    /* a loaded ELF object (level) */
    ALLOCS_ALLOCATOR_ELF_SEGMENT, /* one PT_LOAD segment of it (level) */
    ALLOCS_ALLOCATOR_MALLOC,      /* "__default_lib_malloc": malloc-family chunks (leaf) */
    ALLOCS_ALLOCATOR_STATIC,      /* "static": a symbol or literal in an ELF object (leaf) */
    ALLOCS_ALLOCATOR_STACKFRAME,  /* "stackframe": one function activation (leaf) */
    ALLOCS_ALLOCATOR_AUXV,        /* "auxv": argv, envp, auxv and their strings (leaf) */
    ALLOCS_ALLOCATOR_ALLOCA,      /* "alloca" (reserved) */
    ALLOCS_FIRST_CUSTOM_ALLOCATOR = 64
};

/* The built-in allocators' names (struct allocator's name; the names the debugger bridge and
 * every JSON output use). */
#define ALLOCS_ALLOCATOR_NAME_MMAP "mmap"
#define ALLOCS_ALLOCATOR_NAME_BRK "brk"
#define ALLOCS_ALLOCATOR_NAME_STACK "stack"
#define ALLOCS_ALLOCATOR_NAME_ELF_FILE "elf_file"
#define ALLOCS_ALLOCATOR_NAME_ELF_SEGMENT "elf_segment"
#define ALLOCS_ALLOCATOR_NAME_MALLOC "__default_lib_malloc"
#define ALLOCS_ALLOCATOR_NAME_STATIC "static"
#define ALLOCS_ALLOCATOR_NAME_STACKFRAME "stackframe"
#define ALLOCS_ALLOCATOR_NAME_AUXV "auxv"
#define ALLOCS_ALLOCATOR_NAME_ALLOCA "alloca"

#define ALLOCS_ALLOCATOR_F_LEAF 0x1u   /* answers for individual objects */
#define ALLOCS_ALLOCATOR_F_CUSTOM 0x2u /* registered by the program (a pool/arena) */

/* Error codes. 0 is success. */
enum allocs_error {
    ALLOCS_OK = 0,
    ALLOCS_ERR_NULL,       /* the pointer is NULL */
    ALLOCS_ERR_UNKNOWN,    /* no known allocation contains the address */
    ALLOCS_ERR_NO_RUNTIME, /* the runtime is not preloaded (stub library) */
    ALLOCS_ERR_INVALID,    /* a bad argument (e.g. registering an object outside any chunk) */
    ALLOCS_ERR_NOMEM,      /* the runtime's own tables are full */
    ALLOCS_ERR__COUNT
};
const char *alloc_strerror(int err);

/* ---- liballocs's one-liners ---- */
struct allocator *alloc_get_allocator(const void *p); /* never NULL; UNKNOWN or NO_RUNTIME */
void *alloc_get_base(const void *p);                  /* NULL if unknown */
size_t alloc_get_size(const void *p);                 /* 0 if unknown */
const void *alloc_get_site(const void *p);            /* allocation call's return address */
struct uniqtype *alloc_get_type(const void *p);       /* NULL until type metadata exists */

/* liballocs's one-shot query: NULL on success, else an error object. */
struct liballocs_err;
struct liballocs_err *__liballocs_get_alloc_info(const void *obj, struct allocator **out_allocator,
                                                 const void **out_start, unsigned long *out_size,
                                                 const struct uniqtype **out_type,
                                                 const void **out_site);
const char *__liballocs_errstring(const struct liballocs_err *err);
int __liballocs_errcode(const struct liballocs_err *err); /* enum allocs_error */

/* ---- The full description of an address (the C form of the address description) ---- */
#define ALLOCS_MAX_DEPTH 8

struct alloc_level {
    const struct allocator *allocator;
    const void *base;
    size_t size;
};

struct alloc_info {
    const struct allocator *allocator; /* the leaf */
    const void *base;
    size_t size;   /* requested size for heap chunks; extent for other levels */
    size_t offset; /* address - base */
    const struct uniqtype *type;
    const void *site;   /* heap/mmap: return address of the allocating call */
    uint64_t seq;       /* heap: allocation sequence number (low 30 bits), else 0 */
    const char *symbol; /* static: the symbol; stackframe: the function; else NULL */
    const char *object; /* the ELF object's path for static/stackframe, else NULL */
    unsigned depth;     /* entries used in chain */
    struct alloc_level chain[ALLOCS_MAX_DEPTH]; /* outermost first; the leaf is last */
};

/* Fills *out and returns ALLOCS_OK, or returns an error code (out->allocator is then set to
 * the UNKNOWN or NO_RUNTIME allocator and the chain holds what is known). */
int alloc_describe(const void *p, struct alloc_info *out);

/* ---- Walking live heap allocations ---- */
struct alloc_walk_entry {
    const struct allocator *allocator;
    const void *base;
    size_t size;
    const void *site;
    uint64_t seq;
};
/* Calls cb for each live malloc-family chunk and registered pool object; stops early when cb
 * returns non-zero. Returns the number of entries visited, or -1 without the runtime.
 * The callback must not allocate or free. */
long alloc_walk_live(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg);

/* Counters the runtime keeps (the same figures `alloc census` reports). */
struct alloc_stats {
    uint64_t live_chunks;
    uint64_t live_bytes; /* requested bytes */
    uint64_t total_allocs;
    uint64_t total_frees;
};
int alloc_get_stats(struct alloc_stats *out);

/* ---- Custom (pool/arena) allocators ----
 * A pool allocator that carves objects out of a malloc'd chunk registers them, so an address
 * in the chunk resolves to the pool object: malloc chunk -> pool object. */
const struct allocator *alloc_register_allocator(const char *name); /* NULL without runtime */
int alloc_register_object(const struct allocator *a, const void *base, size_t size,
                          const void *site /* NULL: the caller */);
int alloc_unregister_object(const struct allocator *a, const void *base);

/* Non-zero when the runtime is preloaded and initialised. */
int alloc_runtime_present(void);

#ifdef __cplusplus
}
#endif
#endif
