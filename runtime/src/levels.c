/* levels.c: the levels part's write lock and seqlock and its storage (a private name pool, the
 * fixed tables' reservation). The raw syscalls are sys_io.c's, the fork handlers levels_fork.c's,
 * its start-up and the order in which the levels answer allocators.c's. */
#define _GNU_SOURCE
#include "levels.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>

/* ---- the write lock and the seqlock ---- */
rt_lock_t levels_lock = RT_LOCK_INIT;
static unsigned levels_seq;
static RT_TLS uint64_t saved_sigmask;

static bool write_begin(bool unless_forking)
{
    /* Block every signal first: a handler that calls mmap or a query on this thread while we
     * hold the lock (or have the sequence odd) would otherwise wait for us forever. */
    uint64_t all = ~0ull, old = 0;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
    if (unless_forking) {
        if (!rt_lock_unless_forking(&levels_lock)) {
            lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
            return false;
        }
    } else {
        rt_lock(&levels_lock);
    }
    saved_sigmask = old;
    __atomic_fetch_add(&levels_seq, 1, __ATOMIC_ACQ_REL);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    maps_pending_drain_locked(); /* what was done while a fork held the lock, in order */
    return true;
}

void levels_write_begin(void)
{
    write_begin(false);
}

bool levels_write_try_begin(void)
{
    return write_begin(true);
}

void levels_write_end(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_fetch_add(&levels_seq, 1, __ATOMIC_ACQ_REL);
    uint64_t old = saved_sigmask;
    rt_unlock(&levels_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
}

unsigned levels_read_begin(void)
{
    unsigned s, spins = 0;
    while ((s = __atomic_load_n(&levels_seq, __ATOMIC_ACQUIRE)) & 1) {
        if (++spins > 64)
            lv_syscall3(SYS_sched_yield, 0, 0, 0);
        else
            __builtin_ia32_pause();
    }
    return s;
}

bool levels_read_retry(unsigned seq)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&levels_seq, __ATOMIC_RELAXED) != seq;
}

/* ---- names: interned so that rereading /proc/self/maps does not grow memory ---- */
#define NAME_SLOTS 2048u /* 16 KiB: every page touched at start-up costs every process */
#define NAME_POOL_CHUNK (256u * 1024u)
static const char *name_slots[NAME_SLOTS];
static char *pool_next, *pool_end;

static char *pool_take(size_t n)
{
    if (n > NAME_POOL_CHUNK) return NULL;
    if (!pool_next || (size_t)(pool_end - pool_next) < n) {
        char *c = rt_map(NAME_POOL_CHUNK);
        if (!c) return NULL;
        pool_next = c;
        pool_end = c + NAME_POOL_CHUNK;
    }
    char *p = pool_next;
    pool_next += n;
    return p;
}

const char *levels_intern(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    for (unsigned probe = 0; probe < NAME_SLOTS; probe++) {
        unsigned slot = (unsigned)(h + probe) & (NAME_SLOTS - 1);
        const char *n = name_slots[slot];
        if (!n) {
            char *copy = pool_take(len + 1);
            if (!copy) return NULL;
            memcpy(copy, s, len);
            copy[len] = 0;
            name_slots[slot] = copy;
            return copy;
        }
        if (strncmp(n, s, len) == 0 && n[len] == 0) return n;
    }
    return NULL; /* table full: the mapping just has no name */
}

/* The fixed tables all come from one reservation: one mmap at start-up instead of nine, and
 * only the pages touched cost anything (MAP_NORESERVE; untouched pages are holes in a core). */
#define RESERVE_BYTES (16u << 20)
static char *reserve_next, *reserve_end;

void *levels_reserve(size_t bytes)
{
    bytes = (bytes + 4095) & ~(size_t)4095;
    if (!reserve_next) {
        reserve_next = rt_map(RESERVE_BYTES);
        if (!reserve_next) return NULL;
        reserve_end = reserve_next + RESERVE_BYTES;
    }
    if ((size_t)(reserve_end - reserve_next) < bytes) return rt_map(bytes);
    void *p = reserve_next;
    reserve_next += bytes;
    return p;
}

void *levels_alloc(size_t bytes)
{
    return bytes ? rt_map((bytes + 4095) & ~(size_t)4095) : NULL;
}
