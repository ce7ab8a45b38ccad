/* heap_pool: a custom pool allocator carves objects out of a malloc'd chunk and registers
 * them; an address in an object resolves to the pool object, with the chunk as its parent.
 * Prints `probe NAME key=value...` lines for tests/runtime/heap-pool.test.ts. */
#include <allocs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static const struct allocator *pool_allocator;

/* The pool's allocation function: registers each object with the caller's site. */
NOINLINE void *pool_alloc(char *arena, size_t offset, size_t size)
{
    void *p = arena + offset;
    int err = alloc_register_object(pool_allocator, p, size, __builtin_return_address(0));
    return err == ALLOCS_OK ? p : NULL;
}

NOINLINE void *use_pool(char *arena, size_t offset, size_t size)
{
    void *p = pool_alloc(arena, offset, size);
    memset(p, 1, size);
    return p;
}

static void probe(const char *name, const void *addr, const void *base, const void *fn)
{
    struct alloc_info info;
    int err = alloc_describe(addr, &info);
    /* The level just above the leaf: the chunk for a pool object. */
    const struct alloc_level *parent = info.depth >= 2 ? &info.chain[info.depth - 2] : NULL;
    printf("probe %s err=%d alloc=%s base=%ld size=%zu site=%ld parent=%s parent_base=%ld "
           "parent_size=%zu\n",
           name, err, info.allocator ? info.allocator->name : "(null)",
           (long)((const char *)info.base - (const char *)base), info.size,
           fn && info.site ? (long)((const char *)info.site - (const char *)fn) : -1L,
           parent ? parent->allocator->name : "none",
           parent ? (long)((const char *)parent->base - (const char *)base) : 0L,
           parent ? parent->size : 0);
}

struct counts {
    int pool, chunk_arena;
    const void *arena;
};
static int count(const struct alloc_walk_entry *e, void *arg)
{
    struct counts *c = arg;
    if (e->allocator == pool_allocator) c->pool++;
    if (e->base == c->arena) c->chunk_arena++;
    return 0;
}

int main(void)
{
    pool_allocator = alloc_register_allocator("mypool");
    printf("probe registered name=%s custom=%d same=%d\n", pool_allocator->name,
           (pool_allocator->flags & ALLOCS_ALLOCATOR_F_CUSTOM) != 0,
           alloc_register_allocator("mypool") == pool_allocator);

    char *arena = malloc(4096);
    char *o1 = use_pool(arena, 16, 100);
    char *o2 = use_pool(arena, 196, 8); /* two unaligned objects in one 16-byte granule */
    char *o3 = use_pool(arena, 204, 8);
    char *o4 = use_pool(arena, 1000, 3000);
    probe("obj1", o1 + 50, o1, (void *)use_pool);
    printf("probe obj1_oneliners alloc=%s base=%ld size=%zu\n", alloc_get_allocator(o1)->name,
           (long)((char *)alloc_get_base(o1 + 99) - o1), alloc_get_size(o1 + 1));
    probe("obj2", o2 + 7, o2, (void *)use_pool);
    probe("obj3", o3, o3, (void *)use_pool);
    probe("obj4", o4 + 2999, o4, (void *)use_pool);
    probe("gap", arena + 150, arena, NULL); /* between objects: the chunk itself */
    printf("probe gap_chunk_size value=%zu\n", alloc_get_size(arena + 150));

    /* Bad registrations. */
    int stack_obj;
    printf("probe bad_outside err=%d\n",
           alloc_register_object(pool_allocator, &stack_obj, 4, NULL));
    printf("probe bad_overlap err=%d\n", alloc_register_object(pool_allocator, o1 + 10, 4, NULL));
    printf("probe bad_past_chunk err=%d\n",
           alloc_register_object(pool_allocator, arena + 4090, 100, NULL));
    printf("probe bad_zero err=%d\n", alloc_register_object(pool_allocator, arena + 3000, 0, NULL));
    printf("probe bad_allocator err=%d\n",
           alloc_register_object(alloc_get_allocator(arena), arena + 3000, 8, NULL));

    struct counts c = {0, 0, arena};
    alloc_walk_live(count, &c);
    printf("probe walk pool=%d arena=%d\n", c.pool, c.chunk_arena);

    /* Unregister one object: its addresses fall back to the chunk. */
    int first = alloc_unregister_object(pool_allocator, o2);
    int second = alloc_unregister_object(pool_allocator, o2);
    printf("probe unregister err=%d again=%d\n", first, second);
    probe("after_unregister", o2, arena, NULL);
    probe("neighbour_kept", o3, o3, (void *)use_pool);

    /* Freeing the chunk drops its objects; a new chunk at the same place has none. */
    uintptr_t old = (uintptr_t)arena;
    free(arena);
    char *again = malloc(4096);
    struct counts c2 = {0, 0, again};
    alloc_walk_live(count, &c2);
    printf("probe after_free reused=%d pool_objects=%d\n", (uintptr_t)again == old, c2.pool);
    probe("reused_chunk", again + 50, again, NULL);
    free(again);
    printf("done\n");
    return 0;
}
