/* The stub library: what a program built against allocs.h links to. When the runtime is
 * preloaded its definitions come first and these are never called; without it, every query
 * answers "no runtime" and the program runs unchanged. */
#include "../include/allocs.h"

static struct allocator no_runtime = {"(no runtime)", ALLOCS_ALLOCATOR_NO_RUNTIME, 0};

struct liballocs_err {
    int code;
};
static struct liballocs_err err_no_runtime = {ALLOCS_ERR_NO_RUNTIME};

const char *alloc_strerror(int err)
{
    return err == ALLOCS_OK
               ? "success"
               : "the allocs runtime is not loaded (run the program with `allocs run`)";
}
struct allocator *alloc_get_allocator(const void *p)
{
    (void)p;
    return &no_runtime;
}
void *alloc_get_base(const void *p)
{
    (void)p;
    return NULL;
}
size_t alloc_get_size(const void *p)
{
    (void)p;
    return 0;
}
const void *alloc_get_site(const void *p)
{
    (void)p;
    return NULL;
}
struct uniqtype *alloc_get_type(const void *p)
{
    (void)p;
    return NULL;
}
const char *__allocs_uniqtype_name(const struct uniqtype *t)
{
    (void)t;
    return "(no type)";
}
struct liballocs_err *__liballocs_get_alloc_info(const void *obj, struct allocator **out_allocator,
                                                 const void **out_start, unsigned long *out_size,
                                                 const struct uniqtype **out_type,
                                                 const void **out_site)
{
    (void)obj;
    if (out_allocator) *out_allocator = &no_runtime;
    if (out_start) *out_start = NULL;
    if (out_size) *out_size = 0;
    if (out_type) *out_type = NULL;
    if (out_site) *out_site = NULL;
    return &err_no_runtime;
}
const char *__liballocs_errstring(const struct liballocs_err *err)
{
    return alloc_strerror(err ? err->code : ALLOCS_OK);
}
int __liballocs_errcode(const struct liballocs_err *err)
{
    return err ? err->code : ALLOCS_OK;
}
int alloc_describe(const void *p, struct alloc_info *out)
{
    if (out) {
        *out = (struct alloc_info){0};
        out->allocator = &no_runtime;
        out->offset = 0;
        (void)p;
    }
    return ALLOCS_ERR_NO_RUNTIME;
}
long alloc_walk_live(int (*cb)(const struct alloc_walk_entry *e, void *arg), void *arg)
{
    (void)cb;
    (void)arg;
    return -1;
}
int alloc_get_stats(struct alloc_stats *out)
{
    if (out) *out = (struct alloc_stats){0};
    return ALLOCS_ERR_NO_RUNTIME;
}
const struct allocator *alloc_register_allocator(const char *name)
{
    (void)name;
    return NULL;
}
int alloc_register_object(const struct allocator *a, const void *base, size_t size,
                          const void *site)
{
    (void)a;
    (void)base;
    (void)size;
    (void)site;
    return ALLOCS_ERR_NO_RUNTIME;
}
int alloc_unregister_object(const struct allocator *a, const void *base)
{
    (void)a;
    (void)base;
    return ALLOCS_ERR_NO_RUNTIME;
}
int alloc_runtime_present(void)
{
    return 0;
}
const struct uniqtype *uniqtype_lookup(const char *canonical_name)
{
    (void)canonical_name;
    return NULL;
}
