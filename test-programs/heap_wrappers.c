/* heap_wrappers: allocation wrappers declared with LIBALLOCS_ALLOC_FNS. A chunk allocated
 * through a wrapper has the wrapper's caller as its site, whether the wrapper is in the
 * executable, in a linked DSO or in a DSO loaded later with dlopen (argv[1]), and through a
 * chain of wrappers (xcalloc -> xmalloc). Prints `probe NAME site=<site - caller> size=...`.
 * A plain malloc caller is the control. */
#include <allocs.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

int calls; /* work after each call keeps -O2 from turning the callers into tail calls */

NOINLINE void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    calls++;
    return p;
}
NOINLINE void *xcalloc(size_t a, size_t b)
{
    void *p = xmalloc(a * b);
    memset(p, 0, a * b);
    calls++;
    return p;
}
NOINLINE void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) abort();
    calls++;
    return q;
}
NOINLINE void xfree(void *p)
{
    free(p);
}

void *dso_xmalloc(size_t n);
void *dso_caller(size_t n);

NOINLINE void *call_xmalloc(size_t n)
{
    void *p = xmalloc(n);
    calls++;
    return p;
}
NOINLINE void *call_xcalloc(size_t a, size_t b)
{
    void *p = xcalloc(a, b);
    calls++;
    return p;
}
NOINLINE void *call_xrealloc(void *p, size_t n)
{
    void *q = xrealloc(p, n);
    calls++;
    return q;
}
NOINLINE void *call_dso_xmalloc(size_t n)
{
    void *p = dso_xmalloc(n);
    calls++;
    return p;
}
NOINLINE void *call_malloc(size_t n)
{
    void *p = malloc(n);
    calls++;
    return p;
}

static void probe(const char *name, const void *p, const void *fn, size_t size)
{
    const char *site = alloc_get_site(p);
    printf("probe %s site=%ld size_ok=%d\n", name, site ? (long)(site - (const char *)fn) : -1L,
           alloc_get_size(p) == size);
}

int main(int argc, char **argv)
{
    void *a = call_xmalloc(24);
    probe("exe_xmalloc", a, (void *)call_xmalloc, 24);
    void *b = call_xcalloc(4, 10);
    probe("exe_xcalloc_chain", b, (void *)call_xcalloc, 40);
    void *c = call_xrealloc(call_malloc(8), 4000);
    probe("exe_xrealloc", c, (void *)call_xrealloc, 4000);
    void *d = call_dso_xmalloc(48);
    probe("dso_wrapper_exe_caller", d, (void *)call_dso_xmalloc, 48);
    void *e = dso_caller(56);
    probe("dso_wrapper_dso_caller", e, dlsym(RTLD_DEFAULT, "dso_caller"), 56);
    void *f = call_malloc(64);
    probe("control", f, (void *)call_malloc, 64);
    if (argc > 1) {
        void *h = dlopen(argv[1], RTLD_NOW);
        void *(*late)(size_t) = h ? (void *(*)(size_t))dlsym(h, "late_caller") : NULL;
        if (late) {
            void *g = late(72);
            probe("late_dso", g, (void *)late, 72);
            free(g);
        } else {
            printf("probe late_dso error=%s\n", dlerror());
        }
    }
    xfree(a);
    xfree(b);
    xfree(c);
    xfree(d);
    xfree(e);
    xfree(f);
    printf("done\n");
    return 0;
}
