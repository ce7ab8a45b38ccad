/* heap_index.c: which addresses are chunk starts, and the chunk containing an address.
 *
 * Chunk starts are bytes in sparse byte maps (one byte per 16-byte granule, one 8 MiB map per
 * 128 MiB region, reserved with MAP_NORESERVE so only touched pages are resident). malloc and
 * free mark and unmark with a plain byte store: no lock and no locked instruction, and since
 * every granule has its own byte no thread can undo another's mark. Memory ordering: the
 * trailer is written before the mark is stored with release ordering, so a reader that sees
 * the mark (acquire) also sees the trailer; on x86-64 both are plain moves.
 *
 * An interior pointer finds its chunk by scanning the map backwards, eight bytes at a time, at
 * most ALLOCS_LARGE_CHUNK_BYTES; chunks that can be bigger than that are also kept in a sorted
 * table (root.large_chunks) searched when the bounded scan finds no start. */
#define _GNU_SOURCE
#include "heap.h"

#include <string.h>

#define REGION_BYTES (1ul << ALLOCS_CHUNK_REGION_SHIFT)
#define USER_LIMIT (1ul << 47)

uint8_t *heap_chunk_l1[ALLOCS_CHUNK_L1_ENTRIES];
uintptr_t heap_chunk_l1_biased[ALLOCS_CHUNK_L1_ENTRIES];

/* Regions with a map, so a walk does not read the whole L1 array. When the list overflows,
 * the walk falls back to scanning L1. */
#define MAX_LISTED_REGIONS 1024
static uint32_t listed_regions[MAX_LISTED_REGIONS];
static uint32_t nlisted_regions; /* may exceed MAX_LISTED_REGIONS: then the list is partial */

static uint8_t *region_map(uintptr_t addr, bool create)
{
    uintptr_t r = addr >> ALLOCS_CHUNK_REGION_SHIFT;
    uint8_t *map = __atomic_load_n(&heap_chunk_l1[r], __ATOMIC_ACQUIRE);
    if (map || !create) return map;
    /* Lock-free creation: the loser of a race unmaps its copy. */
    uint8_t *fresh = rt_map(ALLOCS_CHUNK_MAP_BYTES), *expected = NULL;
    if (!fresh) return NULL;
    if (!__atomic_compare_exchange_n(&heap_chunk_l1[r], &expected, fresh, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        rt_unmap(fresh, ALLOCS_CHUNK_MAP_BYTES);
        return expected;
    }
    /* The fast paths' copy (heap.h); a bias of 0 (the map at exactly that address) is left
     * out, and that region takes the general paths, which read heap_chunk_l1. */
    uintptr_t bias = (uintptr_t)fresh - (r << (ALLOCS_CHUNK_REGION_SHIFT - ALLOCS_GRANULE_SHIFT));
    if (bias) __atomic_store_n(&heap_chunk_l1_biased[r], bias, __ATOMIC_RELEASE);
    uint32_t i = __atomic_fetch_add(&nlisted_regions, 1, __ATOMIC_ACQ_REL);
    if (i < MAX_LISTED_REGIONS) __atomic_store_n(&listed_regions[i], (uint32_t)r, __ATOMIC_RELEASE);
    return fresh;
}

static inline size_t granule_index(uintptr_t addr)
{
    return (addr & (REGION_BYTES - 1)) >> ALLOCS_GRANULE_SHIFT;
}

/* Eight marks at once; other threads store single bytes into them meanwhile, which an aligned
 * 8-byte load sees whole or not at all, byte by byte. */
static inline uint64_t load_marks(const uint8_t *map, size_t i)
{
    return __atomic_load_n((const uint64_t *)(const void *)(map + i), __ATOMIC_ACQUIRE);
}

/* The greatest marked granule index in [lo, hi] of one map, or SIZE_MAX: eight marks per load,
 * the first word masked above hi. */
static size_t map_prev(const uint8_t *map, size_t hi, size_t lo)
{
    size_t w = hi & ~(size_t)7;
    uint64_t marks = load_marks(map, w) & (~0ull >> (8 * (7 - (hi & 7))));
    for (;;) {
        if (marks) {
            size_t g = w + (size_t)(63 - __builtin_clzll(marks)) / 8;
            return g >= lo ? g : SIZE_MAX; /* the lower words lie wholly below lo */
        }
        if (w <= lo) return SIZE_MAX;
        w -= 8;
        marks = load_marks(map, w);
    }
}

/* The greatest chunk start in [lo, addr], or 0. */
static uintptr_t chunk_prev(uintptr_t addr, uintptr_t lo)
{
    if (addr >= USER_LIMIT) return 0;
    lo &= ~(uintptr_t)15;
    for (;;) {
        uintptr_t region_base = addr & ~(REGION_BYTES - 1);
        const uint8_t *map = region_map(addr, false);
        if (map) {
            size_t g = map_prev(map, granule_index(addr), lo > region_base ? granule_index(lo) : 0);
            if (g != SIZE_MAX) return region_base + (g << ALLOCS_GRANULE_SHIFT);
        }
        if (region_base <= lo || region_base == 0) return 0;
        addr = region_base - 1;
    }
}

/* ---- the large-chunk table: sorted by base ----
 * Writers hold large_chunks_lock and bump large_seq to odd while they move entries; readers are
 * lock-free (seqlock): they retry when the sequence was odd or changed, and give up with
 * "unknown" when they cannot win (a query from a signal handler that interrupted a writer on
 * the same thread). The table is one reservation of LARGE_MAX entries that never moves or
 * shrinks (only touched pages are resident), so a reader can never touch unmapped memory. */
#define LARGE_MAX (1u << 20)
rt_lock_t large_chunks_lock = RT_LOCK_INIT;
static struct allocs_large_chunk *large;
static size_t nlarge;
static uint64_t large_seq;

static inline void large_write_begin(void)
{
    __atomic_store_n(&large_seq, large_seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
static inline void large_write_end(void)
{
    __allocs_root.nlarge_chunks = nlarge;
    __atomic_store_n(&large_seq, large_seq + 1, __ATOMIC_RELEASE);
}

/* The index of the first entry with base > addr among the first n. */
static size_t large_upper(size_t n, uintptr_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (__atomic_load_n(&large[mid].base, __ATOMIC_RELAXED) <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool large_insert(uintptr_t base, size_t usable)
{
    if (!large) return false;
    heap_lock(&large_chunks_lock);
    bool ok = nlarge < LARGE_MAX;
    if (ok) {
        size_t i = large_upper(nlarge, base);
        large_write_begin();
        memmove(&large[i + 1], &large[i], (nlarge - i) * sizeof *large);
        large[i].base = base;
        large[i].usable = usable;
        __atomic_store_n(&nlarge, nlarge + 1, __ATOMIC_RELAXED);
        large_write_end();
    }
    heap_unlock(&large_chunks_lock);
    return ok;
}

void heap_large_remove(uintptr_t base)
{
    if (!large) return;
    heap_lock(&large_chunks_lock);
    size_t i = large_upper(nlarge, base);
    if (i > 0 && large[i - 1].base == base) {
        large_write_begin();
        memmove(&large[i - 1], &large[i], (nlarge - i) * sizeof *large);
        __atomic_store_n(&nlarge, nlarge - 1, __ATOMIC_RELAXED);
        large_write_end();
    }
    heap_unlock(&large_chunks_lock);
}

/* The entry with the greatest base <= addr, read consistently: 1 found, 0 none, -1 when the
 * table could not be read (a write in progress that may be our own interrupted one). */
static int large_find(uintptr_t addr, struct allocs_large_chunk *out)
{
    for (int attempt = 0; attempt < 1000; attempt++) {
        uint64_t s1 = __atomic_load_n(&large_seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            if (rt_self.heap_busy) return -1; /* perhaps our own interrupted write */
            __builtin_ia32_pause();
            continue;
        }
        size_t n = __atomic_load_n(&nlarge, __ATOMIC_RELAXED);
        if (n > LARGE_MAX) n = LARGE_MAX;
        size_t i = large_upper(n, addr);
        struct allocs_large_chunk e = {0, 0};
        if (i > 0) {
            e.base = __atomic_load_n(&large[i - 1].base, __ATOMIC_RELAXED);
            e.usable = __atomic_load_n(&large[i - 1].usable, __ATOMIC_RELAXED);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&large_seq, __ATOMIC_RELAXED) != s1) continue;
        *out = e;
        return i > 0;
    }
    return -1;
}

void heap_index_init(void)
{
    large = rt_map(LARGE_MAX * sizeof *large);
    __allocs_root.large_chunks = (uint64_t)(uintptr_t)large;
    __allocs_root.chunk_l1 = (uint64_t)(uintptr_t)heap_chunk_l1;
}

/* The fast path (heap.h) handles small chunks in regions that already have a map. */
bool heap_index_add_slow(uintptr_t base, size_t usable, bool pool)
{
    if ((base & 15) || base >= USER_LIMIT) return false; /* a neighbour's granule, or no room */
    if (heap_is_large(usable) && !large_insert(base, usable)) return false;
    uint8_t *map = region_map(base, true);
    if (!map) {
        if (heap_is_large(usable)) heap_large_remove(base);
        return false;
    }
    __atomic_store_n(&map[granule_index(base)],
                     pool || heap_is_large(usable) ? HEAP_MARK_SLOW : heap_mark_for(usable),
                     __ATOMIC_RELEASE);
    return true;
}

void heap_chunk_note_pool(uintptr_t base, size_t usable)
{
    __atomic_fetch_or(heap_trailer_at(base, usable), ALLOCS_TRAILER_POOL_BIT, __ATOMIC_RELEASE);
    uint8_t *m = heap_chunk_mark(base);
    if (!m) return;
    /* Only over a live mark: a concurrent free that already cleared it keeps it cleared. */
    uint8_t live = __atomic_load_n(m, __ATOMIC_RELAXED);
    while (live && live != HEAP_MARK_SLOW &&
           !__atomic_compare_exchange_n(m, &live, HEAP_MARK_SLOW, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

/* ---- lookup ---- */
/* The mark of a chunk start found in the map (0 if freed since: its header then says). */
static inline uint8_t mark_at(uintptr_t base)
{
    const uint8_t *m = heap_chunk_mark(base);
    uint8_t v = m ? __atomic_load_n(m, __ATOMIC_ACQUIRE) : 0;
    return v ? v : HEAP_MARK_PLAIN;
}

static void fill_chunk(uintptr_t base, size_t usable, struct rt_chunk *out)
{
    uint64_t t = __atomic_load_n(heap_trailer_at(base, usable), __ATOMIC_RELAXED);
    out->base = base;
    out->usable = usable;
    out->size = heap_trailer_requested(t, usable);
    out->site_id = (uint32_t)((t >> ALLOCS_TRAILER_SITE_SHIFT) & ALLOCS_TRAILER_SITE_MASK);
    out->site = heap_site_pc(out->site_id);
    out->seq = t & ALLOCS_TRAILER_SEQ_MASK;
    out->has_pool_objects = (t & ALLOCS_TRAILER_POOL_BIT) != 0;
}

/* The object proper is [base, base + usable - 8): the trailer is ours, not the program's, and
 * malloc_usable_size reports exactly that extent. Addresses past the requested size but
 * before the trailer are slack the program may legitimately use, so they count as inside. */
static inline bool contains(uintptr_t base, size_t usable, uintptr_t addr)
{
    return usable > ALLOCS_TRAILER_BYTES && addr - base < usable - ALLOCS_TRAILER_BYTES;
}

bool heap_find_chunk(uintptr_t addr, struct rt_chunk *out)
{
    if (RT_UNLIKELY(addr >= USER_LIMIT || addr < 4096)) return false;
    uintptr_t lo = addr > ALLOCS_LARGE_CHUNK_BYTES ? addr - ALLOCS_LARGE_CHUNK_BYTES : 0;
    uintptr_t base = chunk_prev(addr, lo);
    if (RT_LIKELY(base)) {
        /* The nearest start at or below addr: chunks never overlap, so if this one does not
         * contain addr, no chunk (large or not) does. */
        size_t usable = heap_mark_usable(base, mark_at(base));
        if (!contains(base, usable, addr)) return false;
        fill_chunk(base, usable, out);
        return true;
    }
    struct allocs_large_chunk e;
    if (!__atomic_load_n(&nlarge, __ATOMIC_RELAXED)) return false;
    int found = large_find(addr, &e);
    if (found < 0) {
        /* The table is mid-update: the map is always consistent, so scan it without bound
         * (slow, but only for this rare case). */
        e.base = chunk_prev(addr, 0);
        if (!e.base) return false;
        e.usable = heap_usable((void *)e.base);
    } else if (!found) {
        return false;
    }
    if (!contains(e.base, e.usable, addr)) return false;
    fill_chunk(e.base, e.usable, out);
    return true;
}

/* Reads one chunk for the walk. Large chunks may be mmapped and unmapped by a concurrent free,
 * so they are read under large_chunks_lock (free removes them from the table before releasing);
 * a walk from a signal handler that interrupted a writer, or during another thread's fork,
 * skips them rather than deadlock. */
static bool walk_read(uintptr_t base, struct rt_chunk *out)
{
    if (__atomic_load_n(&nlarge, __ATOMIC_RELAXED)) {
        if (rt_self.heap_busy) return false;
        bool done = false, ok = false;
        rt_self.heap_busy++;
        if (!rt_lock_unless_forking(&large_chunks_lock)) {
            rt_self.heap_busy--;
            return false;
        }
        size_t i = large_upper(nlarge, base);
        if (i > 0 && large[i - 1].base == base) {
            done = true;
            ok = heap_index_is_start(base);
            if (ok) fill_chunk(base, large[i - 1].usable, out);
        }
        heap_unlock(&large_chunks_lock);
        if (done) return ok;
    }
    if (!heap_index_is_start(base)) return false;
    fill_chunk(base, heap_mark_usable(base, mark_at(base)), out);
    return true;
}

static long walk_region(uintptr_t r, int (*cb)(const struct rt_chunk *, void *), void *arg,
                        bool *stop)
{
    const uint8_t *map = __atomic_load_n(&heap_chunk_l1[r], __ATOMIC_ACQUIRE);
    long n = 0;
    if (!map) return 0;
    for (size_t i = 0; i < ALLOCS_CHUNK_MAP_BYTES && !*stop; i += 8) {
        uint64_t w = load_marks(map, i);
        while (w && !*stop) {
            size_t g = i + (size_t)__builtin_ctzll(w) / 8;
            w &= ~(0xffull << ((g - i) * 8));
            struct rt_chunk c;
            if (!walk_read((r << ALLOCS_CHUNK_REGION_SHIFT) + (g << ALLOCS_GRANULE_SHIFT), &c))
                continue;
            n++;
            if (cb(&c, arg)) *stop = true;
        }
    }
    return n;
}

struct live_count {
    uint64_t chunks, bytes;
};
static int count_live(const struct rt_chunk *c, void *arg)
{
    struct live_count *n = arg;
    n->chunks++;
    n->bytes += c->size;
    return 0;
}

void heap_live(uint64_t *chunks, uint64_t *bytes)
{
    struct live_count n = {0, 0};
    heap_walk(count_live, &n);
    *chunks = n.chunks;
    *bytes = n.bytes;
}

long heap_walk(int (*cb)(const struct rt_chunk *c, void *arg), void *arg)
{
    if (!cb) return 0;
    bool stop = false;
    long n = 0;
    uint32_t listed = __atomic_load_n(&nlisted_regions, __ATOMIC_ACQUIRE);
    if (listed <= MAX_LISTED_REGIONS) {
        /* Visit regions in address order so the walk is sorted by base. */
        uint32_t order[MAX_LISTED_REGIONS];
        uint32_t k = 0;
        for (uint32_t i = 0; i < listed; i++) {
            uint32_t r = __atomic_load_n(&listed_regions[i], __ATOMIC_ACQUIRE);
            /* A slot still being published reads 0: region 0 (a non-PIE brk heap) is then
             * visited through its real entry, so duplicates are dropped. */
            uint32_t j = k;
            while (j > 0 && order[j - 1] > r)
                j--;
            if (j > 0 && order[j - 1] == r) continue;
            memmove(&order[j + 1], &order[j], (k - j) * sizeof order[0]);
            order[j] = r;
            k++;
        }
        for (uint32_t i = 0; i < k && !stop; i++)
            n += walk_region(order[i], cb, arg, &stop);
    } else {
        for (uintptr_t r = 0; r < ALLOCS_CHUNK_L1_ENTRIES && !stop; r++)
            n += walk_region(r, cb, arg, &stop);
    }
    return n;
}
