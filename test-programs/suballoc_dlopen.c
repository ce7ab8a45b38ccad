/* suballoc_dlopen: dlopens the library given as argv[1] (suballoc_dso.c), makes an object with
 * its suballocator and prints what the C API says about it: `probe dso obj= line= alloc= size=
 * type= parent= site_off=` (site_off: the site's offset in the library, for addr2line). */
#define _GNU_SOURCE
#include <allocs.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    void *(*make)(void) = (void *(*)(void))dlsym(h, "dso_make");
    int *line = dlsym(h, "g_dso_line");
    if (!make || !line) return 1;
    char *obj = make();
    struct alloc_info info;
    int err = alloc_describe(obj + 8, &info);
    Dl_info dl;
    long site_off =
        info.site && dladdr(info.site, &dl) ? (char *)info.site - (char *)dl.dli_fbase : -1;
    printf("probe dso obj=%#lx line=%d err=%d alloc=%s base=%td size=%zu type=%s parent=%s "
           "site_off=%#lx\n",
           (unsigned long)(uintptr_t)obj, *line, err, info.allocator->name,
           (const char *)info.base - obj, info.size, info.type ? UNIQTYPE_NAME(info.type) : "-",
           info.depth >= 2 ? info.chain[info.depth - 2].allocator->name : "-", site_off);
    printf("done\n");
    return 0;
}
