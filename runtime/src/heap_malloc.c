/* heap_malloc.c: the interposed malloc family.
 *
 * Every chunk is requested from the real allocator with 8 extra bytes; the 8-byte trailer at
 * base + usable - 8 records sequence number, site id and slack, and the chunk start is marked
 * in the byte map (heap_index.c). Chunks we did not create (allocated before we resolved the
 * real allocator, by the dynamic loader's minimal malloc, or while our own code runs) have no
 * start mark and pass straight through, exactly as glibc would handle them.
 *
 * The real allocator is the next definition (dlsym RTLD_NEXT), not glibc's __libc_malloc:
 * if another allocator (jemalloc, tcmalloc...) is preloaded after us or linked into the
 * program, RTLD_NEXT finds it and we stay correct, whereas __libc_* would mix two heaps.
 * When the next malloc is glibc's (checked with dladdr), the usable size is read from glibc's
 * chunk header inline instead of calling malloc_usable_size, and ALLOCS_ROOT_F_GLIBC_MALLOC
 * tells out-of-process readers they may do the same. Until the real functions are known,
 * requests are served from heap_start.c's bootstrap buffer. */
#define _GNU_SOURCE
#include "heap.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- tracking ----
 * The only counter is each thread's count of tracked chunks (total allocations): live chunks
 * and bytes come from a walk of the index when asked (heap_live), so free counts nothing. A
 * number from the thread's sequence block counts itself (allocs_layout.h: allocs), so the
 * malloc path counts nothing but the number it takes. */

/* Does rec's thread take its numbers from a block of its own? Only with glibc's allocator:
 * otherwise each comes from the shared counter, so that track's fast path (which reads glibc's
 * header) never runs without glibc. */
static inline bool seq_from_block(const struct allocs_thread *rec)
{
    return RT_LIKELY(heap_glibc) && rec != NULL;
}

/* The next sequence number for rec's thread (seq_from_block). */
static uint64_t next_seq(struct allocs_thread *rec)
{
    return seq_from_block(rec) ? threads_next_seq(rec) : threads_next_seq_slow(NULL);
}

/* A new chunk took a sequence number for rec's thread; tracked: the index took it. */
static inline void count_alloc(struct allocs_thread *rec, bool tracked)
{
    if (seq_from_block(rec)) {
        if (RT_UNLIKELY(!tracked)) rec->allocs--; /* the number counted itself */
    } else if (tracked) {
        if (rec)
            rec->allocs++;
        else
            threads_count_retired(1, 0, 0, 0);
    }
}

/* Writes the trailer and marks the chunk; p came from the real allocator for requested + 8,
 * site is its site id (heap_site_lookup, made before that call). The general case: any
 * allocator, a thread without a record or out of sequence numbers, a chunk of more than
 * HEAP_MARK_SIZED_MAX granules, a region without a map. */
static __attribute__((noinline)) void *track_slow(void *p, size_t requested, uint64_t site)
{
    if (RT_UNLIKELY(!p)) return NULL;
    size_t usable = heap_usable(p);
    struct allocs_thread *rec = threads_current();
    uint64_t seq = next_seq(rec);
    *heap_trailer_at((uintptr_t)p, usable) =
        heap_trailer_make(seq, (uint32_t)site, usable, requested, false);
    count_alloc(rec, heap_index_add((uintptr_t)p, usable, false));
    return p;
}

/* The same for the common case, inlined after the real allocator's call with no other call
 * but the tail call to track_slow (the general paths' allocations: calloc, memalign, malloc_slow):
 * a glibc chunk (a thread holds sequence numbers only then: next_seq) of at most
 * HEAP_MARK_SIZED_MAX granules in a mapped region, a recorded thread with sequence numbers left.
 * span = requested + the trailer + glibc's chunk header, the least chunk size the request fits
 * in (the real allocator was asked for span - 8), so that the slack is size - span; site_bits is
 * the trailer's site field (id << ALLOCS_TRAILER_SITE_SHIFT). */
static inline __attribute__((always_inline)) void *track(void *p, size_t span, uint64_t site_bits)
{
    struct allocs_thread *rec = heap_tls()->rec;
    if (RT_UNLIKELY(!p || !rec))
        return track_slow(p, span - 2 * ALLOCS_TRAILER_BYTES,
                          site_bits >> ALLOCS_TRAILER_SITE_SHIFT);
    /* glibc's header (heap_usable): the chunk's size, a multiple of 16. An mmapped chunk (bit 1,
     * whose usable size is computed otherwise) is whole pages: never a size this path takes. */
    uint64_t seq = rec->next_seq, hdr = ((const uint64_t *)p)[-1];
    size_t size = hdr & ~(uint64_t)7;
    /* glibc's chunks are 16-aligned user-space addresses: no need to check for either */
    uintptr_t bias = __atomic_load_n(
        &heap_chunk_l1_biased[(uintptr_t)p >> ALLOCS_CHUNK_REGION_SHIFT], __ATOMIC_ACQUIRE);
    _Static_assert(HEAP_MARK_SIZED_MAX * 16 < 4096, "an mmapped chunk would take the fast path");
    if (RT_UNLIKELY(!(seq & (THREADS_SEQ_BLOCK - 1)) || !bias || size > HEAP_MARK_SIZED_MAX * 16))
        return track_slow(p, span - 2 * ALLOCS_TRAILER_BYTES,
                          site_bits >> ALLOCS_TRAILER_SITE_SHIFT);
    rec->next_seq = seq + 1;
    /* A block's numbers need no mask (threads_seq_left); a small glibc chunk's slack is below
     * 48 bytes, never ALLOCS_TRAILER_SLACK_UNKNOWN. */
    *heap_trailer_at((uintptr_t)p, size - ALLOCS_TRAILER_BYTES) =
        seq | site_bits | ((uint64_t)(size - span) << ALLOCS_TRAILER_SLACK_SHIFT);
    /* the mark gives the size (heap_mark_for) */
    __atomic_store_n((uint8_t *)(bias + ((uintptr_t)p >> ALLOCS_GRANULE_SHIFT)),
                     (uint8_t)(size >> ALLOCS_GRANULE_SHIFT), __ATOMIC_RELEASE);
    return p;
}

/* malloc's fast path takes requests of at most this many bytes: glibc's chunk for n is
 * max(32, n + 16 rounded up to 16) bytes, and only a chunk of at most HEAP_MARK_SIZED_MAX
 * granules is tracked inline (a larger request goes to malloc_slow, whose tracking is the
 * same), so n and the site id fit in one register across the real allocator's call. */
#define MALLOC_FAST_MAX (HEAP_MARK_SIZED_MAX * 16 - 2 * ALLOCS_TRAILER_BYTES)
_Static_assert(MALLOC_FAST_MAX < (1u << 13), "n << 51 keeps all of n");

/* rt_self's offset from the thread pointer, loaded again from the GOT (an asm the compiler
 * cannot merge with the entry's load): one load after the real call instead of a register
 * saved and restored around it. */
static inline heap_tls_t *heap_tls_reloaded(void)
{
    uintptr_t off;
    __asm__ volatile("movq rt_self@gottpoff(%%rip), %0" : "=r"(off));
    return (heap_tls_t *)off;
}

/* track for malloc's fast path, whose caller holds one value across the real call: packed =
 * site_bits - (n << 51) (mod 2^64: the site field, bits 31-50, is untouched, since n << 51
 * only reaches bits 51-63, and n < 2^13), so that the trailer is seq | (packed + ((size - 16)
 * << 51)), the slack field being size - n - 16. The thread has a record (a hit in its site
 * cache: heap_site_cache_clear). */
static inline __attribute__((always_inline)) void *track_fast(void *p, uint64_t packed)
{
    if (RT_UNLIKELY(!p)) return NULL;
    uintptr_t bias = __atomic_load_n(
        &heap_chunk_l1_biased[(uintptr_t)p >> ALLOCS_CHUNK_REGION_SHIFT], __ATOMIC_ACQUIRE);
    if (RT_UNLIKELY(!bias)) goto slow;
    struct allocs_thread *rec = heap_tls_reloaded()->rec;
    uint64_t seq = rec->next_seq, hdr = ((const uint64_t *)p)[-1];
    size_t size = hdr & ~(uint64_t)7; /* as in track */
    if (RT_UNLIKELY(!(seq & (THREADS_SEQ_BLOCK - 1)) || size > HEAP_MARK_SIZED_MAX * 16)) goto slow;
    /* one add to memory (the compiler would add to seq's register and store that: two) */
    __asm__("addq $1, %0" : "+m"(rec->next_seq));
    *heap_trailer_at((uintptr_t)p, size - ALLOCS_TRAILER_BYTES) =
        seq |
        (packed + ((uint64_t)(size - 2 * ALLOCS_TRAILER_BYTES) << ALLOCS_TRAILER_SLACK_SHIFT));
    __atomic_store_n((uint8_t *)(bias + ((uintptr_t)p >> ALLOCS_GRANULE_SHIFT)),
                     (uint8_t)(size >> ALLOCS_GRANULE_SHIFT), __ATOMIC_RELEASE);
    return p;
slow:
    return track_slow(p,
                      (size_t)(-(packed >> ALLOCS_TRAILER_SLACK_SHIFT)) & ALLOCS_TRAILER_SLACK_MASK,
                      (packed >> ALLOCS_TRAILER_SITE_SHIFT) & ALLOCS_TRAILER_SITE_MASK);
}

/* Forgets a tracked chunk whose start mark is `mark`; the caller then releases it. The mark
 * is cleared before the real free, so a concurrent malloc reusing the address cannot lose its
 * own mark to us. */
static void untrack(void *p, uint8_t *mark)
{
    size_t usable = heap_usable(p);
    uint64_t t = *heap_trailer_at((uintptr_t)p, usable);
    if (RT_UNLIKELY(t & ALLOCS_TRAILER_POOL_BIT))
        pool_drop_range((uintptr_t)p, (uintptr_t)p + usable);
    __atomic_store_n(mark, 0, __ATOMIC_RELEASE);
    if (RT_UNLIKELY(heap_is_large(usable))) heap_large_remove((uintptr_t)p);
}

/* The start mark of a tracked chunk, or NULL when p is not one (NULL included). */
static inline uint8_t *tracked_mark(void *p)
{
    uint8_t *m = heap_chunk_mark((uintptr_t)p);
    return RT_LIKELY(m != NULL) && __atomic_load_n(m, __ATOMIC_ACQUIRE) ? m : NULL;
}

static void *malloc_slow(size_t n, uintptr_t pc, uintptr_t cfa);

/* The common case: tracking started, no runtime code and no helper on this thread (one load:
 * malloc_gate), pc a site in the thread's cache. Before tracking starts every entry is empty
 * (heap_wrapper_key is never 0, and start_slow starts a new generation), so the probe also
 * stands for the state check. Anything else goes to malloc_slow by a tail call. */
static inline __attribute__((always_inline)) void *malloc_impl(size_t n, uintptr_t pc,
                                                               uintptr_t cfa)
{
    heap_tls_t *self = heap_tls();
    size_t e = pc & (RT_SITE_CACHE_ENTRIES - 1);
    if (RT_UNLIKELY((self->malloc_gate | (self->site_keys[e] ^ heap_site_cache_key(pc))) != 0) ||
        RT_UNLIKELY(n > MALLOC_FAST_MAX))
        return malloc_slow(n, pc, cfa);
    /* only this lives across the real call (track_fast) */
    uint64_t packed = self->site_ids[e] - ((uint64_t)n << ALLOCS_TRAILER_SLACK_SHIFT);
    return track_fast(heap_real.malloc(n + ALLOCS_TRAILER_BYTES), packed);
}

void *heap_malloc_at(size_t n, uintptr_t pc)
{
    return malloc_impl(n, pc, 0);
}

void *heap_malloc_at_cfa(size_t n, uintptr_t pc, uintptr_t cfa)
{
    return malloc_impl(n, pc, cfa);
}

/* Everything malloc_impl does not take: tracking not started yet (or the real allocator being
 * resolved), runtime code or a helper's site override on this thread, a pc not in the cache
 * (or inside a wrapper), a size too big for the trailer. */
static __attribute__((noinline)) void *malloc_slow(size_t n, uintptr_t pc, uintptr_t cfa)
{
    int s = heap_state();
    if (RT_UNLIKELY(s != HEAP_ST_READY))
        return s == HEAP_ST_REAL ? heap_real.malloc(n) : heap_boot_alloc(n, 16);
    if (RT_UNLIKELY(rt_self.heap_busy)) return heap_real.malloc(n);
    size_t span;
    if (RT_UNLIKELY(__builtin_add_overflow(n, 2 * ALLOCS_TRAILER_BYTES, &span))) {
        errno = ENOMEM;
        return NULL;
    }
    uint32_t site = heap_site_lookup(pc, cfa);
    return track(heap_real.malloc(span - ALLOCS_TRAILER_BYTES), span, heap_site_bits(site));
}

/* free's general case: any allocator, a chunk with pool objects or in the large table, a
 * thread without a record, and pointers the index does not know. */
static __attribute__((noinline)) void free_slow(void *p)
{
    /* No mark exists before the index does, so this needs no state check first. */
    uint8_t *mark = tracked_mark(p);
    if (mark) {
        untrack(p, mark);
        heap_real.free(p);
        return;
    }
    if (!p || heap_is_boot(p)) return;
    if (heap_state() >= HEAP_ST_REAL) heap_real.free(p);
    /* else: nothing can free it yet; leaking is the only safe answer */
}

/* The common case with no call but the tail call: a chunk whose mark says it is neither large
 * nor holds pool objects, which needs nothing read but its mark. The address's alignment is
 * not checked: an unaligned one reads its granule's mark and is no pointer the allocator handed
 * out, which the real free rejects (glibc aborts) just as it would without the runtime. */
static inline __attribute__((always_inline)) void free_impl(void *p)
{
    uintptr_t region = (uintptr_t)p >> ALLOCS_CHUNK_REGION_SHIFT;
    if (RT_LIKELY(region < ALLOCS_CHUNK_L1_ENTRIES)) {
        const uint8_t *bias =
            (const uint8_t *)__atomic_load_n(&heap_chunk_l1_biased[region], __ATOMIC_ACQUIRE);
        uintptr_t g = (uintptr_t)p >> ALLOCS_GRANULE_SHIFT;
        if (RT_LIKELY(bias != 0) && RT_LIKELY(heap_mark_is_plain(__atomic_load_n(
                                        (uint8_t *)(uintptr_t)&bias[g], __ATOMIC_ACQUIRE)))) {
            /* a release store (x86-64: a plain one, after everything before it) with the same
             * base + index operand as the load: the compiler would add them first, once */
            __asm__ volatile("movb $0, (%0,%1)" : : "r"(bias), "r"(g) : "memory");
            heap_real.free(p);
            return;
        }
    }
    free_slow(p);
}

static void *calloc_impl(size_t nmemb, size_t size, uintptr_t pc, uintptr_t cfa)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    int s = heap_state();
    if (RT_UNLIKELY(s != HEAP_ST_READY))
        return s == HEAP_ST_REAL ? heap_real.calloc(nmemb, size) : heap_boot_alloc(n, 16);
    if (RT_UNLIKELY(rt_self.heap_busy)) return heap_real.calloc(nmemb, size);
    if (RT_UNLIKELY(n > SIZE_MAX - 2 * ALLOCS_TRAILER_BYTES)) { /* (track's span) */
        errno = ENOMEM;
        return NULL;
    }
    uint32_t site = heap_site_lookup(pc, cfa);
    return track(heap_real.calloc(1, n + ALLOCS_TRAILER_BYTES), n + 2 * ALLOCS_TRAILER_BYTES,
                 heap_site_bits(site));
}

static void *realloc_tracked(void *p, size_t n, uintptr_t pc, uintptr_t cfa)
{
    uint32_t site = heap_site_lookup(pc, cfa);
    rt_self.heap_busy++;
    size_t old_usable = heap_usable(p);
    uint64_t t = *heap_trailer_at((uintptr_t)p, old_usable);
    bool pool = (t & ALLOCS_TRAILER_POOL_BIT) != 0;
    /* Unmark first: a moving realloc frees p, and another thread may get it back at once. */
    heap_index_remove((uintptr_t)p, old_usable);
    void *q = heap_real.realloc(p, n + ALLOCS_TRAILER_BYTES);
    if (!q) { /* p is untouched, trailer included */
        heap_index_add((uintptr_t)p, old_usable, pool);
        rt_self.heap_busy--;
        return NULL;
    }
    size_t usable = heap_usable(q);
    struct allocs_thread *rec = threads_current();
    uint64_t seq;
    if (q == p) { /* in place: same chunk, same sequence number; pool objects past n go */
        if (pool && n < old_usable) pool_drop_range((uintptr_t)p + n, (uintptr_t)p + old_usable);
        seq = t & ALLOCS_TRAILER_SEQ_MASK;
    } else { /* moved: the old chunk is freed, with its pool objects */
        if (pool) pool_drop_range((uintptr_t)p, (uintptr_t)p + old_usable);
        pool = false;
        seq = next_seq(rec);
    }
    *heap_trailer_at((uintptr_t)q, usable) = heap_trailer_make(seq, site, usable, n, pool);
    /* A moved chunk is a new allocation (the old one's end shows in the live figures); one
     * the index could not take is untracked. */
    bool tracked = heap_index_add((uintptr_t)q, usable, pool);
    if (q != p) count_alloc(rec, tracked);
    rt_self.heap_busy--;
    return q;
}

static void *realloc_impl(void *p, size_t n, uintptr_t pc, uintptr_t cfa)
{
    if (!p) return malloc_impl(n, pc, cfa);
    int s = heap_state();
    if (heap_is_boot(p)) { /* copy out of the bootstrap buffer; the old block is never reused */
        if (n == 0) return NULL;
        void *q = malloc_impl(n, pc, cfa);
        if (q) memcpy(q, p, heap_boot_size(p) < n ? heap_boot_size(p) : n);
        return q;
    }
    if (RT_UNLIKELY(s != HEAP_ST_READY)) return s == HEAP_ST_REAL ? heap_real.realloc(p, n) : NULL;
    uint8_t *mark = tracked_mark(p);
    if (!mark) return heap_real.realloc(p, n);
    if (n == 0) { /* glibc 2.36 (REALLOC_ZERO_BYTES_FREES): free p, return NULL */
        untrack(p, mark);
        heap_real.free(p);
        return NULL;
    }
    if (n > SIZE_MAX - ALLOCS_TRAILER_BYTES) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_tracked(p, n, pc, cfa);
}

static void *memalign_impl(size_t align, size_t n, uintptr_t pc, uintptr_t cfa)
{
    int s = heap_state();
    if (RT_UNLIKELY(s != HEAP_ST_READY))
        return s == HEAP_ST_REAL ? heap_real.memalign(align, n) : heap_boot_alloc(n, align);
    if (RT_UNLIKELY(rt_self.heap_busy)) return heap_real.memalign(align, n);
    if (align > SIZE_MAX / 2 + 1) { /* glibc checks the alignment before the size */
        errno = EINVAL;
        return NULL;
    }
    if (n > SIZE_MAX - 2 * ALLOCS_TRAILER_BYTES) { /* (track's span) */
        errno = ENOMEM;
        return NULL;
    }
    uint32_t site = heap_site_lookup(pc, cfa);
    return track(heap_real.memalign(align, n + ALLOCS_TRAILER_BYTES), n + 2 * ALLOCS_TRAILER_BYTES,
                 heap_site_bits(site));
}

/* Entry points for heap_cxx.c (operator new/delete, with their caller's pc and their own CFA,
 * so that an operator new called from inside an allocation wrapper is attributed to the
 * wrapper's caller like a malloc would be). */
void *heap_memalign_at(size_t align, size_t n, uintptr_t pc, uintptr_t cfa)
{
    return memalign_impl(align, n, pc, cfa);
}
void heap_free(void *p)
{
    free_impl(p);
}

#define CALLER ((uintptr_t)__builtin_return_address(0))
/* Our CFA, where the caller's rsp was before its call: with the metadata's CFA offset of a
 * wrapper's call, the wrapper's own return address (heap_site_id_at). */
#define CFA ((uintptr_t)__builtin_dwarf_cfa())

RT_EXPORT void *malloc(size_t n)
{
    return malloc_impl(n, CALLER, CFA);
}
RT_EXPORT void free(void *p)
{
    free_impl(p);
}
RT_EXPORT void *calloc(size_t nmemb, size_t size)
{
    return calloc_impl(nmemb, size, CALLER, CFA);
}
RT_EXPORT void *realloc(void *p, size_t n)
{
    return realloc_impl(p, n, CALLER, CFA);
}

RT_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_impl(p, n, CALLER, CFA);
}

RT_EXPORT void *memalign(size_t align, size_t n)
{
    return memalign_impl(align, n, CALLER, CFA);
}
/* glibc 2.36's aligned_alloc is an alias of memalign (no extra checks before 2.38). */
RT_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    return memalign_impl(align, n, CALLER, CFA);
}

RT_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align % sizeof(void *) != 0 || align == 0 ||
        ((align / sizeof(void *)) & (align / sizeof(void *) - 1)) != 0)
        return EINVAL;
    void *p = memalign_impl(align, n, CALLER, CFA);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

RT_EXPORT void *valloc(size_t n)
{
    return memalign_impl((size_t)getpagesize(), n, CALLER, CFA);
}

RT_EXPORT void *pvalloc(size_t n)
{
    size_t page = (size_t)getpagesize(), rounded;
    if (__builtin_add_overflow(n, page - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    return memalign_impl(page, rounded & ~(page - 1), CALLER, CFA);
}

RT_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p) return 0;
    if (heap_is_boot(p)) return heap_boot_size(p);
    int s = heap_state();
    if (s == HEAP_ST_READY && heap_index_is_start((uintptr_t)p))
        return heap_usable(p) - ALLOCS_TRAILER_BYTES; /* never let the program reach the trailer */
    return s >= HEAP_ST_REAL ? heap_real.usable_size(p) : 0;
}
