/* heap.h: private interfaces between the heap part's files (heap_*.c, threads.c, pool.c).
 *
 *   heap_malloc.c   the interposed malloc family; the real allocator; the bootstrap buffer
 *   heap_index.c    chunk-start bitmaps, trailers, the large-chunk table, lookup and walk
 *   heap_sites.c    the site table: allocation pc -> dense site id
 *   heap_helpers.c  strdup & co. (caller as site), declared allocation wrappers
 *   threads.c       per-thread records: counters, sequence numbers, stacks
 *   pool.c          objects registered by custom allocators
 */
#ifndef ALLOCS_HEAP_H
#define ALLOCS_HEAP_H

#include "internal.h"

/* ---- heap_malloc.c ---- */
struct heap_real {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*memalign)(size_t, size_t);
    size_t (*usable_size)(void *);
};
extern struct heap_real heap_real;
extern bool heap_glibc;      /* the real allocator is glibc's: usable size comes from the header */
extern RT_TLS int heap_busy; /* recursion guard: our own code is running on this thread */
extern RT_TLS uintptr_t heap_site_override; /* set by helpers: the site for nested mallocs */
void heap_resolve_real(void);               /* idempotent */
/* malloc with an explicit site pc (helpers that allocate on their caller's behalf). */
void *heap_malloc_at(size_t n, uintptr_t pc);
/* Resolves the next definition of a libc function (used by helpers and threads.c). */
void *heap_next_symbol(const char *name);

/* Runtime locks taken on the malloc path. While one is held, a malloc on this thread (from a
 * signal handler) passes through untracked instead of spinning on the lock forever. */
static inline void heap_lock(rt_lock_t *l)
{
    heap_busy++;
    rt_lock(l);
}
static inline void heap_unlock(rt_lock_t *l)
{
    rt_unlock(l);
    heap_busy--;
}

/* The real allocator's usable size of a chunk it handed out. */
static inline size_t heap_usable(void *p)
{
    if (RT_LIKELY(heap_glibc)) {
        /* glibc 2.36: the size field sits just below the user pointer; bit 1 = mmapped. */
        uint64_t hdr = ((const uint64_t *)p)[-1];
        uint64_t size = hdr & ~(uint64_t)7;
        return (size_t)(size - ((hdr & 2) ? 16 : 8));
    }
    return heap_real.usable_size(p);
}

/* ---- heap_index.c ---- */
static inline uint64_t heap_trailer_make(uint64_t seq, uint32_t site_id, size_t usable,
                                         size_t requested, bool pool)
{
    uint64_t slack = usable - ALLOCS_TRAILER_BYTES - requested;
    if (slack >= ALLOCS_TRAILER_SLACK_UNKNOWN) slack = ALLOCS_TRAILER_SLACK_UNKNOWN;
    return (seq & ALLOCS_TRAILER_SEQ_MASK) | (pool ? ALLOCS_TRAILER_POOL_BIT : 0) |
           ((uint64_t)(site_id & ALLOCS_TRAILER_SITE_MASK) << ALLOCS_TRAILER_SITE_SHIFT) |
           (slack << ALLOCS_TRAILER_SLACK_SHIFT);
}
static inline uint64_t *heap_trailer_at(uintptr_t base, size_t usable)
{
    return (uint64_t *)(base + usable - ALLOCS_TRAILER_BYTES);
}
static inline size_t heap_trailer_requested(uint64_t t, size_t usable)
{
    uint64_t slack = (t >> ALLOCS_TRAILER_SLACK_SHIFT) & ALLOCS_TRAILER_SLACK_MASK;
    size_t room = usable - ALLOCS_TRAILER_BYTES;
    return slack == ALLOCS_TRAILER_SLACK_UNKNOWN || slack > room ? room : room - slack;
}
/* Is this chunk listed in the large-chunk table? Requested >= LARGE (the layout's rule), plus
 * any chunk whose object extent exceeds LARGE, so a bounded scan always suffices otherwise. */
static inline bool heap_is_large(size_t requested, size_t usable)
{
    return requested >= ALLOCS_LARGE_CHUNK_BYTES ||
           usable - ALLOCS_TRAILER_BYTES > ALLOCS_LARGE_CHUNK_BYTES;
}
void heap_index_init(void);
/* Marks a new chunk (the trailer must already be written); returns false if the index could
 * not take it (no memory for a bitmap): the chunk then stays untracked. */
bool heap_index_add_slow(uintptr_t base, size_t requested, size_t usable);
void heap_large_remove(uintptr_t base);
extern uint64_t *heap_chunk_l1;

/* The malloc/free fast paths, inline: one L1 load, one bitmap word, one atomic. */
static inline uint64_t *heap_chunk_word(uintptr_t addr, uint64_t *bit)
{
    if (RT_UNLIKELY(addr >= (1ul << 47))) return NULL;
    uint64_t *bm = (uint64_t *)(uintptr_t)__atomic_load_n(
        &heap_chunk_l1[addr >> ALLOCS_REGION_SHIFT], __ATOMIC_ACQUIRE);
    if (RT_UNLIKELY(!bm)) return NULL;
    uintptr_t g = (addr & ((1ul << ALLOCS_REGION_SHIFT) - 1)) >> ALLOCS_GRANULE_SHIFT;
    *bit = 1ull << (g & 63);
    return &bm[g >> 6];
}
static inline bool heap_index_add(uintptr_t base, size_t requested, size_t usable)
{
    /* One bit per 16 bytes: a chunk not 16-aligned (only a non-glibc allocator hands those
     * out) would share its granule with a neighbour, so it stays untracked. */
    if (RT_UNLIKELY(base & 15)) return false;
    uint64_t bit, *w = heap_chunk_word(base, &bit);
    if (RT_UNLIKELY(!w || heap_is_large(requested, usable)))
        return heap_index_add_slow(base, requested, usable);
    __atomic_fetch_or(w, bit, __ATOMIC_RELEASE);
    return true;
}
static inline void heap_index_remove(uintptr_t base, size_t requested, size_t usable)
{
    uint64_t bit, *w = heap_chunk_word(base, &bit);
    if (w) __atomic_fetch_and(w, ~bit, __ATOMIC_RELEASE);
    if (RT_UNLIKELY(heap_is_large(requested, usable))) heap_large_remove(base);
}
static inline bool heap_index_is_start(uintptr_t base)
{
    uint64_t bit, *w;
    if (RT_UNLIKELY(!heap_chunk_l1 || (base & 15))) return false;
    w = heap_chunk_word(base, &bit);
    return w && (__atomic_load_n(w, __ATOMIC_ACQUIRE) & bit);
}

/* Sub-allocation bitmaps share the bitmap code (pool.c): the same shape as chunk_l1. */
bool heap_bitmap_set(uint64_t *l1, uintptr_t addr); /* false if no memory */
void heap_bitmap_clear(uint64_t *l1, uintptr_t addr);
bool heap_bitmap_test(const uint64_t *l1, uintptr_t addr);
/* The greatest marked address in [lo, addr], or 0. */
uintptr_t heap_bitmap_prev(const uint64_t *l1, uintptr_t addr, uintptr_t lo);

/* ---- heap_sites.c ---- */
void heap_sites_init(void);
uint32_t heap_site_id(uintptr_t pc); /* 0 when the table is full */
/* The per-thread direct-mapped cache in front of heap_site_id, inline for the malloc path. */
#define HEAP_SITE_CACHE_ENTRIES 128u
#define HEAP_SITE_WRAPPER 0xffffffffu /* cache marker: this pc is inside a declared wrapper */
struct heap_site_cache_entry {
    uintptr_t pc;
    uint32_t id;
};
extern RT_TLS struct heap_site_cache_entry heap_site_cache[HEAP_SITE_CACHE_ENTRIES];
extern RT_TLS unsigned heap_site_cache_generation;
extern unsigned heap_wrapper_generation; /* bumped when wrapper ranges change */
static inline uint32_t heap_site_lookup(uintptr_t pc)
{
    const struct heap_site_cache_entry *e =
        &heap_site_cache[(pc ^ (pc >> 7)) & (HEAP_SITE_CACHE_ENTRIES - 1)];
    if (RT_LIKELY(e->pc == pc && e->id != HEAP_SITE_WRAPPER &&
                  heap_site_cache_generation ==
                      __atomic_load_n(&heap_wrapper_generation, __ATOMIC_RELAXED)))
        return e->id;
    return heap_site_id(pc);
}
uintptr_t heap_site_pc(uint32_t id);

/* ---- heap_helpers.c ---- */
/* The pc is inside a declared allocation wrapper: the site is the wrapper's caller (found by
 * unwinding). Returns the pc to record. */
bool heap_wrappers_active(void);
bool heap_in_wrapper(uintptr_t pc);
uintptr_t heap_wrapper_caller(uintptr_t pc);

/* ---- threads.c ---- */
extern RT_TLS struct allocs_thread *threads_tls_rec;
struct allocs_thread *threads_self_slow(void); /* NULL once the thread has retired */
void threads_init(void);
uint64_t threads_next_seq_slow(struct allocs_thread *rec);
void threads_count_retired(uint64_t allocs, uint64_t frees, uint64_t bytes_alloc,
                           uint64_t bytes_freed);

static inline struct allocs_thread *threads_current(void)
{
    struct allocs_thread *rec = threads_tls_rec;
    return RT_LIKELY(rec != NULL) ? rec : threads_self_slow();
}
static inline uint64_t threads_next_seq(struct allocs_thread *rec)
{
    if (RT_LIKELY(rec && rec->next_seq < rec->seq_limit)) return rec->next_seq++;
    return threads_next_seq_slow(rec);
}

/* ---- pool.c ---- */
void pool_init(void);
/* The chunk [base, base + usable) is going away: drop the pool objects inside [lo, hi). */
void pool_drop_range(uintptr_t lo, uintptr_t hi);

#endif
