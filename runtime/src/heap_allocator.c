/* heap_allocator.c: the malloc family as the query side sees it (allocators.h): the chunk
 * holding an address, its type from its site, and the walk of live chunks. The allocation
 * paths themselves (heap_malloc.c, heap_cxx.c) never come through here. */
#define _GNU_SOURCE
#include "allocators.h"
#include "meta.h"

static bool malloc_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    (void)how;
    if (!where_chunk(w)) return false;
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_MALLOC);
    out->base = w->chunk.base;
    out->size = w->chunk.size;
    out->site = w->chunk.site;
    out->seq = w->chunk.seq;
    return true;
}

static const struct uniqtype *malloc_type(const struct rt_where *w, const struct rt_leaf *l)
{
    (void)l;
    return meta_type_of_chunk(w->chunk.site_id, w->chunk.site, w->chunk.size);
}

struct walk_state {
    int (*cb)(const struct alloc_walk_entry *e, void *arg);
    void *arg;
    bool stopped;
};

static int walk_chunk(const struct rt_chunk *c, void *arg)
{
    struct walk_state *s = arg;
    struct alloc_walk_entry e = {rt_allocator(ALLOCS_ALLOCATOR_MALLOC), (const void *)c->base,
                                 c->size, (const void *)c->site, c->seq};
    int r = s->cb(&e, s->arg);
    if (r) s->stopped = true;
    return r;
}

static long malloc_walk(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg,
                        bool *stopped)
{
    struct walk_state s = {cb, arg, false};
    long n = heap_walk(walk_chunk, &s);
    *stopped = s.stopped;
    return n;
}

const struct allocs_allocator malloc_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_MALLOC,
    .id = ALLOCS_ALLOCATOR_MALLOC,
    .level = ALLOCS_LEVEL_OBJECT,
    .describe = malloc_describe,
    .type = malloc_type,
    .walk = malloc_walk,
};
