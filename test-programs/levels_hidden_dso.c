/* levels_hidden_dso: libraries glibc loads for itself (iconv's gconv modules, through its
 * internal dlopen, which the runtime's dlopen wrapper never sees). Each is asked about as soon
 * as it is loaded, one right after the other: the runtime must know each one's ELF levels at
 * once, however fast the queries come. Prints `probe hidden_N found=0|1 chain=...` per module.
 * Usage: levels_hidden_dso CHARSET... (names of gconv modules, e.g. EBCDIC-US IBM037). */
#define _GNU_SOURCE
#include <allocs.h>
#include <iconv.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct search {
    const char *name; /* "/EBCDIC-US.so" */
    uintptr_t text;   /* an address in its executable segment */
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct search *s = arg;
    const char *n = info->dlpi_name;
    size_t ln = n ? strlen(n) : 0, ls = strlen(s->name);
    if (ln < ls || strcmp(n + ln - ls, s->name) != 0) return 0;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            s->text = info->dlpi_addr + ph->p_vaddr + ph->p_memsz / 2;
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        iconv_t cd = iconv_open(argv[i], "UTF-8"); /* loads the module, if not loaded yet */
        char name[128];
        snprintf(name, sizeof name, "/%s.so", argv[i]);
        struct search s = {name, 0};
        dl_iterate_phdr(find_module, &s);
        char chain[256] = "-";
        if (s.text) {
            struct alloc_info info;
            alloc_describe((const void *)s.text, &info);
            chain[0] = 0;
            for (unsigned k = 0; k < info.depth; k++) {
                if (k) strcat(chain, ",");
                strncat(chain, info.chain[k].allocator->name, 40);
            }
        }
        printf("probe hidden_%d found=%d chain=%s\n", i, cd != (iconv_t)-1 && s.text != 0, chain);
        /* Left open: closing could unload the module before the next one is asked about. */
    }
    return 0;
}
