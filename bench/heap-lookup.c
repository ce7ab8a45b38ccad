/* heap-lookup: in-process cost of alloc_get_size on heap interior pointers. Allocates chunks
 * of mixed sizes (mostly small, some medium, a few large), then times batches of lookups of
 * random interior pointers; prints the median over batches of the mean ns per lookup, for a
 * cache-warm working set and a cache-cold one. Times are the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID): a batch during which other tenants of a loaded machine run is not
 * charged for their time (their cache traffic still counts). */
#include <allocs.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHUNKS 200000
#define BATCH 20000
#define BATCHES 31

static unsigned long seed = 88172645463325252ul;
static unsigned long rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over batches of the mean ns per alloc_get_size call, on random interior pointers of
 * the first n chunks; touch=1 times a plain one-byte read of the same addresses instead (the
 * memory latency any use of the address pays). */
static char *chunks[CHUNKS];
static size_t sizes[CHUNKS];
static char *probes[BATCH];

static double run(int n, int touch, size_t *wrong)
{
    double batch_ns[BATCHES];
    volatile size_t sink = 0;
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < BATCH; i++) {
            int c = (int)(rnd() % (unsigned long)n);
            probes[i] = chunks[c] + rnd() % sizes[c];
        }
        double t0 = now_ns();
        if (touch)
            for (int i = 0; i < BATCH; i++)
                sink += (size_t) * (volatile char *)probes[i];
        else
            for (int i = 0; i < BATCH; i++)
                sink += alloc_get_size(probes[i]);
        batch_ns[b] = (now_ns() - t0) / BATCH;
    }
    for (int i = 0; i < 1000 && !touch; i++) {
        int c = (int)(rnd() % (unsigned long)n);
        if (alloc_get_size(chunks[c] + rnd() % sizes[c]) != sizes[c]) ++*wrong;
    }
    qsort(batch_ns, BATCHES, sizeof batch_ns[0], cmp);
    return batch_ns[BATCHES / 2];
}

int main(void)
{
    for (int i = 0; i < CHUNKS; i++) {
        unsigned long r = rnd() % 1000;
        sizes[i] = r < 900   ? 8 + rnd() % 248
                   : r < 998 ? 256 + rnd() % 8000
                             : 40000 + rnd() % 200000;
        chunks[i] = calloc(1, sizes[i]);
    }
    size_t wrong = 0;
    double hot = run(1000, 0, &wrong);
    double cold = run(CHUNKS, 0, &wrong);
    double touch = run(CHUNKS, 1, &wrong);
    printf("alloc_get_size on heap interior pointers, median CPU ns: %.1f over 1000 chunks "
           "(cache-warm), %.1f over %d chunks (cache-cold; a plain 1-byte read of the same "
           "addresses: %.1f), wrong answers: %zu\n",
           hot, cold, CHUNKS, touch, wrong);
    for (int i = 0; i < CHUNKS; i++)
        free(chunks[i]);
    return wrong != 0;
}
