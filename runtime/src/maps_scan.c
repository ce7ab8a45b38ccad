/* maps_scan.c: reading /proc/self/maps into the mapping index (maps_index.c): the first read,
 * which also settles the brk heap's start and the main stack's floor, and every rescan, which
 * merges the kernel's lines with the program's own mmap records. */
#define _GNU_SOURCE
#include "levels.h"

#include <string.h>

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
 * the first line and then maps_add_mapping'd the second line over it, dropping the program's own
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
volatile int lv_maps_scanned;

static void first_scan_setup(void)
{
    lv_maps_scanned = 1;
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
        uint32_t i = maps_index_lower(lv_main_stack_hi - 1);
        uintptr_t floor = i > 0 && i <= lv_nmaps ? (uintptr_t)lv_bigs[lv_map_index[i - 1]].end : 0;
        if (i < lv_nmaps && lv_bigs[lv_map_index[i]].begin <= lv_main_stack_hi - 1 &&
            floor > lv_main_stack_lo && floor < lv_main_stack_hi) {
            lv_main_stack_lo = floor;
            if (lv_stack_big >= 0) lv_bigs[lv_stack_big].begin = floor;
        }
    }
}

void maps_first_scan(void)
{
    if (lv_maps_scanned || !lv_maps_ready || !levels_write_try_begin()) return;
    if (!lv_maps_scanned) maps_rescan_locked();
    levels_write_end();
}

/* The index is rebuilt in address order: the kept user records as they are, and the parts of
 * each line they leave free as records with no site. */
static void append_line_part(uintptr_t b, uintptr_t e, const struct line *l)
{
    struct allocs_big m = {b,          e, -1, ALLOCS_BIG_MAPPING, l->flags,
                           UINT32_MAX, 0, 0,  (uintptr_t)l->name};
    maps_index_append(bigs_alloc(&m));
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
    for (uint32_t i = 0; i < lv_nmaps; i++) {
        int32_t s = lv_map_index[i];
        if ((lv_bigs[s].flags & ALLOCS_BIG_F_USER_MMAP) &&
            user_record_mapped(lv_bigs[s].begin, lv_bigs[s].end, n))
            lv_map_index[nusers++] = s;
        else
            bigs_free(s);
    }
    /* Merge, in address order: every kept user record, and the parts of each line they do not
     * cover. A kept record may lie partly or wholly outside the lines (see user_record_mapped):
     * it is indexed all the same, where it falls. The index is rebuilt from scratch, so the
     * kept user records are copied aside. */
    static int32_t users[LV_MAX_BIGS];
    memcpy(users, lv_map_index, nusers * sizeof *users);
    lv_nmaps = 0;
    uint32_t u = 0;
    uintptr_t done = 0; /* end of the last user record indexed */
    for (uint32_t i = 0; i < n; i++) {
        struct line *l = &lines[i];
        uintptr_t cur = l->b > done ? l->b : done;
        while (u < nusers && lv_bigs[users[u]].begin < l->e) {
            struct allocs_big *ub = &lv_bigs[users[u]];
            if (ub->begin > cur) append_line_part(cur, ub->begin, l);
            if (ub->begin >= l->b) { /* the line holding its start: refresh what mprotect or a
                                        file name may have changed */
                ub->flags = (uint16_t)(ALLOCS_BIG_F_USER_MMAP | l->flags);
                if (!ub->name) ub->name = (uintptr_t)l->name;
            }
            maps_index_append(users[u++]);
            done = ub->end;
            if (done > cur) cur = done;
        }
        if (cur < l->e) append_line_part(cur, l->e, l);
        if (l->name && strcmp(l->name, "[heap]") == 0 && !__allocs_root.brk_lo)
            __allocs_root.brk_lo = l->b;
    }
    while (u < nusers) /* past the last line */
        maps_index_append(users[u++]);
    if (!lv_maps_scanned) first_scan_setup();
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
    if (!lv_maps_ready || !levels_write_try_begin()) return;
    maps_rescan_locked();
    levels_write_end();
}

bool maps_scan_init(void)
{
    lines = levels_reserve(LV_MAX_BIGS * sizeof *lines);
    return lines != NULL;
}

void maps_ensure_scanned_locked(void)
{
    if (!lv_maps_scanned) maps_rescan_locked();
}
