/* bridge_types.c: one address of every kind whose run-time type the gdb bridge must name
 * (type, uniqtype, path, pathType). Build it with `allocs cc` so metadata exists.
 *
 *   bridge_types stop   prints its probes, then calls types_stop() (set a breakpoint there)
 *   bridge_types abort  prints its probes, then abort()s (a kernel core file)
 *
 * Each probe line says what the bridge should answer; the address is also stored in
 * probe_addr[K] so a debugger (or a core) can name it as `probe_addr[K]`. */
#define _GNU_SOURCE
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
struct flags {
    int count;
    unsigned mode : 3;
    unsigned level : 9; /* bits 3..11: byte 5 holds only this one */
};
struct node {
    struct node *next;
    struct point where;
};

int global_counts[8] = {1, 2, 3};
int grid[3][4];
void *probe_addr[32];
void *opaque;           /* a void * to the heap points: alloc print shows the struct */
struct node *list_head; /* a typed referrer of the second node */
static int nprobes;
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int thread_ready;
static int wake_pipe[2];

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

__attribute__((noinline)) void types_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

static long *bump_hits(void)
{
    static long hits[4];
    hits[1]++;
    return hits;
}

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
    probe("thread_local", (const void *)&outer_local[1], "func=worker_outer var=outer_local");
    worker_inner();
    (void)outer_local[0];
}

static void *worker(void *arg)
{
    (void)arg;
    worker_outer();
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int do_abort = argc > 1 && strcmp(argv[1], "abort") == 0;

    struct point *pts = malloc(3 * sizeof(struct point));
    for (int i = 0; i < 3; i++)
        pts[i] = (struct point){i, 10 * i, 100 * i};
    opaque = pts;
    probe("heap_interior", &pts[1].y, "base=%p", (void *)pts);

    struct outer *o = malloc(sizeof(struct outer));
    memset(o, 0, sizeof *o);
    o->tag = 7;
    strcpy(o->in.name, "inner");
    o->u.as_long = 42;
    probe("nested", &o->in.name[3], "base=%p", (void *)o);
    probe("union_member", &o->u.as_float, "base=%p", (void *)o);

    struct flags *fl = malloc(sizeof(struct flags));
    fl->mode = 5;
    fl->level = 17;
    fl->count = 3;
    probe("bitfield", (char *)fl + 5, "base=%p", (void *)fl);

    probe("global", &global_counts[2], "base=%p", (void *)global_counts);
    probe("grid", &grid[1][2], "base=%p", (void *)grid);

    long *hits = bump_hits();
    probe("static_local", &hits[1], "base=%p", (void *)hits);

    const char *lit = "a string literal for the bridge";
    probe("literal", lit + 4, "base=%p size=%zu", (const void *)lit, strlen(lit) + 1);

    probe("argv", &argv[1], "base=%p argc=%d", (void *)argv, argc);

    struct node *a = malloc(sizeof(struct node)), *b = malloc(sizeof(struct node));
    a->next = b;
    b->next = NULL;
    a->where = (struct point){1, 2, 3};
    b->where = (struct point){4, 5, 6};
    list_head = a;
    probe("node", &b->where.z, "base=%p referrer=%p", (void *)b, (void *)&a->next);

    struct point *arena = malloc(16 * sizeof(struct point));
    const struct allocator *pool = alloc_register_allocator("types_pool");
    int rc = alloc_register_object(pool, &arena[4], 2 * sizeof(struct point), NULL);
    probe("pool", &arena[5].y, "base=%p size=%zu rc=%d", (void *)&arena[4],
          2 * sizeof(struct point), rc);

    if (pipe(wake_pipe) != 0) return 1;
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_mutex_lock(&ready_lock);
    while (!thread_ready)
        pthread_cond_wait(&ready_cond, &ready_lock);
    pthread_mutex_unlock(&ready_lock);
    printf("ready\n");
    if (do_abort) abort();
    types_stop();
    if (write(wake_pipe[1], "x", 1) != 1) return 1;
    pthread_join(t, NULL);
    return 0;
}
