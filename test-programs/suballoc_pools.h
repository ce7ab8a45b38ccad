/* suballoc_pools.h: the suballocators of suballoc_pools.c (suballoc_pools_impl.c). */
#ifndef SUBALLOC_POOLS_H
#define SUBALLOC_POOLS_H
#include <stddef.h>

struct bump {
    char *chunk;
    size_t used, cap;
};
struct freelist {
    char *chunk;
    size_t slot;
    void *head;
};

void bump_init(struct bump *b, size_t cap);
void *bump_alloc(struct bump *b, size_t size);
void fl_init(struct freelist *f, size_t slot, size_t n);
void *fl_alloc(struct freelist *f, size_t size);
void fl_free(struct freelist *f, void *p);
#endif
