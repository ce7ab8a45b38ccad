/* wrappers_auto: allocation wrappers that nobody declares, found by `allocs typegen` in the
 * code: a check-and-abort wrapper (xmalloc), calloc's and realloc's, a wrapper of a wrapper
 * (xzalloc -> xmalloc), one that puts a header before what it returns (hmalloc), one always
 * inlined into its callers (imalloc); and structs ending in a flexible array member (msg) and
 * in a length-1 array (rec1) allocated with room for n elements. Each allocation prints
 * `probe NAME line=L site=PC type=T size=N` (L its own source line), and the program stops in
 * stop_here() with every object reachable from the globals g_*; `probe main addr=` gives the
 * load bias. */
#include <allocs.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

struct point {
    double x, y;
};
struct node {
    int key;
    struct node *next;
};
struct msg {
    unsigned len;
    unsigned short kind;
    double vals[];
};
struct rec1 {
    int n;
    char name[1];
};
struct hdr {
    size_t size;
    size_t magic;
};

NOINLINE void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

NOINLINE void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (!p) abort();
    return p;
}

NOINLINE void *xzalloc(size_t n)
{
    void *p = xmalloc(n);
    memset(p, 0, n);
    return p;
}

NOINLINE void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (!p) abort();
    return p;
}

NOINLINE void *hmalloc(size_t n)
{
    struct hdr *h = malloc(sizeof *h + n);
    if (!h) return NULL;
    h->size = n;
    h->magic = 0xfeed;
    return h + 1;
}

static inline __attribute__((always_inline)) void *imalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    return p;
}

struct point *g_point, *g_hpoint, *g_ipoint;
struct node *g_list, *g_nodes;
struct msg *g_msg;
struct rec1 *g_rec;
int *g_ints;

static void probe(const char *name, const void *p, int line)
{
    const struct uniqtype *t = alloc_get_type(p);
    printf("probe %s line=%d site=%p type=%s size=%zu\n", name, line, alloc_get_site(p),
           t ? UNIQTYPE_NAME(t) : "-", alloc_get_size(p));
}

NOINLINE void stop_here(void)
{
    __asm__ volatile("" ::: "memory");
}

// each probe's __LINE__ must be the line of the allocation it follows
// clang-format off
int main(void)
{
    printf("probe main addr=%p\n", (void *)main);
    g_point = xmalloc(sizeof *g_point); probe("xmalloc", g_point, __LINE__);
    g_nodes = xcalloc(4, sizeof *g_nodes); probe("xcalloc", g_nodes, __LINE__);
    g_list = xzalloc(sizeof *g_list); probe("xzalloc", g_list, __LINE__);
    g_list->key = 7;
    g_list->next = &g_nodes[1];
    g_ints = xmalloc(4 * sizeof *g_ints);
    g_ints = xrealloc(g_ints, 10 * sizeof *g_ints); probe("xrealloc", g_ints, __LINE__);
    g_hpoint = hmalloc(sizeof *g_hpoint); probe("hmalloc", g_hpoint, __LINE__);
    g_ipoint = imalloc(sizeof *g_ipoint); probe("imalloc", g_ipoint, __LINE__);
    g_ipoint->x = 1.5;
    g_msg = xmalloc(sizeof(struct msg) + 5 * sizeof(double)); probe("msg", g_msg, __LINE__);
    g_msg->len = 5;
    for (int i = 0; i < 5; i++)
        g_msg->vals[i] = i * 0.5;
    g_rec = malloc(offsetof(struct rec1, name) + 6); probe("rec1", g_rec, __LINE__);
    g_rec->n = 6;
    memcpy(g_rec->name, "hello", 6);
    stop_here();
    puts("done");
    return 0;
}
// clang-format on
