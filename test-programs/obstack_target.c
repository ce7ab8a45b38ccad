/* obstack_target: GNU obstacks (glibc's <obstack.h>) and what the runtime says about them.
 *
 * g_ob (obstack_init: _obstack_begin) holds a first object in an older chunk and the newest
 * objects in its current chunk; g_ob2 (obstack_specify_allocation_with_arg: _obstack_begin_1)
 * holds one object. For each address probed the program prints its own truth (the struct
 * obstack's address, the chunk holding it, the chunk's limit, the obstack's next_free) and what
 * the C API answers: `probe NAME addr= ob= chunk= limit= next_free= alloc= base= size= parent=
 * parent_base= parent_size=`. Then three obstacks the program lets go of, each must make the
 * runtime neither crash nor answer "obstack": one freed with obstack_free(h, NULL), one whose
 * struct was freed and its memory reused without freeing the obstack, one whose struct's page
 * was unmapped. The program stops in stop_here(); with the argument "abort" it then aborts (a
 * kernel core). */
#include <allocs.h>
#include <obstack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define obstack_chunk_alloc malloc
#define obstack_chunk_free free

struct obstack g_ob, g_ob2;
char *g_first, *g_string, *g_last, *g_tail, *g_other;
char *g_in_abandoned, *g_in_unmapped; /* objects of obstacks let go of, for the debugger */

__attribute__((noinline)) void stop_here(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *chunk_alloc_with_arg(void *arg, long size)
{
    (void)arg;
    return malloc((size_t)size);
}

static void chunk_free_with_arg(void *arg, void *chunk)
{
    (void)arg;
    free(chunk);
}

/* The chunk of h holding p (walking back from the current one), or NULL. */
static struct _obstack_chunk *chunk_of(struct obstack *h, const char *p)
{
    for (struct _obstack_chunk *c = h->chunk; c; c = c->prev)
        if (p >= (char *)c && p < c->limit) return c;
    return NULL;
}

static void probe(const char *name, struct obstack *h, const char *p)
{
    struct alloc_info info;
    int err = alloc_describe(p, &info);
    const struct alloc_level *parent = info.depth >= 2 ? &info.chain[info.depth - 2] : NULL;
    struct _obstack_chunk *c = h ? chunk_of(h, p) : NULL;
    printf("probe %s addr=%#lx ob=%#lx chunk=%#lx limit=%#lx next_free=%#lx err=%d alloc=%s "
           "base=%#lx size=%zu parent=%s parent_base=%#lx parent_size=%zu\n",
           name, (unsigned long)(uintptr_t)p, (unsigned long)(uintptr_t)h,
           (unsigned long)(uintptr_t)c, (unsigned long)(uintptr_t)(c ? c->limit : 0),
           (unsigned long)(uintptr_t)(h ? h->next_free : 0), err, info.allocator->name,
           (unsigned long)(uintptr_t)info.base, info.size, parent ? parent->allocator->name : "-",
           (unsigned long)(uintptr_t)(parent ? parent->base : 0), parent ? parent->size : 0);
}

/* The one-liners agree with alloc_describe. */
static void oneliners(const char *name, const char *p)
{
    printf("probe %s_oneliners alloc=%s base=%#lx size=%zu\n", name, alloc_get_allocator(p)->name,
           (unsigned long)(uintptr_t)alloc_get_base(p), alloc_get_size(p));
}

int main(int argc, char **argv)
{
    obstack_init(&g_ob);
    g_first = obstack_alloc(&g_ob, 40);
    memset(g_first, 'a', 40);
    /* Objects of 1000 bytes until one lands in a new chunk: g_first's is then an older one. */
    struct _obstack_chunk *first_chunk = g_ob.chunk;
    while (g_ob.chunk == first_chunk)
        g_last = obstack_alloc(&g_ob, 1000);
    memset(g_last, 'b', 1000);
    obstack_grow(&g_ob, "grown string", 13);
    g_string = obstack_finish(&g_ob);
    g_tail = g_ob.next_free + 16; /* room the obstack has not handed out */

    obstack_specify_allocation_with_arg(&g_ob2, 0, 0, chunk_alloc_with_arg, chunk_free_with_arg,
                                        NULL);
    g_other = obstack_alloc(&g_ob2, 64);

    probe("first", &g_ob, g_first + 10);
    probe("last", &g_ob, g_last + 999);
    probe("string", &g_ob, g_string + 3);
    probe("tail", &g_ob, g_tail);
    probe("other", &g_ob2, g_other + 1);
    oneliners("last", g_last + 999);

    /* Let go of three obstacks. */
    struct obstack *freed = malloc(sizeof *freed);
    obstack_init(freed);
    char *in_freed = obstack_alloc(freed, 100);
    obstack_free(freed, NULL);
    char *reusing = malloc(100); /* may take the freed chunk's place */
    memset(reusing, 0, 100);
    probe("after_obstack_free", NULL, reusing);
    probe("in_freed", NULL, in_freed); /* a freed chunk: no allocation, or whatever took it */

    struct obstack *abandoned = malloc(sizeof *abandoned);
    obstack_init(abandoned);
    char *in_abandoned = obstack_alloc(abandoned, 50);
    /* the address as a number, kept from the optimiser: a freed pointer compares as nothing */
    volatile uintptr_t abandoned_at = (uintptr_t)abandoned;
    free(abandoned); /* its chunk stays, with no obstack left to own it */
    struct obstack *reused = malloc(sizeof *reused);
    memset(reused, 0x5a, sizeof *reused);
    probe("abandoned", NULL, in_abandoned);
    printf("probe reuse same=%d\n", (uintptr_t)reused == abandoned_at);

    struct obstack *unmapped =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (unmapped == MAP_FAILED) return 1;
    obstack_init(unmapped);
    char *in_unmapped = obstack_alloc(unmapped, 60);
    munmap(unmapped, 4096);
    probe("unmapped", NULL, in_unmapped);
    g_in_abandoned = in_abandoned;
    g_in_unmapped = in_unmapped;
    probe("first_again", &g_ob, g_first);

    stop_here();
    if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
    free(reusing);
    free(reused);
    obstack_free(&g_ob, NULL);
    obstack_free(&g_ob2, NULL);
    puts("done");
    return 0;
}
