/* maps.c: the mapping level. root.bigs holds every level record; the MAPPING records partition
 * the address space the way /proc/self/maps does, except that each of the program's own mmap
 * calls stays a record of its own (with its call site) even where the kernel merged it with a
 * neighbour. A private index of the mapping slots, sorted by address, makes lookups a binary
 * search. The program's mmap/munmap/mremap are interposed; everything else that maps memory
 * (glibc's thread stacks, malloc arenas, dlopen) is picked up by rereading /proc/self/maps
 * when a query lands in no known mapping. */
#define _GNU_SOURCE
#include "allocators.h"

#include <string.h>

static struct allocs_big *bigs; /* root.bigs, LV_MAX_BIGS slots */
static int32_t *free_slots;     /* stack of freed slot numbers */
static uint32_t nfree;
static int32_t *map_index; /* MAPPING slots sorted by begin; non-overlapping */
static uint32_t nmaps;
int lv_brk_big = -1, lv_stack_big = -1, lv_auxv_big = -1;
uintptr_t lv_main_stack_lo, lv_main_stack_hi;
static volatile int maps_ready;

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
    bigs[idx] = *b;
    return idx;
}

void bigs_free(int idx)
{
    if (idx < 0 || bigs[idx].kind == ALLOCS_BIG_FREE) return;
    memset(&bigs[idx], 0, sizeof bigs[idx]);
    bigs[idx].parent = -1;
    free_slots[nfree++] = idx;
}

/* The first index position whose mapping ends above addr. */
static uint32_t index_lower(uintptr_t addr)
{
    uint32_t lo = 0, hi = nmaps;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (bigs[map_index[mid]].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void index_insert(uint32_t pos, int32_t slot)
{
    memmove(&map_index[pos + 1], &map_index[pos], (nmaps - pos) * sizeof *map_index);
    map_index[pos] = slot;
    nmaps++;
}

static void index_remove(uint32_t pos)
{
    memmove(&map_index[pos], &map_index[pos + 1], (nmaps - pos - 1) * sizeof *map_index);
    nmaps--;
}

/* Cuts [b, e) out of the mapping records: drops, trims or splits each one it overlaps. */
static void remove_range(uintptr_t b, uintptr_t e)
{
    uint32_t i = index_lower(b);
    while (i < nmaps) {
        struct allocs_big *m = &bigs[map_index[i]];
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
            bigs_free(map_index[i]);
            index_remove(i);
        }
    }
}

static void add_mapping(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site, uint64_t name)
{
    remove_range(b, e);
    struct allocs_big m = {b, e, -1, ALLOCS_BIG_MAPPING, flags, UINT32_MAX, 0, site, name};
    int s = bigs_alloc(&m);
    if (s >= 0) index_insert(index_lower(b), s);
}

/* Finds the mapping containing a [b, e) range's start, for mremap. */
static struct allocs_big *mapping_at(uintptr_t a)
{
    uint32_t i = index_lower(a);
    return i < nmaps && bigs[map_index[i]].begin <= a ? &bigs[map_index[i]] : NULL;
}

void bigs_relink(void)
{
    int parents[3] = {lv_brk_big, lv_stack_big, lv_auxv_big};
    for (int k = 0; k < 3; k++) {
        int idx = parents[k];
        if (idx < 0) continue;
        if (idx == lv_auxv_big) {
            bigs[idx].parent = lv_stack_big;
            continue;
        }
        /* The stack level reaches below the mapping the kernel has grown so far; its parent
         * is the [stack] mapping at its top. */
        struct allocs_big *m = mapping_at((uintptr_t)bigs[idx].end - 1);
        bigs[idx].parent = m ? (int32_t)(m - bigs) : -1;
    }
}

/* ---- /proc/self/maps ---- */
struct line {
    uintptr_t b, e;
    uint16_t flags;
    const char *name;
};
static struct line *lines; /* scratch for a rescan, LV_MAX_BIGS entries */
static char maps_buf[16384];
static uint64_t last_rescan_end, last_rescan_cost;

/* "b-e perms offset dev inode   name" */
static bool parse_line(const char *p, const char *end, struct line *out)
{
    out->b = lv_parse_hex(&p, end);
    if (p >= end || *p++ != '-') return false;
    out->e = lv_parse_hex(&p, end);
    if (p + 5 > end || out->e <= out->b) return false;
    p++;
    out->flags =
        (uint16_t)((p[0] == 'r' ? ALLOCS_BIG_F_READ : 0) | (p[1] == 'w' ? ALLOCS_BIG_F_WRITE : 0) |
                   (p[2] == 'x' ? ALLOCS_BIG_F_EXEC : 0));
    p += 4;
    for (int field = 0; field < 3; field++) { /* offset, dev, inode */
        while (p < end && *p == ' ')
            p++;
        const char *start = p;
        while (p < end && *p != ' ')
            p++;
        if (field == 2 && !(p - start == 1 && *start == '0')) out->flags |= ALLOCS_BIG_F_FILE;
    }
    while (p < end && *p == ' ')
        p++;
    out->name = p < end ? levels_intern(p, (size_t)(end - p)) : NULL;
    return true;
}

/* The kernel writes /proc/self/maps a page of text per read and, since Linux 6.17, locks one
 * VMA at a time, so the lines are not one snapshot: a mapping that grows by a merge while we
 * read (another thread's mmap next to it, which holds no lock of ours) can be reported twice,
 * once before and once after, the second line overlapping the first (seen here as
 * 7fdaaffed000-7fdaaffee000 then 7fdaaffed000-7fdaaffef000). The merge in maps_rescan_locked
 * assumes ascending, disjoint lines: given the overlap, it indexed a program's mapping from
 * the first line and then add_mapping'd the second line over it, dropping the program's own
 * record for a bigger one (levels_stress: "fresh mapping ... size=12288/8192", "mapping after
 * munmap of its tail ... size=8192/4096", "mapping made in a signal handler ...
 * size=8192/4096"). So a line is cut to start where the line before it ended, and dropped if
 * nothing is left: both views were true at some moment, and the overlap was mapped in both. */
static bool keep_ascending(uint32_t n)
{
    if (n == 0 || lines[n].b >= lines[n - 1].e) return true;
    if (lines[n].e <= lines[n - 1].e) return false;
    lines[n].b = lines[n - 1].e;
    return true;
}

/* The lines of /proc/self/maps, or 0 when they could not all be read: a read that fails
 * part-way gives a listing with no end, and a rescan that trusted it would drop every record
 * of the program's past the point where it stopped. */
static uint32_t read_maps(void)
{
    int fd = lv_open_read("/proc/self/maps");
    if (fd < 0) return 0;
    uint32_t n = 0;
    size_t have = 0;
    for (;;) {
        long r = lv_syscall3(SYS_read, fd, maps_buf + have, sizeof maps_buf - have);
        if (r == -4) continue;
        if (r < 0) n = 0;
        if (r <= 0) break;
        have += (size_t)r;
        char *p = maps_buf, *end = maps_buf + have, *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
            if (n < LV_MAX_BIGS && parse_line(p, nl, &lines[n]) && keep_ascending(n)) n++;
            p = nl + 1;
        }
        have = (size_t)(end - p);
        memmove(maps_buf, p, have);
        if (have == sizeof maps_buf) have = 0; /* an absurd line: drop it */
    }
    lv_close(fd);
    return n;
}

/* Is [b, e) covered by the (sorted) lines? A user record that is not has been unmapped
 * behind our back (a raw syscall, or glibc reusing the range). */
static bool covered(uintptr_t b, uintptr_t e, uint32_t n)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (lines[mid].e <= b)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uintptr_t cur = b; lo < n; lo++) {
        if (lines[lo].b > cur) return false;
        cur = lines[lo].e;
        if (cur >= e) return true;
    }
    return false;
}

/* Does the kernel map every page of [b, e) now? 1 yes, 0 no, -1 cannot tell. mincore fails
 * with ENOMEM exactly when part of the range is unmapped (any protection), and reads no file. */
static int kernel_maps_range(uintptr_t b, uintptr_t e)
{
    unsigned char vec[1024]; /* one byte a page: 4 MiB a call */
    for (uintptr_t at = b; at < e;) {
        uintptr_t len = e - at < sizeof vec * 4096 ? e - at : sizeof vec * 4096;
        long r = lv_syscall3(SYS_mincore, at, len, vec);
        if (r == -12 /* ENOMEM */) return 0;
        if (r != 0) return -1;
        at += len;
    }
    return 1;
}

/* What the first read of /proc/self/maps settles: where the brk heap starts (the [heap] line,
 * or the current break if there is none yet), and how far down the main stack can reach (not
 * into the mapping below it). */
static volatile int maps_scanned;

static void first_scan_setup(void)
{
    maps_scanned = 1;
    uintptr_t cur = (uintptr_t)lv_syscall3(SYS_brk, 0, 0, 0);
    if (!__allocs_root.brk_lo) __allocs_root.brk_lo = cur;
    __allocs_root.brk_hi = cur > __allocs_root.brk_lo ? cur : __allocs_root.brk_lo;
    struct allocs_big b = {__allocs_root.brk_lo,
                           __allocs_root.brk_hi,
                           -1,
                           ALLOCS_BIG_BRK,
                           ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE,
                           UINT32_MAX,
                           0,
                           0,
                           0};
    b.name = (uintptr_t)levels_intern("[heap]", 6);
    lv_brk_big = bigs_alloc(&b);
    if (lv_main_stack_hi) {
        uint32_t i = index_lower(lv_main_stack_hi - 1);
        uintptr_t floor = i > 0 && i <= nmaps ? (uintptr_t)bigs[map_index[i - 1]].end : 0;
        if (i < nmaps && bigs[map_index[i]].begin <= lv_main_stack_hi - 1 &&
            floor > lv_main_stack_lo && floor < lv_main_stack_hi) {
            lv_main_stack_lo = floor;
            if (lv_stack_big >= 0) bigs[lv_stack_big].begin = floor;
        }
    }
}

void maps_ensure(void)
{
    if (maps_scanned || !maps_ready || !levels_write_try_begin()) return;
    if (!maps_scanned) maps_rescan_locked();
    levels_write_end();
}

static volatile int maps_stale;

void maps_mark_stale(void)
{
    __atomic_store_n(&maps_stale, 1, __ATOMIC_RELEASE);
}

/* Changes made while a fork held the lock are applied by whoever takes it next (the pending
 * log); one that could not be logged makes us read /proc/self/maps again before answering
 * (not rate-limited: this happens at most once per fork that met a burst of mmaps). */
static void catch_up(void)
{
    bool stale = __atomic_load_n(&maps_stale, __ATOMIC_ACQUIRE);
    if (!(stale || maps_pending_nonempty()) || !levels_write_try_begin()) return;
    if (__atomic_exchange_n(&maps_stale, 0, __ATOMIC_ACQ_REL)) maps_rescan_locked();
    levels_write_end();
}

/* The index is rebuilt in address order: the kept user records as they are, and the parts of
 * each line they leave free as records with no site. */
static void index_append(int32_t slot)
{
    if (slot >= 0 && nmaps < LV_MAX_BIGS) map_index[nmaps++] = slot;
}

static void append_line_part(uintptr_t b, uintptr_t e, const struct line *l)
{
    struct allocs_big m = {b,          e, -1, ALLOCS_BIG_MAPPING, l->flags,
                           UINT32_MAX, 0, 0,  (uintptr_t)l->name};
    index_append(bigs_alloc(&m));
}

/* Is the user record [b, e) still mapped, although n lines of a listing did not cover it?
 *
 * /proc/self/maps is read a page of text at a time, and since Linux 6.17 under one VMA lock at
 * a time, while other threads map and unmap: the listing is not a snapshot. A rescan used to
 * take a record of the program's that the listing did not cover for one unmapped behind our
 * back, drop it, and rebuild the range from the line of a later rescan, with no call site
 * (levels_maps_tear: "page N: ... site lost", in 10-25% of runs on a quiet machine, while a
 * thread merged and split the page's kernel line with raw mmap/munmap of its neighbours and
 * another made the runtime rescan). The listing also ends early when a read fails part-way
 * (read_maps gives up then). Whatever the listing shows or misses, the kernel settles it, as it
 * settles a miss in maps_find: a record is dropped only when mincore says part of it is
 * unmapped now. Where mincore cannot tell (a seccomp filter), the listing decides as before. */
static bool user_record_mapped(uintptr_t b, uintptr_t e, uint32_t n)
{
    return covered(b, e, n) || kernel_maps_range(b, e) == 1;
}

void maps_rescan_locked(void)
{
    uint64_t t0 = lv_now_ns();
    uint32_t n = read_maps();
    if (n == 0) return;
    /* Keep the user records still mapped (in order); drop every other mapping record. */
    uint32_t nusers = 0;
    for (uint32_t i = 0; i < nmaps; i++) {
        int32_t s = map_index[i];
        if ((bigs[s].flags & ALLOCS_BIG_F_USER_MMAP) &&
            user_record_mapped(bigs[s].begin, bigs[s].end, n))
            map_index[nusers++] = s;
        else
            bigs_free(s);
    }
    /* Merge, in address order: every kept user record, and the parts of each line they do not
     * cover. A kept record may lie partly or wholly outside the lines (see user_record_mapped):
     * it is indexed all the same, where it falls. The index is rebuilt from scratch, so the
     * kept user records are copied aside. */
    static int32_t users[LV_MAX_BIGS];
    memcpy(users, map_index, nusers * sizeof *users);
    nmaps = 0;
    uint32_t u = 0;
    uintptr_t done = 0; /* end of the last user record indexed */
    for (uint32_t i = 0; i < n; i++) {
        struct line *l = &lines[i];
        uintptr_t cur = l->b > done ? l->b : done;
        while (u < nusers && bigs[users[u]].begin < l->e) {
            struct allocs_big *ub = &bigs[users[u]];
            if (ub->begin > cur) append_line_part(cur, ub->begin, l);
            if (ub->begin >= l->b) { /* the line holding its start: refresh what mprotect or a
                                        file name may have changed */
                ub->flags = (uint16_t)(ALLOCS_BIG_F_USER_MMAP | l->flags);
                if (!ub->name) ub->name = (uintptr_t)l->name;
            }
            index_append(users[u++]);
            done = ub->end;
            if (done > cur) cur = done;
        }
        if (cur < l->e) append_line_part(cur, l->e, l);
        if (l->name && strcmp(l->name, "[heap]") == 0 && !__allocs_root.brk_lo)
            __allocs_root.brk_lo = l->b;
    }
    while (u < nusers) /* past the last line */
        index_append(users[u++]);
    if (!maps_scanned) first_scan_setup();
    bigs_relink();
    uint64_t t1 = lv_now_ns();
    last_rescan_end = t1;
    last_rescan_cost = t1 - t0;
}

/* Rate limit, for when mincore cannot tell whether an address is mapped (maps_find): a program
 * probing garbage addresses must not spend its life reading /proc/self/maps, so a rescan is
 * allowed once at least 4x the last one's cost has passed (at most ~20% of the time). */
bool maps_rescan(void)
{
    uint64_t now = lv_now_ns();
    if (last_rescan_end && now - last_rescan_end < 4 * last_rescan_cost + 20000) return false;
    if (!levels_write_try_begin()) return false;
    maps_rescan_locked();
    levels_write_end();
    return true;
}

void maps_rescan_now(void)
{
    if (!maps_ready || !levels_write_try_begin()) return;
    maps_rescan_locked();
    levels_write_end();
}

/* The gap the index leaves around addr (which no record contains), read under the seqlock:
 * [end of the record below, start of the record above). */
static void index_gap(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    unsigned seq;
    do {
        seq = levels_read_begin();
        uint32_t n = nmaps < LV_MAX_BIGS ? nmaps : LV_MAX_BIGS, l = 0, h = n;
        while (l < h) {
            uint32_t mid = (l + h) / 2;
            if (bigs[(uint32_t)map_index[mid] % LV_MAX_BIGS].end <= addr)
                l = mid + 1;
            else
                h = mid;
        }
        *lo = l > 0 ? (uintptr_t)bigs[(uint32_t)map_index[l - 1] % LV_MAX_BIGS].end : 0;
        *hi = l < n ? (uintptr_t)bigs[(uint32_t)map_index[l] % LV_MAX_BIGS].begin : UINTPTR_MAX;
    } while (levels_read_retry(seq));
}

/* The kernel's own line for an address the index does not know. The kernel merges neighbouring
 * mappings with the same protection, so a line can hold a program's mapping and its
 * neighbours: it is cut to the gap the index leaves around addr, where the index knows better. */
static bool kernel_line_answer(uintptr_t addr, struct allocs_big *out)
{
    uintptr_t b, e, lo, hi;
    bool file;
    if (!maps_read_line_at(addr, &b, &e, &file)) return false;
    index_gap(addr, &lo, &hi);
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
    if (!__atomic_load_n(&maps_stale, __ATOMIC_ACQUIRE)) return found;
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
    if (!maps_ready) return false;
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
    if (!maps_ready) return false;
    bool found;
    unsigned seq;
    do {
        seq = levels_read_begin();
        uint32_t n = nmaps < LV_MAX_BIGS ? nmaps : LV_MAX_BIGS, lo = 0, hi = n;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            uint32_t s = (uint32_t)map_index[mid] % LV_MAX_BIGS;
            if (bigs[s].end <= addr)
                lo = mid + 1;
            else
                hi = mid;
        }
        found = false;
        if (lo < n) {
            *out = bigs[(uint32_t)map_index[lo] % LV_MAX_BIGS];
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
    if (lv_brk_big >= 0) bigs[lv_brk_big].end = cur;
    /* Keep the [heap] mapping record in step, as the kernel does: [start of brk, the break
     * rounded up to a page). Only where no other record is in the way. */
    uintptr_t lo = __allocs_root.brk_lo, hi = PAGE_UP(cur);
    uint32_t i = index_lower(lo);
    struct allocs_big *m = i < nmaps ? &bigs[map_index[i]] : NULL;
    bool next_clear = i + 1 >= nmaps || bigs[map_index[i + 1]].begin >= hi;
    if (m && m->begin == lo && m->end < hi && next_clear)
        m->end = hi;
    else if ((!m || m->begin >= hi) && lo < hi)
        add_mapping(lo, hi, ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE, 0,
                    (uintptr_t)levels_intern("[heap]", 6));
    bigs_relink();
    levels_write_end();
}

bool brk_contains(uintptr_t addr, const struct allocs_big *m)
{
    if (!maps_ready) return false;
    maps_ensure();
    if (addr < __allocs_root.brk_lo) return false;
    if (addr < __allocs_root.brk_hi) return true;
    /* Past the break we knew. A syscall is only worth it when the address is in the [heap]
     * mapping (the break moves within its last page) or in no known mapping (it grew). */
    if (m && m->begin != __allocs_root.brk_lo) return false;
    brk_refresh();
    return addr < __allocs_root.brk_hi;
}

/* ---- what the interposed calls (maps_calls.c) report, with the write lock held ----
 * munmap and mremap hold the lock across the system call itself: otherwise a range freed by
 * one thread could be mapped again by another, recorded, and then wrongly removed when the
 * first thread records its munmap. */
void maps_note_map_locked(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site)
{
    if (!maps_ready) return;
    if (!maps_scanned) maps_rescan_locked();
    add_mapping(b, PAGE_UP(e), flags, site, 0);
    bigs_relink();
}

void maps_note_unmap_locked(uintptr_t b, uintptr_t e)
{
    if (!maps_ready) return;
    if (!maps_scanned) maps_rescan_locked();
    remove_range(b, PAGE_UP(e));
    bigs_relink();
}

void maps_note_remap_locked(uintptr_t old, size_t old_len, uintptr_t to, size_t new_len,
                            bool keep_old, uint64_t site)
{
    if (!maps_ready) return;
    if (!maps_scanned) maps_rescan_locked();
    /* The moved or resized mapping keeps the record's identity: its original mmap site if it
     * was the program's own, else this call becomes its site. */
    struct allocs_big *m = mapping_at(old);
    uint16_t f = m ? m->flags : (uint16_t)(ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE);
    uint64_t s = m && (m->flags & ALLOCS_BIG_F_USER_MMAP) ? m->site : site;
    uint64_t name = m ? m->name : 0;
    if (!keep_old) remove_range(old, PAGE_UP(old + old_len));
    add_mapping(to, PAGE_UP(to + new_len), (uint16_t)(f | ALLOCS_BIG_F_USER_MMAP), s, name);
    bigs_relink();
}

/* ---- start-up ---- */
void maps_init(void)
{
    bigs = levels_reserve(LV_MAX_BIGS * sizeof *bigs);
    free_slots = levels_reserve(LV_MAX_BIGS * sizeof *free_slots);
    map_index = levels_reserve(LV_MAX_BIGS * sizeof *map_index);
    lines = levels_reserve(LV_MAX_BIGS * sizeof *lines);
    if (!bigs || !free_slots || !map_index || !lines) return;
    maps_calls_init();
    __allocs_root.bigs = (uintptr_t)bigs;
    __allocs_root.bigs_capacity = LV_MAX_BIGS;
    maps_ready = 1; /* /proc/self/maps is read by maps_ensure */
}

/* ---- the mmap and brk allocators (allocators.h) ---- */
bool where_mapping(struct rt_where *w)
{
    if (!w->mapping_state) w->mapping_state = maps_find(w->addr, &w->mapping, true) ? 1 : -1;
    return w->mapping_state > 0;
}

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

static bool mmap_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    if (!where_mapping(w)) return false;
    *lo = (uintptr_t)w->mapping.begin;
    *hi = (uintptr_t)w->mapping.end;
    return true;
}

const struct allocs_allocator mmap_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_MMAP,
    .id = ALLOCS_ALLOCATOR_MMAP,
    .level = ALLOCS_LEVEL_MAPPING,
    .needs_levels = true,
    .describe = mmap_describe,
    .extent = mmap_extent,
};

static bool brk_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    if (!brk_contains(w->addr, where_mapping(w) ? &w->mapping : NULL)) return false;
    *lo = (uintptr_t)__allocs_root.brk_lo;
    *hi = (uintptr_t)__allocs_root.brk_hi;
    return true;
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
    .needs_levels = true,
    .describe = brk_describe,
    .extent = brk_extent,
};
