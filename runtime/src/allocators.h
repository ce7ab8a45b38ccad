/* allocators.h: the allocator interface of the query side. liballocs's `struct allocator` is
 * the model: each allocator has a name, the level it sits at, a way to describe the allocation
 * holding an address (its get_info) and, where it can, a walk of its live allocations. Each
 * allocator's definition is in its own file (the `extern` list below says which); the order in
 * which they answer for an address is one table, allocators.c.
 *
 * The interface is for queries only: malloc, free and the interposed mmap calls reach their
 * allocator's code directly, never through it.
 */
#ifndef ALLOCS_ALLOCATORS_H
#define ALLOCS_ALLOCATORS_H

#include "levels.h"

/* Where an allocator sits in the hierarchy, outermost first (a leaf can also be a level:
 * auxv's area encloses its strings, a stack encloses its frames). */
enum allocs_level {
    ALLOCS_LEVEL_MAPPING, /* a memory mapping: mmap */
    ALLOCS_LEVEL_REGION,  /* a part of the mappings with one owner: ELF file, brk, a stack */
    ALLOCS_LEVEL_PART,    /* a part of a region: an ELF segment, the auxv area */
    ALLOCS_LEVEL_OBJECT,  /* one allocation: a chunk, a static, a frame, an auxv string */
    ALLOCS_LEVEL_NESTED,  /* an object inside another allocator's object: a pool object */
};

/* One query's shared lookups, each made once and only when a row needs it, so asking the
 * allocators in turn repeats no lookup the hand-written order made once. Filled by where_chunk
 * (heap_allocator.c), where_mapping (maps.c) and where_object (elf_objects.c). */
struct rt_where {
    uintptr_t addr;
    union { /* 0 not looked up, 1 found, -1 not found; `states` clears all three at once */
        struct {
            int8_t chunk_state, mapping_state, object_state;
        };
        uint32_t states;
    };
    struct rt_chunk chunk;     /* the malloc chunk containing addr */
    struct allocs_big mapping; /* the mapping containing addr */
    uint32_t object;           /* the ELF object containing addr... */
    struct allocs_object object_rec;
    struct lv_segment segment; /* ...and its segment */
};
/* Starts a query: only the states are cleared (the records are filled when looked up). */
static inline void where_begin(struct rt_where *w, uintptr_t addr)
{
    w->addr = addr;
    w->states = 0;
}
/* Each is asked by several rows of one query, so the lookup is made by the first asking and
 * the answer read inline by the others. */
static inline bool where_chunk(struct rt_where *w)
{
    if (!w->chunk_state) w->chunk_state = heap_find_chunk(w->addr, &w->chunk) ? 1 : -1;
    return w->chunk_state > 0;
}
static inline bool where_mapping(struct rt_where *w)
{
    if (!w->mapping_state) w->mapping_state = maps_find(w->addr, &w->mapping, true) ? 1 : -1;
    return w->mapping_state > 0;
}
/* retry_missed: when no object is known there but the loader knows one, rescan and look
 * again (objects_missed; a leaf's question, not a level's). */
void where_object_lookup(struct rt_where *w, bool retry_missed); /* elf_objects.c */
static inline bool where_object(struct rt_where *w, bool retry_missed)
{
    if (w->object_state <= 0 && (!w->object_state || retry_missed))
        where_object_lookup(w, retry_missed);
    return w->object_state > 0;
}

/* describe's `how` for the mmap allocator: answer only for a mapping the program made itself
 * (the first of its two rows in the leaf order). */
#define ALLOCS_DESCRIBE_PROGRAMS_OWN 0x1u

struct allocs_allocator {
    /* One of allocs.h's ALLOCS_ALLOCATOR_NAME_*; the pool allocator answers with the name each
     * program-registered allocator was given, and "pool" names the family. */
    const char *name;
    enum allocs_allocator_id id; /* its struct allocator is rt_allocator(id) (pool: UNKNOWN) */
    enum allocs_level level;
    /* get_info: the allocation holding w->addr (its allocator, base, size, site...) into *out,
     * which starts zeroed, or false, leaving *out untouched, when this allocator has none
     * there. NULL for pure levels. */
    bool (*describe)(struct rt_where *w, unsigned how, struct rt_leaf *out);
    /* As a level: [lo, hi) of this allocator's region enclosing w->addr. NULL for pure leaves. */
    bool (*extent)(struct rt_where *w, uintptr_t *lo, uintptr_t *hi);
    /* The run-time type of what describe answered, or NULL when no metadata says. */
    const struct uniqtype *(*type)(const struct rt_where *w, const struct rt_leaf *l);
    /* Visits the live allocations (cb as alloc_walk_live's); *stopped when cb stopped it.
     * Returns the number visited. NULL where there is nothing to walk. */
    long (*walk)(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg, bool *stopped);
    /* For a row asked with ASK_IN_USE (allocators.c): asked only once *in_use is true, so an
     * allocator a program may never use (obstacks before the first _obstack_begin) costs a query
     * two loads, not a call. */
    const bool *in_use;
};

extern const struct allocs_allocator malloc_allocator;      /* heap_allocator.c */
extern const struct allocs_allocator pool_allocator;        /* pool.c */
extern const struct allocs_allocator obstack_allocator;     /* obstack.c */
extern const struct allocs_allocator mmap_allocator;        /* maps.c */
extern const struct allocs_allocator brk_allocator;         /* maps.c */
extern const struct allocs_allocator elf_file_allocator;    /* elf_objects.c */
extern const struct allocs_allocator elf_segment_allocator; /* elf_objects.c */
extern const struct allocs_allocator static_allocator;      /* elf_symbols.c */
extern const struct allocs_allocator stack_allocator;       /* stack.c */
extern const struct allocs_allocator stackframe_allocator;  /* stack.c */
extern const struct allocs_allocator auxv_allocator;        /* auxv.c */

/* ---- allocators.c: the composition ---- */
/* The leaf for a (non-null) address: the first allocator in the leaf order that answers. Returns
 * that allocator (for its type), or NULL when none did. */
const struct allocs_allocator *allocators_find_leaf(struct rt_where *w, struct rt_leaf *out);
/* The levels enclosing w->addr, outermost first (mapping, then ELF file/segment, brk, stack or
 * auxv area: the level order). Returns the count written (at most max). w may carry the
 * lookups of allocators_find_leaf for the same address: they are not made again. */
unsigned levels_chain(struct rt_where *w, struct alloc_level *chain, unsigned max);
/* Every allocator's walk, in the walk order; stops when cb does. */
long allocators_walk_live(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg);

#endif
