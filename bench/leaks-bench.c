/* The leak check's benchmark program: N live chunks (argv[2]) in typed lists held by a static,
 * one in a hundred lost. Mode (argv[1]): "stop" calls bench_stop() (for gdb), "exit" returns (for
 * allocs run --leaks). */
#include <stdlib.h>
#include <string.h>

struct item {
    long key;
    struct item *next;
    double weight;
};

struct item *g_lists[64];

__attribute__((noinline)) void bench_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    for (long i = 0; i < n; i++) {
        struct item *it = malloc(sizeof(struct item));
        it->key = i;
        it->weight = 1.0;
        if (i % 100 == 99) { /* lost: nothing points to it */
            it->next = NULL;
            continue;
        }
        it->next = g_lists[i % 64];
        g_lists[i % 64] = it;
    }
    if (argc > 1 && strcmp(argv[1], "stop") == 0) bench_stop();
    return 0;
}
