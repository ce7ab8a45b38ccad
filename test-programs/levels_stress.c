/* Stress for the levels part: threads mapping, unmapping, remapping and querying at once, a
 * thread dlopen'ing and dlclose'ing a library in a loop, a timer signal whose handler maps
 * memory and queries its own frame, and forked children that query and map. Every answer that
 * must be exact is checked; the program prints `probe stress ...` with the counts and exits 0.
 * Usage: levels_stress DSO [fork]  (fork: the main thread forks children all along).
 * A crash, a deadlock (the test's timeout) or a mismatch fails tests/runtime/levels-stress. */
#define _GNU_SOURCE
#include <allocs.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static long page;
static int static_var = 1;
static unsigned long mismatches, queries, handler_runs;
static const char *dso_path;

static __thread char last_answer[160];

static void check(int cond, const char *what)
{
    __atomic_fetch_add(&queries, 1, __ATOMIC_RELAXED);
    if (!cond) {
        if (__atomic_fetch_add(&mismatches, 1, __ATOMIC_RELAXED) < 10)
            fprintf(stderr, "mismatch: %s (%s)\n", what, last_answer);
    }
}

static int is(const void *p, const char *alloc, const void *base, size_t size)
{
    struct alloc_info info;
    int err = alloc_describe(p, &info);
    snprintf(last_answer, sizeof last_answer, "err=%d alloc=%s base%+ld size=%zu/%zu sym=%s", err,
             info.allocator->name, (long)((const char *)info.base - (const char *)base), info.size,
             size, info.symbol ? info.symbol : "-");
    if (err != 0) return 0;
    return strcmp(info.allocator->name, alloc) == 0 && (!base || info.base == base) &&
           (!size || info.size == size);
}

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *mapper(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    volatile int local = 0;
    while (!stop) {
        size_t n = 2 + rnd(&seed) % 15;
        char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) continue;
        check(is(p + rnd(&seed) % (n * page), "mmap", p, n * page), "fresh mapping");
        size_t keep = 1 + rnd(&seed) % (n - 1);
        munmap(p + keep * page, (n - keep) * page);
        check(is(p, "mmap", p, keep * page), "mapping after munmap of its tail");
        char *q = mremap(p, keep * page, (keep + 3) * page, MREMAP_MAYMOVE);
        if (q != MAP_FAILED) {
            check(is(q + (keep + 2) * page, "mmap", q, (keep + 3) * page), "mremap'd mapping");
            munmap(q, (keep + 3) * page);
        } else {
            munmap(p, keep * page);
        }
        check(is((const void *)&local, "stackframe", NULL, 0), "own frame");
        check(is(&static_var, "static", &static_var, sizeof static_var), "static");
        struct alloc_info info;
        alloc_describe((const void *)(uintptr_t)(rnd(&seed) * 4096ul), &info); /* garbage */
        local++;
    }
    return NULL;
}

static void *loader(void *arg)
{
    (void)arg;
    while (!stop) {
        void *h = dlopen(dso_path, RTLD_NOW);
        if (!h) continue;
        int *g = dlsym(h, "levels_dso_global");
        check(g && is(g, "static", g, sizeof(int)), "dlopen'd global");
        dlclose(h);
    }
    return NULL;
}

static void on_alarm(int sig)
{
    volatile int in_handler = sig;
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        check(is(p, "mmap", p, page), "mapping made in a signal handler");
        munmap(p, page);
    }
    check(is((const void *)&in_handler, "stackframe", NULL, 0), "handler's own frame");
    __atomic_fetch_add(&handler_runs, 1, __ATOMIC_RELAXED);
}

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* The counts the summary requires, so that it says how the runtime answered, not how fast. */
static int enough(int children_ok)
{
    return children_ok > 5 && __atomic_load_n(&queries, __ATOMIC_RELAXED) > 1000 &&
           __atomic_load_n(&handler_runs, __ATOMIC_RELAXED) > 10;
}

int main(int argc, char **argv)
{
    page = sysconf(_SC_PAGESIZE);
    dso_path = argc > 1 ? argv[1] : NULL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);

    pthread_t t[5];
    int nt = 0;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[nt++], NULL, mapper, (void *)(uintptr_t)(i + 1));
    if (dso_path) pthread_create(&t[nt++], NULL, loader, NULL);

    int children_ok = 0;
    long elapsed_ms;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int forking = argc > 2 && strcmp(argv[2], "fork") == 0;
    do {
        if (!forking) {
            usleep(20000);
            children_ok++;
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) { /* one thread in the child: the tables must still answer */
            volatile int l = 0;
            char *p = mmap(NULL, 3 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            int ok = is(p + page, "mmap", p, 3 * page) && is(&static_var, "static", NULL, 0) &&
                     is((const void *)&l, "stackframe", NULL, 0);
            _exit(ok ? 0 : 1);
        }
        int st = 0;
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            children_ok++;
        else
            fprintf(stderr, "child failed: pid %d status %#x\n", (int)pid, st);
        usleep(20000);
        /* At least 1.5 s, and on a loaded machine until every count the summary requires has
         * been reached (a run under load reported children_ok=0: 1.5 s may hold only a few
         * forks when the machine is busy), within the test's 30 s. */
    } while ((elapsed_ms = ms_since(&start)) < 1500 ||
             (elapsed_ms < 20000 && !enough(children_ok)));
    stop = 1;
    for (int i = 0; i < nt; i++)
        pthread_join(t[i], NULL);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    if (children_ok <= 5) fprintf(stderr, "only %d children answered\n", children_ok);
    printf("probe stress mismatches=%lu queries_ok=%d handler_ok=%d children_ok=%d\n", mismatches,
           queries > 1000, handler_runs > 10, children_ok > 5);
    if (!enough(children_ok))
        fprintf(stderr, "after %ld ms: %lu queries, %lu handler runs, %d children\n", elapsed_ms,
                queries, handler_runs, children_ok);
    return 0;
}
