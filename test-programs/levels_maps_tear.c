/* levels_maps_tear: the runtime rereads /proc/self/maps while mappings next to the program's own
 * grow and shrink. The kernel writes that file a page of text at a time (and since Linux 6.17
 * locks one mapping at a time), so a mapping that grows by a merge during the read can be
 * listed twice, the second line overlapping the first. The runtime must keep every one of the
 * program's own mappings exact (base, size and its mmap call site) whatever the lines say.
 *
 * The program maps N one-page mappings with gaps between them (one mmap, then munmap of every
 * other page: each page is a record of the program's with the same call site). A thread maps
 * and unmaps the gap pages with raw system calls, which the runtime does not see: each map
 * merges three pages into one kernel mapping, each unmap splits them again. Another thread
 * makes the runtime reread /proc/self/maps over and over, by asking about pages it mapped with
 * raw system calls (unknown to the index, so each query rescans). The main thread checks every
 * page of the program's. Before that, a mapping unmapped behind the runtime's back must lose
 * its record at the next rescan. Prints `probe tear mismatches=N rescans_ok=0|1
 * unmapped_dropped=0|1`. */
#define _GNU_SOURCE
#include <allocs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGES 256 /* the program's mappings; the gaps between them as many again */

static long page;
static char *area;
static volatile int stop;
static unsigned long rescans, toggles;

static void *raw_map(void *at, size_t len, int flags)
{
    long r = syscall(SYS_mmap, at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags,
                     -1, 0);
    return r == -1 ? NULL : (void *)r;
}

/* Merges and splits the program's mappings' kernel lines behind the runtime's back. */
static void *toggler(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !stop; i = (i + 7) % (PAGES - 1)) {
        char *gap = area + (2 * (size_t)i + 1) * (size_t)page;
        if (raw_map(gap, (size_t)page, MAP_FIXED_NOREPLACE) == gap) {
            syscall(SYS_munmap, gap, page);
            __atomic_fetch_add(&toggles, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

/* Makes the runtime rescan: a page it has not seen mapped. */
static void *rescanner(void *arg)
{
    (void)arg;
    while (!stop) {
        char *p = raw_map(NULL, (size_t)page, 0);
        if (!p) continue;
        struct alloc_info info;
        if (alloc_describe(p, &info) == 0) __atomic_fetch_add(&rescans, 1, __ATOMIC_RELAXED);
        munmap(p, (size_t)page); /* seen: the next page the kernel hands out there is unknown */
    }
    return NULL;
}

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* The other side of keeping records through a torn listing: a record the program unmapped
 * behind the runtime's back (a raw munmap of one page of three) is dropped by the next rescan,
 * so that neither the unmapped page nor what is left of the mapping keeps the mmap call site.
 * 1 when the answers after the rescan are right. */
static int unmapped_behind_dropped(void)
{
    char *three =
        mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (three == MAP_FAILED) return 0;
    char *unknown = raw_map(NULL, (size_t)page, 0); /* unknown to the index: its query rescans */
    syscall(SYS_munmap, three + page, page);
    struct alloc_info info;
    int ok = unknown && alloc_describe(unknown, &info) == 0;
    /* (unless something else has been mapped in the hole since: mincore succeeds there) */
    unsigned char resident;
    ok = ok && (alloc_describe(three + page + 100, &info) != 0 ||
                mincore(three + page, (size_t)page, &resident) == 0);
    /* (the kernel merges what is left with its neighbours: base and size are the line's) */
    ok = ok && alloc_describe(three + 100, &info) == 0 && info.site == NULL;
    if (unknown) syscall(SYS_munmap, unknown, page);
    syscall(SYS_munmap, three, page);
    syscall(SYS_munmap, three + 2 * page, page);
    return ok;
}

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    int dropped = unmapped_behind_dropped();
    area = mmap(NULL, 2 * PAGES * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                -1, 0);
    if (area == MAP_FAILED) return 2;
    for (size_t i = 0; i < PAGES; i++)
        munmap(area + (2 * i + 1) * (size_t)page, (size_t)page);
    const void *site = alloc_get_site(area);

    pthread_t t[2];
    pthread_create(&t[0], NULL, toggler, NULL);
    pthread_create(&t[1], NULL, rescanner, NULL);
    unsigned long mismatches = 0, checks = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long ms;
    /* At least 2 s and 2000 rescans (on a loaded machine, up to 20 s for them). */
    while ((ms = ms_since(&start)) < 2000 ||
           (ms < 20000 && __atomic_load_n(&rescans, __ATOMIC_RELAXED) < 2000)) {
        for (size_t i = 0; i < PAGES; i++) {
            char *p = area + 2 * i * (size_t)page;
            struct alloc_info info;
            int err = alloc_describe(p + 100, &info);
            checks++;
            if (err != 0 || info.base != p || info.size != (size_t)page || info.site != site ||
                strcmp(info.allocator->name, "mmap") != 0) {
                if (++mismatches <= 5)
                    fprintf(stderr,
                            "mismatch: page %zu: err=%d alloc=%s base%+ld size=%zu site %s\n", i,
                            err, info.allocator->name, (long)((char *)info.base - p), info.size,
                            info.site == site ? "ok" : "lost");
            }
        }
    }
    stop = 1;
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    fprintf(stderr, "%ld ms: %lu checks, %lu rescans, %lu merges\n", ms, checks, rescans, toggles);
    printf("probe tear mismatches=%lu rescans_ok=%d unmapped_dropped=%d\n", mismatches,
           rescans >= 2000, dropped);
    return 0;
}
