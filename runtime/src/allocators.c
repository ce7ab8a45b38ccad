/* allocators.c: the composition of the allocators, written once. Which allocator answers for an
 * address (leaf_order), which levels enclose it (level_order), what a walk visits (walk_order),
 * and the levels part's start-up. api.c's queries and levels_chain read these tables; the
 * bridge's decoder keeps the same order (allocs_decoder/composition.py's LEAF_ORDER and
 * LEVEL_ORDER; gdb-python-bridge/tests/test_composition.py compares them with this file). */
#define _GNU_SOURCE
#include "allocators.h"

#include <string.h>

/* The heap part provides this; weak so that the levels part links and runs alone. */
#pragma weak threads_set_main_stack

/* ---- which allocator answers, first that does wins ----
 * A pool object, then an obstack's used part or free tail, before the malloc chunk holding it;
 * auxv's exact snapshot and the stacks before the mappings; the program's own mmap records
 * before the ELF objects (a range a dlclose just unmapped can be mapped again before the
 * rescan, and must not answer as the library); the brk heap outside any chunk; and last, any
 * mapping.
 * Each row also says where it is asked (ASK_*): only there can its allocator answer, so a row
 * that cannot costs an inline test of one query's shared lookups (struct rt_where) and no call.
 * The heap part's rows answer from the first malloc; the others once the levels part has
 * started (in the runtime's constructor). */
#define ASK_LEVELS 0x1u        /* the levels part has started */
#define ASK_CHUNK 0x2u         /* inside a live malloc chunk */
#define ASK_POOL_CHUNK 0x4u    /* inside a live malloc chunk holding pool objects */
#define ASK_MAPPING 0x8u       /* inside a mapping the index knows */
#define ASK_OBJECT 0x10u       /* inside a loaded ELF object (a missed one rescanned for) */
#define ASK_KNOWN_OBJECT 0x20u /* inside a loaded ELF object the tables know (no rescan) */
#define ASK_NOT_OWN_MMAP 0x40u /* not in a mapping the program made itself (mmap's own records) */
#define ASK_IN_USE 0x80u       /* once the program has used the allocator (its *in_use) */
/* Not inside the live malloc chunk this query's leaf already found. glibc's heap is the brk
 * area or anonymous mappings, which never lie in an ELF object's span (ld.so keeps the holes
 * between segments mapped PROT_NONE) or on a thread's stack; so a chunk's chain is the mapping
 * and perhaps the brk heap, and the object and stack lookups (~250 instructions) are skipped.
 * Only a lookup already made counts: this never makes one. */
#define ASK_OUTSIDE_CHUNK 0x100u
static const struct leaf_row {
    const struct allocs_allocator *allocator;
    unsigned how; /* describe's second argument */
    unsigned ask; /* ASK_*: all must hold */
} leaf_order[] = {
    {&pool_allocator, 0, ASK_POOL_CHUNK},
    {&obstack_allocator, 0, ASK_IN_USE | ASK_CHUNK},
    {&malloc_allocator, 0, ASK_CHUNK},
    {&auxv_allocator, 0, ASK_LEVELS},
    {&stackframe_allocator, 0, ASK_LEVELS},
    {&mmap_allocator, ALLOCS_DESCRIBE_PROGRAMS_OWN, ASK_LEVELS | ASK_MAPPING},
    {&static_allocator, 0, ASK_LEVELS | ASK_OBJECT},
    {&brk_allocator, 0, ASK_LEVELS},
    {&mmap_allocator, 0, ASK_LEVELS | ASK_MAPPING},
};

/* ---- the levels enclosing an address, outermost first ----
 * A row is asked when every allocator in `after` answered and none in `unless` did, and where
 * its ASK_* hold: the mapping; then an ELF file and its segment, or else the brk heap, or else
 * a stack and the auxv area at its top. */
#define BIT(id) (1u << (id))
static const struct level_row {
    const struct allocs_allocator *allocator;
    uint32_t after, unless;
    unsigned ask;
} level_order[] = {
    {&mmap_allocator, 0, 0, ASK_MAPPING},
    {&elf_file_allocator, 0, 0, ASK_OUTSIDE_CHUNK | ASK_NOT_OWN_MMAP | ASK_KNOWN_OBJECT},
    {&elf_segment_allocator, BIT(ALLOCS_ALLOCATOR_ELF_FILE), 0, 0},
    {&brk_allocator, 0, BIT(ALLOCS_ALLOCATOR_ELF_FILE), 0},
    {&stack_allocator, 0, BIT(ALLOCS_ALLOCATOR_ELF_FILE) | BIT(ALLOCS_ALLOCATOR_BRK),
     ASK_OUTSIDE_CHUNK},
    {&auxv_allocator, BIT(ALLOCS_ALLOCATOR_STACK), 0, 0},
};

/* Each level row's public allocator and its bit in `answered`, resolved once at start-up (the
 * built-in allocators never change): the chain reads them rather than its allocator's id. */
static struct {
    const struct allocator *public_allocator;
    uint32_t bit;
} level_resolved[sizeof level_order / sizeof level_order[0]];

/* ---- what alloc_walk_live visits: chunks, then the pool objects inside them ---- */
static const struct allocs_allocator *const walk_order[] = {&malloc_allocator, &pool_allocator};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the levels part: start-up, and whether it has ---- */
static volatile int levels_ready;

void levels_init(int argc, char **argv, char **envp)
{
    if (levels_ready) return;
    stack_init();
    maps_init();
    maps_calls_init(); /* glibc's mmap family: until then the interposed calls make the syscalls */
    auxv_init(argc, argv, envp); /* also the main stack's bounds, which the first scan refines */
    /* Read /proc/self/maps now rather than on first use: a process that never queries may
     * still be read post mortem, and the gdb bridge wants the brk and mapping levels then. */
    maps_ensure();
    elf_dlopen_init();
    objects_init();
    if (threads_set_main_stack && lv_main_stack_hi)
        threads_set_main_stack(lv_main_stack_lo, lv_main_stack_hi);
    for (unsigned i = 0; i < COUNT(level_order); i++) {
        level_resolved[i].public_allocator = rt_allocator(level_order[i].allocator->id);
        level_resolved[i].bit = BIT(level_order[i].allocator->id);
    }
    __atomic_store_n(&levels_ready, 1, __ATOMIC_RELEASE);
}

/* Once per query, before the first allocator of the levels part answers: started, and the
 * loaded objects up to date (a dlopen that bypassed the wrapper). */
static inline __attribute__((always_inline)) bool levels_up(int *state)
{
    if (!*state) {
        *state = __atomic_load_n(&levels_ready, __ATOMIC_ACQUIRE) ? 1 : -1;
        if (*state > 0) objects_check_changed();
    }
    return *state > 0;
}

/* Whether a row may be asked (the row's ASK_* are constants once the loop is unrolled). */
static inline __attribute__((always_inline)) bool row_asked(struct rt_where *w, unsigned ask,
                                                            int *levels)
{
    if ((ask & ASK_OUTSIDE_CHUNK) && w->chunk_state > 0) return false;
    if ((ask & ASK_LEVELS) && !levels_up(levels)) return false;
    if ((ask & (ASK_CHUNK | ASK_POOL_CHUNK)) && !where_chunk(w)) return false;
    if ((ask & ASK_POOL_CHUNK) && !w->chunk.has_pool_objects) return false;
    if ((ask & ASK_MAPPING) && !where_mapping(w)) return false;
    if ((ask & ASK_NOT_OWN_MMAP) && where_mapping(w) && (w->mapping.flags & ALLOCS_BIG_F_USER_MMAP))
        return false;
    if ((ask & ASK_OBJECT) && !where_object(w, true)) return false;
    if ((ask & ASK_KNOWN_OBJECT) && !where_object(w, false)) return false;
    return true;
}

const struct allocs_allocator *allocators_find_leaf(struct rt_where *w, struct rt_leaf *out)
{
    int levels = 0;
    memset(out, 0, sizeof *out); /* once: a describe that does not answer leaves it alone */
    /* Unrolled: each row's allocator is a constant address, and its tests are straight code. */
#pragma GCC unroll 16
    for (unsigned i = 0; i < COUNT(leaf_order); i++) {
        const struct allocs_allocator *a = leaf_order[i].allocator;
        if ((leaf_order[i].ask & ASK_IN_USE) && !__atomic_load_n(a->in_use, __ATOMIC_ACQUIRE))
            continue;
        if (!row_asked(w, leaf_order[i].ask, &levels)) continue;
        if (a->describe(w, leaf_order[i].how, out)) return a;
    }
    return NULL;
}

unsigned levels_chain(struct rt_where *w, struct alloc_level *chain, unsigned max)
{
    int levels = 0;
    if (!w->addr || !levels_up(&levels)) return 0;
    uint32_t answered = 0;
    unsigned n = 0;
#pragma GCC unroll 16
    for (unsigned i = 0; i < COUNT(level_order); i++) {
        const struct level_row *r = &level_order[i];
        if ((answered & r->after) != r->after || (answered & r->unless)) continue;
        if (!row_asked(w, r->ask, &levels)) continue;
        uintptr_t lo, hi;
        if (!r->allocator->extent(w, &lo, &hi)) continue;
        answered |= level_resolved[i].bit;
        if (n < max && hi > lo)
            chain[n++] = (struct alloc_level){level_resolved[i].public_allocator, (const void *)lo,
                                              (size_t)(hi - lo)};
    }
    return n;
}

long allocators_walk_live(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg)
{
    long n = 0;
    bool stopped = false;
    for (unsigned i = 0; i < COUNT(walk_order) && !stopped; i++)
        n += walk_order[i]->walk(cb, arg, &stopped);
    return n;
}
