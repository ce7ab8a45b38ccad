/* bridge_target.c: one address of every kind the gdb bridge must describe.
 *
 *   bridge_target stop   prints its probes, then calls bridge_stop() (set a breakpoint there)
 *   bridge_target abort  prints its probes, then abort()s (a kernel core file)
 *   bridge_target wait   prints its probes, then waits to be attached to (or killed)
 *
 * Before `ready` it also prints `heap lo=.. hi=.. break=..`: the kernel's [heap] mapping and the
 * break, where the bridge must place the brk heap.
 *
 * Each probe line says what the bridge should answer (probes: bridge_common.h). */
#define _GNU_SOURCE
#include "bridge_common.h"
#include <fcntl.h>
#include <sys/mman.h>

__attribute__((noinline)) void bridge_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

static struct point *make_points(int *line)
{
    *line = __LINE__ + 1;
    struct point *pts = malloc(3 * sizeof *pts);
    for (int i = 0; i < 3; i++)
        pts[i] = (struct point){i, 10 * i, 100 * i};
    return pts;
}

static struct outer *make_outer(int *line)
{
    *line = __LINE__ + 1;
    struct outer *o = calloc(1, sizeof *o);
    o->tag = 7;
    strcpy(o->in.name, "inner");
    o->u.as_long = 42;
    return o;
}

/* Reads /proc/self/maps with open and read: stdio would allocate, and the program's heap must
 * stay as its probes and stats lines say. */
static void print_heap(void)
{
    static char maps[1 << 16];
    size_t n = 0;
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t got;
    while (fd >= 0 && n < sizeof maps - 1 && (got = read(fd, maps + n, sizeof maps - 1 - n)) > 0)
        n += (size_t)got;
    if (fd >= 0) close(fd);
    maps[n] = 0;
    unsigned long lo = 0, hi = 0;
    char *heap = strstr(maps, "[heap]");
    if (heap) {
        while (heap > maps && heap[-1] != '\n')
            heap--;
        char *dash;
        lo = strtoul(heap, &dash, 16);
        hi = strtoul(dash + 1, NULL, 16);
    }
    printf("heap lo=%#lx hi=%#lx break=%p\n", lo, hi, sbrk(0));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* no stdio buffer: printing allocates nothing */
    int do_abort = argc > 1 && strcmp(argv[1], "abort") == 0;
    const char *file = __FILE__;

    int line;
    struct point *pts = make_points(&line);
    probe("heap_interior", &pts[1].y,
          "base=%p size=%zu offset=%zu func=make_points file=%s line=%d", (void *)pts,
          3 * sizeof *pts, (size_t)((char *)&pts[1].y - (char *)pts), file, line);

    struct outer *o = make_outer(&line);
    probe("nested", &o->in.name[3], "base=%p size=%zu offset=%zu func=make_outer file=%s line=%d",
          (void *)o, sizeof *o, (size_t)((char *)&o->in.name[3] - (char *)o), file, line);
    probe("union_member", &o->u.as_float,
          "base=%p size=%zu offset=%zu func=make_outer file=%s line=%d", (void *)o, sizeof *o,
          (size_t)((char *)&o->u - (char *)o), file, line);

    probe("global", &global_counts[2], "base=%p size=%zu offset=8 symbol=global_counts",
          (void *)global_counts, sizeof global_counts);

    long *hits = bump_hits();
    probe("static_local", &hits[1], "base=%p size=%zu offset=8", (void *)hits, 4 * sizeof(long));

    const char *lit = "a string literal for the bridge";
    probe("literal", lit + 4, "base=%p size=%zu offset=4", (const void *)lit, strlen(lit) + 1);

    probe("argv0", argv[0] + 1, "base=%p size=%zu offset=1 symbol=argv[0]", (void *)argv[0],
          strlen(argv[0]) + 1);

    int mmap_line = __LINE__ + 1;
    char *region = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    region[100] = 1;
    probe("mmap", region + 100, "base=%p size=%d offset=100 func=main file=%s line=%d",
          (void *)region, 3 * 4096, file, mmap_line);

    /* Never written (and read-only, so it cannot merge with the mapping above): a kernel core
     * holds no bytes of it (its segment's p_filesz is 0), and a debugger reads it as zeros. */
    char *untouched = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    probe("mmap_untouched", untouched + 64, "base=%p size=%d offset=64", (void *)untouched,
          2 * 4096);

    int arena_line = __LINE__ + 1;
    char *arena = malloc(4096);
    const struct allocator *pool = alloc_register_allocator("bridge_pool");
    int reg_line = __LINE__ + 1;
    int rc = alloc_register_object(pool, arena + 256, 64, NULL);
    probe(
        "pool", arena + 256 + 10,
        "base=%p size=64 offset=10 allocator=bridge_pool chunk=%p chunksize=4096 func=main file=%s "
        "line=%d chunkline=%d rc=%d",
        (void *)(arena + 256), (void *)arena, file, reg_line, arena_line, rc);
    probe("pool_gap", arena + 8, "base=%p size=4096 offset=8 allocator=__default_lib_malloc",
          (void *)arena);

    char *gone = malloc(200);
    probe("freed", gone + 16, "base=%p", (void *)gone);
    free(gone);

    pthread_t t;
    if (start_worker(&t) != 0) return 1;

    print_heap();
    struct alloc_stats st;
    int have_stats = alloc_get_stats(&st) == ALLOCS_OK;
    printf("stats present=%d live_chunks=%llu live_bytes=%llu total_allocs=%llu total_frees=%llu\n",
           have_stats, (unsigned long long)st.live_chunks, (unsigned long long)st.live_bytes,
           (unsigned long long)st.total_allocs, (unsigned long long)st.total_frees);
    printf("ready\n");
    if (do_abort) abort();
    if (argc > 1 && strcmp(argv[1], "wait") == 0)
        for (;;)
            pause();
    bridge_stop();
    return finish_worker(t) != 0;
}
