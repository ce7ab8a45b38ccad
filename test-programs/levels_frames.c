/* Stack frames of many shapes, each probed from inside and from deeper calls: recursion,
 * alloca, a large frame, an over-aligned local (a realigned frame), a variadic function, a
 * qsort callback (libc frames in between), a signal handler (a signal frame in between) and a
 * thread. Prints `probe NAME sym=... off=... size=...` with offsets relative to the frame, so
 * two runs can be compared: tests/runtime/levels-frames.test.ts runs it with the runtime's own
 * unwinder and with libgcc's (ALLOCS_LEVELS_UNWIND=libgcc) and expects the same answers. */
#define _GNU_SOURCE
#include <alloca.h>
#include <allocs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void report(const char *name, const void *p, int exact)
{
    struct alloc_info info;
    int err = alloc_describe(p, &info);
    int inside = err == 0 && (const char *)p >= (const char *)info.base &&
                 (const char *)p < (const char *)info.base + info.size;
    if (exact)
        printf("probe %s err=%d alloc=%s sym=%s inside=%d off=%ld size=%zu\n", name, err,
               info.allocator->name, info.symbol ? info.symbol : "-", inside,
               (long)((const char *)p - (const char *)info.base), info.size);
    else
        printf("probe %s err=%d alloc=%s sym=%s inside=%d\n", name, err, info.allocator->name,
               info.symbol ? info.symbol : "-", inside);
}

__attribute__((noinline)) static void from_deeper(const char *name, const void *p)
{
    report(name, p, 1);
}

/* A realigned frame's size depends on where the stack happened to start (ASLR). */
__attribute__((noinline)) static void from_deeper_inexact(const char *name, const void *p)
{
    report(name, p, 0);
}

__attribute__((noinline)) static int recurse(int n, const void *top)
{
    volatile char pad[24 + n];
    pad[0] = (char)n;
    if (n == 0) {
        report("recurse_own", (const void *)pad, 1);
        from_deeper("recurse_top_from_depth", top);
        return pad[0];
    }
    int r = recurse(n - 1, n == 12 ? (const void *)pad : top);
    return r + pad[0];
}

__attribute__((noinline)) static int with_alloca(size_t n)
{
    char *buf = alloca(n);
    memset(buf, 1, n);
    volatile int fixed = 3;
    report("alloca_buffer", buf + n / 2, 1);
    from_deeper("alloca_fixed_from_deeper", (const void *)&fixed);
    return buf[n - 1] + fixed;
}

__attribute__((noinline)) static int big_frame(void)
{
    volatile char big[100000];
    big[99999] = 1;
    report("big_frame_low", (const void *)&big[0], 1);
    from_deeper("big_frame_high_from_deeper", (const void *)&big[99999]);
    return big[99999];
}

__attribute__((noinline)) static int aligned_frame(void)
{
    volatile char a[64] __attribute__((aligned(64)));
    a[0] = 2;
    report("aligned_own", (const void *)a, 0);
    from_deeper_inexact("aligned_from_deeper", (const void *)a);
    return a[0];
}

__attribute__((noinline)) static int variadic(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    volatile int sum = 0;
    for (int i = 0; i < n; i++)
        sum += va_arg(ap, int);
    va_end(ap);
    from_deeper("variadic_local", (const void *)&sum);
    return sum;
}

static const volatile int *sort_caller_local;
static int compared;

static int cmp(const void *a, const void *b)
{
    if (!compared++) from_deeper("qsort_caller_from_callback", (const void *)sort_caller_local);
    return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static int sorter(void)
{
    volatile int mine = 7;
    int v[8] = {5, 3, 8, 1, 9, 2, 7, 4};
    sort_caller_local = &mine;
    qsort(v, 8, sizeof v[0], cmp);
    return v[0] + mine;
}

static const volatile int *interrupted_local;

static void handler(int sig)
{
    volatile int in_handler = sig;
    report("handler_own", (const void *)&in_handler, 1);
    report("below_signal_frame", (const void *)interrupted_local, 1);
}

__attribute__((noinline)) static int signalled(void)
{
    volatile int here = 1;
    interrupted_local = &here;
    signal(SIGUSR1, handler);
    raise(SIGUSR1);
    return here;
}

static void *thread_main(void *arg)
{
    volatile long t = (long)arg;
    from_deeper("thread_local_from_deeper", (const void *)&t);
    return NULL;
}

int main(void)
{
    volatile int in_main = 0;
    recurse(20, NULL);
    with_alloca(1000);
    big_frame();
    aligned_frame();
    variadic(4, 1, 2, 3, 4);
    sorter();
    signalled();
    pthread_t th;
    pthread_create(&th, NULL, thread_main, (void *)1);
    pthread_join(th, NULL);
    from_deeper("main_from_deeper", (const void *)&in_main);
    return in_main;
}
