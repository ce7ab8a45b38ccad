/* maps.c: the mapping level's lookups and the mmap and brk allocators. The MAPPING records
 * (maps_index.c) partition the address space the way /proc/self/maps does, except that each of
 * the program's own mmap calls stays a record of its own (with its call site) even where the
 * kernel merged it with a neighbour. The program's mmap/munmap/mremap are interposed
 * (maps_calls.c); everything else that maps memory (glibc's thread stacks, malloc arenas,
 * dlopen) is picked up by rereading /proc/self/maps (maps_scan.c) when a query lands in no
 * known mapping. */
#define _GNU_SOURCE
#include "allocators.h"

#include <string.h>

/* Changes made while a fork held the lock are applied by whoever takes it next (the pending
 * log); one that could not be logged makes us read /proc/self/maps again before answering
 * (not rate-limited: this happens at most once per fork that met a burst of mmaps). */
static void catch_up(void)
{
    if (!(maps_pending_lost() || maps_pending_nonempty()) || !levels_write_try_begin()) return;
    if (maps_pending_take_lost()) maps_rescan_locked();
    levels_write_end();
}

/* The kernel's own line for an address the index does not know. The kernel merges neighbouring
 * mappings with the same protection, so a line can hold a program's mapping and its
 * neighbours: it is cut to the gap the index leaves around addr, where the index knows better. */
static bool kernel_line_answer(uintptr_t addr, struct allocs_big *out)
{
    uintptr_t b, e, lo, hi;
    bool file;
    if (!maps_read_line_at(addr, &b, &e, &file)) return false;
    maps_index_gap(addr, &lo, &hi);
    if (lo > b && lo <= addr) b = lo;
    if (hi < e && hi > addr) e = hi;
    *out = (struct allocs_big){
        b, e, -1, ALLOCS_BIG_MAPPING, file ? ALLOCS_BIG_F_FILE : 0, UINT32_MAX, 0, 0, 0};
    return true;
}

/* A change went unrecorded (the pending log was full while a fork held the lock) and the index
 * could not be reread since: the kernel's own line for addr bounds the answer, so it never
 * reports unmapped memory as mapped, nor misses a mapping (found then by its line alone). */
static bool bounded_by_kernel(uintptr_t addr, struct allocs_big *out, bool found)
{
    if (!maps_pending_lost()) return found;
    if (!found) return kernel_line_answer(addr, out);
    uintptr_t b, e;
    bool file;
    if (!maps_read_line_at(addr, &b, &e, &file)) return false;
    if (out->begin < b) out->begin = b;
    if (out->end > e) out->end = e;
    return true;
}

/* Does the kernel map the page holding addr? 1 yes, 0 no, -1 cannot tell (mincore refused by a
 * seccomp filter, say). One system call that reads no file: mincore fails with ENOMEM exactly
 * when part of the range is not mapped (any protection, PROT_NONE included). */
static int kernel_maps_page(uintptr_t addr)
{
    unsigned char resident;
    long r = lv_syscall3(SYS_mincore, addr & ~(uintptr_t)4095, 4096, &resident);
    return r == 0 ? 1 : r == -12 /* ENOMEM */ ? 0 : -1;
}

/* A miss in the index is settled by the kernel, not by the clock. Mappings that glibc makes
 * for itself (a new thread's stack, a malloc arena) reach the index only by a rescan, and the
 * rescan used to be rate-limited by time alone: a query landing in a new thread's stack just
 * after another rescan (the one dlclose does, say, or any query a moment earlier: on a loaded
 * machine the last rescan's cost, and so the wait, grows with every preemption) answered that
 * no mapping held the stack (levels.test's "another thread's stack": chain `stack`, not
 * `mmap,stack`). Now mincore says whether the page is mapped: if not, the miss is the answer,
 * at the cost of one system call and no rescan (what the rate limit was for: a program
 * probing garbage addresses); if it is, the index is rescanned now, and should a fork hold the
 * lock (or the mapping be gone again from the rescan's read), the kernel's own line answers.
 * Only when mincore cannot tell does the old rate-limited rescan decide. */
bool maps_find(uintptr_t addr, struct allocs_big *out, bool may_rescan)
{
    if (!lv_maps_ready) return false;
    maps_ensure();
    if (may_rescan) catch_up();
    if (maps_lookup(addr, out)) return bounded_by_kernel(addr, out, true);
    if (!may_rescan) return bounded_by_kernel(addr, out, false);
    int kernel = kernel_maps_page(addr);
    if (kernel == 0) return false;
    if (kernel < 0) {
        if (maps_rescan() && maps_lookup(addr, out)) return bounded_by_kernel(addr, out, true);
        return bounded_by_kernel(addr, out, false);
    }
    maps_rescan_now();
    if (maps_lookup(addr, out)) return bounded_by_kernel(addr, out, true);
    return kernel_line_answer(addr, out);
}

bool maps_lookup(uintptr_t addr, struct allocs_big *out)
{
    if (!lv_maps_ready) return false;
    bool found;
    unsigned seq;
    do {
        seq = levels_read_begin();
        uint32_t n = lv_nmaps < LV_MAX_BIGS ? lv_nmaps : LV_MAX_BIGS;
        uint32_t lo = maps_index_lower_of(addr, n);
        found = false;
        if (lo < n) {
            *out = lv_bigs[(uint32_t)lv_map_index[lo] % LV_MAX_BIGS];
            found = out->begin <= addr && addr < out->end;
        }
        /* The log is overlaid inside the read: a writer that drains it into the index between
         * the two reads changes the sequence, so the answer is never the index from before the
         * drain without the log it drained. */
        if (maps_pending_nonempty()) found = maps_pending_overlay(addr, out, found);
    } while (levels_read_retry(seq));
    return found;
}

/* ---- brk ---- */
void brk_refresh(void)
{
    uintptr_t cur = (uintptr_t)lv_syscall3(SYS_brk, 0, 0, 0);
    if (cur == __allocs_root.brk_hi || cur < __allocs_root.brk_lo) return;
    if (!levels_write_try_begin()) return; /* a fork holds the lock: the next query refreshes */
    __allocs_root.brk_hi = cur;
    if (lv_brk_big >= 0) lv_bigs[lv_brk_big].end = cur;
    /* Keep the [heap] mapping record in step, as the kernel does: [start of brk, the break
     * rounded up to a page). Only where no other record is in the way. */
    uintptr_t lo = __allocs_root.brk_lo, hi = PAGE_UP(cur);
    uint32_t i = maps_index_lower(lo);
    struct allocs_big *m = i < lv_nmaps ? &lv_bigs[lv_map_index[i]] : NULL;
    bool next_clear = i + 1 >= lv_nmaps || lv_bigs[lv_map_index[i + 1]].begin >= hi;
    if (m && m->begin == lo && m->end < hi && next_clear)
        m->end = hi;
    else if ((!m || m->begin >= hi) && lo < hi)
        maps_add_mapping(lo, hi, ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE, 0,
                         (uintptr_t)levels_intern("[heap]", 6));
    bigs_relink();
    levels_write_end();
}

/* Whether addr is in the brk heap as far as the break we knew says (the maps read): 1 or 0, or
 * -1 when only the kernel can say. */
static inline int brk_known(uintptr_t addr, const struct allocs_big *m)
{
    if (addr < __allocs_root.brk_lo) return 0;
    if (addr < __allocs_root.brk_hi) return 1;
    /* Past the break we knew. A syscall is only worth it when the address is in the [heap]
     * mapping (the break moves within its last page) or in no known mapping (it grew). */
    if (m && m->begin != __allocs_root.brk_lo) return 0;
    return -1;
}

bool brk_contains(uintptr_t addr, const struct allocs_big *m)
{
    if (!lv_maps_ready) return false;
    maps_ensure();
    int known = brk_known(addr, m);
    if (known >= 0) return known;
    brk_refresh();
    return addr < __allocs_root.brk_hi;
}

/* ---- start-up ---- */
void maps_init(void)
{
    if (!maps_index_init() || !maps_scan_init()) return;
    lv_maps_ready = 1; /* /proc/self/maps is read by maps_ensure */
}

/* ---- the mmap and brk allocators (allocators.h) ---- */
static bool mmap_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    if (!where_mapping(w)) return false;
    if ((how & ALLOCS_DESCRIBE_PROGRAMS_OWN) && !(w->mapping.flags & ALLOCS_BIG_F_USER_MMAP))
        return false;
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_MMAP);
    out->base = (uintptr_t)w->mapping.begin;
    out->size = (size_t)(w->mapping.end - w->mapping.begin);
    out->site = (uintptr_t)w->mapping.site;
    return true;
}

/* The mmap and brk extents are asked for nearly every address (the level order). Each answers
 * from the query's mapping lookup without a call, and leaves the calls (the lookup itself, the
 * first read of the maps, asking the kernel for the break) to an out-of-line tail, so that the
 * common answer sets up no frame. */
static __attribute__((noinline)) bool mmap_extent_lookup(struct rt_where *w, uintptr_t *lo,
                                                         uintptr_t *hi);

static bool mmap_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    if (RT_UNLIKELY(!w->mapping_state)) return mmap_extent_lookup(w, lo, hi);
    if (w->mapping_state < 0) return false;
    *lo = (uintptr_t)w->mapping.begin;
    *hi = (uintptr_t)w->mapping.end;
    return true;
}

static bool mmap_extent_lookup(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    where_mapping(w);
    return mmap_extent(w, lo, hi);
}

const struct allocs_allocator mmap_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_MMAP,
    .id = ALLOCS_ALLOCATOR_MMAP,
    .level = ALLOCS_LEVEL_MAPPING,
    .describe = mmap_describe,
    .extent = mmap_extent,
};

static __attribute__((noinline)) bool brk_extent_calling(struct rt_where *w, uintptr_t *lo,
                                                         uintptr_t *hi)
{
    if (!brk_contains(w->addr, where_mapping(w) ? &w->mapping : NULL)) return false;
    *lo = (uintptr_t)__allocs_root.brk_lo;
    *hi = (uintptr_t)__allocs_root.brk_hi;
    return true;
}

static bool brk_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    /* brk_contains without a call: the mapping looked up, the maps read, the break known. */
    if (RT_LIKELY(w->mapping_state && lv_maps_ready && lv_maps_scanned)) {
        int known = brk_known(w->addr, w->mapping_state > 0 ? &w->mapping : NULL);
        if (known == 0) return false;
        if (known > 0) {
            *lo = (uintptr_t)__allocs_root.brk_lo;
            *hi = (uintptr_t)__allocs_root.brk_hi;
            return true;
        }
    }
    return brk_extent_calling(w, lo, hi);
}

/* As a leaf, the brk heap itself: an address in it but in no live chunk (malloc's free space
 * or bookkeeping). */
static bool brk_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    (void)how;
    uintptr_t lo, hi;
    if (!brk_extent(w, &lo, &hi)) return false;
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_BRK);
    out->base = lo;
    out->size = (size_t)(hi - lo);
    return true;
}

const struct allocs_allocator brk_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_BRK,
    .id = ALLOCS_ALLOCATOR_BRK,
    .level = ALLOCS_LEVEL_REGION,
    .describe = brk_describe,
    .extent = brk_extent,
};
