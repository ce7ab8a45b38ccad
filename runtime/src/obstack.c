/* obstack.c: GNU obstacks (glibc's <obstack.h>) as an allocator nested in malloc chunks.
 *
 * An obstack's chunks come from its chunk function (malloc, as obstack_chunk_alloc usually is),
 * so each is a malloc chunk; its objects are carved by inline macros bumping next_free, so no
 * object boundary is ever recorded anywhere. What this allocator answers for an address in an
 * obstack's chunk: the obstack (its struct obstack), the chunk, and whether the address lies in
 * the used part [contents, next_free) of the current chunk (an older chunk is used up to its
 * limit) or in its free tail [next_free, limit).
 *
 * The program's calls of _obstack_begin, _obstack_begin_1 and _obstack_newchunk go through the
 * PLT, so they are interposed here (the next definition, glibc's, does the work); the struct's
 * address is kept in `__allocs_obstacks` (allocs_layout.h), which the decoder reads too;
 * obstack_free(h, NULL), which frees every chunk and leaves h->chunk dangling, drops it. The
 * current chunk takes the SLOW mark (mark_chunk). The slots are claimed
 * and cleared with compare-and-swap: no lock, so nothing here can deadlock against a fork or a
 * signal handler. A slot may name a struct the program freed or reused since, so a query reads
 * it with lv_safe_read (it may lie in memory unmapped since) and believes a chunk only when it
 * is a live malloc chunk whose requested size reaches exactly its limit. */
#define _GNU_SOURCE
#include "allocators.h"
#include "heap.h"
#include "sys_io.h"

#include <obstack.h>
#include <stddef.h>
#undef obstack_free

/* glibc's struct layout, as allocs_layout.h states it for the decoder. */
_Static_assert(offsetof(struct obstack, chunk) == ALLOCS_OBSTACK_OFF_CHUNK, "obstack.chunk");
_Static_assert(offsetof(struct obstack, object_base) == ALLOCS_OBSTACK_OFF_OBJECT_BASE,
               "obstack.object_base");
_Static_assert(offsetof(struct obstack, next_free) == ALLOCS_OBSTACK_OFF_NEXT_FREE,
               "obstack.next_free");
_Static_assert(offsetof(struct obstack, chunk_limit) == ALLOCS_OBSTACK_OFF_CHUNK_LIMIT,
               "obstack.chunk_limit");
_Static_assert(offsetof(struct _obstack_chunk, limit) == ALLOCS_OBCHUNK_OFF_LIMIT, "chunk.limit");
_Static_assert(offsetof(struct _obstack_chunk, prev) == ALLOCS_OBCHUNK_OFF_PREV, "chunk.prev");
_Static_assert(offsetof(struct _obstack_chunk, contents) == ALLOCS_OBCHUNK_OFF_CONTENTS,
               "chunk.contents");

RT_EXPORT uint64_t __allocs_obstacks[ALLOCS_OBSTACK_SLOTS];
/* The struct allocator the answers name ("obstack"), made at the first _obstack_begin. */
static const struct allocator *obstack_api;
static bool obstacks_begun; /* obstack_api is set: the composition asks obstack_describe */

static unsigned home_slot(uintptr_t h)
{
    return (unsigned)(((h >> 3) * ALLOCS_SUBALLOC_HASH_MULTIPLIER) >> 56) % ALLOCS_OBSTACK_SLOTS;
}

static void registry_add(uintptr_t h)
{
    unsigned home = home_slot(h);
    for (unsigned n = 0; n < ALLOCS_OBSTACK_SLOTS; n++) {
        uint64_t *slot = &__allocs_obstacks[(home + n) % ALLOCS_OBSTACK_SLOTS];
        uint64_t seen = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (seen == h) return; /* begun again (after obstack_free(h, NULL), or a reused struct) */
        if (!seen &&
            __atomic_compare_exchange_n(slot, &seen, h, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
    }
    /* Every slot taken: the newest obstack replaces the one in its home slot. */
    __atomic_store_n(&__allocs_obstacks[home], h, __ATOMIC_RELEASE);
}

static void registry_drop(uintptr_t h)
{
    for (unsigned i = 0; i < ALLOCS_OBSTACK_SLOTS; i++) {
        uint64_t expected = h;
        __atomic_compare_exchange_n(&__allocs_obstacks[i], &expected, 0, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED);
    }
}

/* The obstack's new current chunk takes the SLOW mark: alloc_get_size's fast path (and free's)
 * reads a chunk's mark alone and would answer with the whole malloc chunk, while the SLOW path
 * asks the allocators, as for a chunk holding pool objects. Only over a live mark: a chunk
 * freed meanwhile stays unmarked. */
static void mark_chunk(const struct obstack *h)
{
    uint8_t *m = heap_chunk_mark((uintptr_t)h->chunk);
    uint8_t live = m ? __atomic_load_n(m, __ATOMIC_RELAXED) : 0;
    while (live && live != HEAP_MARK_SLOW &&
           !__atomic_compare_exchange_n(m, &live, HEAP_MARK_SLOW, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

static void began(struct obstack *h)
{
    if (!__atomic_load_n(&obstack_api, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&obstack_api, rt_add_custom_allocator("obstack"), __ATOMIC_RELEASE);
        __atomic_store_n(&obstacks_begun, true, __ATOMIC_RELEASE);
    }
    registry_add((uintptr_t)h);
    mark_chunk(h);
}

typedef int (*begin_fn)(struct obstack *, int, int, void *(*)(long), void (*)(void *));
typedef int (*begin_1_fn)(struct obstack *, int, int, void *(*)(void *, long),
                          void (*)(void *, void *), void *);
typedef void (*newchunk_fn)(struct obstack *, int);
typedef void (*free_fn)(struct obstack *, void *);

#define NEXT(type, name)                                                                           \
    static type next_;                                                                             \
    if (!__atomic_load_n(&next_, __ATOMIC_ACQUIRE))                                                \
        __atomic_store_n(&next_, (type)heap_next_symbol(name), __ATOMIC_RELEASE);                  \
    type next = __atomic_load_n(&next_, __ATOMIC_ACQUIRE)

RT_EXPORT int _obstack_begin(struct obstack *h, int size, int alignment, void *(*chunkfun)(long),
                             void (*freefun)(void *))
{
    NEXT(begin_fn, "_obstack_begin");
    int r = next(h, size, alignment, chunkfun, freefun);
    if (r) began(h);
    return r;
}

RT_EXPORT int _obstack_begin_1(struct obstack *h, int size, int alignment,
                               void *(*chunkfun)(void *, long), void (*freefun)(void *, void *),
                               void *arg)
{
    NEXT(begin_1_fn, "_obstack_begin_1");
    int r = next(h, size, alignment, chunkfun, freefun, arg);
    if (r) began(h);
    return r;
}

/* The macros call it for room the current chunk lacks (glibc's own calls from obstack_printf
 * stay inside libc: those chunks keep their plain mark). */
RT_EXPORT void _obstack_newchunk(struct obstack *h, int length)
{
    NEXT(newchunk_fn, "_obstack_newchunk");
    next(h, length);
    mark_chunk(h);
}

/* glibc exports both names for one function; <obstack.h> calls obstack_free. Freeing from NULL
 * frees every chunk and leaves h->chunk pointing at a freed one: the obstack is gone. */
RT_EXPORT void obstack_free(struct obstack *h, void *obj)
{
    NEXT(free_fn, "obstack_free");
    if (!obj) registry_drop((uintptr_t)h);
    next(h, obj);
}

void _obstack_free(struct obstack *h, void *obj);
RT_EXPORT void _obstack_free(struct obstack *h, void *obj)
{
    NEXT(free_fn, "_obstack_free");
    if (!obj) registry_drop((uintptr_t)h);
    next(h, obj);
}

/* ---- the query side ---- */

/* Whether the live malloc chunk c looks like an obstack's: its requested size reaches its limit
 * (glibc asks the chunk function for limit - chunk bytes). *limit and *prev: its header, read
 * directly, as alloc_get_size reads a live chunk's trailer. */
static bool chunk_is_obstacks(const struct rt_chunk *c, uintptr_t *limit, uintptr_t *prev)
{
    if (c->size < ALLOCS_OBCHUNK_OFF_CONTENTS) return false;
    const uintptr_t *hdr = (const uintptr_t *)c->base;
    *limit = __atomic_load_n(&hdr[ALLOCS_OBCHUNK_OFF_LIMIT / 8], __ATOMIC_RELAXED);
    *prev = __atomic_load_n(&hdr[ALLOCS_OBCHUNK_OFF_PREV / 8], __ATOMIC_RELAXED);
    return *limit == c->base + c->size;
}

/* The same for a pointer read from a struct obstack or a chunk: only the base of a live malloc
 * chunk is read through. */
static bool obstack_chunk_at(uintptr_t p, uintptr_t *limit, uintptr_t *prev)
{
    struct rt_chunk c;
    return p && !(p & 15) && heap_find_chunk(p, &c) && c.base == p &&
           chunk_is_obstacks(&c, limit, prev);
}

struct obstack_hit {
    uintptr_t obstack, chunk, limit, next_free; /* next_free: 0 for an older chunk */
};

/* Whether the struct at h is an obstack holding the chunk at base, by its chain. */
static bool obstack_holds(uintptr_t h, uintptr_t base, struct obstack_hit *out)
{
    uint64_t f[5];
    if (!lv_safe_read(f, h, sizeof f)) return false;
    uintptr_t chunk = f[ALLOCS_OBSTACK_OFF_CHUNK / 8], limit, prev;
    uintptr_t object_base = f[ALLOCS_OBSTACK_OFF_OBJECT_BASE / 8];
    uintptr_t next_free = f[ALLOCS_OBSTACK_OFF_NEXT_FREE / 8];
    if (!obstack_chunk_at(chunk, &limit, &prev) || f[ALLOCS_OBSTACK_OFF_CHUNK_LIMIT / 8] != limit ||
        object_base < chunk + ALLOCS_OBCHUNK_OFF_CONTENTS || object_base > next_free ||
        next_free > limit)
        return false;
    for (unsigned n = 0;; n++) {
        if (chunk == base) {
            *out = (struct obstack_hit){h, chunk, limit, n == 0 ? next_free : 0};
            return true;
        }
        uintptr_t older = prev;
        if (n + 1 >= ALLOCS_OBSTACK_MAX_CHUNKS || !obstack_chunk_at(older, &limit, &prev))
            return false;
        chunk = older;
    }
}

static bool obstack_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    (void)how;
    uintptr_t limit, prev;
    const struct allocator *api = __atomic_load_n(&obstack_api, __ATOMIC_ACQUIRE);
    /* Cheap first: only a chunk that looks like an obstack's asks the registry. */
    if (!api || !where_chunk(w) || w->chunk.has_pool_objects ||
        !chunk_is_obstacks(&w->chunk, &limit, &prev) ||
        w->addr < w->chunk.base + ALLOCS_OBCHUNK_OFF_CONTENTS || w->addr >= limit)
        return false;
    struct obstack_hit hit;
    bool found = false;
    for (unsigned i = 0; i < ALLOCS_OBSTACK_SLOTS && !found; i++) {
        uintptr_t h = __atomic_load_n(&__allocs_obstacks[i], __ATOMIC_ACQUIRE);
        found = h && obstack_holds(h, w->chunk.base, &hit);
    }
    if (!found) return false;
    /* The part holding the address: used up to next_free (an older chunk up to its limit). */
    uintptr_t contents = hit.chunk + ALLOCS_OBCHUNK_OFF_CONTENTS;
    uintptr_t used_end = hit.next_free ? hit.next_free : hit.limit;
    out->allocator = api;
    out->base = w->addr < used_end ? contents : used_end;
    out->size = w->addr < used_end ? used_end - contents : hit.limit - used_end;
    return true; /* no site: the objects' allocating calls are inline macros nobody records */
}

const struct allocs_allocator obstack_allocator = {
    .name = "obstack",
    .id = ALLOCS_ALLOCATOR_UNKNOWN, /* its struct allocator is a custom one: see began() */
    .level = ALLOCS_LEVEL_NESTED,
    .describe = obstack_describe,
    .in_use = &obstacks_begun,
};
