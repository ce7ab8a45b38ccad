/* suballoc_dso: a library (loaded with dlopen by suballoc_dlopen.c) with its own suballocator,
 * hidden, so its calls inside the library are direct calls the runtime redirects when dlopen
 * loads the library's metadata. Declared as LIBALLOCS_SUBALLOC_FNS="dso_pool_alloc(Z)p". */
#include <stddef.h>
#include <stdlib.h>

struct dpoint {
    int x, y, z;
};

struct dpoint *g_dso_point;
int g_dso_line;

__attribute__((visibility("hidden"), noinline)) void *dso_pool_alloc(size_t size)
{
    static char *chunk;
    static size_t used;
    if (!chunk && !(chunk = malloc(1024))) return NULL;
    size = (size + 15) & ~(size_t)15;
    if (size > 1024 - used) return NULL;
    used += size;
    return chunk + used - size;
}

struct dpoint *dso_make(void)
{
    g_dso_line = __LINE__ + 1;
    g_dso_point = dso_pool_alloc(sizeof *g_dso_point);
    if (g_dso_point) g_dso_point->z = 3;
    return g_dso_point;
}
