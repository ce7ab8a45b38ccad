/* internal.h: the interfaces between the runtime's parts. Nothing here is exported.
 * Which file does what: the table in runtime/README.md ("Parts"), which lists every file
 * (scripts/lint.sh checks that it does).
 */
#ifndef ALLOCS_INTERNAL_H
#define ALLOCS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "../include/allocs.h"
#include "../include/allocs_layout.h"

#define RT_EXPORT __attribute__((visibility("default")))
#define RT_LIKELY(x) __builtin_expect(!!(x), 1)
#define RT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RT_TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- rt_core.c ---- */
extern struct allocs_root __allocs_root; /* exported: the bridge's entry point */

/* Anonymous private read-write memory straight from the kernel (never malloc), reserved with
 * MAP_NORESERVE so untouched pages cost nothing in RSS or in a core. NULL on failure. */
void *rt_map(size_t bytes);
void rt_unmap(void *p, size_t bytes);
/* Permanent zeroed memory for small records (never freed), 16-byte aligned. NULL on failure. */
void *rt_arena_alloc(size_t bytes);
const char *rt_strdup(const char *s); /* permanent copy; NULL on failure */

/* A lock for the runtime's rare slow paths. Every rt_lock is taken around fork() (atfork
 * handlers), in the fixed order of rt_fork.c's fork_locks[], so a child never inherits one held
 * by a thread that no longer exists. A lock that nests inside another comes later in that
 * order; each lock is declared here so the order is stated once. */
typedef struct rt_lock {
    volatile int word;
} rt_lock_t;
#define RT_LOCK_INIT                                                                               \
    {                                                                                              \
        0                                                                                          \
    }
void rt_lock(rt_lock_t *l);
void rt_unlock(rt_lock_t *l);
/* Takes l unless a fork() on another thread has held it for 100 ms (at once when this thread
 * runs a signal handler that interrupted the allocator or libc: heap_interrupted_libc): then
 * false.
 * glibc's fork takes malloc's and stdio's locks after the atfork handlers, so a signal handler
 * on a thread that holds one of those, waiting for a lock the fork holds, would deadlock the
 * fork. The paths a handler can reach (mmap, munmap, mremap, queries) use this and fall back:
 * log the change (maps_pending.c), or answer with what the tables hold. */
bool rt_lock_unless_forking(rt_lock_t *l);
/* interrupted.c: this thread runs a signal handler that interrupted the real allocator's,
 * libc's or ld.so's code (which may hold a lock glibc's fork takes after ours, or the loader's
 * list lock). Slow: for those cases only. */
bool heap_interrupted_libc(void);
bool rt_trylock(rt_lock_t *l); /* false at once if held */
/* rt_fork.c's prepare handler: takes l and marks it as held by a fork (see above). */
void rt_lock_for_fork(rt_lock_t *l);

/* The runtime's per-thread state that the malloc path reads, in one TLS block: every field is
 * one offset from the same thread-pointer slot, so the fast path resolves it once. */
#define RT_SITE_CACHE_ENTRIES 128u
struct rt_thread_state {
    union {
        struct {
            int heap_busy;       /* recursion guard: the runtime's own code is running here */
            uint32_t overriding; /* site_override is set (heap.h: heap_site_override_set) */
        };
        /* Both at once, one load for the malloc path: nonzero sends it to its general case. */
        uint64_t malloc_gate;
    };
    uintptr_t site_override;   /* set by helpers: the site for nested mallocs */
    struct allocs_thread *rec; /* this thread's record (threads.c), NULL until made */
    /* heap_sites.c's site cache, direct-mapped by pc: entry i is site_keys[i] (pc ^ (wrapper
     * generation << 48); 0 = empty) and site_ids[i] (the id, or a wrapper's CFA offset, shifted
     * to the trailer's site field: heap.h's heap_site_bits), two arrays so that each is one
     * scaled-index operand for the malloc path. */
    uintptr_t site_keys[RT_SITE_CACHE_ENTRIES];
    uint64_t site_ids[RT_SITE_CACHE_ENTRIES];
};
extern RT_TLS struct rt_thread_state rt_self;

extern rt_lock_t meta_lock;         /* meta_mem.c: type metadata loading and synthesis */
extern rt_lock_t wrappers_lock;     /* heap_helpers.c: declared allocation wrappers */
extern rt_lock_t custom_lock;       /* rt_core.c: custom allocator objects */
extern rt_lock_t objects_scan_lock; /* elf_objects.c: one scan of the loaded objects */
extern rt_lock_t symbols_lock;      /* elf_symbols.c: one symbol table build */
extern rt_lock_t pool_lock;         /* pool.c: registered pool objects */
extern rt_lock_t threads_lock;      /* threads.c: the thread records' free list */
extern rt_lock_t sites_lock;        /* heap_sites.c: the allocation site table */
extern rt_lock_t large_chunks_lock; /* heap_index.c: the large-chunk table */
extern rt_lock_t levels_lock;       /* levels.c: mappings, objects, stacks (the seqlock) */
extern rt_lock_t arena_lock;        /* rt_core.c: the bump arena */

/* "allocs: <message>\n" on stderr with write(2); no malloc, safe anywhere. */
void rt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocator objects (one per enum allocs_allocator_id; never freed). Inline: every answer
 * names its allocator, and a constant id folds to one address and one test. */
#define RT_BUILTIN_ALLOCATORS (ALLOCS_ALLOCATOR_ALLOCA + 1)
extern struct allocator rt_builtin_allocators[RT_BUILTIN_ALLOCATORS]; /* rt_core.c */
static inline struct allocator *rt_allocator(enum allocs_allocator_id id)
{
    if ((unsigned)id < RT_BUILTIN_ALLOCATORS && rt_builtin_allocators[id].name)
        return &rt_builtin_allocators[id];
    return &rt_builtin_allocators[ALLOCS_ALLOCATOR_UNKNOWN];
}
/* Custom allocators: index i has id ALLOCS_FIRST_CUSTOM_ALLOCATOR + i. NULL if out of range. */
struct allocator *rt_custom_allocator(uint32_t index);
struct allocator *rt_add_custom_allocator(const char *name); /* NULL when full */

const char *rt_getenv(const char *name); /* safe before libc's environ is usable by us */

/* ---- rt_start.c, rt_fork.c ---- */
/* Start-up. rt_init runs from the constructor with the arguments glibc passes to init_array
 * functions; it is idempotent. Parts initialise themselves lazily where they can run before it
 * (malloc is called by the dynamic loader and other constructors before ours). */
void rt_init(int argc, char **argv, char **envp);
bool rt_initialised(void);
/* Registers the atfork handlers that hold every rt_lock across fork() (rt_init does). */
void rt_fork_handlers_install(void);

/* ---- heap (heap_*.c, threads.c, pool.c) ---- */
struct rt_chunk {
    uintptr_t base;
    size_t size;    /* requested size */
    size_t usable;  /* underlying usable size (trailer included) */
    uintptr_t site; /* return address of the allocating call, 0 if unknown */
    uint32_t site_id;
    uint64_t seq;
    bool has_pool_objects;
};
void heap_init_early(void); /* idempotent; safe to call from the malloc path */
/* The live chunk containing addr (interior pointers included): true and *out filled. */
bool heap_find_chunk(uintptr_t addr, struct rt_chunk *out);
/* Visits every live chunk; stops when cb returns non-zero. Returns the number visited. */
long heap_walk(int (*cb)(const struct rt_chunk *c, void *arg), void *arg);
void heap_stats(struct alloc_stats *out);

struct rt_pool_object {
    const struct allocator *allocator;
    uintptr_t base;
    size_t size;
    uintptr_t site;
    uint32_t seq;
};
bool pool_find(uintptr_t addr, const struct rt_chunk *chunk, struct rt_pool_object *out);
int pool_register(const struct allocator *a, uintptr_t base, size_t size, uintptr_t site);
int pool_unregister(const struct allocator *a, uintptr_t base);
long pool_walk(int (*cb)(const struct rt_pool_object *o, void *arg), void *arg);

struct allocs_thread *threads_self(void); /* the calling thread's record, created on demand */
/* The thread stack containing addr: its bounds and whether it is the caller's own stack. */
bool threads_find_stack(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uint32_t *tid, bool *is_self);

/* ---- what one allocator answers for an address (allocators.h: the allocator interface) ---- */
struct rt_leaf {
    const struct allocator *allocator;
    uintptr_t base;
    size_t size;
    uintptr_t site;     /* heap chunk, pool object, user mmap: the allocating call */
    uint64_t seq;       /* heap chunk, pool object: the allocation's sequence number */
    const char *symbol; /* static: symbol; stackframe: function */
    const char *object; /* ELF object path */
    uintptr_t pc;       /* stackframe: a pc inside the frame's function (for its FRAME type) */
    bool is_string;     /* static: a string literal (no symbol; its extent is the string's) */
};
/* allocators.c: the levels part's start-up (maps, ELF objects, stacks, auxv), in order. */
void levels_init(int argc, char **argv, char **envp);

/* ---- heap <-> levels ---- */
/* levels -> heap: the main thread's stack bounds (set once the levels part knows them). */
void threads_set_main_stack(uintptr_t lo, uintptr_t hi);
/* heap -> levels: the extent [lo, hi) of a function named name in any loaded ELF object. */
bool elf_lookup_function(const char *name, uintptr_t *lo, uintptr_t *hi);
/* levels -> heap: objects were loaded or unloaded (dlopen/dlclose); called outside any of the
 * levels part's locks. The heap re-resolves declared allocation wrappers. may_wait = false
 * (a query, perhaps in a signal handler): gives up when a fork holds the lock, returning false,
 * and the levels part calls again on a later query. */
bool heap_objects_changed(bool may_wait);

#endif
