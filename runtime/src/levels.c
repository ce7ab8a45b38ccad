/* levels.c: the levels part's entry points (levels_init, levels_find_leaf, levels_chain), its
 * write lock and seqlock, and a private name pool (the raw syscalls are sys_io.c's). Order of a
 * leaf lookup: auxv (exact snapshot), the caller's stack frames or another stack, ELF statics, then
 * the mapping itself (mmap or brk). */
#define _GNU_SOURCE
#include "levels.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* The heap part provides these; weak so that the levels part links and runs alone. */
#pragma weak threads_set_main_stack
#pragma weak threads_find_stack
#pragma weak heap_objects_changed

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

/* ---- start-up ---- */
static volatile int levels_ready;

/* rt_core's atfork prepare handler takes every runtime lock. A signal whose handler calls
 * mmap or a query on the forking thread between that and the parent/child handlers would wait
 * for a lock its own thread holds. So signals are blocked across that window: our handlers are
 * registered after rt_core's (this constructor runs after rt_init's), and glibc runs prepare
 * handlers in reverse order of registration and the others in order. This blocks with the raw
 * system call (every signal, glibc's internal ones included) before any other prepare handler
 * and restores after every other parent/child handler: rt_core's own blocking, inside its
 * handlers, does not cover that whole window (the stress test deadlocked without this). */
static RT_TLS uint64_t fork_saved_mask;

static void fork_prepare(void)
{
    uint64_t all = ~0ull;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &fork_saved_mask, 8);
}

static void fork_after(void)
{
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &fork_saved_mask, 0, 8);
}

static void fork_after_child(void)
{
    maps_pending_after_fork_child();
    objects_after_fork_child();
    fork_after();
}

__attribute__((constructor(102))) static void levels_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_after, fork_after_child);
}

void levels_init(int argc, char **argv, char **envp)
{
    if (levels_ready) return;
    stack_init();
    maps_init();
    auxv_init(argc, argv, envp); /* also the main stack's bounds, which the first scan refines */
    /* Read /proc/self/maps now rather than on first use: a process that never queries may
     * still be read post mortem, and the gdb bridge wants the brk and mapping levels then. */
    maps_ensure();
    objects_init();
    if (threads_set_main_stack && lv_main_stack_hi)
        threads_set_main_stack(lv_main_stack_lo, lv_main_stack_hi);
    __atomic_store_n(&levels_ready, 1, __ATOMIC_RELEASE);
}

/* ---- queries ---- */
static void leaf_set(struct rt_leaf *out, enum allocs_allocator_id id, uintptr_t base, size_t size)
{
    out->allocator = rt_allocator(id);
    out->base = base;
    out->size = size;
}

bool levels_find_leaf(uintptr_t addr, struct rt_leaf *out)
{
    memset(out, 0, sizeof *out);
    if (!addr || !__atomic_load_n(&levels_ready, __ATOMIC_ACQUIRE)) return false;
    objects_check_changed();

    uintptr_t base;
    size_t size;
    if (auxv_find(addr, &base, &size)) {
        leaf_set(out, ALLOCS_ALLOCATOR_AUXV, base, size);
        return true;
    }
    uintptr_t slo, shi;
    if (stack_find_leaf(addr, out, &slo, &shi)) return true;

    /* The program's own mmap records come first: a range a dlclose just unmapped can be
     * mapped again before the wrapper has rescanned, and must not answer as the library. */
    struct allocs_big m;
    bool mapped = maps_find(addr, &m, true);
    if (mapped && (m.flags & ALLOCS_BIG_F_USER_MMAP)) {
        leaf_set(out, ALLOCS_ALLOCATOR_MMAP, (uintptr_t)m.begin, (size_t)(m.end - m.begin));
        out->site = (uintptr_t)m.site;
        return true;
    }
    uint32_t idx;
    struct allocs_object o;
    struct lv_segment seg;
    bool in_object = objects_find(addr, &idx, &o, &seg) ||
                     (objects_missed(addr) && objects_find(addr, &idx, &o, &seg));
    if (in_object && seg.hi > seg.lo && symbols_static_leaf(idx, &o, &seg, addr, out)) return true;

    if (brk_contains(addr, mapped ? &m : NULL)) {
        leaf_set(out, ALLOCS_ALLOCATOR_BRK, (uintptr_t)__allocs_root.brk_lo,
                 (size_t)(__allocs_root.brk_hi - __allocs_root.brk_lo));
        return true;
    }
    if (mapped) {
        leaf_set(out, ALLOCS_ALLOCATOR_MMAP, (uintptr_t)m.begin, (size_t)(m.end - m.begin));
        out->site = (uintptr_t)m.site;
        return true;
    }
    return false;
}

static unsigned push(struct alloc_level *chain, unsigned n, unsigned max,
                     enum allocs_allocator_id id, uintptr_t lo, uintptr_t hi)
{
    if (n >= max || hi <= lo) return n;
    chain[n] = (struct alloc_level){rt_allocator(id), (const void *)lo, (size_t)(hi - lo)};
    return n + 1;
}

unsigned levels_chain(uintptr_t addr, struct alloc_level *chain, unsigned max)
{
    if (!addr || !__atomic_load_n(&levels_ready, __ATOMIC_ACQUIRE)) return 0;
    objects_check_changed();
    unsigned n = 0;
    struct allocs_big m;
    bool mapped = maps_find(addr, &m, true);
    if (mapped)
        n = push(chain, n, max, ALLOCS_ALLOCATOR_MMAP, (uintptr_t)m.begin, (uintptr_t)m.end);

    uint32_t idx;
    struct allocs_object o;
    struct lv_segment seg;
    uintptr_t lo, hi;
    if (!(mapped && (m.flags & ALLOCS_BIG_F_USER_MMAP)) && objects_find(addr, &idx, &o, &seg)) {
        n = push(chain, n, max, ALLOCS_ALLOCATOR_ELF_FILE, (uintptr_t)o.lo, (uintptr_t)o.hi);
        n = push(chain, n, max, ALLOCS_ALLOCATOR_ELF_SEGMENT, seg.lo, seg.hi);
    } else if (brk_contains(addr, mapped ? &m : NULL)) {
        n = push(chain, n, max, ALLOCS_ALLOCATOR_BRK, (uintptr_t)__allocs_root.brk_lo,
                 (uintptr_t)__allocs_root.brk_hi);
    } else if (stack_bounds(addr, &lo, &hi)) {
        n = push(chain, n, max, ALLOCS_ALLOCATOR_STACK, lo, hi);
        if (auxv_area(addr))
            n = push(chain, n, max, ALLOCS_ALLOCATOR_AUXV, (uintptr_t)__allocs_root.auxv_lo,
                     (uintptr_t)__allocs_root.auxv_hi);
    }
    return n;
}
