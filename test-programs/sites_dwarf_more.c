/* sites_dwarf_more: allocation sites the DWARF-only route (`allocs typegen` on a plain `gcc -g`
 * / `clang -g` build) types beyond a receiving local: results stored through a pointer (a member
 * of a struct reached through a parameter or a local, an out parameter, an array element), tail
 * calls (`return malloc(...)` compiled as a jump, whose site is the caller's call), undeclared
 * wrappers returning void * (and a wrapper of one), a size set up away from the call (only the
 * DW_TAG_call_site parameters or the statement's decoded code show it), and a function split
 * into a hot and a `.cold` part. Each site's line carries a `site:NAME` comment the test finds
 * it by. Run with argc == 1. */
#include "sites_common.h"
#include <stdlib.h>

struct list {
    struct list *next;
    struct point *pts;
    int *buf;
    struct hdr *h;
};

#define NOINLINE __attribute__((noinline))

NOINLINE static void add_next(struct list *s)
{
    s->next = malloc(sizeof *s->next); /* site:member */
}

NOINLINE static void fill_buf(struct list *s, int n)
{
    s->buf = calloc(n, sizeof(int)); /* site:member_array */
}

NOINLINE static void attach_hdr(struct list *s)
{
    s->h = malloc(sizeof(struct hdr)); /* site:member_offset */
}

NOINLINE static void make_out(struct hdr **out)
{
    *out = malloc(sizeof(struct hdr)); /* site:out_param */
}

NOINLINE static void fill_array(struct point **a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = malloc(sizeof(struct point)); /* site:element */
}

/* Optimised, `return malloc(...)` is `jmp malloc`: the runtime sees main's call as the site. */
NOINLINE static struct node *tail_node(void)
{
    return malloc(sizeof(struct node)); /* site:tail_inside */
}

/* An undeclared wrapper: its callers are the sites, typed by what receives the result (a tail
 * call when optimised, a returned result when not: typegen finds both). */
NOINLINE void *my_alloc(size_t n)
{
    return malloc(n); /* site:wrapper_inside */
}

/* A wrapper of the wrapper: optimised, a jump to a jump; its callers are sites too. */
NOINLINE void *my_alloc2(size_t n)
{
    return my_alloc(n);
}

/* realloc with a computed size, its result used after the call (no tail call), then returned:
 * a wrapper too, whose caller is the site. */
NOINLINE static struct point *grow(struct point *old, int twice)
{
    struct point *r = realloc(old, twice ? 2 * sizeof *r : sizeof *r); /* site:grow */
    if (r) r->x = twice;
    return r;
}

NOINLINE __attribute__((cold)) static void cold_report(int flag)
{
    printf("cold %d\n", flag);
}

/* Optimised, the unlikely branch goes to a `.cold` part far from the rest (DW_AT_ranges).
 * It returns what it allocated: its caller is the site. */
NOINLINE static struct hdr *split(int flag)
{
    if (__builtin_expect(flag == 42, 0)) cold_report(flag);
    struct hdr *h = malloc(sizeof *h); /* site:split */
    h->n = flag;
    return h;
}

int main(int argc, char **argv)
{
    (void)argv;
    struct list *l = malloc(sizeof(struct list)); /* site:local */
    add_next(l);
    sites_show("member", l->next);
    fill_buf(l, argc * 5);
    sites_show("member_array", l->buf);
    attach_hdr(l);
    sites_show("member_offset", l->h);
    l->pts = malloc(3 * sizeof(struct point)); /* site:local_member */
    sites_show("local_member", l->pts);
    sites_show("local", l);
    struct hdr *h = NULL;
    make_out(&h);
    sites_show("out_param", h);
    struct point *arr[2];
    fill_array(arr, 2);
    sites_show("element", arr[1]);
    struct node *nd = tail_node(); /* site:tail */
    sites_show("tail", nd);
    struct point *q = my_alloc(sizeof *q); /* site:wrapper */
    sites_show("wrapper", q);
    struct point *g = malloc(sizeof *g); /* site:grow_first */
    g->x = 0;
    g = grow(g, argc); /* site:grow_caller */
    sites_show("grow", g);
    struct hdr *h2 = my_alloc2(sizeof *h2); /* site:wrapper2 */
    sites_show("wrapper2", h2);
    struct hdr *hs = split(argc); /* site:split_caller */
    sites_show("split", hs);
    free(hs);
    free(h2);
    free(g);
    free(q);
    free(nd);
    free(arr[0]);
    free(arr[1]);
    free(h);
    free(l->pts);
    free(l->h);
    free(l->buf);
    free(l->next);
    free(l);
    return 0;
}
