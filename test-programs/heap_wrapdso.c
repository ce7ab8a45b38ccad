/* heap_wrapdso: a DSO with a declared allocation wrapper (LIBALLOCS_ALLOC_FNS=dso_xmalloc(Z)p),
 * linked into heap_wrappers. */
#include <stdlib.h>

int dso_calls;

__attribute__((noinline)) void *dso_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    dso_calls++;
    return p;
}

/* A caller inside the DSO: the site is here, not in dso_xmalloc. */
__attribute__((noinline)) void *dso_caller(size_t n)
{
    void *p = dso_xmalloc(n);
    dso_calls++;
    return p;
}
