/* Asks the runtime (allocs.h) about an object zero_setup_libtool.c allocated inside its library:
 * prints `lib_object type=NAME size=N`. */
#include <allocs.h>
#include <stdio.h>
#include <stdlib.h>

struct zs_lib_record;
struct zs_lib_record *zs_lib_make(int id);

int main(void)
{
    struct zs_lib_record *r = zs_lib_make(3);
    struct uniqtype *t = alloc_get_type(r);
    printf("lib_object type=%s size=%zu\n", UNIQTYPE_NAME(t), (size_t)UNIQTYPE_SIZE_IN_BYTES(t));
    free(r);
    return 0;
}
