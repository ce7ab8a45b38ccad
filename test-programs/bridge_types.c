/* bridge_types.c: one address of every kind whose run-time type the gdb bridge must name
 * (type, uniqtype, path, pathType). Build it with `allocs cc` so metadata exists.
 *
 *   bridge_types stop   prints its probes, then calls types_stop() (set a breakpoint there)
 *   bridge_types abort  prints its probes, then abort()s (a kernel core file)
 *
 * Each probe line says what the bridge should answer (probes: bridge_common.h). */
#define _GNU_SOURCE
#include "bridge_common.h"

struct flags {
    int count;
    unsigned mode : 3;
    unsigned level : 9; /* bits 3..11: byte 5 holds only this one */
};
struct node {
    struct node *next;
    struct point where;
};

int grid[3][4];
void *opaque;           /* a void * to the heap points: alloc print shows the struct */
struct node *list_head; /* a typed referrer of the second node */

__attribute__((noinline)) void types_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int do_abort = argc > 1 && strcmp(argv[1], "abort") == 0;

    struct point *pts = malloc(3 * sizeof(struct point));
    for (int i = 0; i < 3; i++)
        pts[i] = (struct point){i, 10 * i, 100 * i};
    opaque = pts;
    probe("heap_interior", &pts[1].y, "base=%p", (void *)pts);

    struct outer *o = malloc(sizeof(struct outer));
    memset(o, 0, sizeof *o);
    o->tag = 7;
    strcpy(o->in.name, "inner");
    o->u.as_long = 42;
    probe("nested", &o->in.name[3], "base=%p", (void *)o);
    probe("union_member", &o->u.as_float, "base=%p", (void *)o);

    struct flags *fl = malloc(sizeof(struct flags));
    fl->mode = 5;
    fl->level = 17;
    fl->count = 3;
    probe("bitfield", (char *)fl + 5, "base=%p", (void *)fl);

    probe("global", &global_counts[2], "base=%p", (void *)global_counts);
    probe("grid", &grid[1][2], "base=%p", (void *)grid);

    long *hits = bump_hits();
    probe("static_local", &hits[1], "base=%p", (void *)hits);

    const char *lit = "a string literal for the bridge";
    probe("literal", lit + 4, "base=%p size=%zu", (const void *)lit, strlen(lit) + 1);

    probe("argv", &argv[1], "base=%p argc=%d", (void *)argv, argc);

    struct node *a = malloc(sizeof(struct node)), *b = malloc(sizeof(struct node));
    a->next = b;
    b->next = NULL;
    a->where = (struct point){1, 2, 3};
    b->where = (struct point){4, 5, 6};
    list_head = a;
    probe("node", &b->where.z, "base=%p referrer=%p", (void *)b, (void *)&a->next);

    struct point *arena = malloc(16 * sizeof(struct point));
    const struct allocator *pool = alloc_register_allocator("types_pool");
    int rc = alloc_register_object(pool, &arena[4], 2 * sizeof(struct point), NULL);
    probe("pool", &arena[5].y, "base=%p size=%zu rc=%d", (void *)&arena[4],
          2 * sizeof(struct point), rc);

    pthread_t t;
    if (start_worker(&t) != 0) return 1;
    printf("ready\n");
    if (do_abort) abort();
    types_stop();
    return finish_worker(t) != 0;
}
