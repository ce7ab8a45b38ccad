/* rt_core.c: the root object, the runtime's own memory, locks, warnings and allocator objects.
 * Everything here must work before libc has finished initialising us (malloc is called by the
 * dynamic loader and by other constructors before ours runs). Every other part uses this file
 * and it uses none of them (scripts/check-mutual-calls.py): the orders that name every part,
 * start-up and the fork handlers' lock order, are rt_start.c and rt_fork.c. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

RT_EXPORT struct allocs_root __allocs_root = {
    .magic = ALLOCS_MAGIC,
    .version = ALLOCS_LAYOUT_VERSION,
    .root_size = sizeof(struct allocs_root),
};

/* ---- raw memory ---- */

/* The raw syscall, not mmap(): the levels part interposes mmap to record the program's own
 * mappings, and the runtime's tables must not show up as the program's allocations. */
void *rt_map(size_t bytes)
{
    int saved = errno;
    long r = syscall(SYS_mmap, NULL, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    errno = saved;
    if (r == -1) return NULL;
    /* One write, so the kernel dumps the whole table into a core: an anonymous mapping never
     * written has no anon_vma, and the kernel then writes none of it (a PT_LOAD with p_filesz
     * 0). gdb reads such a segment as zeros, but LLDB says the core does not contain it; the
     * decoder then saw a table as unmapped (a false damage note) whenever the table's mapping
     * stood alone rather than merged with a written neighbour. One page of RSS a mapping. */
    *(volatile char *)r = 0;
    return (void *)r;
}

void rt_unmap(void *p, size_t bytes)
{
    int saved = errno;
    syscall(SYS_munmap, p, bytes);
    errno = saved;
}

/* A bump arena for small permanent records (names, allocator objects). Chunks are 1 MiB of
 * reserved memory, so only what is used becomes resident. */
#define ARENA_CHUNK (1u << 20)
rt_lock_t arena_lock = RT_LOCK_INIT;
static char *arena_next, *arena_end;

void *rt_arena_alloc(size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    if (bytes == 0 || bytes > ARENA_CHUNK) return NULL;
    rt_lock(&arena_lock);
    if (!arena_next || (size_t)(arena_end - arena_next) < bytes) {
        char *chunk = rt_map(ARENA_CHUNK);
        if (!chunk) {
            rt_unlock(&arena_lock);
            return NULL;
        }
        arena_next = chunk;
        arena_end = chunk + ARENA_CHUNK;
    }
    void *p = arena_next;
    arena_next += bytes;
    rt_unlock(&arena_lock);
    return p; /* fresh anonymous memory is already zero */
}

const char *rt_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = rt_arena_alloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* ---- locks ----
 * A test-and-test-and-set spinlock that yields: the runtime's locks guard short, rare slow
 * paths (new sites, mappings, dlopen), and a futex-based mutex would be needless weight in a
 * preloaded library. */
enum { LOCK_FREE, LOCK_HELD, LOCK_HELD_BY_FORK };

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: async-signal-safe, no lock */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* How long rt_lock_unless_forking waits for a fork to finish before it gives up. A fork that
 * takes longer (on a loaded machine a fork can take milliseconds) is most likely waiting for
 * a lock that the caller's thread holds (see internal.h); waiting first keeps the common case,
 * a thread that just met a fork, exact. Each waiter has its own patience: the threads that are
 * not part of the deadlock get the lock as soon as the fork is through. */
#define FORK_PATIENCE_NS 100000000ull

RT_TLS struct rt_thread_state rt_self; /* internal.h */

static bool spin_acquire(volatile int *w, bool unless_forking)
{
    unsigned spins = 0;
    uint64_t fork_seen = 0;
    for (;;) {
        /* A compare-and-swap, not an exchange: a failed attempt must leave the fork's mark. */
        int v = LOCK_FREE;
        if (__atomic_compare_exchange_n(w, &v, LOCK_HELD, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return true;
        while ((v = __atomic_load_n(w, __ATOMIC_RELAXED)) != LOCK_FREE) {
            if (unless_forking && v == LOCK_HELD_BY_FORK) {
                uint64_t now = monotonic_ns();
                if (!fork_seen) {
                    /* the fork is surely waiting for the code this handler interrupted */
                    if (heap_interrupted_libc()) return false;
                    fork_seen = now;
                } else if (now - fork_seen > FORK_PATIENCE_NS) {
                    return false;
                }
            }
            if (++spins > 64)
                sched_yield();
            else
                __builtin_ia32_pause();
        }
    }
}

void rt_lock(rt_lock_t *l)
{
    spin_acquire(&l->word, false);
}
bool rt_lock_unless_forking(rt_lock_t *l)
{
    return spin_acquire(&l->word, true);
}
bool rt_trylock(rt_lock_t *l)
{
    int v = LOCK_FREE;
    return __atomic_compare_exchange_n(&l->word, &v, LOCK_HELD, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}
void rt_unlock(rt_lock_t *l)
{
    __atomic_store_n(&l->word, LOCK_FREE, __ATOMIC_RELEASE);
}

/* Held by a fork's prepare handler (rt_fork.c): rt_lock_unless_forking on other threads then
 * gives up instead of waiting for it. */
void rt_lock_for_fork(rt_lock_t *l)
{
    rt_lock(l);
    __atomic_store_n(&l->word, LOCK_HELD_BY_FORK, __ATOMIC_RELAXED);
}

/* ---- warnings ---- */
void rt_warn(const char *fmt, ...)
{
    char buf[512];
    int saved = errno;
    memcpy(buf, "allocs: ", 8);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + 8, sizeof buf - 9, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    size_t len = 8 + ((size_t)n < sizeof buf - 9 ? (size_t)n : sizeof buf - 10);
    buf[len++] = '\n';
    for (size_t off = 0; off < len;) {
        ssize_t w = write(2, buf + off, len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    errno = saved;
}

/* ---- allocator objects ---- */
struct allocator rt_builtin_allocators[RT_BUILTIN_ALLOCATORS] = {
    [ALLOCS_ALLOCATOR_UNKNOWN] = {"(unknown)", ALLOCS_ALLOCATOR_UNKNOWN, 0},
    [ALLOCS_ALLOCATOR_NO_RUNTIME] = {"(no runtime)", ALLOCS_ALLOCATOR_NO_RUNTIME, 0},
    [ALLOCS_ALLOCATOR_MMAP] = {ALLOCS_ALLOCATOR_NAME_MMAP, ALLOCS_ALLOCATOR_MMAP, 0},
    [ALLOCS_ALLOCATOR_BRK] = {ALLOCS_ALLOCATOR_NAME_BRK, ALLOCS_ALLOCATOR_BRK, 0},
    [ALLOCS_ALLOCATOR_STACK] = {ALLOCS_ALLOCATOR_NAME_STACK, ALLOCS_ALLOCATOR_STACK, 0},
    [ALLOCS_ALLOCATOR_ELF_FILE] = {ALLOCS_ALLOCATOR_NAME_ELF_FILE, ALLOCS_ALLOCATOR_ELF_FILE, 0},
    [ALLOCS_ALLOCATOR_ELF_SEGMENT] = {ALLOCS_ALLOCATOR_NAME_ELF_SEGMENT,
                                      ALLOCS_ALLOCATOR_ELF_SEGMENT, 0},
    [ALLOCS_ALLOCATOR_MALLOC] = {ALLOCS_ALLOCATOR_NAME_MALLOC, ALLOCS_ALLOCATOR_MALLOC,
                                 ALLOCS_ALLOCATOR_F_LEAF},
    [ALLOCS_ALLOCATOR_STATIC] = {ALLOCS_ALLOCATOR_NAME_STATIC, ALLOCS_ALLOCATOR_STATIC,
                                 ALLOCS_ALLOCATOR_F_LEAF},
    [ALLOCS_ALLOCATOR_STACKFRAME] = {ALLOCS_ALLOCATOR_NAME_STACKFRAME, ALLOCS_ALLOCATOR_STACKFRAME,
                                     ALLOCS_ALLOCATOR_F_LEAF},
    [ALLOCS_ALLOCATOR_AUXV] = {ALLOCS_ALLOCATOR_NAME_AUXV, ALLOCS_ALLOCATOR_AUXV,
                               ALLOCS_ALLOCATOR_F_LEAF},
    [ALLOCS_ALLOCATOR_ALLOCA] = {ALLOCS_ALLOCATOR_NAME_ALLOCA, ALLOCS_ALLOCATOR_ALLOCA,
                                 ALLOCS_ALLOCATOR_F_LEAF},
};

#define MAX_CUSTOM_ALLOCATORS 64
static struct allocator custom_allocators[MAX_CUSTOM_ALLOCATORS];
static struct allocs_allocator_record custom_records[MAX_CUSTOM_ALLOCATORS];
rt_lock_t custom_lock = RT_LOCK_INIT;

struct allocator *rt_custom_allocator(uint32_t index)
{
    uint32_t n = __atomic_load_n(&__allocs_root.nallocators, __ATOMIC_ACQUIRE);
    return index < n ? &custom_allocators[index] : NULL;
}

struct allocator *rt_add_custom_allocator(const char *name)
{
    if (!name || !*name) return NULL;
    rt_lock(&custom_lock);
    struct allocator *found = NULL;
    uint32_t n = __allocs_root.nallocators;
    for (uint32_t i = 0; i < n && !found; i++)
        if (strcmp(custom_allocators[i].name, name) == 0) found = &custom_allocators[i];
    if (!found && n < MAX_CUSTOM_ALLOCATORS) {
        const char *copy = rt_strdup(name);
        if (copy) {
            custom_allocators[n] =
                (struct allocator){copy, ALLOCS_FIRST_CUSTOM_ALLOCATOR + n,
                                   ALLOCS_ALLOCATOR_F_LEAF | ALLOCS_ALLOCATOR_F_CUSTOM};
            custom_records[n].name = (uint64_t)(uintptr_t)copy;
            __allocs_root.allocators = (uint64_t)(uintptr_t)custom_records;
            __atomic_store_n(&__allocs_root.nallocators, n + 1, __ATOMIC_RELEASE);
            found = &custom_allocators[n];
        }
    }
    rt_unlock(&custom_lock);
    return found;
}

/* ---- the environment ---- */
const char *rt_getenv(const char *name)
{
    return getenv(name);
}
