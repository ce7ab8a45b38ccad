/* main's frame at -O2 (tests/bridge/frames-main.test.ts): main's locals whose address escapes
 * live in its frame, whose bounds must come from the CFI (no frame pointer at -O2), and a heap
 * object is pointed to from main's frame and from another thread's frame, for who-points-to. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

struct fm_rec {
    long a;
    long b;
    struct fm_rec *self;
};

static sem_t parked, release;

__attribute__((noinline)) void fm_stop(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) void fm_park(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
    sem_post(&parked);
    sem_wait(&release);
}

static void *worker(void *arg)
{
    struct fm_rec *keep[2] = {arg, NULL};
    fm_park(keep);
    return keep[1];
}

int main(int argc, char **argv)
{
    struct fm_rec local;
    struct fm_rec *heap = malloc(sizeof *heap);
    pthread_t t;
    local.a = argc;
    local.b = (long)argv;
    local.self = heap;
    heap->a = 1;
    heap->b = 2;
    heap->self = heap;
    sem_init(&parked, 0, 0);
    sem_init(&release, 0, 0);
    if (pthread_create(&t, NULL, worker, heap) != 0) return 1;
    sem_wait(&parked);
    fm_stop(&local);
    printf("probe main_local addr=%p heap=%p\n", (void *)&local, (void *)heap);
    sem_post(&release);
    pthread_join(t, NULL);
    free(heap);
    return (int)local.a - argc;
}
