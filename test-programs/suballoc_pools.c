/* suballoc_pools: typed structs carved out of malloc'd chunks by two suballocators nobody
 * registers by hand (suballoc_pools_impl.c), declared at run time:
 *   LIBALLOCS_SUBALLOC_FNS="bump_alloc(pZ)p fl_alloc(pZ)p"
 *   LIBALLOCS_SUBFREE_FNS="fl_free(pP)->fl_alloc"
 * Built with plain gcc -g (the stub library only for the probes). Each object prints
 * `probe NAME obj=ADDR line=L sizeof=S` (L the allocating call's line, S the program's own sizeof),
 * then what the C API says about an address inside it (`alloc= base= size= type= parent=
 * parent_size= site=`); `probe main addr=` gives the load bias. The program stops in stop_here()
 * with every object reachable from the globals g_*; with the argument "abort" it then aborts
 * (a kernel core). */
#include "suballoc_pools.h"

#include <allocs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct point {
    int x, y;
};
struct node {
    long key;
    struct point where;
    struct node *next;
    char name[12];
};

struct point *g_point;
struct node *g_bumped, *g_listed, *g_freed_then_reused;
struct point *g_points;
struct bump g_bump;
struct freelist g_list;

__attribute__((noinline)) void stop_here(void)
{
    __asm__ volatile("" ::: "memory");
}

static void probe(const char *name, int line, size_t size, const void *inside, const void *obj)
{
    struct alloc_info info;
    int err = alloc_describe(inside, &info);
    const char *parent = info.depth >= 2 ? info.chain[info.depth - 2].allocator->name : "-";
    printf(
        "probe %s obj=%#lx line=%d sizeof=%zu err=%d alloc=%s base=%td size=%zu type=%s parent=%s "
        "parent_size=%zu site=%#lx\n",
        name, (unsigned long)(uintptr_t)obj, line, size, err, info.allocator->name,
        (const char *)info.base - (const char *)obj, info.size,
        info.type ? UNIQTYPE_NAME(info.type) : "-", parent,
        info.depth >= 2 ? info.chain[info.depth - 2].size : 0, (unsigned long)(uintptr_t)info.site);
}

int main(int argc, char **argv)
{
    printf("probe main addr=%#lx\n", (unsigned long)(uintptr_t)main);
    bump_init(&g_bump, 4096);
    fl_init(&g_list, sizeof(struct node), 8);

    int l_point = __LINE__ + 1;
    g_point = bump_alloc(&g_bump, sizeof *g_point);
    g_point->x = 1;
    g_point->y = 2;
    int l_bumped = __LINE__ + 1;
    struct node *bumped = bump_alloc(&g_bump, sizeof(struct node));
    memset(bumped, 0, sizeof *bumped);
    g_bumped = bumped;
    int l_points = __LINE__ + 1;
    g_points = bump_alloc(&g_bump, 5 * sizeof(struct point));
    int l_listed = __LINE__ + 1;
    struct node *listed = fl_alloc(&g_list, sizeof *listed);
    memset(listed, 0, sizeof *listed);
    strcpy(listed->name, "listed");
    g_listed = listed;
    int l_dead = __LINE__ + 1;
    struct node *dead = fl_alloc(&g_list, sizeof *dead);
    fl_free(&g_list, dead);
    int l_again = __LINE__ + 1;
    struct node *again = fl_alloc(&g_list, sizeof *again);
    again->key = 42;
    g_freed_then_reused = again;

    probe("point", l_point, sizeof *g_point, &g_point->y, g_point);
    probe("bumped", l_bumped, sizeof *g_bumped, &g_bumped->where.y, g_bumped);
    probe("points", l_points, 5 * sizeof *g_points, &g_points[3].x, g_points);
    probe("listed", l_listed, sizeof *g_listed, g_listed->name + 4, g_listed);
    probe("again", l_again, sizeof *g_freed_then_reused, &g_freed_then_reused->next,
          g_freed_then_reused);
    printf("probe dead line=%d reused=%d\n", l_dead, dead == again);
    /* Between objects in the bump chunk: the chunk itself. */
    probe("gap", 0, 0, g_bump.chunk + 4000, g_bump.chunk);
    fflush(stdout);
    stop_here();
    if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
    printf("done\n");
    return 0;
}
