/* heap_real.c: the real allocator's functions and whether they are glibc's (heap_malloc.c's
 * start-up fills them in), and the next definition of any libc function. What every heap file
 * that calls past the runtime needs, in a file that needs none of them back. */
#define _GNU_SOURCE
#include "heap.h"

#include <dlfcn.h>
#include <errno.h>

struct heap_real heap_real;
bool heap_glibc;

void *heap_next_symbol(const char *name)
{
    int saved = errno;
    rt_self.heap_busy++;
    void *sym = dlsym(RTLD_NEXT, name);
    rt_self.heap_busy--;
    errno = saved;
    return sym;
}
