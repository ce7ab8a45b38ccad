/* heap_stress: 8 threads x random malloc/calloc/realloc/free (small, medium and large chunks,
 * cross-thread frees, lookups of their own chunks while others run, a concurrent walker), then
 * consistency checks of the index: every live chunk is found by the walk and by lookup with
 * its size, no freed chunk is found, and the walk agrees with the counters. Then the same in a
 * forked child, and once more after that child execs this program ("exec" argument).
 * Prints `probe check_PHASE key=1...` lines (1 = good) for tests/runtime/heap-stress.test.ts. */
#define _GNU_SOURCE
#include <allocs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define SLOTS 1024
#define FREED_KEPT 256

static long iterations = 100000;

struct slot {
    char *p;
    size_t size;
};

struct worker {
    struct slot slots[SLOTS];
    uintptr_t freed[FREED_KEPT];
    unsigned nfreed;
    unsigned long seed, bad_lookups;
};

static struct worker workers[THREADS];
static volatile int running = 1;

static unsigned long rnd(unsigned long *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t pick_size(unsigned long *s)
{
    unsigned long r = rnd(s) % 1000;
    if (r < 800) return 1 + rnd(s) % 256;
    if (r < 990) return 257 + rnd(s) % 16000;
    return 32768 + rnd(s) % 300000; /* large: the large-chunk table, often mmapped */
}

static void note_freed(struct worker *w, void *p)
{
    w->freed[w->nfreed++ % FREED_KEPT] = (uintptr_t)p;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; i < iterations; i++) {
        struct slot *s = &w->slots[rnd(&w->seed) % SLOTS];
        unsigned long op = rnd(&w->seed) % 10;
        if (!s->p) {
            s->size = pick_size(&w->seed);
            s->p = op < 7 ? malloc(s->size) : calloc(1, s->size);
            s->p[0] = (char)s->size;
        } else if (op < 5) {
            note_freed(w, s->p);
            free(s->p);
            s->p = NULL;
        } else if (op < 8) {
            size_t n = pick_size(&w->seed);
            char first = s->p[0];
            char *q = realloc(s->p, n);
            if (q != s->p) note_freed(w, s->p);
            if (q[0] != first) w->bad_lookups++; /* contents must survive */
            s->p = q;
            s->size = n;
        } else {
            /* Look up one of our own chunks while the other threads churn. */
            size_t off = rnd(&w->seed) % s->size;
            if (alloc_get_base(s->p + off) != s->p || alloc_get_size(s->p + off) != s->size)
                w->bad_lookups++;
        }
    }
    return NULL;
}

static int walk_sanity(const struct alloc_walk_entry *e, void *arg)
{
    unsigned long *bad = arg;
    if (!e->base || ((uintptr_t)e->base & 15)) ++*bad;
    return 0;
}

static void *walker(void *arg)
{
    unsigned long *bad = arg;
    while (running)
        alloc_walk_live(walk_sanity, bad);
    return NULL;
}

struct entry {
    uintptr_t base;
    size_t size;
};
static struct entry *walked;
static size_t nwalked, walk_cap;

static int collect(const struct alloc_walk_entry *e, void *arg)
{
    (void)arg;
    if (strcmp(e->allocator->name, "__default_lib_malloc") != 0) return 0;
    if (nwalked < walk_cap) walked[nwalked++] = (struct entry){(uintptr_t)e->base, e->size};
    return 0;
}

static int by_base(const void *a, const void *b)
{
    uintptr_t x = ((const struct entry *)a)->base, y = ((const struct entry *)b)->base;
    return x < y ? -1 : x > y;
}

static struct entry *find_walked(uintptr_t base)
{
    struct entry key = {base, 0};
    return bsearch(&key, walked, nwalked, sizeof key, by_base);
}

static int is_live(uintptr_t p)
{
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < SLOTS; i++)
            if ((uintptr_t)workers[t].slots[i].p == p) return 1;
    return 0;
}

static void check(const char *phase)
{
    nwalked = 0;
    alloc_walk_live(collect, NULL);
    struct alloc_stats st;
    alloc_get_stats(&st);
    size_t bytes = 0;
    for (size_t i = 0; i < nwalked; i++)
        bytes += walked[i].size;
    int stats_match = nwalked == st.live_chunks && bytes == st.live_bytes &&
                      st.total_allocs - st.total_frees == st.live_chunks;
    int sorted = 1, overlap_free = 1;
    for (size_t i = 1; i < nwalked; i++) {
        if (walked[i - 1].base >= walked[i].base) sorted = 0;
        if (walked[i - 1].base + walked[i - 1].size > walked[i].base) overlap_free = 0;
    }
    qsort(walked, nwalked, sizeof *walked, by_base);
    int live_walked = 1, live_lookup = 1, freed_absent = 1;
    size_t nlive = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < SLOTS; i++) {
            struct slot *s = &workers[t].slots[i];
            if (!s->p) continue;
            nlive++;
            struct entry *e = find_walked((uintptr_t)s->p);
            if (!e || e->size != s->size) live_walked = 0;
            char *last = s->p + s->size - 1;
            if (alloc_get_base(last) != s->p || alloc_get_size(s->p) != s->size) live_lookup = 0;
        }
        for (unsigned k = 0; k < FREED_KEPT && k < workers[t].nfreed; k++) {
            uintptr_t f = workers[t].freed[k];
            if (is_live(f)) continue;
            if (find_walked(f) || alloc_get_base((void *)f) == (void *)f) freed_absent = 0;
        }
    }
    printf("probe check_%s live_walked=%d live_lookup=%d freed_absent=%d stats_match=%d "
           "walk_sorted=%d no_overlap=%d live=%zu walked=%zu\n",
           phase, live_walked, live_lookup, freed_absent, stats_match, sorted, overlap_free, nlive,
           nwalked);
    fflush(stdout);
}

static int exec_child(void)
{
    char *p = malloc(1000);
    memset(p, 0, 1000);
    int ok = alloc_get_base(p + 999) == p && alloc_get_size(p) == 1000;
    struct alloc_stats st;
    alloc_get_stats(&st);
    printf("probe exec ok=%d runtime=%d live_ok=%d\n", ok, alloc_runtime_present() != 0,
           st.live_chunks >= 1);
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0) return exec_child();
    if (argc > 1) iterations = atol(argv[1]);
    printf("start\n"); /* stdout's buffer is allocated now, not in the middle of a check */
    fflush(stdout);
    walk_cap = 1 << 20;
    walked = malloc(walk_cap * sizeof *walked);

    pthread_t tids[THREADS], wt;
    unsigned long walk_bad = 0;
    pthread_create(&wt, NULL, walker, &walk_bad);
    for (int t = 0; t < THREADS; t++) {
        workers[t].seed = 0x9E3779B97F4A7C15ul * (unsigned long)(t + 1);
        pthread_create(&tids[t], NULL, work, &workers[t]);
    }
    unsigned long bad = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tids[t], NULL);
        bad += workers[t].bad_lookups;
    }
    running = 0;
    pthread_join(wt, NULL);
    printf("probe threads bad_lookups=%lu walk_bad=%lu\n", bad, walk_bad);
    check("joined");

    /* Cross-thread frees: the main thread frees half of what the workers left. */
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < SLOTS; i += 2)
            if (workers[t].slots[i].p) {
                note_freed(&workers[t], workers[t].slots[i].p);
                free(workers[t].slots[i].p);
                workers[t].slots[i].p = NULL;
            }
    check("cross_freed");

    pid_t pid = fork();
    if (pid == 0) {
        /* The child's copy of the heap: same chunks, consistent index; it can keep going. */
        for (int i = 1; i < SLOTS; i += 4)
            if (workers[0].slots[i].p) {
                note_freed(&workers[0], workers[0].slots[i].p);
                free(workers[0].slots[i].p);
                workers[0].slots[i].p = NULL;
            }
        check("child");
        execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("probe child_exit status=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    check("after_fork");
    printf("done\n");
    return 0;
}
