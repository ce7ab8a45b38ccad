/* sites_receiver: allocation sites typed from DWARF alone (`allocs typegen` on a plain
 * `gcc -g` build): the receiving local's pointee (single when the constant size is sizeof T,
 * else an array), a global receiver, a function returning the allocation, a store through a
 * pointer (the member's pointee); a `void *` receiver stays unknown. Run with argc == 1. */
#include "sites_common.h"
#include <stdlib.h>

struct point *gp;

__attribute__((noinline)) static struct node *make_node(void)
{
    return malloc(sizeof(struct node));
}

int main(int argc, char **argv)
{
    (void)argv;
    struct point *p = malloc(sizeof(struct point));
    sites_show("local", p);
    struct point *ps = malloc(argc * 4 * sizeof(struct point));
    sites_show("array", ps);
    gp = malloc(sizeof *gp);
    sites_show("global", gp);
    struct node *nd = make_node();
    sites_show("returned", nd);
    void *opaque = malloc(32);
    sites_show("void", opaque);
    nd->next = malloc(sizeof(struct node));
    sites_show("through_pointer", nd->next);
    free(opaque);
    free(p);
    free(ps);
    return 0;
}
