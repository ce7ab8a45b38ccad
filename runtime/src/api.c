/* api.c: the public API (allocs.h), composed from the heap part (chunks, pool objects) and the
 * levels part (mappings, ELF objects, stacks, auxv). The one-liners take the shortest path to
 * the leaf; only alloc_describe builds the whole chain of enclosing levels. */
#define _GNU_SOURCE
#include "internal.h"
#include "meta.h"

#include <string.h>

static const char *const error_strings[ALLOCS_ERR__COUNT] = {
    [ALLOCS_OK] = "success",
    [ALLOCS_ERR_NULL] = "the pointer is NULL",
    [ALLOCS_ERR_UNKNOWN] = "no known allocation contains this address",
    [ALLOCS_ERR_NO_RUNTIME] =
        "the allocs runtime is not loaded (run the program with `allocs run`)",
    [ALLOCS_ERR_INVALID] = "invalid argument",
    [ALLOCS_ERR_NOMEM] = "the runtime's tables are full",
};

RT_EXPORT const char *alloc_strerror(int err)
{
    if (err < 0 || err >= ALLOCS_ERR__COUNT) return "unknown error code";
    return error_strings[err];
}

/* liballocs's error objects: one static object per code, so callers can compare pointers. */
struct liballocs_err {
    int code;
};
static struct liballocs_err error_objects[ALLOCS_ERR__COUNT] = {
    {ALLOCS_OK},          {ALLOCS_ERR_NULL},  {ALLOCS_ERR_UNKNOWN}, {ALLOCS_ERR_NO_RUNTIME},
    {ALLOCS_ERR_INVALID}, {ALLOCS_ERR_NOMEM},
};

RT_EXPORT const char *__liballocs_errstring(const struct liballocs_err *err)
{
    return alloc_strerror(err ? err->code : ALLOCS_OK);
}

RT_EXPORT int __liballocs_errcode(const struct liballocs_err *err)
{
    return err ? err->code : ALLOCS_OK;
}

/* The leaf for an address: a pool object, else a heap chunk, else what the levels know. */
struct leaf {
    const struct allocator *allocator;
    uintptr_t base;
    size_t size;
    uintptr_t site;
    uint64_t seq;
    const char *symbol, *object;
    uintptr_t pc;   /* stackframe: a pc in the frame's function */
    bool is_string; /* static: a string literal */
    bool in_chunk;  /* chunk holds the enclosing malloc chunk (for pool objects and chunks) */
    struct rt_chunk chunk;
};

static int find_leaf(uintptr_t a, struct leaf *out)
{
    memset(out, 0, sizeof *out);
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_UNKNOWN);
    if (a == 0) return ALLOCS_ERR_NULL;
    if (heap_find_chunk(a, &out->chunk)) {
        out->in_chunk = true;
        struct rt_pool_object o;
        if (out->chunk.has_pool_objects && pool_find(a, &out->chunk, &o)) {
            out->allocator = o.allocator;
            out->base = o.base;
            out->size = o.size;
            out->site = o.site;
            out->seq = o.seq;
        } else {
            out->allocator = rt_allocator(ALLOCS_ALLOCATOR_MALLOC);
            out->base = out->chunk.base;
            out->size = out->chunk.size;
            out->site = out->chunk.site;
            out->seq = out->chunk.seq;
        }
        return ALLOCS_OK;
    }
    struct rt_leaf l;
    if (levels_find_leaf(a, &l)) {
        out->allocator = l.allocator;
        out->base = l.base;
        out->size = l.size;
        out->site = l.site;
        out->symbol = l.symbol;
        out->object = l.object;
        out->pc = l.pc;
        out->is_string = l.is_string;
        return ALLOCS_OK;
    }
    return ALLOCS_ERR_UNKNOWN;
}

RT_EXPORT struct allocator *alloc_get_allocator(const void *p)
{
    struct leaf l;
    find_leaf((uintptr_t)p, &l);
    return (struct allocator *)l.allocator;
}

RT_EXPORT void *alloc_get_base(const void *p)
{
    struct leaf l;
    return find_leaf((uintptr_t)p, &l) == ALLOCS_OK ? (void *)l.base : NULL;
}

RT_EXPORT size_t alloc_get_size(const void *p)
{
    size_t size;
    if (heap_find_size((uintptr_t)p, &size)) return size; /* a heap chunk: the common case */
    struct leaf l;
    return find_leaf((uintptr_t)p, &l) == ALLOCS_OK ? l.size : 0;
}

RT_EXPORT const void *alloc_get_site(const void *p)
{
    struct leaf l;
    return find_leaf((uintptr_t)p, &l) == ALLOCS_OK ? (const void *)l.site : NULL;
}

/* The leaf's run-time type (meta_types.c), or NULL when no metadata describes it. */
static const struct uniqtype *leaf_type(uintptr_t a, const struct leaf *l)
{
    switch (l->allocator->id) {
    case ALLOCS_ALLOCATOR_MALLOC:
        return meta_type_of_chunk(l->chunk.site_id, l->chunk.site, l->chunk.size);
    case ALLOCS_ALLOCATOR_STATIC: {
        const struct uniqtype *t = meta_type_of_static(a, l->base);
        return t || !l->is_string ? t : meta_type_of_string(l->size);
    }
    case ALLOCS_ALLOCATOR_STACKFRAME:
        return l->pc ? meta_type_of_frame(l->pc) : NULL;
    case ALLOCS_ALLOCATOR_AUXV:
        return meta_type_of_auxv(l->base, l->size);
    default: /* a pool object from a declared suballocator: its call site's record (suballoc.c) */
        return l->site && (meta_site_flags(l->site) & ALLOCS_SITE_SUBALLOC)
                   ? meta_type_of_chunk(0, l->site, l->size)
                   : NULL;
    }
}

RT_EXPORT struct uniqtype *alloc_get_type(const void *p)
{
    struct leaf l;
    if (find_leaf((uintptr_t)p, &l) != ALLOCS_OK) return NULL;
    return (struct uniqtype *)leaf_type((uintptr_t)p, &l);
}

RT_EXPORT const char *__allocs_uniqtype_name(const struct uniqtype *t)
{
    return t && t->name ? t->name : "(no type)";
}

RT_EXPORT struct liballocs_err *
__liballocs_get_alloc_info(const void *obj, struct allocator **out_allocator,
                           const void **out_start, unsigned long *out_size,
                           const struct uniqtype **out_type, const void **out_site)
{
    struct leaf l;
    int err = find_leaf((uintptr_t)obj, &l);
    if (out_allocator) *out_allocator = (struct allocator *)l.allocator;
    if (out_start) *out_start = (const void *)l.base;
    if (out_size) *out_size = l.size;
    if (out_type) *out_type = err == ALLOCS_OK ? leaf_type((uintptr_t)obj, &l) : NULL;
    if (out_site) *out_site = (const void *)l.site;
    return err == ALLOCS_OK ? NULL : &error_objects[err];
}

static void push_level(struct alloc_info *out, const struct allocator *a, uintptr_t base,
                       size_t size)
{
    if (out->depth > 0) {
        const struct alloc_level *last = &out->chain[out->depth - 1];
        if (last->allocator == a && (uintptr_t)last->base == base && last->size == size) return;
    }
    if (out->depth >= ALLOCS_MAX_DEPTH) return;
    out->chain[out->depth++] = (struct alloc_level){a, (const void *)base, size};
}

RT_EXPORT int alloc_describe(const void *p, struct alloc_info *out)
{
    if (!out) return ALLOCS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    uintptr_t a = (uintptr_t)p;
    struct leaf l;
    int err = find_leaf(a, &l);
    out->allocator = l.allocator;
    if (a == 0) return err;
    /* Leave room for the chunk and a pool object below the levels. */
    out->depth = levels_chain(a, out->chain, ALLOCS_MAX_DEPTH - 2);
    if (err != ALLOCS_OK) return err;
    if (l.in_chunk)
        push_level(out, rt_allocator(ALLOCS_ALLOCATOR_MALLOC), l.chunk.base, l.chunk.size);
    push_level(out, l.allocator, l.base, l.size);
    out->base = (const void *)l.base;
    out->size = l.size;
    out->offset = a - l.base;
    out->site = (const void *)l.site;
    out->seq = l.seq;
    out->symbol = l.symbol;
    out->object = l.object;
    out->type = leaf_type(a, &l);
    return ALLOCS_OK;
}

struct walk_adapter {
    int (*cb)(const struct alloc_walk_entry *e, void *arg);
    void *arg;
};

static int walk_chunk(const struct rt_chunk *c, void *arg)
{
    struct walk_adapter *w = arg;
    struct alloc_walk_entry e = {rt_allocator(ALLOCS_ALLOCATOR_MALLOC), (const void *)c->base,
                                 c->size, (const void *)c->site, c->seq};
    return w->cb(&e, w->arg);
}

static int walk_pool_object(const struct rt_pool_object *o, void *arg)
{
    struct walk_adapter *w = arg;
    struct alloc_walk_entry e = {o->allocator, (const void *)o->base, o->size,
                                 (const void *)o->site, o->seq};
    return w->cb(&e, w->arg);
}

struct walk_stop {
    struct walk_adapter inner;
    bool stopped;
};

static int walk_chunk_noting_stop(const struct rt_chunk *c, void *arg)
{
    struct walk_stop *s = arg;
    int r = walk_chunk(c, &s->inner);
    if (r) s->stopped = true;
    return r;
}

RT_EXPORT long alloc_walk_live(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg)
{
    if (!cb) return 0;
    struct walk_stop s = {{cb, arg}, false};
    long n = heap_walk(walk_chunk_noting_stop, &s);
    if (!s.stopped) n += pool_walk(walk_pool_object, &s.inner);
    return n;
}

RT_EXPORT int alloc_get_stats(struct alloc_stats *out)
{
    if (!out) return ALLOCS_ERR_INVALID;
    heap_stats(out);
    return ALLOCS_OK;
}

RT_EXPORT const struct allocator *alloc_register_allocator(const char *name)
{
    return rt_add_custom_allocator(name);
}

RT_EXPORT int alloc_register_object(const struct allocator *a, const void *base, size_t size,
                                    const void *site)
{
    if (!a || !base) return ALLOCS_ERR_INVALID;
    uintptr_t s = site ? (uintptr_t)site : (uintptr_t)__builtin_return_address(0);
    return pool_register(a, (uintptr_t)base, size, s);
}

RT_EXPORT int alloc_unregister_object(const struct allocator *a, const void *base)
{
    if (!a || !base) return ALLOCS_ERR_INVALID;
    return pool_unregister(a, (uintptr_t)base);
}

RT_EXPORT int alloc_runtime_present(void)
{
    return rt_initialised();
}
/* uniqtype_lookup is in meta_types.c, next to the table it searches. */
