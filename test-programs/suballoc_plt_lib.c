/* suballoc_plt_lib: an exported suballocator in a shared library, called by suballoc_plt.c
 * through its PLT. Declared as LIBALLOCS_SUBALLOC_FNS="lib_pool_alloc(Z)p". */
#include <stddef.h>
#include <stdlib.h>

void *lib_pool_alloc(size_t size)
{
    static char *chunk;
    static size_t used;
    if (!chunk && !(chunk = malloc(1024))) return NULL;
    size = (size + 15) & ~(size_t)15;
    if (size > 1024 - used) return NULL;
    used += size;
    return chunk + used - size;
}
