/* bridge-bench.c: a heap with N live chunks (default 1,000,000) of mixed small sizes from a few
 * sites, for the bridge benchmark. `stop` calls bench_stop() (a breakpoint), `abort` dumps core. */
#include <allocs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void **keep;
long nkeep;

__attribute__((noinline)) void bench_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void *site_a(size_t n)
{
    return malloc(n);
}
__attribute__((noinline)) static void *site_b(size_t n)
{
    return calloc(1, n);
}
__attribute__((noinline)) static void *site_c(size_t n)
{
    return malloc(n);
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    keep = malloc(n * sizeof *keep);
    for (long i = 0; i < n; i++) {
        size_t sz = 8 + (size_t)(i % 7) * 8;
        keep[i] = i % 3 == 0 ? site_a(sz) : i % 3 == 1 ? site_b(sz) : site_c(sz);
    }
    nkeep = n;
    struct alloc_stats st;
    if (alloc_get_stats(&st) == ALLOCS_OK)
        printf("stats live_chunks=%llu live_bytes=%llu\n", (unsigned long long)st.live_chunks,
               (unsigned long long)st.live_bytes);
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
    bench_stop();
    return 0;
}
