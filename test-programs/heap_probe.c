/* heap_probe: allocates through every malloc-family entry point and prints what the runtime
 * reports for known addresses, one `probe NAME key=value...` line per probe:
 *   err    alloc_describe's return code          alloc  the leaf allocator's name
 *   base   reported base minus the expected base size   reported size
 *   site   reported site minus the allocating function's address (0 < site < 200 expected)
 * tests/runtime/heap.test.ts asserts each field. */
#define _GNU_SOURCE
#include <allocs.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void probe(const char *name, const void *addr, const void *base, const void *fn)
{
    struct alloc_info info;
    int err = alloc_describe(addr, &info);
    printf("probe %s err=%d alloc=%s base=%ld size=%zu site=%ld\n", name, err,
           info.allocator ? info.allocator->name : "(null)",
           (long)((const char *)info.base - (const char *)base), info.size,
           fn && info.site ? (long)((const char *)info.site - (const char *)fn) : -1L);
    fflush(stdout);
}

NOINLINE void *site_malloc(size_t n)
{
    return malloc(n);
}
NOINLINE void *site_calloc(size_t a, size_t b)
{
    return calloc(a, b);
}
NOINLINE void *site_realloc(void *p, size_t n)
{
    return realloc(p, n);
}
NOINLINE void *site_memalign(size_t a, size_t n)
{
    return memalign(a, n);
}
NOINLINE void *site_aligned_alloc(size_t a, size_t n)
{
    return aligned_alloc(a, n);
}
NOINLINE void *site_posix_memalign(size_t a, size_t n)
{
    void *p = NULL;
    int r = posix_memalign(&p, a, n);
    return r == 0 ? p : NULL;
}
NOINLINE void *site_valloc(size_t n)
{
    return valloc(n);
}
NOINLINE char *site_strdup(const char *s)
{
    return strdup(s);
}
NOINLINE char *site_strndup(const char *s, size_t n)
{
    return strndup(s, n);
}
NOINLINE char *site_asprintf(int x)
{
    char *s = NULL;
    if (asprintf(&s, "value=%d", x) < 0) return NULL;
    return s;
}
NOINLINE char *site_getline(void)
{
    char *line = NULL;
    size_t n = 0;
    FILE *f = fopen("/proc/self/cmdline", "r");
    if (!f) return NULL;
    ssize_t r = getdelim(&line, &n, 0, f);
    fclose(f);
    return r > 0 ? line : NULL;
}
NOINLINE char *site_realpath(void)
{
    return realpath("/proc/self/..", NULL);
}

struct walk_count {
    unsigned long chunks, bytes;
};
static int count_chunk(const struct alloc_walk_entry *e, void *arg)
{
    struct walk_count *c = arg;
    if (strcmp(e->allocator->name, "__default_lib_malloc") == 0) {
        c->chunks++;
        c->bytes += e->size;
    }
    return 0;
}

int main(void)
{
    char *p = site_malloc(100);
    probe("malloc_start", p, p, (void *)site_malloc);
    probe("malloc_interior", p + 57, p, (void *)site_malloc);
    probe("malloc_last", p + 99, p, (void *)site_malloc);
    printf("probe one_liners alloc=%s base=%ld size=%zu site_ok=%d\n",
           alloc_get_allocator(p + 3)->name, (long)((char *)alloc_get_base(p + 3) - p),
           alloc_get_size(p + 3),
           (char *)alloc_get_site(p + 3) > (char *)site_malloc &&
               (char *)alloc_get_site(p + 3) < (char *)site_malloc + 200);

    /* The program may use every byte malloc_usable_size reports without harming the trailer. */
    char *u = site_malloc(20);
    size_t usable = malloc_usable_size(u);
    memset(u, 0xff, usable);
    printf("probe usable_size value=%d\n", usable >= 20 && usable < 20 + 32);
    probe("usable_filled", u + usable - 1, u, (void *)site_malloc);

    char *c = site_calloc(10, 12);
    int zero = 1;
    for (int i = 0; i < 120; i++)
        zero &= c[i] == 0;
    printf("probe calloc_zero value=%d\n", zero);
    probe("calloc", c + 119, c, (void *)site_calloc);

    char *r = site_malloc(200);
    char *r2 = site_realloc(r, 150); /* shrinking: glibc keeps it in place */
    printf("probe realloc_inplace_same value=%d\n", r2 == r);
    probe("realloc_inplace", r2 + 149, r2, (void *)site_realloc);
    char *blocker = site_malloc(16); /* keep the next one from growing in place */
    char *m = site_malloc(40);
    memset(m, 'x', 40);
    char *barrier = site_malloc(16);
    char *m2 = site_realloc(m, 5000);
    printf("probe realloc_moved value=%d kept=%d\n", m2 != m, m2[39] == 'x');
    probe("realloc_moved", m2 + 4000, m2, (void *)site_realloc);
    char *fresh = site_realloc(NULL, 33);
    probe("realloc_null", fresh, fresh, (void *)site_realloc);
    errno = 0;
    char *gone = site_realloc(fresh, 0);
    printf("probe realloc_zero value=%d errno=%d\n", gone == NULL, errno);
    free(blocker);
    free(barrier);

    char *a1 = site_memalign(64, 100);
    printf("probe memalign_aligned value=%d\n", ((uintptr_t)a1 & 63) == 0);
    probe("memalign", a1 + 99, a1, (void *)site_memalign);
    char *a2 = site_posix_memalign(256, 200);
    printf("probe posix_memalign_aligned value=%d\n", a2 && ((uintptr_t)a2 & 255) == 0);
    probe("posix_memalign", a2 + 10, a2, (void *)site_posix_memalign);
    char *a3 = site_aligned_alloc(4096, 5000);
    printf("probe aligned_alloc_aligned value=%d\n", ((uintptr_t)a3 & 4095) == 0);
    probe("aligned_alloc", a3 + 4999, a3, (void *)site_aligned_alloc);
    char *a4 = site_valloc(10);
    probe("valloc", a4, a4, (void *)site_valloc);
    void *bad = (void *)1;
    printf("probe posix_memalign_einval value=%d untouched=%d\n", posix_memalign(&bad, 24, 10),
           bad == (void *)1);

    char *big = site_malloc(1 << 20);
    probe("large_interior", big + 900000, big, (void *)site_malloc);
    char *mid = site_malloc(40000);
    probe("large_mid", mid + 39999, mid, (void *)site_malloc);
    /* Either side of the large-table rule (extent >= 32 KiB): the last byte of each is found,
     * by the bounded map scan or through the table. */
    char *below = site_malloc(32 * 1024 - 24);
    probe("below_large", below + 32 * 1024 - 25, below, (void *)site_malloc);
    char *at = site_malloc(32 * 1024);
    probe("at_large", at + 32 * 1024 - 1, at, (void *)site_malloc);

    char *s1 = site_strdup("hello, world");
    probe("strdup", s1 + 3, s1, (void *)site_strdup);
    char *s2 = site_strndup("abcdefgh", 4);
    probe("strndup", s2, s2, (void *)site_strndup);
    char *s3 = site_asprintf(42);
    probe("asprintf", s3, s3, (void *)site_asprintf);
    char *s4 = site_getline();
    probe("getdelim", s4, s4, (void *)site_getline);
    char *s5 = site_realpath();
    probe("realpath", s5, s5, (void *)site_realpath);

    /* Errors: NULL, garbage, freed. */
    probe("null", NULL, NULL, NULL);
    probe("garbage_low", (void *)0x10, NULL, NULL);
    probe("garbage_high", (void *)0xffffffffffff0000ul, NULL, NULL);
    probe("garbage_noncanonical", (void *)0x0000800000000000ul, NULL, NULL);
    char *f = site_malloc(64);
    uintptr_t fa = (uintptr_t)f; /* an integer: the compiler may not reason about it after free */
    free(f);
    probe("freed", (void *)(fa + 8), (void *)fa, NULL);

    /* errno survives successful calls; failures set it like glibc. */
    errno = 4321;
    void *ok = site_malloc(10);
    free(ok);
    printf("probe errno_kept value=%d\n", errno == 4321);
    volatile size_t max = SIZE_MAX; /* volatile: keep gcc from rejecting the sizes at build */
    errno = 0;
    void *huge = malloc(max - 4);
    printf("probe malloc_huge null=%d errno=%d\n", huge == NULL, errno == ENOMEM);
    errno = 0;
    void *hc = calloc(max / 2, 3);
    printf("probe calloc_overflow null=%d errno=%d\n", hc == NULL, errno == ENOMEM);
    errno = 0;
    void *ra = reallocarray(NULL, max / 2, 3);
    printf("probe reallocarray_overflow null=%d errno=%d\n", ra == NULL, errno == ENOMEM);
    free(NULL);

    /* The walk and the counters agree. */
    struct walk_count wc = {0, 0};
    alloc_walk_live(count_chunk, &wc);
    struct alloc_stats st;
    alloc_get_stats(&st);
    printf("probe stats chunks_match=%d bytes_match=%d allocs_ge_frees=%d live=%lu\n",
           wc.chunks == st.live_chunks, wc.bytes == st.live_bytes,
           st.total_allocs >= st.total_frees, (unsigned long)st.live_chunks);
    unsigned long before = st.live_chunks;
    void *extra = site_malloc(7);
    alloc_get_stats(&st);
    printf("probe stats_delta value=%ld\n", (long)(st.live_chunks - before));
    free(extra);
    alloc_get_stats(&st);
    printf("probe stats_delta_free value=%ld\n", (long)(st.live_chunks - before));

    free(p);
    free(u);
    free(c);
    free(r2);
    free(m2);
    free(a1);
    free(a2);
    free(a3);
    free(a4);
    free(big);
    free(mid);
    free(below);
    free(at);
    free(s1);
    free(s2);
    free(s3);
    free(s4);
    free(s5);
    printf("done\n");
    return 0;
}
