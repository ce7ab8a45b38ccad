/* typegen fixture: this unit sees struct opaque only as a declaration and typedef'd anonymous
 * structs from one header; typegen_opaque_b.c completes it. */
#include "typegen_anon1.h"

struct opaque;
struct opaque *op_a;
anon_pair pair_a;

struct opaque *get_b(void);
int use_b(anon_pair *p);

int main(void)
{
    op_a = get_b();
    pair_a.a = 1;
    return use_b(&pair_a) + (op_a != 0);
}
