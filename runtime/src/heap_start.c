/* heap_start.c: bringing the heap part up. The real allocator is the next definition (dlsym
 * RTLD_NEXT, heap_real.c holds what is found), and then the tables are built; dlsym may itself
 * allocate, so until the real functions are known, requests are served from a static bootstrap
 * buffer whose frees are ignored. heap_malloc.c asks heap_state() (heap.h) on its slow paths. */
#define _GNU_SOURCE
#include "heap.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

int heap_start_state;

/* ---- the bootstrap buffer ---- */
char heap_boot[HEAP_BOOT_BYTES] __attribute__((aligned(4096)));
static size_t boot_used;

void *heap_boot_alloc(size_t n, size_t align)
{
    if (align < 16) align = 16;
    if (align > 4096 || n > HEAP_BOOT_BYTES) goto nomem;
    for (;;) {
        size_t old = __atomic_load_n(&boot_used, __ATOMIC_RELAXED);
        size_t start = (old + 16 + align - 1) & ~(align - 1);
        size_t end = start + ((n + 15) & ~(size_t)15);
        if (end > HEAP_BOOT_BYTES) goto nomem;
        if (__atomic_compare_exchange_n(&boot_used, &old, end, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            ((size_t *)(heap_boot + start))[-1] = n;
            return heap_boot + start; /* static memory: already zero, so calloc needs nothing */
        }
    }
nomem:
    errno = ENOMEM;
    return NULL;
}

/* ---- resolving the real allocator (heap_real.c holds what is found) ---- */

int heap_start_slow(void)
{
    int expected = HEAP_ST_NONE;
    if (!__atomic_compare_exchange_n(&heap_start_state, &expected, HEAP_ST_RESOLVING, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return expected; /* another thread (or our own dlsym, recursively) is on it */
    int saved = errno;
    struct heap_real r;
    r.malloc = heap_next_symbol("malloc");
    r.free = heap_next_symbol("free");
    r.calloc = heap_next_symbol("calloc");
    r.realloc = heap_next_symbol("realloc");
    r.memalign = heap_next_symbol("memalign");
    r.usable_size = heap_next_symbol("malloc_usable_size");
    if (!r.malloc || !r.free || !r.calloc || !r.realloc || !r.memalign || !r.usable_size) {
        /* Cannot happen with glibc; without a real allocator there is nothing to serve. */
        rt_warn("cannot find the next malloc; the heap is not tracked");
        errno = saved;
        return HEAP_ST_RESOLVING;
    }
    Dl_info info;
    const char *slash;
    if (dladdr((void *)r.malloc, &info) && info.dli_fname) {
        slash = strrchr(info.dli_fname, '/');
        heap_glibc = strncmp(slash ? slash + 1 : info.dli_fname, "libc.so", 7) == 0;
    }
    heap_real = r;
    __atomic_store_n(&heap_start_state, HEAP_ST_REAL, __ATOMIC_RELEASE);
    /* From here our own nested mallocs pass through; build the tables. */
    rt_self.heap_busy++;
    if (heap_glibc)
        __atomic_or_fetch(&__allocs_root.flags, ALLOCS_ROOT_F_GLIBC_MALLOC, __ATOMIC_RELEASE);
    heap_index_init();
    heap_sites_init();
    threads_init();
    pool_init();
    interrupted_init();
    rt_self.heap_busy--;
    /* Cache entries made before tracking started (heap_site_id from another part) would let
     * malloc_impl's probe hit while it still must not track: a new generation drops them. */
    heap_site_cache_flush();
    __atomic_store_n(&heap_start_state, HEAP_ST_READY, __ATOMIC_RELEASE);
    errno = saved;
    return HEAP_ST_READY;
}

void heap_init_early(void)
{
    (void)heap_state();
}
