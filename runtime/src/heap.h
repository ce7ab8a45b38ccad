/* heap.h: private interfaces between the heap part's files (heap_*.c, threads.c, pool.c).
 *
 *   heap_real.c     the real allocator's functions; the next definition of a libc function
 *   heap_malloc.c   the interposed malloc family; resolving the real allocator; the bootstrap
 *                   buffer
 *   heap_index.c    chunk-start byte maps, trailers, the large-chunk table, lookup and walk
 *   heap_sites.c    the site table: allocation pc -> dense site id; declared wrappers' ranges
 *                   and the unwinding past them
 *   heap_helpers.c  strdup & co. (caller as site); parsing the LIBALLOCS_* declarations
 *   heap_cxx.c      operator new/delete, every form (caller as site)
 *   threads.c       per-thread records: counters, sequence numbers, stacks
 *   pool.c          objects registered by custom allocators
 */
#ifndef ALLOCS_HEAP_H
#define ALLOCS_HEAP_H

#include "internal.h"

/* ---- heap_real.c (filled in by heap_malloc.c's start-up) ---- */
struct heap_real {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*memalign)(size_t, size_t);
    size_t (*usable_size)(void *);
};
/* hidden: the malloc path calls through it with one direct load, not through the GOT */
extern struct heap_real heap_real __attribute__((visibility("hidden")));
/* the real allocator is glibc's: usable size comes from the header */
extern bool heap_glibc __attribute__((visibility("hidden")));
/* Resolves the next definition of a libc function (used by helpers and threads.c). */
void *heap_next_symbol(const char *name);

/* ---- heap_malloc.c ---- */
/* malloc with an explicit site pc (helpers that allocate on their caller's behalf). */
void *heap_malloc_at(size_t n, uintptr_t pc);
/* The same, with the entry point's CFA (`__builtin_dwarf_cfa()`, where its return address pc
 * sits at cfa - 8): lets a call from inside an allocation wrapper be attributed to the
 * wrapper's caller without unwinding (heap_site_id_at). */
void *heap_malloc_at_cfa(size_t n, uintptr_t pc, uintptr_t cfa);
/* memalign and free for heap_cxx.c's operator new/delete (same paths as the exported ones). */
void *heap_memalign_at(size_t align, size_t n, uintptr_t pc, uintptr_t cfa);
void heap_free(void *p);

/* Runtime locks taken on the malloc path. While one is held, a malloc on this thread (from a
 * signal handler) passes through untracked instead of spinning on the lock forever. */
static inline void heap_lock(rt_lock_t *l)
{
    rt_self.heap_busy++;
    rt_lock(l);
}
static inline void heap_unlock(rt_lock_t *l)
{
    rt_unlock(l);
    rt_self.heap_busy--;
}

/* The real allocator's usable size of a chunk it handed out. */
static inline size_t heap_usable(void *p)
{
    if (RT_LIKELY(heap_glibc)) {
        /* glibc 2.36: the size field sits just below the user pointer; bit 1 = mmapped. */
        uint64_t hdr = ((const uint64_t *)p)[-1];
        return (size_t)((hdr & ~(uint64_t)7) - 8 - ((hdr & 2) << 2));
    }
    return heap_real.usable_size(p);
}

/* ---- heap_index.c ---- */
static inline uint64_t heap_trailer_make(uint64_t seq, uint32_t site_id, size_t usable,
                                         size_t requested, bool pool)
{
    uint64_t slack = usable - ALLOCS_TRAILER_BYTES - requested;
    if (slack >= ALLOCS_TRAILER_SLACK_UNKNOWN) slack = ALLOCS_TRAILER_SLACK_UNKNOWN;
    /* site ids are below 2^20 (heap_sites.c never hands out more) */
    return (seq & ALLOCS_TRAILER_SEQ_MASK) | (pool ? ALLOCS_TRAILER_POOL_BIT : 0) |
           ((uint64_t)site_id << ALLOCS_TRAILER_SITE_SHIFT) | (slack << ALLOCS_TRAILER_SLACK_SHIFT);
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
/* Is this chunk listed in the large-chunk table? Its extent (usable less the trailer) is at
 * least LARGE (the layout's rule), so a bounded scan always suffices for the others. */
static inline bool heap_is_large(size_t usable)
{
    return usable >= ALLOCS_LARGE_CHUNK_BYTES + ALLOCS_TRAILER_BYTES;
}
void heap_index_init(void);
/* The start-mark values (allocs_layout.h): 1..SIZED_MAX, a chunk of usable size 16 * m - 8
 * and PLAIN, one of another size, both without pool objects, which free releases with no more
 * reads; SLOW, a large chunk (also in the large-chunk table) or one holding pool objects, which
 * free's general path handles. */
#define HEAP_MARK_SIZED_MAX ALLOCS_CHUNK_MARK_SIZED_MAX
#define HEAP_MARK_PLAIN ALLOCS_CHUNK_MARK_PLAIN
#define HEAP_MARK_SLOW ALLOCS_CHUNK_MARK_SLOW
/* The mark of a chunk without pool objects that is not large. */
static inline uint8_t heap_mark_for(size_t usable)
{
    size_t granules = (usable + ALLOCS_TRAILER_BYTES) >> ALLOCS_GRANULE_SHIFT;
    return ((usable + ALLOCS_TRAILER_BYTES) & 15) == 0 && granules <= HEAP_MARK_SIZED_MAX
               ? (uint8_t)granules
               : HEAP_MARK_PLAIN;
}
/* Is this mark one free's common path releases (any live mark but SLOW)? */
static inline bool heap_mark_is_plain(uint8_t m)
{
    return (uint8_t)(m - 1) < HEAP_MARK_SLOW - 1;
}
/* The usable size of the chunk at base whose mark is m. */
static inline size_t heap_mark_usable(uintptr_t base, uint8_t m)
{
    return m <= HEAP_MARK_SIZED_MAX ? (size_t)m * 16 - ALLOCS_TRAILER_BYTES
                                    : heap_usable((void *)base);
}
/* Marks a new chunk (the trailer must already be written); returns false if the index could
 * not take it (no memory for a map): the chunk then stays untracked. pool: the chunk holds
 * pool objects (its mark is SLOW). */
bool heap_index_add_slow(uintptr_t base, size_t usable, bool pool);
/* The chunk at base (usable bytes) now holds pool objects: the trailer's bit for readers, a
 * SLOW mark for free (pool.c, under its lock). */
void heap_chunk_note_pool(uintptr_t base, size_t usable);
/* Live chunks and their requested bytes, counted by a walk of the index (alloc_get_stats:
 * the malloc path keeps no per-free counters). */
void heap_live(uint64_t *chunks, uint64_t *bytes);
void heap_large_remove(uintptr_t base);
/* region -> its byte map; a static array, so the fast path reaches it with no pointer load */
extern uint8_t *heap_chunk_l1[ALLOCS_CHUNK_L1_ENTRIES];
/* The same maps for the malloc and free paths, biased: region r's entry is its map's address
 * less r << 23 (0 while it has none), so a granule's mark is at entry + (addr >> 4), with no
 * mask and no add. Private: out-of-process readers use heap_chunk_l1 (root.chunk_l1). */
extern uintptr_t heap_chunk_l1_biased[ALLOCS_CHUNK_L1_ENTRIES]
    __attribute__((visibility("hidden")));

/* The chunk-start byte of addr, or NULL when addr cannot be a tracked chunk's start (not
 * 16-aligned, beyond user space, or in a region without a map). */
static inline uint8_t *heap_chunk_mark(uintptr_t addr)
{
    if (RT_UNLIKELY((addr & 15) | (addr >> 47))) return NULL;
    uint8_t *map =
        __atomic_load_n(&heap_chunk_l1[addr >> ALLOCS_CHUNK_REGION_SHIFT], __ATOMIC_ACQUIRE);
    if (RT_UNLIKELY(!map)) return NULL;
    return map + ((addr & ((1ul << ALLOCS_CHUNK_REGION_SHIFT) - 1)) >> ALLOCS_GRANULE_SHIFT);
}
/* A plain byte store publishes the chunk: the trailer written before it is visible to any
 * reader that sees the mark (release; on x86-64 an ordinary mov). */
static inline bool heap_index_add(uintptr_t base, size_t usable, bool pool)
{
    uint8_t *m = heap_chunk_mark(base);
    if (RT_UNLIKELY(!m || pool || heap_is_large(usable)))
        return heap_index_add_slow(base, usable, pool);
    __atomic_store_n(m, heap_mark_for(usable), __ATOMIC_RELEASE);
    return true;
}
static inline void heap_index_remove(uintptr_t base, size_t usable)
{
    uint8_t *m = heap_chunk_mark(base);
    if (m) __atomic_store_n(m, 0, __ATOMIC_RELEASE);
    if (RT_UNLIKELY(heap_is_large(usable))) heap_large_remove(base);
}
static inline bool heap_index_is_start(uintptr_t base)
{
    uint8_t *m = heap_chunk_mark(base);
    return m && __atomic_load_n(m, __ATOMIC_ACQUIRE);
}

/* The marks of granules i .. i + 7 at any offset (each byte is still read whole: x86-64 splits
 * an unaligned load into byte-atomic parts); the compiler fence orders it before the reads the
 * marks lead to. */
static inline uint64_t heap_load_marks_unaligned(const uint8_t *map, size_t i)
{
    uint64_t marks;
    __builtin_memcpy(&marks, map + i, sizeof marks);
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    return marks;
}
/* alloc_get_size's common case (inline there, api.c): the requested size of the chunk without
 * pool objects holding addr, from one region's map and the trailer; HEAP_SIZE_UNKNOWN when that
 * does not answer (not a chunk, a large or pool chunk...): heap_find_chunk and the levels then
 * do. */
#define HEAP_SIZE_UNKNOWN SIZE_MAX
static inline size_t heap_find_size(uintptr_t addr)
{
    if (RT_UNLIKELY(addr >> 47)) return HEAP_SIZE_UNKNOWN;
    /* The trailer lies at or after addr, in addr's cache line or the next for most small chunks:
     * fetch both while the map is read, instead of after it (a prefetch never faults). */
    __builtin_prefetch((const void *)addr);
    __builtin_prefetch((const void *)(addr + 64));
    /* The biased region table (the malloc path's): granule g's mark is at bias + g. */
    uintptr_t bias =
        __atomic_load_n(&heap_chunk_l1_biased[addr >> ALLOCS_CHUNK_REGION_SHIFT], __ATOMIC_ACQUIRE);
    size_t g = addr >> ALLOCS_GRANULE_SHIFT,
           window = ALLOCS_LARGE_CHUNK_BYTES >> ALLOCS_GRANULE_SHIFT;
    if (RT_UNLIKELY(!bias || (g & (ALLOCS_CHUNK_MAP_BYTES - 1)) < window))
        return HEAP_SIZE_UNKNOWN; /* the window would reach into the region below */
    /* map_prev inline, with the eight marks that end at addr's (an unaligned load: no mask), and
     * without its lower bound: a chunk that starts below the window is either large (its mark
     * is SLOW) or does not reach addr, and both answer unknown below. */
    size_t w = g - 7, lo = g - window;
    uint64_t marks = heap_load_marks_unaligned((const uint8_t *)(bias + w), 0);
    while (RT_UNLIKELY(!marks)) {
        if (w < lo + 8) return HEAP_SIZE_UNKNOWN; /* (w stays in the region) */
        w -= 8;
        marks = heap_load_marks_unaligned((const uint8_t *)(bias + w), 0);
    }
    unsigned top = 63u - (unsigned)__builtin_clzll(marks); /* the mark's highest bit */
    uint8_t m = (uint8_t)(marks >> (top & ~7u));
    if (RT_UNLIKELY(!heap_mark_is_plain(m))) return HEAP_SIZE_UNKNOWN;
    uintptr_t base = (w + top / 8) << ALLOCS_GRANULE_SHIFT;
    /* Another allocator's usable size is a call (heap_usable): left to the general path, so
     * that this one stays a leaf function with no frame. */
    if (RT_UNLIKELY(m > HEAP_MARK_SIZED_MAX && !heap_glibc)) return HEAP_SIZE_UNKNOWN;
    size_t usable = heap_mark_usable(base, m);
    /* contains(): the trailer is not the program's */
    if (usable <= ALLOCS_TRAILER_BYTES || addr - base >= usable - ALLOCS_TRAILER_BYTES)
        return HEAP_SIZE_UNKNOWN;
    return heap_trailer_requested(__atomic_load_n(heap_trailer_at(base, usable), __ATOMIC_RELAXED),
                                  usable);
}

/* ---- heap_sites.c ---- */
void heap_sites_init(void);
uint32_t heap_site_id(uintptr_t pc); /* 0 when the table is full */
/* The site id for an allocation whose entry point was called from pc with CFA cfa (0: not
 * known). A pc inside an allocation wrapper (metadata's ALLOCS_SITE_WRAPPER records, or a
 * declared wrapper) stands for the wrapper's caller: with the record's CFA offset k, the
 * caller's return address is one load, *(cfa + k - 8), and the hop repeats for a wrapper
 * calling a wrapper; the classification is cached per thread like a site. */
uint32_t heap_site_id_at(uintptr_t pc, uintptr_t cfa);
void heap_site_cache_flush(void); /* every thread's cache misses once (a new generation) */
/* This thread's cache forgets everything (its record is gone: threads.c). Entries are made
 * only while the thread has a record, so a hit in malloc's fast path means it has one. */
static inline void heap_site_cache_clear(void)
{
    __builtin_memset(rt_self.site_keys, 0, sizeof rt_self.site_keys);
}
/* The per-thread cache in front of heap_site_id, inline for the malloc path: one entry per
 * pc hash, keyed by pc xor the wrapper generation (bits 48-62: heap_wrapper_key, bumped when
 * wrapper ranges change), so a change of wrappers misses every entry without touching other
 * threads' caches. A pc inside a declared wrapper is cached with bit 63 set, which the fast
 * path never matches. */
extern uint64_t heap_wrapper_key __attribute__((visibility("hidden"))); /* one direct load */
#define HEAP_SITE_KEY_WRAPPER (1ull << 63)
/* rt_self through the fs segment (GCC's named address space on x86-64): an element of its site
 * cache is then one fs-relative operand instead of an address built from the thread pointer. */
typedef __seg_fs struct rt_thread_state heap_tls_t;
static inline heap_tls_t *heap_tls(void)
{
    return (heap_tls_t *)((uintptr_t)&rt_self - (uintptr_t)__builtin_thread_pointer());
}
static inline uintptr_t heap_site_cache_key(uintptr_t pc)
{
    return pc ^ __atomic_load_n(&heap_wrapper_key, __ATOMIC_RELAXED);
}
static inline unsigned heap_site_cache_slot(uintptr_t pc)
{
    return pc & (RT_SITE_CACHE_ENTRIES - 1);
}
/* A cache entry's value is the trailer's site field as is (one `or` on the malloc path);
 * ids and wrappers' CFA offsets are below 2^20. */
static inline uint64_t heap_site_bits(uint32_t id)
{
    return (uint64_t)id << ALLOCS_TRAILER_SITE_SHIFT;
}
static inline uint32_t heap_site_cached(unsigned e)
{
    return (uint32_t)(rt_self.site_ids[e] >> ALLOCS_TRAILER_SITE_SHIFT);
}
/* The malloc path's lookup, made before the real allocator's call so that only the id stays
 * alive across it: a cached site inline; anything else (a wrapper's pc, a helper's override, a
 * new pc) out of line, so the entry points keep their few saved registers. */
uint32_t heap_site_lookup_slow(uintptr_t pc, uintptr_t cfa);
static inline uint32_t heap_site_lookup(uintptr_t pc, uintptr_t cfa)
{
    unsigned e = heap_site_cache_slot(pc);
    if (RT_LIKELY(rt_self.site_keys[e] == heap_site_cache_key(pc) && !rt_self.overriding))
        return heap_site_cached(e);
    return heap_site_lookup_slow(pc, cfa);
}
/* Helpers that allocate on their caller's behalf (strdup, __cxa_allocate_exception...): the
 * nested mallocs take pc as their site unless an outer helper already set one. `overriding`
 * sits beside heap_busy so that the malloc path checks both with one load (malloc_gate).
 * Returns what heap_site_override_end restores. */
static inline uintptr_t heap_site_override_begin(uintptr_t pc)
{
    uintptr_t saved = rt_self.site_override;
    if (!saved) {
        rt_self.site_override = pc;
        rt_self.overriding = 1;
    }
    return saved;
}
static inline void heap_site_override_end(uintptr_t saved)
{
    rt_self.overriding = saved != 0;
    rt_self.site_override = saved;
}
uintptr_t heap_site_pc(uint32_t id);

/* ---- heap_sites.c: declared wrappers ---- */
/* The code ranges of the wrappers declared in LIBALLOCS_ALLOC_FNS (heap_helpers.c finds them
 * and publishes each new set here; a pc inside one stands for the wrapper's caller, found by
 * unwinding). */
#define HEAP_MAX_WRAPPERS 64
struct heap_range {
    uintptr_t lo, hi;
};
struct heap_wrapper_ranges {
    unsigned n;
    struct heap_range r[HEAP_MAX_WRAPPERS];
};
void heap_sites_set_wrappers(struct heap_wrapper_ranges *set); /* never freed afterwards */

/* ---- threads.c ---- */
struct allocs_thread *threads_self_slow(void); /* NULL once the thread has retired */
void threads_init(void);
uint64_t threads_next_seq_slow(struct allocs_thread *rec);
void threads_count_retired(uint64_t allocs, uint64_t frees, uint64_t bytes_alloc,
                           uint64_t bytes_freed);

static inline struct allocs_thread *threads_current(void)
{
    struct allocs_thread *rec = rt_self.rec;
    return RT_LIKELY(rec != NULL) ? rec : threads_self_slow();
}
/* A thread's block of sequence numbers ends at a multiple of THREADS_SEQ_BLOCK (seq_limit)
 * and never holds one: next_seq is used up when it is a multiple (0 included, a new record's),
 * one test and no second load. Numbers from a block are already below 2^30, the trailer's
 * field (threads_next_seq_slow masks the block). */
#define THREADS_SEQ_BLOCK ALLOCS_THREAD_SEQ_BLOCK
static inline bool threads_seq_left(const struct allocs_thread *rec)
{
    return (rec->next_seq & (THREADS_SEQ_BLOCK - 1)) != 0;
}
static inline uint64_t threads_next_seq(struct allocs_thread *rec)
{
    if (RT_LIKELY(rec && threads_seq_left(rec))) return rec->next_seq++;
    return threads_next_seq_slow(rec);
}

/* ---- interrupted.c ---- */
void interrupted_init(void); /* the real allocator's and libc's code ranges */

/* ---- suballoc.c (declared suballocators; heap_helpers.c parses the declarations) ---- */
/* Metadata was loaded (meta_find.c): redirect the new objects' recorded suballocator calls. */
void suballoc_objects_loaded(void);
/* heap_helpers.c: the well-formed declarations of LIBALLOCS_SUBALLOC_FNS and
 * LIBALLOCS_SUBFREE_FNS, "name(letters)p" or, for a free, "name(letters)[->owner]" (the
 * variables are parsed once, on the first call of this or at start-up). */
#define HEAP_MAX_SUBALLOC_DECLS 64
struct heap_suballoc_decl {
    const char *text; /* a permanent copy: len bytes */
    size_t len;
    bool is_free;
};
const struct heap_suballoc_decl *heap_suballoc_decls(unsigned *n);

/* ---- pool.c ---- */
void pool_init(void);
/* The chunk [base, base + usable) is going away: drop the pool objects inside [lo, hi). */
void pool_drop_range(uintptr_t lo, uintptr_t hi);

/* ---- heap_start.c: bringing the heap part up ----
 * NONE: nothing known; RESOLVING: looking up the real allocator (dlsym may allocate: those
 * requests get the bootstrap buffer); REAL: real functions known, requests pass through;
 * READY: the tables are built and chunks are tracked. */
enum { HEAP_ST_NONE, HEAP_ST_RESOLVING, HEAP_ST_REAL, HEAP_ST_READY };
extern int heap_start_state;
int heap_start_slow(void); /* the first caller resolves and builds; others see where it is */
static inline int heap_state(void)
{
    int s = __atomic_load_n(&heap_start_state, __ATOMIC_ACQUIRE);
    return RT_LIKELY(s == HEAP_ST_READY) ? s : s == HEAP_ST_NONE ? heap_start_slow() : s;
}
/* The bootstrap buffer: static memory, each block's size in the word before it; never freed. */
#define HEAP_BOOT_BYTES (256u * 1024u)
extern char heap_boot[HEAP_BOOT_BYTES];
void *heap_boot_alloc(size_t n, size_t align);
static inline bool heap_is_boot(const void *p)
{
    return (const char *)p >= heap_boot && (const char *)p < heap_boot + HEAP_BOOT_BYTES;
}
static inline size_t heap_boot_size(const void *p)
{
    return ((const size_t *)p)[-1];
}

#endif
