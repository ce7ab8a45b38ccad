/* heap_wraplate: a DSO loaded with dlopen after start-up, with a declared wrapper
 * (late_xmalloc). The caller lives in the DSO too. */
#include <stdlib.h>

int late_calls;

__attribute__((noinline)) void *late_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    late_calls++;
    return p;
}

__attribute__((noinline)) void *late_caller(size_t n)
{
    void *p = late_xmalloc(n);
    late_calls++;
    return p;
}
