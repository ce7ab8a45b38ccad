/* maps_index.c: the mapping level's records and their index. root.bigs holds every level
 * record; the MAPPING records partition the address space the way /proc/self/maps does (maps.c
 * says how they differ), and a private index of the mapping slots, sorted by address, makes
 * lookups a binary search. Only the write lock's holders change them (levels.h). */
#define _GNU_SOURCE
#include "levels.h"

#include <string.h>

struct allocs_big *lv_bigs; /* root.bigs, LV_MAX_BIGS slots */
static int32_t *free_slots; /* stack of freed slot numbers */
static uint32_t nfree;
int32_t *lv_map_index; /* MAPPING slots sorted by begin; non-overlapping */
uint32_t lv_nmaps;
int lv_brk_big = -1, lv_stack_big = -1, lv_auxv_big = -1;
uintptr_t lv_main_stack_lo, lv_main_stack_hi;
volatile int lv_maps_ready;

/* ---- slots ---- */
int bigs_alloc(const struct allocs_big *b)
{
    int idx;
    if (nfree)
        idx = free_slots[--nfree];
    else if (__allocs_root.nbigs < LV_MAX_BIGS)
        idx = (int)__allocs_root.nbigs++;
    else
        return -1;
    lv_bigs[idx] = *b;
    return idx;
}

void bigs_free(int idx)
{
    if (idx < 0 || lv_bigs[idx].kind == ALLOCS_BIG_FREE) return;
    memset(&lv_bigs[idx], 0, sizeof lv_bigs[idx]);
    lv_bigs[idx].parent = -1;
    free_slots[nfree++] = idx;
}

static void index_insert(uint32_t pos, int32_t slot)
{
    memmove(&lv_map_index[pos + 1], &lv_map_index[pos], (lv_nmaps - pos) * sizeof *lv_map_index);
    lv_map_index[pos] = slot;
    lv_nmaps++;
}

static void index_remove(uint32_t pos)
{
    memmove(&lv_map_index[pos], &lv_map_index[pos + 1],
            (lv_nmaps - pos - 1) * sizeof *lv_map_index);
    lv_nmaps--;
}

/* Cuts [b, e) out of the mapping records: drops, trims or splits each one it overlaps. */
void maps_remove_range(uintptr_t b, uintptr_t e)
{
    uint32_t i = maps_index_lower(b);
    while (i < lv_nmaps) {
        struct allocs_big *m = &lv_bigs[lv_map_index[i]];
        if (m->begin >= e) break;
        if (m->begin < b && m->end > e) { /* split: the right part becomes a new record */
            struct allocs_big right = *m;
            right.begin = e;
            int s = bigs_alloc(&right);
            m->end = b;
            if (s >= 0) index_insert(i + 1, s);
            break;
        }
        if (m->begin < b) {
            m->end = b;
            i++;
        } else if (m->end > e) {
            m->begin = e;
            break;
        } else {
            bigs_free(lv_map_index[i]);
            index_remove(i);
        }
    }
}

void maps_add_mapping(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site, uint64_t name)
{
    maps_remove_range(b, e);
    struct allocs_big m = {b, e, -1, ALLOCS_BIG_MAPPING, flags, UINT32_MAX, 0, site, name};
    int s = bigs_alloc(&m);
    if (s >= 0) index_insert(maps_index_lower(b), s);
}

/* Finds the mapping containing a [b, e) range's start, for mremap. */
struct allocs_big *maps_mapping_at(uintptr_t a)
{
    uint32_t i = maps_index_lower(a);
    return i < lv_nmaps && lv_bigs[lv_map_index[i]].begin <= a ? &lv_bigs[lv_map_index[i]] : NULL;
}

void bigs_relink(void)
{
    int parents[3] = {lv_brk_big, lv_stack_big, lv_auxv_big};
    for (int k = 0; k < 3; k++) {
        int idx = parents[k];
        if (idx < 0) continue;
        if (idx == lv_auxv_big) {
            lv_bigs[idx].parent = lv_stack_big;
            continue;
        }
        /* The stack level reaches below the mapping the kernel has grown so far; its parent
         * is the [stack] mapping at its top. */
        struct allocs_big *m = maps_mapping_at((uintptr_t)lv_bigs[idx].end - 1);
        lv_bigs[idx].parent = m ? (int32_t)(m - lv_bigs) : -1;
    }
}

/* For a rescan, which rebuilds the index in address order. */
void maps_index_append(int32_t slot)
{
    if (slot >= 0 && lv_nmaps < LV_MAX_BIGS) lv_map_index[lv_nmaps++] = slot;
}

/* The gap the index leaves around addr (which no record contains), read under the seqlock:
 * [end of the record below, start of the record above). */
void maps_index_gap(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    unsigned seq;
    do {
        seq = levels_read_begin();
        uint32_t n = lv_nmaps < LV_MAX_BIGS ? lv_nmaps : LV_MAX_BIGS;
        uint32_t l = maps_index_lower_of(addr, n);
        *lo = l > 0 ? (uintptr_t)lv_bigs[(uint32_t)lv_map_index[l - 1] % LV_MAX_BIGS].end : 0;
        *hi =
            l < n ? (uintptr_t)lv_bigs[(uint32_t)lv_map_index[l] % LV_MAX_BIGS].begin : UINTPTR_MAX;
    } while (levels_read_retry(seq));
}

bool maps_index_init(void)
{
    lv_bigs = levels_reserve(LV_MAX_BIGS * sizeof *lv_bigs);
    free_slots = levels_reserve(LV_MAX_BIGS * sizeof *free_slots);
    lv_map_index = levels_reserve(LV_MAX_BIGS * sizeof *lv_map_index);
    if (!lv_bigs || !free_slots || !lv_map_index) return false;
    __allocs_root.bigs = (uintptr_t)lv_bigs;
    __allocs_root.bigs_capacity = LV_MAX_BIGS;
    return true;
}
