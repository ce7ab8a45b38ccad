/* Probes every level the runtime knows outside the heap: statics, string literals, functions,
 * stack frames, the auxv area, mmap'd regions, a dlopen'd library and another thread's stack.
 * Prints one `probe NAME key=value ...` line per address; tests/runtime/levels.test.ts checks
 * each field. Usage: levels_probe PATH-TO-levels_dso.so */
#define _GNU_SOURCE
#include <allocs.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

int data_var = 42;
long bss_var;
const char *literal = "a string literal in rodata";
extern char **environ;

__attribute__((noinline)) static void probe(const char *name, const void *p,
                                            const void *expect_base, size_t expect_size)
{
    struct alloc_info info;
    int err = alloc_describe(p, &info);
    char chain[256] = "";
    for (unsigned i = 0; i < info.depth; i++) {
        if (i) strcat(chain, ",");
        strncat(chain, info.chain[i].allocator->name, 40);
    }
    const char *obj = info.object ? strrchr(info.object, '/') : NULL;
    printf("probe %s err=%d alloc=%s off=%ld size=%zu expect_size=%zu inside=%d sym=%s obj=%s "
           "chain=%s site=%p base=%lu\n",
           name, err, info.allocator ? info.allocator->name : "(null)",
           (long)((const char *)info.base - (const char *)expect_base), info.size, expect_size,
           err == 0 && (const char *)p >= (const char *)info.base &&
               (const char *)p < (const char *)info.base + info.size,
           info.symbol ? info.symbol : "-", obj ? obj + 1 : (info.object ? info.object : "-"),
           info.depth ? chain : "-", info.site, (unsigned long)info.base);
}

__attribute__((noinline)) static void deeper(const char *name, const void *p)
{
    probe(name, p, p, 0);
}

/* At -O0 with frame pointers, a frame is [stack pointer at its calls, frame pointer + 16). */
#define FRAME_LO(v) __asm__ volatile("mov %%rsp, %0" : "=r"(v))
#define FRAME_HI() ((uintptr_t)__builtin_frame_address(0) + 16)

__attribute__((noinline)) static int callee(void)
{
    volatile int in_callee = 5;
    uintptr_t lo;
    FRAME_LO(lo);
    printf("probe callee_frame lo=%lu size=%lu\n", (unsigned long)lo,
           (unsigned long)(FRAME_HI() - lo));
    deeper("callee_local", (const void *)&in_callee);
    return in_callee;
}

static pthread_barrier_t barrier;
static volatile long *thread_local_addr;

static void *thread_main(void *arg)
{
    (void)arg;
    volatile long on_thread_stack = 1;
    thread_local_addr = &on_thread_stack;
    probe("thread_own_local", (const void *)&on_thread_stack, (const void *)&on_thread_stack, 0);
    fflush(stdout);
    pthread_barrier_wait(&barrier); /* main probes our stack now */
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(int argc, char **argv)
{
    static int static_local = 3;
    volatile int main_local = 1;
    long page = sysconf(_SC_PAGESIZE);

    probe("data", &data_var, &data_var, sizeof data_var);
    probe("bss", &bss_var, &bss_var, sizeof bss_var);
    probe("static_local", &static_local, &static_local, sizeof static_local);
    probe("literal", literal + 5, literal, strlen(literal) + 1);
    probe("function", (const void *)((uintptr_t)main + 3), (const void *)main, 0);
    uintptr_t lo;
    FRAME_LO(lo);
    probe("main_local", (const void *)&main_local, (const void *)lo, FRAME_HI() - lo);
    callee();
    /* Below the stack pointer: no frame lives there (yet), only the stack itself. */
    probe("below_sp", (const char *)lo - 65536, (const void *)lo, 0);

    probe("argv", &argv[1], argv, (size_t)(argc + 1) * sizeof(char *));
    probe("argv0_string", argv[0] + 2, argv[0], strlen(argv[0]) + 1);
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    probe("envp", &environ[nenv], environ, (nenv + 1) * sizeof(char *));
    probe("env_string", environ[0], environ[0], strlen(environ[0]) + 1);
    unsigned long *auxv = (unsigned long *)&environ[nenv + 1];
    size_t naux = 0;
    while (auxv[2 * naux] != AT_NULL)
        naux++;
    probe("auxv_entry", &auxv[2 * 3 + 1], auxv, (naux + 1) * 16);
    const char *random = (const char *)getauxval(AT_RANDOM);
    probe("at_random", random + 15, random, 16);

    /* Heap chunks: the chain of a small one (glibc's brk heap) and of one glibc maps alone. */
    char *small = malloc(40), *large = malloc(1 << 20);
    probe("heap_small", small + 7, small, 40);
    probe("heap_large", large + 4096, large, 1 << 20);

    char *m = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    probe("mmap", m + 3 * page + 5, m, 8 * page);
    printf("probe mmap_site_in_main ok=%d\n",
           (const char *)alloc_get_site(m) > (const char *)main &&
               (const char *)alloc_get_site(m) < (const char *)main + 4096);
    munmap(m + 4 * page, 4 * page);
    probe("mmap_after_munmap", m + page, m, 4 * page);
    probe("mmap_unmapped_half", m + 6 * page, m, 0);
    char *r = mremap(m, 4 * page, 16 * page, MREMAP_MAYMOVE);
    probe("mremap", r + 12 * page, r, 16 * page);
    munmap(r, 16 * page);

    /* The brk heap, grown by the program itself: past malloc's top, so no chunk claims it. */
    char *b = sbrk(3 * page);
    if (b != (void *)-1) {
        probe("brk", b + page, b, 0);
        printf("probe brk_end ok=%d\n",
               (const char *)alloc_get_base(b) + alloc_get_size(b) == (const char *)sbrk(0));
    }

    void *h = argc > 1 ? dlopen(argv[1], RTLD_NOW) : NULL;
    if (h) {
        int *g = dlsym(h, "levels_dso_global");
        void *f = dlsym(h, "levels_dso_function");
        probe("dso_global", g, g, sizeof(int));
        probe("dso_function", (const char *)f + 1, f, 0);
        dlclose(h);
        probe("dso_global_after_dlclose", g, g, 0);
    } else {
        printf("probe dlopen_failed err=%s\n", dlerror());
    }

    /* A bare name is found through the executable's RUNPATH only if glibc sees the program,
     * not the runtime, as dlopen's caller. */
    if (argc > 2) {
        void *bare = dlopen(argv[2], RTLD_NOW);
        int *g = bare ? dlsym(bare, "levels_dso_global") : NULL;
        printf("probe dlopen_bare ok=%d\n", g != NULL);
        if (g) probe("dso_global_bare", g, g, sizeof(int));
        if (bare) dlclose(bare);
    }

    pthread_t t;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_barrier_wait(&barrier);
    probe("other_thread_stack", (const void *)thread_local_addr, (const void *)thread_local_addr,
          0);
    pthread_barrier_wait(&barrier);
    pthread_join(t, NULL);

    probe("null", NULL, NULL, 0);
    probe("garbage_low", (const void *)0x10, NULL, 0);
    probe("garbage_high", (const void *)0x7ff0deadb000ul, NULL, 0);
    probe("kernel", (const void *)0xffffffffff600000ul, NULL, 0);
    probe("minus_one", (const void *)~0ul, NULL, 0);
    return main_local - 1;
}
