/* types_dso: a library dlopen'd by types_probe; its own metadata (types_dso.so.allocsmeta). */
#include <stdlib.h>

struct point {
    int x, y;
};
struct dso_record {
    long id;
    struct point where;
    double weight;
};

struct dso_record dso_table[5];

void *dso_static(void)
{
    return &dso_table[1];
}

void *dso_last; /* stored after the call, so -O2 cannot make malloc a tail call (no site) */

void *dso_make(void)
{
    void *p = malloc(sizeof(struct point));
    dso_last = p;
    return p;
}
