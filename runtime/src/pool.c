/* pool.c: objects registered by custom (pool/arena) allocators inside malloc chunks.
 *
 * Layout (allocs_layout.h): object starts are bits in sparse bitmaps (root.sub_l1, one bit
 * per 16-byte granule, one 8 MiB bitmap per 1 GiB region) and the records are an open-addressing
 * table keyed by base (root.suballocs: multiplicative hash, linear probing, 0 = empty, 1 =
 * deleted). Objects need not be 16-byte aligned, so a set bit means "one or more objects start in
 * this granule" and a lookup probes the table for each of the granule's 16 possible bases.
 *
 * Registration, lookups and frees of pool-holding chunks are rare next to malloc/free, so one
 * rt_lock guards everything; no code here allocates, so holding it can never deadlock against
 * malloc. Callbacks of pool_walk run with the lock released. */
#define _GNU_SOURCE
#include "allocators.h"
#include "heap.h"
#include "meta.h"

#include <string.h>

static uint64_t *sub_l1;
static struct allocs_suballoc *table;
static uint64_t capacity, used, live; /* used counts tombstones too */
rt_lock_t pool_lock = RT_LOCK_INIT;
static uint32_t pool_seq;

#define EMPTY ALLOCS_SUBALLOC_EMPTY
#define DELETED ALLOCS_SUBALLOC_DELETED

void pool_init(void)
{
    sub_l1 = rt_map((size_t)ALLOCS_SUB_L1_ENTRIES * sizeof(uint64_t));
    __allocs_root.sub_l1 = (uint64_t)(uintptr_t)sub_l1;
}

/* ---- the object-start bitmap (changed under pool_lock; atomics for lock-free readers) ---- */
#define REGION_BYTES (1ul << ALLOCS_SUB_REGION_SHIFT)
#define USER_LIMIT (1ul << 47)

static uint64_t *region_bitmap(uintptr_t addr, bool create)
{
    uint64_t *entry = &sub_l1[addr >> ALLOCS_SUB_REGION_SHIFT];
    uint64_t *bm = (uint64_t *)(uintptr_t)__atomic_load_n(entry, __ATOMIC_ACQUIRE);
    if (bm || !create) return bm;
    bm = rt_map(ALLOCS_SUB_BITMAP_BYTES);
    if (bm) __atomic_store_n(entry, (uint64_t)(uintptr_t)bm, __ATOMIC_RELEASE);
    return bm;
}
static inline size_t granule(uintptr_t addr)
{
    return (addr & (REGION_BYTES - 1)) >> ALLOCS_GRANULE_SHIFT;
}
static bool bitmap_set(uintptr_t addr) /* false if no memory */
{
    uint64_t *bm = addr < USER_LIMIT ? region_bitmap(addr, true) : NULL;
    if (!bm) return false;
    __atomic_fetch_or(&bm[granule(addr) >> 6], 1ull << (granule(addr) & 63), __ATOMIC_RELEASE);
    return true;
}
static void bitmap_clear(uintptr_t addr)
{
    uint64_t *bm = addr < USER_LIMIT ? region_bitmap(addr, false) : NULL;
    if (bm)
        __atomic_fetch_and(&bm[granule(addr) >> 6], ~(1ull << (granule(addr) & 63)),
                           __ATOMIC_RELEASE);
}
/* The greatest marked granule address in [lo, addr], or 0. */
static uintptr_t bitmap_prev(uintptr_t addr, uintptr_t lo)
{
    if (addr >= USER_LIMIT) return 0;
    lo &= ~(uintptr_t)15;
    for (;;) {
        uintptr_t region_base = addr & ~(REGION_BYTES - 1);
        const uint64_t *bm = region_bitmap(addr, false);
        if (bm) {
            size_t w = granule(addr) >> 6, wlo = lo > region_base ? granule(lo) >> 6 : 0;
            uint64_t word =
                __atomic_load_n(&bm[w], __ATOMIC_ACQUIRE) & (~0ull >> (63 - (granule(addr) & 63)));
            for (;;) {
                if (word) {
                    uintptr_t found =
                        region_base + ((((uintptr_t)w << 6) + 63 - (unsigned)__builtin_clzll(word))
                                       << ALLOCS_GRANULE_SHIFT);
                    return found >= lo ? found : 0;
                }
                if (w <= wlo) break;
                word = __atomic_load_n(&bm[--w], __ATOMIC_ACQUIRE);
            }
        }
        if (region_base <= lo || region_base == 0) return 0;
        addr = region_base - 1;
    }
}

static inline uint64_t home(uint64_t base, uint64_t cap)
{
    return ((base >> 4) * ALLOCS_SUBALLOC_HASH_MULTIPLIER) >> (64 - __builtin_ctzll(cap));
}

/* The slot holding base, or -1. Lock held. */
static int64_t find_slot(uint64_t base)
{
    if (!capacity) return -1;
    for (uint64_t i = home(base, capacity), n = 0; n < capacity;
         i = (i + 1) & (capacity - 1), n++) {
        if (table[i].base == EMPTY) return -1;
        if (table[i].base == base) return (int64_t)i;
    }
    return -1;
}

static void put(struct allocs_suballoc *t, uint64_t cap, const struct allocs_suballoc *e)
{
    uint64_t i = home(e->base, cap);
    while (t[i].base > DELETED)
        i = (i + 1) & (cap - 1);
    t[i] = *e;
}

/* Keeps (used + 1) <= capacity / 2, rehashing away tombstones. Lock held. */
static bool make_room(void)
{
    if (capacity && (used + 1) * 2 <= capacity) return true;
    uint64_t cap = capacity ? capacity : 1024;
    while ((live + 1) * 4 > cap)
        cap *= 2;
    struct allocs_suballoc *t = rt_map(cap * sizeof *t);
    if (!t) return false;
    for (uint64_t i = 0; i < capacity; i++)
        if (table[i].base > DELETED) put(t, cap, &table[i]);
    struct allocs_suballoc *old = table;
    uint64_t old_cap = capacity;
    /* Publish capacity 0 first so a reader of a live process never pairs the new table with
     * the old capacity (it may still read a stale pair; the bridge retries on inconsistency). */
    __allocs_root.suballocs_capacity = 0;
    table = t;
    capacity = cap;
    used = live;
    __allocs_root.suballocs = (uint64_t)(uintptr_t)t;
    __allocs_root.suballocs_capacity = cap;
    if (old) rt_unmap(old, old_cap * sizeof *old);
    return true;
}

/* The object with the greatest base in [lo, addr], or NULL. Lock held. */
static struct allocs_suballoc *object_at_or_before(uintptr_t addr, uintptr_t lo)
{
    uintptr_t g = bitmap_prev(addr, lo);
    while (g) {
        uintptr_t top = addr - g < 15 ? addr - g : 15;
        for (uintptr_t k = top + 1; k-- > 0;) {
            int64_t s = find_slot(g + k);
            if (s >= 0 && g + k >= lo) return &table[s];
        }
        if (g < 16 || g - 16 < (lo & ~(uintptr_t)15)) break;
        g = bitmap_prev(g - 1, lo);
    }
    return NULL;
}

static bool granule_empty(uintptr_t g)
{
    for (uintptr_t k = 0; k < 16; k++)
        if (find_slot(g + k) >= 0) return false;
    return true;
}

static void delete_slot(int64_t s)
{
    uintptr_t base = table[s].base;
    table[s].base = DELETED;
    live--;
    uintptr_t g = base & ~(uintptr_t)15;
    if (granule_empty(g)) bitmap_clear(g);
}

static bool valid_allocator(const struct allocator *a, uint32_t *index)
{
    if (!a || !(a->flags & ALLOCS_ALLOCATOR_F_CUSTOM) || a->id < ALLOCS_FIRST_CUSTOM_ALLOCATOR)
        return false;
    *index = a->id - ALLOCS_FIRST_CUSTOM_ALLOCATOR;
    return rt_custom_allocator(*index) == a;
}

int pool_register(const struct allocator *a, uintptr_t base, size_t size, uintptr_t site)
{
    uint32_t index;
    struct rt_chunk c;
    if (!valid_allocator(a, &index) || size == 0 || base + size < base) return ALLOCS_ERR_INVALID;
    if (!sub_l1) return ALLOCS_ERR_NOMEM;
    /* The object must lie inside one live chunk's requested extent. */
    if (!heap_find_chunk(base, &c) || base + size > c.base + c.size) return ALLOCS_ERR_INVALID;
    int err = ALLOCS_OK;
    heap_lock(&pool_lock);
    struct allocs_suballoc *prev = object_at_or_before(base + size - 1, c.base);
    if (prev && prev->base + prev->size > base) {
        err = ALLOCS_ERR_INVALID; /* overlaps an object already registered */
    } else if (!make_room() || !bitmap_set(base & ~(uintptr_t)15)) {
        err = ALLOCS_ERR_NOMEM;
    } else {
        struct allocs_suballoc e = {base, size, site, index,
                                    __atomic_add_fetch(&pool_seq, 1, __ATOMIC_RELAXED)};
        put(table, capacity, &e);
        used++;
        live++;
        /* Tell free() to drop this chunk's objects. The owner never rewrites the trailer
         * concurrently except through realloc, which keeps the bit. */
        heap_chunk_note_pool(c.base, c.usable);
    }
    heap_unlock(&pool_lock);
    return err;
}

int pool_unregister(const struct allocator *a, uintptr_t base)
{
    uint32_t index;
    if (!valid_allocator(a, &index)) return ALLOCS_ERR_INVALID;
    int err = ALLOCS_OK;
    heap_lock(&pool_lock);
    int64_t s = find_slot(base);
    if (s < 0)
        err = ALLOCS_ERR_UNKNOWN;
    else if (table[s].allocator != index)
        err = ALLOCS_ERR_INVALID;
    else
        delete_slot(s);
    heap_unlock(&pool_lock);
    return err;
}

bool pool_find(uintptr_t addr, const struct rt_chunk *chunk, struct rt_pool_object *out)
{
    /* rt_self.heap_busy: a query from a signal handler that interrupted a pool update. */
    if (!sub_l1 || !chunk || !chunk->has_pool_objects || rt_self.heap_busy) return false;
    bool found = false;
    heap_lock(&pool_lock);
    const struct allocs_suballoc *e = object_at_or_before(addr, chunk->base);
    if (e && addr - e->base < e->size) {
        out->allocator = rt_custom_allocator(e->allocator);
        out->base = e->base;
        out->size = e->size;
        out->site = e->site;
        out->seq = e->seq;
        found = out->allocator != NULL;
    }
    heap_unlock(&pool_lock);
    return found;
}

void pool_drop_range(uintptr_t lo, uintptr_t hi)
{
    if (!sub_l1 || hi <= lo) return;
    heap_lock(&pool_lock);
    uintptr_t g = bitmap_prev(hi - 1, lo);
    while (g) {
        for (uintptr_t k = 0; k < 16; k++) {
            int64_t s = find_slot(g + k);
            if (s >= 0 && g + k >= lo && g + k < hi) {
                table[s].base = DELETED;
                live--;
            }
        }
        if (granule_empty(g)) bitmap_clear(g);
        if (g < 16 || g - 16 < (lo & ~(uintptr_t)15)) break;
        g = bitmap_prev(g - 1, lo);
    }
    heap_unlock(&pool_lock);
}

long pool_walk(int (*cb)(const struct rt_pool_object *o, void *arg), void *arg)
{
    long n = 0;
    if (!cb) return 0;
    for (uint64_t i = 0;; i++) {
        heap_lock(&pool_lock);
        if (i >= capacity) {
            heap_unlock(&pool_lock);
            break;
        }
        struct allocs_suballoc e = table[i];
        heap_unlock(&pool_lock);
        if (e.base <= DELETED) continue;
        struct rt_pool_object o = {rt_custom_allocator(e.allocator), e.base, e.size, e.site, e.seq};
        if (!o.allocator) continue;
        n++;
        if (cb(&o, arg)) break;
    }
    return n;
}

/* ---- the pool allocator (allocators.h): objects of program-registered allocators, inside a
 * malloc chunk. Each answers as the allocator it was registered with; a declared
 * suballocator's object (suballoc.c) is typed by its call site's record. ---- */
static bool pool_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    (void)how;
    struct rt_pool_object o;
    if (!where_chunk(w) || !w->chunk.has_pool_objects || !pool_find(w->addr, &w->chunk, &o))
        return false;
    out->allocator = o.allocator;
    out->base = o.base;
    out->size = o.size;
    out->site = o.site;
    out->seq = o.seq;
    return true;
}

static const struct uniqtype *pool_type(const struct rt_where *w, const struct rt_leaf *l)
{
    (void)w;
    return l->site && (meta_site_flags(l->site) & ALLOCS_SITE_SUBALLOC)
               ? meta_type_of_chunk(0, l->site, l->size)
               : NULL;
}

struct walk_state {
    int (*cb)(const struct alloc_walk_entry *e, void *arg);
    void *arg;
    bool stopped;
};

static int walk_object(const struct rt_pool_object *o, void *arg)
{
    struct walk_state *s = arg;
    struct alloc_walk_entry e = {o->allocator, (const void *)o->base, o->size,
                                 (const void *)o->site, o->seq};
    int r = s->cb(&e, s->arg);
    if (r) s->stopped = true;
    return r;
}

static long pool_walk_live(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg,
                           bool *stopped)
{
    struct walk_state s = {cb, arg, false};
    long n = pool_walk(walk_object, &s);
    *stopped = s.stopped;
    return n;
}

const struct allocs_allocator pool_allocator = {
    .name = "pool",
    .id = ALLOCS_ALLOCATOR_UNKNOWN,
    .level = ALLOCS_LEVEL_NESTED,
    .describe = pool_describe,
    .type = pool_type,
    .walk = pool_walk_live,
};
