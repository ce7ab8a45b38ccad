/* types_probe: alloc_get_type and the uniqtype reflection API on static, stack, heap and auxv
 * addresses, and on a dlopen'd library's (argv[1], optional). Built with `allocs cc`, which
 * writes types_probe.allocsmeta with the allocation-site types of this file's malloc calls.
 * Prints `probe NAME key=value ...` lines (tests/runtime/types-meta.test.ts). */
#define _GNU_SOURCE /* clearenv */
#include <allocs.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum colour { RED = 1, GREEN = 2, BLUE = 40 };
struct point {
    int x, y;
};
struct shape {
    const char *name;
    struct point corners[3];
    enum colour colour;
    unsigned flag : 3, other : 5;
    struct shape *next;
};

struct shape global_shape = {"tri", {{0, 0}, {1, 0}, {0, 1}}, GREEN, 1, 2, NULL};
int global_ints[7];

static void show(const char *probe, const void *p)
{
    const struct uniqtype *t = alloc_get_type(p);
    printf("probe %s allocator=%s type=%s c=%s size=%llu kind=%d\n", probe,
           alloc_get_allocator(p)->name, UNIQTYPE_NAME(t), UNIQTYPE_C_NAME(t),
           (unsigned long long)UNIQTYPE_SIZE_IN_BYTES(t), (int)UNIQTYPE_KIND(t));
}

/* PROBE_FIRST_QUERY_THREADS=N: the process's first type query made by N threads at once (the
 * runtime builds the types at the first query: none may answer before they are all built). */
static pthread_barrier_t first_query_barrier;

static void *first_query(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&first_query_barrier);
    return (void *)alloc_get_type(&global_shape);
}

static int first_query_race(int n)
{
    pthread_t threads[16];
    if (n < 1 || n > 16) n = 16;
    pthread_barrier_init(&first_query_barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        pthread_create(&threads[i], NULL, first_query, NULL);
    int untyped = 0;
    for (int i = 0; i < n; i++) {
        void *t = NULL;
        pthread_join(threads[i], &t);
        untyped += t == NULL;
    }
    printf("probe first_query threads=%d untyped=%d\n", n, untyped);
    return 0;
}

static int helper(int a, char **b)
{
    return a + (b != NULL);
}

int main(int argc, char **argv)
{
    /* PROBE_CLEARENV: the environment is gone before the first type query, as in a program
     * that sanitises it (the runtime must load the metadata file it found at start-up). */
    if (getenv("PROBE_CLEARENV")) clearenv();
    if (getenv("PROBE_FIRST_QUERY_THREADS"))
        return first_query_race(atoi(getenv("PROBE_FIRST_QUERY_THREADS")));
    struct point local_pt = {3, 4};
    struct point *heap_pt = malloc(sizeof(struct point));
    int *heap_ints = malloc(10 * sizeof(int));
    char *heap_bytes = malloc(24);
    struct shape *heap_shapes = calloc(4, sizeof(struct shape));

    show("global", &global_shape);
    show("global_ints", &global_ints[2]);
    show("function", (const void *)main);
    show("helper", (const void *)helper);
    show("frame", &local_pt);
    show("heap_struct", heap_pt);
    show("heap_ints", heap_ints);
    show("heap_bytes", heap_bytes);
    show("heap_shapes", heap_shapes);
    show("argv", argv);
    show("argv0", argv[0]);

    /* PROBE_API_ONLY: only the API calls above (the corrupted-metadata tests: whatever loads,
     * the API must not crash; the reflection below trusts the types to be the expected ones). */
    if (getenv("PROBE_API_ONLY")) return 0;
    const struct uniqtype *s = alloc_get_type(&global_shape);
    if (UNIQTYPE_MEMBER_COUNT(s) != 6) {
        printf("probe reflection missing=1\n");
        return 0;
    }

    /* The frame's members: local_pt is one of them, at its place in the frame. */
    const struct uniqtype *f = alloc_get_type(&local_pt);
    const void *fbase = alloc_get_base(&local_pt);
    size_t fsize = alloc_get_size(&local_pt);
    for (unsigned i = 0; f && i < UNIQTYPE_MEMBER_COUNT(f); i++) {
        const struct uniqtype_member *m = UNIQTYPE_MEMBER(f, i);
        if (strcmp(m->name, "local_pt") != 0) continue;
        /* offsets count from CFA - size; the frame's CFA is base + its extent */
        uintptr_t at = (uintptr_t)fbase + fsize - f->size + m->offset;
        printf("probe frame_member name=%s type=%s matches=%d\n", m->name, UNIQTYPE_NAME(m->type),
               at == (uintptr_t)&local_pt);
    }

    /* Reflection on struct shape. */
    for (unsigned i = 0; i < UNIQTYPE_MEMBER_COUNT(s); i++) {
        const struct uniqtype_member *m = UNIQTYPE_MEMBER(s, i);
        printf("probe member_%s offset=%llu type=%s bit_size=%u bit_offset=%u\n", m->name,
               (unsigned long long)m->offset, UNIQTYPE_NAME(m->type), m->bit_size, m->bit_offset);
    }
    const struct uniqtype *corners = UNIQTYPE_MEMBER(s, 1)->type;
    printf("probe array element=%s count=%u\n", UNIQTYPE_NAME(UNIQTYPE_ARRAY_ELEMENT_TYPE(corners)),
           UNIQTYPE_ARRAY_LENGTH(corners));
    const struct uniqtype *next = UNIQTYPE_MEMBER(s, 5)->type;
    printf("probe pointer pointee=%s same=%d\n", UNIQTYPE_NAME(UNIQTYPE_POINTEE_TYPE(next)),
           UNIQTYPE_POINTEE_TYPE(next) == s);
    const struct uniqtype *e = UNIQTYPE_MEMBER(s, 2)->type;
    printf("probe enum name=%s count=%u", UNIQTYPE_NAME(e), UNIQTYPE_ENUMERATOR_COUNT(e));
    for (unsigned i = 0; i < UNIQTYPE_ENUMERATOR_COUNT(e); i++)
        printf(" %s=%lld", UNIQTYPE_ENUMERATOR(e, i)->name,
               (long long)UNIQTYPE_ENUMERATOR(e, i)->value);
    printf("\n");
    const struct uniqtype *fn = alloc_get_type((const void *)helper);
    printf("probe fun return=%s params=%u p0=%s p1=%s\n", UNIQTYPE_NAME(UNIQTYPE_RETURN_TYPE(fn)),
           UNIQTYPE_PARAM_COUNT(fn), UNIQTYPE_NAME(UNIQTYPE_PARAM(fn, 0)),
           UNIQTYPE_NAME(UNIQTYPE_PARAM(fn, 1)));
    printf("probe lookup point=%d int=%d missing=%d\n",
           uniqtype_lookup("point") == UNIQTYPE_ARRAY_ELEMENT_TYPE(corners),
           uniqtype_lookup("int$32") != NULL, uniqtype_lookup("no_such_type") == NULL);
    /* The same type through every route is the same object. */
    printf("probe unique heap_vs_static=%d\n",
           alloc_get_type(heap_pt) == UNIQTYPE_ARRAY_ELEMENT_TYPE(corners));

    if (argc > 1) {
        void *h = dlopen(argv[1], RTLD_NOW);
        if (!h) {
            printf("probe dso error=%s\n", dlerror());
            return 1;
        }
        void *(*get)(void) = (void *(*)(void))dlsym(h, "dso_static");
        void *(*make)(void) = (void *(*)(void))dlsym(h, "dso_make");
        show("dso_static", get());
        void *obj = make();
        show("dso_heap", obj);
        printf("probe dso_shared_point same=%d\n", alloc_get_type(obj) == alloc_get_type(heap_pt));
    }
    free(heap_pt);
    free(heap_ints);
    free(heap_bytes);
    free(heap_shapes);
    return 0;
}
