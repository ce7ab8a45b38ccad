/* bridge_common.h: what the gdb bridge's test programs (bridge_target.c, bridge_types.c) share:
 * their structs, a global array, the probe printer, a static local, and a worker thread parked
 * in a callee, so that its caller's local lives in a frame other than the innermost (the
 * thread_local probe).
 * Allocation sites stay in the programs: their tests check a site's function, file and line.
 *
 * Each probe line says what the bridge should answer; the address is also stored in
 * probe_addr[K] so a debugger (or a core) can name it as the expression `probe_addr[K]`. */
#ifndef BRIDGE_COMMON_H
#define BRIDGE_COMMON_H
#include <allocs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct point {
    int x, y, z;
};
struct inner {
    double weight;
    char name[8];
};
struct outer {
    int tag;
    struct inner in;
    union {
        long as_long;
        float as_float;
    } u;
};

int global_counts[8] = {1, 2, 3};
void *probe_addr[32];
static int nprobes;

static void probe(const char *name, const void *addr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void probe(const char *name, const void *addr, const char *fmt, ...)
{
    int k = nprobes++;
    probe_addr[k] = (void *)addr;
    printf("probe %s index=%d addr=%p ", name, k, addr);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static long *bump_hits(void)
{
    static long hits[4];
    hits[1]++;
    return hits;
}

static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int thread_ready;
static int wake_pipe[2];

__attribute__((noinline)) static void worker_inner(void)
{
    pthread_mutex_lock(&ready_lock);
    thread_ready = 1;
    pthread_cond_signal(&ready_cond);
    pthread_mutex_unlock(&ready_lock);
    char c;
    while (read(wake_pipe[0], &c, 1) < 0) {
    }
}

__attribute__((noinline)) static void worker_outer(void)
{
    volatile int outer_local[4] = {5, 6, 7, 8};
    probe("thread_local", (const void *)&outer_local[1],
          "size=%zu func=worker_outer var=outer_local", sizeof outer_local);
    worker_inner();
    (void)outer_local[0];
}

static void *worker(void *arg)
{
    (void)arg;
    worker_outer();
    return NULL;
}

/* Starts the worker and returns once it is parked (its probe printed); -1 if it cannot. */
static int start_worker(pthread_t *t)
{
    if (pipe(wake_pipe) != 0 || pthread_create(t, NULL, worker, NULL) != 0) return -1;
    pthread_mutex_lock(&ready_lock);
    while (!thread_ready)
        pthread_cond_wait(&ready_cond, &ready_lock);
    pthread_mutex_unlock(&ready_lock);
    return 0;
}

/* Wakes the worker and waits for it to end; -1 if it cannot be woken. */
static int finish_worker(pthread_t t)
{
    if (write(wake_pipe[1], "x", 1) != 1) return -1;
    pthread_join(t, NULL);
    return 0;
}
#endif
