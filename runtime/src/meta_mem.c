/* meta_mem.c: the metadata loader's lock and memory: meta_lock, the populated mappings arenas
 * live in (meta_map), and the private bump pool (meta_pool_alloc). */
#define _GNU_SOURCE
#define ALLOCS_META_LOADER
#include "meta.h"
#include "levels.h"

#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

rt_lock_t meta_lock = RT_LOCK_INIT;

bool meta_lock_take(uint64_t *saved, bool may_wait)
{
    uint64_t all = ~0ull;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, saved, 8);
    if (may_wait) {
        rt_lock(&meta_lock);
    } else if (!rt_lock_unless_forking(&meta_lock)) {
        lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, saved, 0, 8);
        return false;
    }
    return true;
}

void meta_lock_drop(uint64_t saved)
{
    rt_unlock(&meta_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &saved, 0, 8);
}

/* ---- memory ----
 * Memory we are about to fill is populated up front: on the benchmark's VM a page fault costs
 * ~30 us and populating a 4 KiB page a few us, while a 2 MiB transparent huge page is populated
 * in ~0.2 ms. So a big request (at least HUGE_MIN) gets a 2 MiB-aligned mapping advised
 * MADV_HUGEPAGE (when THP is not "never"): whole huge pages, and the rest on 4 KiB pages, or
 * one more huge page when the rest is itself at least HUGE_MIN (so at most HUGE_MIN is mapped
 * beyond the request; the arena's unused tail feeds the private pool below). Still private
 * anonymous memory: cores hold it, huge pages or not. */
#define HUGE_BYTES (2ul << 20)
#define HUGE_MIN (1ul << 20)

static long raw_mmap(size_t bytes, int flags)
{
    return lv_syscall6(SYS_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static bool map_failed(long r)
{
    return r < 0 && r > -4096;
}

static bool thp_usable(void)
{
    static int state; /* 0 unknown, 1 yes, 2 no */
    if (!state) {
        char buf[96] = {0};
        int fd = lv_open_read("/sys/kernel/mm/transparent_hugepage/enabled");
        long got = fd >= 0 ? lv_pread(fd, buf, sizeof buf - 1, 0) : -1;
        if (fd >= 0) lv_close(fd);
        state = got > 0 && !strstr(buf, "[never]") ? 1 : 2;
    }
    return state == 1;
}

void *meta_map(size_t bytes, size_t *mapped)
{
    bytes = (bytes + 4095) & ~(size_t)4095;
    if (!bytes) return NULL;
    if (bytes >= HUGE_MIN && thp_usable()) {
        size_t rest = bytes & (HUGE_BYTES - 1);
        size_t len = rest >= HUGE_MIN ? bytes - rest + HUGE_BYTES : bytes;
        long r = raw_mmap(len + HUGE_BYTES, MAP_NORESERVE);
        if (!map_failed(r)) {
            uintptr_t lo = (uintptr_t)r, a = (lo + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
            uintptr_t hi = lo + len + HUGE_BYTES;
            if (a > lo) lv_syscall3(SYS_munmap, lo, a - lo, 0);
            if (hi > a + len) lv_syscall3(SYS_munmap, a + len, hi - (a + len), 0);
            lv_syscall3(SYS_madvise, a, len, MADV_HUGEPAGE);
            if (lv_syscall3(SYS_madvise, a, len, MADV_POPULATE_WRITE) != 0)
                for (size_t o = 0; o < len; o += 4096) /* kernels before 5.14 */
                    *(volatile char *)(a + o) = 0;
            if (mapped) *mapped = len;
            return (void *)a;
        }
    }
    long r = raw_mmap(bytes, MAP_POPULATE);
    if (map_failed(r)) return NULL;
    if (mapped) *mapped = bytes;
    return (void *)r;
}

/* A private bump pool (only under meta_lock, so no other runtime lock is ever nested in it):
 * small records (types made up at run time) and the name table. Its space is whichever is
 * bigger of the current chunk's rest and the unused tail of the newest arena. */
#define POOL_CHUNK (256u * 1024u)
static char *pool_next, *pool_end;

void meta_pool_offer(char *p, char *end)
{
    p = (char *)(((uintptr_t)p + 15) & ~(uintptr_t)15);
    if (p < end && end - p > pool_end - pool_next) {
        pool_next = p;
        pool_end = end;
    }
}

void *meta_pool_alloc(size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    if (!bytes) return NULL;
    if ((size_t)(pool_end - pool_next) >= bytes) {
        void *p = pool_next;
        pool_next += bytes;
        return p;
    }
    char *c;
    size_t got;
    if (bytes > POOL_CHUNK / 4) { /* big (a table): populated, its own mapping */
        c = meta_map(bytes, &got);
    } else { /* small records, faulted in as they come */
        c = rt_map(POOL_CHUNK);
        got = POOL_CHUNK;
    }
    if (!c) return NULL;
    meta_pool_offer(c + bytes, c + got);
    return c;
}
