/* api.c: the public API (allocs.h), answered by the allocators in the composition order
 * (allocators.c: chunks and pool objects, then auxv, stacks, statics and the mappings). The
 * one-liners take the shortest path to the leaf; only alloc_describe builds the whole chain of
 * enclosing levels. */
#define _GNU_SOURCE
#include "allocators.h"
#include "heap.h" /* heap_find_size, inline in alloc_get_size */

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

/* The leaf for an address: the first allocator in the composition order (allocators.c) that
 * answers. w keeps the lookups made on the way (the chunk, for alloc_describe's chain). */
struct leaf {
    struct rt_where w;
    struct rt_leaf l;
    const struct allocs_allocator *by; /* the allocator that answered, NULL if none */
};

static int find_leaf(uintptr_t a, struct leaf *out)
{
    where_begin(&out->w, a);
    if (a == 0) {
        memset(&out->l, 0, sizeof out->l);
        out->by = NULL;
        out->l.allocator = rt_allocator(ALLOCS_ALLOCATOR_UNKNOWN);
        return ALLOCS_ERR_NULL;
    }
    if ((out->by = allocators_find_leaf(&out->w, &out->l))) return ALLOCS_OK;
    out->l.allocator = rt_allocator(ALLOCS_ALLOCATOR_UNKNOWN);
    return ALLOCS_ERR_UNKNOWN;
}

RT_EXPORT struct allocator *alloc_get_allocator(const void *p)
{
    struct leaf f;
    find_leaf((uintptr_t)p, &f);
    return (struct allocator *)f.l.allocator;
}

RT_EXPORT void *alloc_get_base(const void *p)
{
    struct leaf f;
    return find_leaf((uintptr_t)p, &f) == ALLOCS_OK ? (void *)f.l.base : NULL;
}

/* Out of line, so that alloc_get_size's common case keeps no frame for struct leaf. */
static __attribute__((noinline)) size_t get_size_general(const void *p)
{
    struct leaf f;
    return find_leaf((uintptr_t)p, &f) == ALLOCS_OK ? f.l.size : 0;
}

RT_EXPORT size_t alloc_get_size(const void *p)
{
    size_t size = heap_find_size((uintptr_t)p); /* a heap chunk: the common case */
    return RT_LIKELY(size != HEAP_SIZE_UNKNOWN) ? size : get_size_general(p);
}

RT_EXPORT const void *alloc_get_site(const void *p)
{
    struct leaf f;
    return find_leaf((uintptr_t)p, &f) == ALLOCS_OK ? (const void *)f.l.site : NULL;
}

/* The leaf's run-time type (its allocator's type function), or NULL when no metadata says. */
static const struct uniqtype *leaf_type(const struct leaf *l)
{
    return l->by && l->by->type ? l->by->type(&l->w, &l->l) : NULL;
}

RT_EXPORT struct uniqtype *alloc_get_type(const void *p)
{
    struct leaf f;
    if (find_leaf((uintptr_t)p, &f) != ALLOCS_OK) return NULL;
    return (struct uniqtype *)leaf_type(&f);
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
    struct leaf f;
    int err = find_leaf((uintptr_t)obj, &f);
    if (out_allocator) *out_allocator = (struct allocator *)f.l.allocator;
    if (out_start) *out_start = (const void *)f.l.base;
    if (out_size) *out_size = f.l.size;
    if (out_type) *out_type = err == ALLOCS_OK ? leaf_type(&f) : NULL;
    if (out_site) *out_site = (const void *)f.l.site;
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
    struct leaf f;
    int err = find_leaf(a, &f);
    out->allocator = f.l.allocator;
    if (a == 0) return err;
    /* Leave room for the chunk and a pool object below the levels. */
    out->depth = levels_chain(&f.w, out->chain, ALLOCS_MAX_DEPTH - 2); /* f's lookups reused */
    if (err != ALLOCS_OK) return err;
    if (f.w.chunk_state > 0)
        push_level(out, rt_allocator(ALLOCS_ALLOCATOR_MALLOC), f.w.chunk.base, f.w.chunk.size);
    push_level(out, f.l.allocator, f.l.base, f.l.size);
    out->base = (const void *)f.l.base;
    out->size = f.l.size;
    out->offset = a - f.l.base;
    out->site = (const void *)f.l.site;
    out->seq = f.l.seq;
    out->symbol = f.l.symbol;
    out->object = f.l.object;
    out->type = leaf_type(&f);
    return ALLOCS_OK;
}

RT_EXPORT long alloc_walk_live(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg)
{
    return cb ? allocators_walk_live(cb, arg) : 0;
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
