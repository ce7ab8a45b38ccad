/* A library installed libtool's way for tests/cli/zero-setup.test.ts: built as
 * .libs/libzsl.so.0.8.6 (its metadata next to it), loaded as libzsl.so.0, a symlink, or as a copy
 * installed elsewhere (its metadata then found by build-id in the cache). */
#include <stdlib.h>

struct zs_lib_record {
    int id;
    char name[20];
    struct zs_lib_record *parent;
};

struct zs_lib_record *zs_lib_make(int id)
{
    struct zs_lib_record *r = malloc(sizeof(struct zs_lib_record));
    if (r) {
        r->id = id;
        r->name[0] = 0;
        r->parent = NULL;
    }
    return r;
}
