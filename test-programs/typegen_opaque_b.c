/* typegen fixture: completes struct opaque; includes a second header that repeats the
 * anonymous typedef'd struct of typegen_anon1.h. */
#include "typegen_anon2.h"

struct opaque {
    int secret;
    char tag[8];
};

static struct opaque the_one = {7, "x"};
struct opaque *op_b;
anon_pair pair_b;

struct opaque *get_b(void)
{
    op_b = &the_one;
    return op_b;
}

int use_b(anon_pair *p)
{
    return p->a + the_one.secret + pair_b.a;
}
