/* sites_sizeof: liballocs-style "sizeofness" cases for allocation-site types from source
 * (`allocs cc`): char allocations, offsetof-sized, sizeof an expression, sizes through locals,
 * a flexible array member, sizeof(T) + n * sizeof(U), counts, casts and receivers, the
 * malloc family, and declared wrappers (LIBALLOCS_ALLOC_FNS="xmalloc(Z)p xcalloc(zZ)p
 * dso_xmalloc(Z)p") in the executable and in a DSO (sites_dso.c). Run with argc == 1. */
#include "sites_common.h"
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void *dso_xmalloc(size_t n);
void *dso_make_points(int n);

__attribute__((noinline)) void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    return p;
}

__attribute__((noinline)) void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) abort();
    return p;
}

int main(int argc, char **argv)
{
    (void)argv;
    char *c42 = malloc(42);
    char *c42s = malloc(42 * sizeof(char));
    struct msg *m = calloc(offsetof(struct msg, data) + 10, 1);
    long x = 0;
    void *xs = malloc(argc * sizeof x);
    size_t n = sizeof(struct point) * 3;
    void *pts = malloc(n);
    size_t one = sizeof(struct point);
    void *pt1 = malloc(one);
    size_t k = 4;
    k *= sizeof(struct hdr);
    void *hdrs = malloc(k);
    struct hdr *h = malloc(sizeof(struct hdr) + 4 * sizeof(int));
    int arr[10] = {0};
    void *counted = malloc(sizeof(arr) / sizeof(arr[0]));
    void *whole = malloc(sizeof arr);
    struct point *cast = (struct point *)malloc(16);
    anon_t *an = realloc(NULL, sizeof(anon_t));
    void *al = memalign(64, 2 * sizeof(struct point));
    void *pm = NULL;
    if (posix_memalign(&pm, 64, sizeof(struct hdr)) != 0) return 1;
    double *dv = calloc(7, sizeof *dv);
    void *w = xmalloc(5 * sizeof(struct point));
    void *wc = xcalloc(3, sizeof(anon_t));
    void *dw = dso_xmalloc(sizeof(struct hdr));
    void *dp = dso_make_points(argc + 5);
    char *dup = strdup("hello");

    sites_show("c42", c42);
    sites_show("c42s", c42s);
    sites_show("offsetof", m);
    sites_show("sizeof_expr", xs);
    sites_show("local", pts);
    sites_show("local_one", pt1);
    sites_show("compound", hdrs);
    sites_show("trailing", h);
    sites_show("count", counted);
    sites_show("sizeof_array", whole);
    sites_show("cast", cast);
    sites_show("realloc", an);
    sites_show("memalign", al);
    sites_show("posix_memalign", pm);
    sites_show("calloc_expr", dv);
    sites_show("wrapper", w);
    sites_show("wrapper_calloc", wc);
    sites_show("dso_wrapper", dw);
    sites_show("dso_inside", dp);
    sites_show("strdup", dup);
    printf("done %d\n", (int)(x + arr[0] * 0));
    return 0;
}
