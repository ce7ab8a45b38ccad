/* sites_dso: a DSO with a declared allocation wrapper (dso_xmalloc(Z)p), called from the
 * executable (sites_sizeof.c) and from inside the DSO (dso_make_points). */
#include "sites_common.h"
#include <stdlib.h>

__attribute__((noinline)) void *dso_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    return p;
}

__attribute__((noinline)) void *dso_make_points(int n)
{
    struct point *ps = dso_xmalloc(n * sizeof(struct point));
    for (int i = 0; i < n; i++)
        ps[i].x = ps[i].y = i;
    return ps;
}
