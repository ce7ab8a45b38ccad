/* heap_threads: the per-thread records in root.threads (allocs_layout.h), read directly from
 * __allocs_root: each live thread has a record with its tid, its stack bounds (containing its
 * locals) and the LIVE flag; the main thread's has MAIN; after threads exit their records are
 * no longer LIVE and the counters stay exact (chunks allocated by exited threads and freed by
 * main, frees in a later TLS destructor). Prints `probe NAME key=value` lines. */
#define _GNU_SOURCE
#include <allocs.h>
#include <allocs_layout.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4
#define PER_THREAD 100

static struct allocs_root *root;
static void *leftovers[THREADS][PER_THREAD];
static pthread_key_t late_key;

static const struct allocs_thread *record_of(uint32_t tid)
{
    const struct allocs_thread *t = (const struct allocs_thread *)(uintptr_t)root->threads;
    for (uint32_t i = 0; i < root->nthreads; i++)
        if (t[i].tid == tid && (t[i].flags & ALLOCS_THREAD_F_LIVE)) return &t[i];
    return NULL;
}

/* A TLS destructor registered after the runtime's: its free runs once the record retired. */
static void late_free(void *p)
{
    free(p);
}

struct result {
    int found, live, stack_ok, not_main;
};

static void *thread_main(void *arg)
{
    long idx = (long)arg;
    for (int i = 0; i < PER_THREAD; i++)
        leftovers[idx][i] = malloc(32 + i);
    int local = 0;
    struct result *r = calloc(1, sizeof *r);
    const struct allocs_thread *rec = record_of((uint32_t)syscall(SYS_gettid));
    r->found = rec != NULL;
    if (rec) {
        r->live = (rec->flags & ALLOCS_THREAD_F_LIVE) != 0;
        r->not_main = (rec->flags & ALLOCS_THREAD_F_MAIN) == 0;
        r->stack_ok = rec->stack_lo <= (uintptr_t)&local && (uintptr_t)&local < rec->stack_hi;
    }
    pthread_setspecific(late_key, malloc(100));
    return r;
}

static int count_chunks(const struct alloc_walk_entry *e, void *arg)
{
    (void)e;
    ++*(long *)arg;
    return 0;
}

int main(void)
{
    root = dlsym(RTLD_DEFAULT, ALLOCS_ROOT_SYMBOL);
    if (!root) {
        printf("probe root found=0\n");
        return 0;
    }
    printf("probe root found=1 glibc_malloc=%d\n", (root->flags & ALLOCS_ROOT_F_GLIBC_MALLOC) != 0);
    pthread_key_create(&late_key, late_free);
    const struct allocs_thread *me = record_of((uint32_t)getpid());
    int local = 0;
    printf("probe main_record found=%d main=%d stack_ok=%d\n", me != NULL,
           me && (me->flags & ALLOCS_THREAD_F_MAIN),
           me && me->stack_lo <= (uintptr_t)&local && (uintptr_t)&local < me->stack_hi);

    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, thread_main, (void *)i);
    int found = 0, live = 0, stack_ok = 0, not_main = 0;
    for (int i = 0; i < THREADS; i++) {
        struct result *r;
        pthread_join(t[i], (void **)&r);
        found += r->found;
        live += r->live;
        stack_ok += r->stack_ok;
        not_main += r->not_main;
        free(r);
    }
    printf("probe thread_records found=%d live=%d stack_ok=%d not_main=%d\n", found, live, stack_ok,
           not_main);
    /* The exited threads' records are no longer LIVE. */
    int live_records = 0;
    const struct allocs_thread *recs = (const struct allocs_thread *)(uintptr_t)root->threads;
    for (uint32_t i = 0; i < root->nthreads; i++)
        live_records += (recs[i].flags & ALLOCS_THREAD_F_LIVE) != 0;
    printf("probe after_exit live_records=%d retired_allocs_ok=%d\n", live_records,
           root->retired_allocs >= THREADS * PER_THREAD);

    struct alloc_stats st;
    long walked = 0;
    alloc_walk_live(count_chunks, &walked);
    alloc_get_stats(&st);
    printf("probe stats_with_leftovers match=%d\n", (long)st.live_chunks == walked);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++)
            free(leftovers[i][j]);
    walked = 0;
    alloc_walk_live(count_chunks, &walked);
    alloc_get_stats(&st);
    printf("probe stats_after_free match=%d\n", (long)st.live_chunks == walked);
    printf("done\n");
    return 0;
}
