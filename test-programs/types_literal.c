/* A string literal has no symbol and no metadata: the runtime still types it as char[n]. */
#include <allocs.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *s = "hello, literal";
    const char *inner = s + 3;
    printf("probe literal allocator=%s base_delta=%ld size=%zu strlen=%zu type=%s length=%u\n",
           alloc_get_allocator(inner)->name, (long)((const char *)alloc_get_base(inner) - s),
           alloc_get_size(inner), strlen(s), UNIQTYPE_NAME(alloc_get_type(inner)),
           (unsigned)UNIQTYPE_ARRAY_LENGTH(alloc_get_type(inner)));
    return 0;
}
