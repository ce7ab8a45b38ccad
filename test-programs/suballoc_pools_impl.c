/* suballoc_pools_impl.c: the two suballocators of suballoc_pools.c, in their own translation
 * unit (as in a real program's pool module), so their calls stay calls at any -O level:
 * a bump allocator handing out 16-byte-aligned pieces of one malloc'd chunk, and a free list of
 * equal-sized slots carved out of another. Neither calls malloc per object. */
#include "suballoc_pools.h"

#include <stdlib.h>

void bump_init(struct bump *b, size_t cap)
{
    b->chunk = malloc(cap);
    b->used = 0;
    b->cap = b->chunk ? cap : 0;
}

void *bump_alloc(struct bump *b, size_t size)
{
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded < size || rounded > b->cap - b->used) return NULL;
    void *p = b->chunk + b->used;
    b->used += rounded;
    return p;
}

void fl_init(struct freelist *f, size_t slot, size_t n)
{
    f->slot = slot < sizeof(void *) ? sizeof(void *) : slot;
    f->chunk = malloc(f->slot * n);
    f->head = NULL;
    for (size_t i = n; f->chunk && i-- > 0;) {
        void **s = (void **)(f->chunk + i * f->slot);
        *s = f->head;
        f->head = s;
    }
}

void *fl_alloc(struct freelist *f, size_t size)
{
    if (size > f->slot || !f->head) return NULL;
    void **s = f->head;
    f->head = *s;
    return s;
}

void fl_free(struct freelist *f, void *p)
{
    if (!p) return;
    *(void **)p = f->head;
    f->head = p;
}
