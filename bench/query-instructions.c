/* query-instructions: the C API's queries on one address of each kind, N calls per (query,
 * kind) pair, each pair in a function of its own so that callgrind's inclusive count of that
 * function divided by N is one query's instructions. query-instructions.sh runs it preloaded
 * with the current runtime and with an older one. Every address is queried once before the
 * counted loops (lazy work: the first /proc/self/maps read, symbol tables, metadata). */
#include <allocs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define N 20000

int bench_static_object[64]; /* the static allocator: a symbol in this executable */
static void *heap_object, *mmap_object;
static volatile uintptr_t sink;

#define QUERIES(kind, expr)                                                                        \
    __attribute__((noinline)) static void base_##kind(void)                                        \
    {                                                                                              \
        char local[64];                                                                            \
        (void)local;                                                                               \
        for (int i = 0; i < N; i++)                                                                \
            sink += (uintptr_t)alloc_get_base(expr);                                               \
    }                                                                                              \
    __attribute__((noinline)) static void type_##kind(void)                                        \
    {                                                                                              \
        char local[64];                                                                            \
        (void)local;                                                                               \
        for (int i = 0; i < N; i++)                                                                \
            sink += (uintptr_t)alloc_get_type(expr);                                               \
    }                                                                                              \
    __attribute__((noinline)) static void describe_##kind(void)                                    \
    {                                                                                              \
        char local[64];                                                                            \
        (void)local;                                                                               \
        struct alloc_info info;                                                                    \
        for (int i = 0; i < N; i++) {                                                              \
            alloc_describe(expr, &info);                                                           \
            sink += (uintptr_t)info.base + info.depth;                                             \
        }                                                                                          \
    }

/* Interior pointers, as a debugger's or a checker's queries mostly are. The stack address is a
 * local of the calling function: the stackframe allocator unwinds to its frame. */
QUERIES(heap, (char *)heap_object + 40)
QUERIES(static, &bench_static_object[10])
QUERIES(stack, &local[8])
QUERIES(mmap, (char *)mmap_object + 5000)

int main(void)
{
    heap_object = malloc(100);
    mmap_object = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!heap_object || mmap_object == MAP_FAILED) return 1;
    if (!alloc_runtime_present()) {
        fprintf(stderr, "query-instructions: run it with the runtime preloaded\n");
        return 1;
    }
    /* What each kind answers, checked once (also the warm-up). */
    struct alloc_info info;
    const void *addrs[] = {(char *)heap_object + 40, &bench_static_object[10],
                           (char *)mmap_object + 5000};
    const char *want[] = {"__default_lib_malloc", "static", "mmap"};
    for (int k = 0; k < 3; k++) {
        if (alloc_describe(addrs[k], &info) != ALLOCS_OK ||
            strcmp(info.allocator->name, want[k]) != 0) {
            fprintf(stderr, "query-instructions: address %d answered %s, not %s\n", k,
                    info.allocator ? info.allocator->name : "nothing", want[k]);
            return 1;
        }
        alloc_get_type(addrs[k]);
    }
    base_heap(), type_heap(), describe_heap();
    base_static(), type_static(), describe_static();
    base_stack(), type_stack(), describe_stack();
    base_mmap(), type_mmap(), describe_mmap();
    return 0;
}
