/* Chunks only thread-local storage holds, for alloc leaks / retainers under gdb and LLDB alike:
 * the TLS root needs each thread's thread pointer, which each front finds its own way.
 *
 *   main_box     a struct box only the main thread's __thread t_box points to
 *   thread_box   a struct box only a second thread's t_box points to
 *   lost         a struct lost no root reaches: the one leak
 * Each thread prints its tid and pthread_self() (x86-64 glibc: its thread pointer, fs_base).
 * Usage: tls_target [abort]: "abort" aborts instead of stopping in stop() (a kernel core).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct box {
    long a, b, c;
};
struct lost {
    long x[5];
};

__thread struct box *t_box;
static pthread_barrier_t ready;
/* The boxes' addresses for the debugger, disguised so no scan takes them for pointers. */
#define DISGUISE 0x5a5a5a5a5a5a5a5aUL
uintptr_t g_main_key, g_thread_key;

__attribute__((noinline)) void stop(void)
{
    __asm__ volatile("" ::: "memory");
}

/* Zeroes the dead stack below the caller, so no stale copy of a box's address survives there. */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char pad[16384];
    memset((char *)pad, 0, sizeof pad);
}

/* Puts a new box in this thread's t_box only; prints where and which thread. */
__attribute__((noinline)) static uintptr_t fill_box(const char *name)
{
    t_box = malloc(sizeof(struct box));
    printf("probe %s line=%d size=%zu tid=%d tp=%p\n", name, __LINE__ - 1, sizeof(struct box),
           (int)gettid(), (void *)pthread_self());
    return (uintptr_t)t_box ^ DISGUISE;
}

__attribute__((noinline)) static void lose(void)
{
    struct lost *l = malloc(sizeof(struct lost));
    printf("probe lost line=%d size=%zu\n", __LINE__ - 1, sizeof(struct lost));
    l->x[0] = 1;
}

static void *worker(void *arg)
{
    (void)arg;
    g_thread_key = fill_box("thread_box");
    scrub_stack();
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t;
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_main_key = fill_box("main_box");
    lose();
    pthread_barrier_init(&ready, NULL, 2);
    pthread_create(&t, NULL, worker, NULL);
    pthread_barrier_wait(&ready);
    printf("probe ready\n");
    scrub_stack();
    if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
    stop();
    return 0;
}
