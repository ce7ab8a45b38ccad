/* heap_sites.c: allocation sites. A site is the return address of an allocating call; the
 * trailer has room for a 20-bit id, so pcs are interned densely into root.sites (id = index,
 * 0 = unknown). The table is reserved for 2^20 entries but filled front to back, so resident
 * memory grows with the number of distinct sites only.
 *
 * Lookups are layered by cost: a per-thread direct-mapped cache (a few ns, no sharing), then a
 * lock-free open-addressing hash (pc -> id) that only ever grows by publishing a new table
 * (old tables are never reused, so a reader holding one stays safe), then insertion under
 * sites_lock. Nothing here calls malloc. A pc inside a wrapper stands for its caller: the
 * metadata's wrapper records, and the declared wrappers' ranges heap_helpers.c publishes here. */
#define _GNU_SOURCE
#include "heap.h"
#include "meta.h"

#include <string.h>
#include <unwind.h>

#define SITES_CAPACITY (1u << 20)

struct site_hash {
    uint32_t mask;  /* capacity - 1 */
    uint32_t count; /* ids stored (only the lock holder writes it) */
    uint32_t slots[];
};

/* Never 0 (heap_site_cache_flush skips it): an empty cache entry (key 0) then matches no pc,
 * not even 0, so the malloc path's probe also says whether tracking has started. */
uint64_t heap_wrapper_key = 1ull << 48;

static struct allocs_site *sites;
static struct site_hash *hash;
rt_lock_t sites_lock = RT_LOCK_INIT;

static inline uint32_t hash_slot(uintptr_t pc, uint32_t mask)
{
    return (uint32_t)((pc * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

static struct site_hash *hash_new(uint32_t capacity)
{
    struct site_hash *h = rt_map(sizeof *h + capacity * sizeof(uint32_t));
    if (h) h->mask = capacity - 1;
    return h;
}

void heap_sites_init(void)
{
    sites = rt_map(SITES_CAPACITY * sizeof *sites);
    hash = hash_new(4096);
    if (!sites || !hash) {
        sites = NULL;
        return;
    }
    __allocs_root.sites = (uint64_t)(uintptr_t)sites;
    __allocs_root.sites_capacity = SITES_CAPACITY;
    __atomic_store_n(&__allocs_root.nsites, 1, __ATOMIC_RELEASE); /* id 0 = unknown */
}

uintptr_t heap_site_pc(uint32_t id)
{
    if (!sites || id == 0 || id >= __atomic_load_n(&__allocs_root.nsites, __ATOMIC_ACQUIRE))
        return 0;
    return (uintptr_t)sites[id].pc;
}

static uint32_t hash_find(const struct site_hash *h, uintptr_t pc)
{
    for (uint32_t i = hash_slot(pc, h->mask);; i = (i + 1) & h->mask) {
        uint32_t id = __atomic_load_n(&h->slots[i], __ATOMIC_ACQUIRE);
        if (id == 0) return 0;
        if (sites[id].pc == pc) return id;
    }
}

static void hash_put(struct site_hash *h, uintptr_t pc, uint32_t id)
{
    uint32_t i = hash_slot(pc, h->mask);
    while (h->slots[i])
        i = (i + 1) & h->mask;
    __atomic_store_n(&h->slots[i], id, __ATOMIC_RELEASE);
    h->count++;
}

/* Under sites_lock: keep the load at most 1/2 by publishing a table twice the size. */
static void hash_grow_if_needed(void)
{
    if ((hash->count + 1) * 2 <= hash->mask + 1) return;
    struct site_hash *bigger = hash_new((hash->mask + 1) * 2);
    if (!bigger) return; /* stay in the crowded table; still correct, a bit slower */
    uint32_t n = __allocs_root.nsites;
    for (uint32_t id = 1; id < n; id++)
        hash_put(bigger, (uintptr_t)sites[id].pc, id);
    __atomic_store_n(&hash, bigger, __ATOMIC_RELEASE);
}

static uint32_t intern(uintptr_t pc)
{
    uint32_t id = hash_find(__atomic_load_n(&hash, __ATOMIC_ACQUIRE), pc);
    if (id) return id;
    heap_lock(&sites_lock);
    id = hash_find(hash, pc);
    if (!id) {
        uint32_t n = __allocs_root.nsites;
        if (n < SITES_CAPACITY && (hash->count + 1) < hash->mask) {
            id = n;
            sites[id].pc = pc;
            sites[id].type = 0;
            __atomic_store_n(&__allocs_root.nsites, n + 1, __ATOMIC_RELEASE);
            hash_put(hash, pc, id);
            hash_grow_if_needed();
        }
    }
    heap_unlock(&sites_lock);
    return id;
}

/* Remembers pc's answer in this thread's cache (heap.h), only while the thread has a record:
 * malloc's fast path takes a hit to mean that it has one (heap_site_cache_clear at its exit). */
static inline uint32_t cache_put(uintptr_t pc, uint32_t id, uintptr_t wrapper_bit)
{
    if (RT_UNLIKELY(!rt_self.rec)) return id;
    unsigned e = heap_site_cache_slot(pc);
    rt_self.site_keys[e] = heap_site_cache_key(pc) | wrapper_bit;
    rt_self.site_ids[e] = heap_site_bits(id);
    return id;
}

/* A new generation for every thread's site cache: each entry misses once and its pc is
 * classified again (wrapper ranges or metadata changed). */
void heap_site_cache_flush(void)
{
    uint64_t old = __atomic_load_n(&heap_wrapper_key, __ATOMIC_RELAXED), next;
    do {
        next = (old + (1ull << 48)) & (0x7fffull << 48);
        if (!next) next = 1ull << 48; /* heap_wrapper_key is never 0 */
    } while (!__atomic_compare_exchange_n(&heap_wrapper_key, &old, next, false, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
}

void heap_sites_meta_changed(void)
{
    heap_site_cache_flush();
}

/* ---- declared wrappers (LIBALLOCS_ALLOC_FNS: heap_helpers.c finds their code ranges) ---- */
static struct heap_wrapper_ranges *ranges; /* published snapshot; old ones are never freed */

void heap_sites_set_wrappers(struct heap_wrapper_ranges *set)
{
    __atomic_store_n(&ranges, set, __ATOMIC_RELEASE);
    heap_site_cache_flush(); /* a new generation of every site cache key (heap.h) */
}

static bool wrappers_active(void)
{
    const struct heap_wrapper_ranges *set = __atomic_load_n(&ranges, __ATOMIC_ACQUIRE);
    return set && set->n;
}

static bool in_wrapper(uintptr_t pc)
{
    const struct heap_wrapper_ranges *set = __atomic_load_n(&ranges, __ATOMIC_ACQUIRE);
    if (!set) return false;
    for (unsigned i = 0; i < set->n; i++) /* pc - 1: the call, not what follows it */
        if (pc - 1 >= set->r[i].lo && pc - 1 < set->r[i].hi) return true;
    return false;
}

struct unwind_state {
    bool in_wrapper_seen;
    uintptr_t caller;
};

static _Unwind_Reason_Code unwind_step(struct _Unwind_Context *ctx, void *arg)
{
    struct unwind_state *st = arg;
    uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
    if (!ip) return _URC_END_OF_STACK;
    bool inside = in_wrapper(ip) || (meta_site_flags(ip) & ALLOCS_SITE_WRAPPER);
    if (!st->in_wrapper_seen) {
        st->in_wrapper_seen = inside;
    } else if (!inside) {
        st->caller = ip;
        return _URC_END_OF_STACK;
    }
    return _URC_NO_REASON;
}

static uintptr_t wrapper_caller(uintptr_t pc)
{
    (void)pc;
    struct unwind_state st = {false, 0};
    rt_self.heap_busy++; /* the unwinder may allocate the first time it registers objects */
    _Unwind_Backtrace(unwind_step, &st);
    rt_self.heap_busy--;
    return st.caller;
}

/* What a pc not yet in this thread's cache is: 0 an allocation site; HEAP_WRAP_UNWIND a call
 * inside a wrapper whose caller is found by unwinding (declared in LIBALLOCS_ALLOC_FNS, or a
 * frame typegen could not describe); else the wrapper's CFA offset k at pc (metadata). */
#define HEAP_WRAP_UNWIND 1u
static uint32_t classify(uintptr_t pc)
{
    uint32_t f = meta_site_flags(pc);
    if (f & ALLOCS_SITE_WRAPPER) {
        uint32_t k = ALLOCS_SITE_ARG(f);
        return k >= 8 && k < (1u << 20) ? k : HEAP_WRAP_UNWIND;
    }
    return wrappers_active() && in_wrapper(pc) ? HEAP_WRAP_UNWIND : 0;
}

/* Wrappers inside wrappers: at most this many hops to the site. */
#define MAX_HOPS 16

uint32_t heap_site_id_at(uintptr_t pc, uintptr_t cfa)
{
    if (RT_UNLIKELY(!sites)) return 0;
    for (unsigned hop = 0; pc && hop < MAX_HOPS; hop++) {
        unsigned e = heap_site_cache_slot(pc);
        uintptr_t key = heap_site_cache_key(pc);
        if (rt_self.site_keys[e] == key) return heap_site_cached(e);
        uint32_t k;
        if (rt_self.site_keys[e] == (key | HEAP_SITE_KEY_WRAPPER)) {
            k = heap_site_cached(e);
        } else {
            k = classify(pc);
            if (!k) return cache_put(pc, intern(pc), 0);
            cache_put(pc, k, HEAP_SITE_KEY_WRAPPER);
        }
        const struct allocs_thread *rec = rt_self.rec;
        if (k != HEAP_WRAP_UNWIND && cfa && (!rec || !rec->stack_hi || cfa + k <= rec->stack_hi)) {
            /* The wrapper's CFA is cfa + k; its return address sits just below it. */
            cfa += k;
            pc = *(const uintptr_t *)(cfa - 8);
            continue;
        }
        /* The call came from inside a wrapper whose frame we cannot step over: unwind. */
        uintptr_t caller = wrapper_caller(pc);
        if (!caller) return intern(pc);
        unsigned c = heap_site_cache_slot(caller);
        if (rt_self.site_keys[c] == heap_site_cache_key(caller)) return heap_site_cached(c);
        return cache_put(caller, intern(caller), 0);
    }
    return pc ? intern(pc) : 0;
}

uint32_t heap_site_lookup_slow(uintptr_t pc, uintptr_t cfa)
{
    threads_current(); /* the record first, so that what is found here is cached (cache_put) */
    uintptr_t o = rt_self.site_override;
    if (o) return heap_site_id(o);
    /* A call from inside a wrapper (cached with id = its CFA offset k, > 1): one load to the
     * wrapper's return address and another cache lookup, for up to two wrappers deep; a miss
     * or a deeper chain goes on in heap_site_id_at. */
    unsigned e = heap_site_cache_slot(pc);
    uintptr_t key = heap_site_cache_key(pc);
    for (int hop = 0; hop < 2 && cfa && rt_self.site_keys[e] == (key | HEAP_SITE_KEY_WRAPPER) &&
                      heap_site_cached(e) > 1;
         hop++) {
        cfa += heap_site_cached(e);
        pc = *(const uintptr_t *)(cfa - 8);
        e = heap_site_cache_slot(pc);
        key = heap_site_cache_key(pc);
        if (RT_LIKELY(rt_self.site_keys[e] == key)) return heap_site_cached(e);
    }
    return heap_site_id_at(pc, cfa);
}

uint32_t heap_site_id(uintptr_t pc)
{
    return heap_site_id_at(pc, 0);
}
