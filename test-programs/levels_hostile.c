/* The runtime reads .symtab and section headers from an object's file on disk. Here the file
 * behind a loaded library is replaced (renamed over, as a package upgrade or a rebuild does)
 * before the first query, by: a truncated copy, random bytes, a copy with every section header
 * offset and size corrupted, and a different valid ELF file. Queries must still answer from the
 * loaded image (.dynsym) and never crash. Usage: levels_hostile DSO MODE */
#define _GNU_SOURCE
#include <allocs.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

static void spew(const char *path, const char *b, size_t n)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    rename(tmp, path); /* a new inode: the loaded mapping keeps the old file */
}

static void probe(const char *name, const void *p)
{
    struct alloc_info info;
    int err = alloc_describe(p, &info);
    printf("probe %s err=%d alloc=%s off=%ld sym=%s\n", name, err, info.allocator->name,
           (long)((const char *)p - (const char *)info.base), info.symbol ? info.symbol : "-");
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    size_t n;
    char *orig = slurp(argv[1], &n);
    char path[] = "/tmp/levels_hostile_XXXXXX";
    int fd = mkstemp(path);
    if (!orig || fd < 0) return 2;
    close(fd);
    spew(path, orig, n);
    void *h = dlopen(path, RTLD_NOW);
    if (!h) return 3;
    const char *mode = argv[2];
    char *bad = malloc(n);
    memcpy(bad, orig, n);
    if (strcmp(mode, "truncated") == 0) {
        spew(path, bad, n / 3);
    } else if (strcmp(mode, "random") == 0) {
        srand(7);
        for (size_t i = 0; i < n; i++)
            bad[i] = (char)rand();
        spew(path, bad, n);
    } else if (strcmp(mode, "sections") == 0) {
        Elf64_Ehdr *eh = (Elf64_Ehdr *)bad;
        for (unsigned i = 0; i < eh->e_shnum && eh->e_shoff + (i + 1) * sizeof(Elf64_Shdr) <= n;
             i++) {
            Elf64_Shdr *sh = (Elf64_Shdr *)(bad + eh->e_shoff) + i;
            sh->sh_offset = ~0ul - i;
            sh->sh_size = 1ul << 62;
            sh->sh_link = 0xffff;
            sh->sh_name = 0xfffffff0u;
        }
        eh->e_shstrndx = (uint16_t)(eh->e_shnum - 1);
        spew(path, bad, n);
    } else if (strcmp(mode, "other") == 0) {
        size_t m;
        char *other = slurp("/bin/true", &m);
        spew(path, other, m);
    }
    int *g = dlsym(h, "levels_dso_global");
    void *f = dlsym(h, "levels_dso_function");
    probe("global", g);
    probe("function", (const char *)f + 1);
    dlclose(h);
    unlink(path);
    printf("probe done ok=1\n");
    return 0;
}
