/* suballoc_plt: calls a library's suballocator (suballoc_plt_lib.c) through the PLT and prints
 * what the C API says about the object: `probe plt line= alloc= size= sizeof= type=`. */
#include <allocs.h>
#include <stddef.h>
#include <stdio.h>

struct trio {
    long a, b, c;
};
void *lib_pool_alloc(size_t size);

int main(void)
{
    int line = __LINE__ + 1;
    struct trio *t = lib_pool_alloc(sizeof *t);
    struct alloc_info info;
    int err = alloc_describe(&t->b, &info);
    printf("probe plt line=%d err=%d alloc=%s size=%zu sizeof=%zu type=%s\n", line, err,
           info.allocator->name, info.size, sizeof *t, info.type ? UNIQTYPE_NAME(info.type) : "-");
    return 0;
}
