/* auxv.c: the start-up area the kernel builds at the top of the main stack: the argc word,
 * the argv, envp and auxv arrays, the strings they point to, and AT_RANDOM's 16 bytes. Each is
 * one "auxv" object with an exact base and size. They are recorded once, from the arguments
 * glibc passes to constructors: a snapshot, because programs rewrite argv and environ later
 * and the question is what lives at an address, not what argv points to now. */
#define _GNU_SOURCE
#include "allocators.h"
#include "meta.h"

#include <elf.h>
#include <string.h>

struct piece {
    uintptr_t base;
    size_t size;
};
static struct piece *pieces; /* sorted by base, immutable after init */
static uint32_t npieces, pieces_cap;

static void add(uintptr_t base, size_t size)
{
    if (!base || !size || npieces >= pieces_cap) return;
    /* Insertion sort: the kernel lays the area out in ascending order, so this is linear. */
    uint32_t i = npieces++;
    while (i > 0 && pieces[i - 1].base > base) {
        pieces[i] = pieces[i - 1];
        i--;
    }
    pieces[i] = (struct piece){base, size};
}

/* Within the main stack, whose top we know from /proc/self/maps, so reading is safe. */
static bool in_stack(uintptr_t p, size_t n)
{
    return p >= lv_main_stack_lo && p < lv_main_stack_hi && n <= lv_main_stack_hi - p;
}

static size_t string_size(uintptr_t s)
{
    if (!in_stack(s, 1)) return 0;
    size_t max = lv_main_stack_hi - s;
    const char *e = memchr((const char *)s, 0, max);
    return e ? (size_t)(e - (const char *)s) + 1 : 0;
}

/* The main stack's extent without reading /proc/self/maps: the kernel puts AT_EXECFN's string
 * just below the top of the stack (8 bytes of zeros follow it), and the stack may grow down
 * RLIMIT_STACK from there (256 MiB when unlimited). The walk to auxv is the one glibc has
 * already made over the same kernel-built arrays; the result is checked against our own stack
 * pointer (constructors run on the main thread). */
static void main_stack_bounds(char **argv, char **envp)
{
    char **p = envp;
    while (*p)
        p++;
    uintptr_t execfn = 0;
    for (const Elf64_auxv_t *av = (const Elf64_auxv_t *)(p + 1); av->a_type != AT_NULL; av++)
        if (av->a_type == AT_EXECFN) execfn = av->a_un.a_val;
    if (!execfn) return;
    uintptr_t top = (execfn + strlen((const char *)execfn) + 1 + 4095) & ~(uintptr_t)4095;
    uint64_t rl[2] = {8u << 20, 0};
    lv_syscall4(SYS_prlimit64, 0, 3 /* RLIMIT_STACK */, 0, rl);
    uint64_t limit = rl[0] < (128u << 10)   ? (128u << 10)
                     : rl[0] > (256u << 20) ? (256u << 20)
                                            : rl[0];
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (top <= (uintptr_t)argv || sp >= top || top - sp >= limit || top < limit) return;
    lv_main_stack_lo = top - limit;
    lv_main_stack_hi = top;
    struct allocs_big s = {lv_main_stack_lo,
                           lv_main_stack_hi,
                           -1,
                           ALLOCS_BIG_STACK,
                           ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE,
                           UINT32_MAX,
                           0,
                           0,
                           0};
    levels_write_begin();
    s.name = (uintptr_t)levels_intern("[stack]", 7);
    lv_stack_big = bigs_alloc(&s);
    levels_write_end();
}

void auxv_init(int argc, char **argv, char **envp)
{
    if (!argv || !envp || !__allocs_root.bigs) return;
    main_stack_bounds(argv, envp);
    uintptr_t a = (uintptr_t)argv;
    if (argc < 0 || !argv || !envp || !in_stack(a, ((size_t)argc + 1) * 8)) return;
    size_t nenv = 0;
    while (in_stack((uintptr_t)&envp[nenv], 8) && envp[nenv])
        nenv++;
    uintptr_t auxv = (uintptr_t)&envp[nenv + 1];
    size_t naux = 0;
    while (in_stack(auxv + naux * 16, 16) && ((Elf64_auxv_t *)auxv)[naux].a_type != AT_NULL)
        naux++;
    if (!in_stack(auxv + naux * 16, 16)) return;
    naux++; /* AT_NULL is part of the array */

    pieces_cap = (uint32_t)(argc + nenv + naux + 8);
    pieces = levels_alloc(pieces_cap * sizeof *pieces);
    if (!pieces) return;
    /* argv[-1] is the argc word unless ld.so was run explicitly and moved things around. */
    bool has_argc = in_stack(a - 8, 8) && *(long *)(a - 8) == argc;
    if (has_argc) add(a - 8, 8);
    add(a, ((size_t)argc + 1) * 8);
    add((uintptr_t)envp, (nenv + 1) * 8);
    add(auxv, naux * 16);
    for (int i = 0; i < argc; i++)
        add((uintptr_t)argv[i], string_size((uintptr_t)argv[i]));
    for (size_t i = 0; i < nenv; i++)
        add((uintptr_t)envp[i], string_size((uintptr_t)envp[i]));
    const Elf64_auxv_t *av = (const Elf64_auxv_t *)auxv;
    for (size_t i = 0; i < naux; i++) {
        uintptr_t v = av[i].a_un.a_val;
        if (av[i].a_type == AT_EXECFN || av[i].a_type == AT_PLATFORM ||
            av[i].a_type == AT_BASE_PLATFORM)
            add(v, string_size(v));
        else if (av[i].a_type == AT_RANDOM && in_stack(v, 16))
            add(v, 16);
    }
    uintptr_t hi = 0;
    for (uint32_t i = 0; i < npieces; i++)
        if (pieces[i].base + pieces[i].size > hi) hi = pieces[i].base + pieces[i].size;

    levels_write_begin();
    __allocs_root.argc = (uint64_t)argc;
    __allocs_root.argv = a;
    __allocs_root.envp = (uintptr_t)envp;
    __allocs_root.auxv = auxv;
    __allocs_root.auxv_lo = pieces[0].base;
    __allocs_root.auxv_hi = hi;
    struct allocs_big b = {pieces[0].base,
                           hi,
                           lv_stack_big,
                           ALLOCS_BIG_AUXV,
                           ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE,
                           UINT32_MAX,
                           0,
                           0,
                           0};
    lv_auxv_big = bigs_alloc(&b);
    bigs_relink();
    levels_write_end();
}

bool auxv_area(uintptr_t addr)
{
    return addr >= __allocs_root.auxv_lo && addr < __allocs_root.auxv_hi;
}

bool auxv_find(uintptr_t addr, uintptr_t *base, size_t *size)
{
    if (!npieces || !auxv_area(addr)) return false;
    uint32_t lo = 0, hi = npieces;
    while (lo < hi) { /* the last piece starting at or below addr */
        uint32_t mid = (lo + hi) / 2;
        if (pieces[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= pieces[lo - 1].base + pieces[lo - 1].size) return false;
    *base = pieces[lo - 1].base;
    *size = pieces[lo - 1].size;
    return true;
}

/* ---- the auxv allocator (allocators.h): as a leaf, one of the pieces above (argv, envp,
 * auxv, their strings); as a level, the whole area at the top of the main stack ---- */
static bool auxv_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    (void)how;
    if (!auxv_find(w->addr, &out->base, &out->size)) return false;
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_AUXV);
    return true;
}

static bool auxv_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    if (!auxv_area(w->addr)) return false;
    *lo = (uintptr_t)__allocs_root.auxv_lo;
    *hi = (uintptr_t)__allocs_root.auxv_hi;
    return true;
}

static const struct uniqtype *auxv_type(const struct rt_where *w, const struct rt_leaf *l)
{
    (void)w;
    return meta_type_of_auxv(l->base, l->size);
}

const struct allocs_allocator auxv_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_AUXV,
    .id = ALLOCS_ALLOCATOR_AUXV,
    .level = ALLOCS_LEVEL_OBJECT,
    .describe = auxv_describe,
    .extent = auxv_extent,
    .type = auxv_type,
};
