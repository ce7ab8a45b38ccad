/* Per-query cost of the levels part: the median of many single timed queries, for a local in
 * the caller's frame and in frames further up, a static, an auxv string and an mmap'd page.
 * Run with the runtime preloaded (bench/levels-stack-bench.sh). */
#define _GNU_SOURCE
#include <allocs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define N 20001

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t samples[N];

static void measure(const char *name, const void *p, int describe)
{
    struct alloc_info info;
    for (int i = 0; i < N; i++) {
        uint64_t t0 = now();
        if (describe)
            alloc_describe(p, &info);
        else
            alloc_get_base(p);
        samples[i] = now() - t0;
    }
    qsort(samples, N, sizeof *samples, cmp);
    printf("%-28s %-10s median %6.2f us  p90 %6.2f us\n", name, alloc_get_allocator(p)->name,
           samples[N / 2] / 1000.0, samples[N * 9 / 10] / 1000.0);
}

static int global_var = 1;

__attribute__((noinline)) static void nest(int depth, const void *far)
{
    volatile int here = depth;
    if (depth > 0) {
        nest(depth - 1, far);
        return;
    }
    measure("stack: caller's own frame", (const void *)&here, 0);
    measure("stack: 10 frames up", far, 0);
    measure("describe: caller's frame", (const void *)&here, 1);
}

int main(int argc, char **argv)
{
    (void)argc;
    volatile int local = 0;
    measure("stack: local in main", (const void *)&local, 0);
    nest(10, (const void *)&local);
    measure("static: a global", &global_var, 0);
    measure("auxv: argv[0]", argv[0], 0);
    char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    measure("mmap: a user mapping", m + 100, 0);
    measure("describe: a global", &global_var, 1);
    return local;
}
