/* leaks.c: the typed leak check at exit (`allocs run --leaks PROG`, or ALLOCS_LEAKS=1 or
 * ALLOCS_LEAKS=exit:N in the environment), with no debugger and no recompile.
 *
 * From the runtime's destructor (after the program's own atexit handlers and destructors), it
 * marks every live chunk reachable from the roots: the writable segments of every loaded object
 * (the runtime's own excepted) and the program's writable mmaps, the exiting thread's stack and
 * registers and its thread-local storage, and the other threads' stacks from the runtime's thread
 * records. Pointers are followed precisely inside chunks whose site has a run-time type (only its
 * pointer members, over the chunk's live length for an array site) and conservatively elsewhere
 * (every aligned word). The chunks left are divided as memcheck divides them: definitely lost (no
 * leaked chunk points to them) and indirectly lost (reachable from those), a cycle's first chunk
 * by address counting as definitely lost. The report goes to stderr, grouped by site and type.
 *
 * It never mallocs (its memory comes from rt_map) and never writes to stdout; reads outside the
 * heap go through lv_safe_read, so an unmapped page is skipped, not a crash. With exit:N and a
 * leak found, stdio is flushed and the process exits with N; otherwise the exit status is kept.
 * The report itself (the settings, the groups on stderr) is leaks_report.c's.
 * Other threads still running may change the heap under the walk: their answers are as
 * approximate as the moment (the same holds for LeakSanitizer). */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"
#include "heap.h"
#include "levels.h"
#include "meta.h"
#include "leaks.h"

#define LK_MAX_OFFSETS 64u         /* pointer members of one site's type followed precisely */
#define LK_DIRECT_READ (64u << 10) /* larger chunks are read with lv_safe_read */

enum {
    LK_REACHED = 1,   /* a root reaches it */
    LK_TYPED = 2,     /* ... along typed pointers only */
    LK_POOL = 4,      /* it hosts pool objects: scanned conservatively */
    LK_DEFINITE = 8,  /* definitely lost */
    LK_INDIRECT = 16, /* indirectly lost */
    LK_POINTED = 32,  /* a lost chunk points to it */
    LK_FRONTIER = 64  /* reached in the typed phase, untyped: followed in the second */
};

struct lk_chunk {
    uintptr_t base, end; /* [base, end): the part a pointer can point into */
    uint64_t size;       /* requested */
    uint32_t site;
    uint32_t state;
};

struct lk_layout {
    uint8_t known, precise, repeat, noffsets;
    uint32_t stride;
    uint64_t type_size;
    const struct uniqtype *type;
    uint32_t offsets[LK_MAX_OFFSETS];
};

static struct {
    struct lk_chunk *c;
    size_t n, cap;
    uint32_t *stack;
    size_t top;
    struct lk_layout *layouts;
    uint32_t nsites;
    uintptr_t lo, hi; /* the heap's extent */
    int phase;        /* 1: typed pointers only; 2: every pointer */
    bool careful;     /* other threads live: chunks are copied with lv_safe_read into copy */
    uintptr_t *copy;  /* LK_DIRECT_READ bytes */
} lk;

static int count_cb(const struct rt_chunk *c, void *arg)
{
    (void)c;
    ++*(size_t *)arg;
    return 0;
}

static int fill_cb(const struct rt_chunk *c, void *arg)
{
    (void)arg;
    if (lk.n >= lk.cap) return 1;
    lk.c[lk.n++] = (struct lk_chunk){c->base, c->base + c->usable - ALLOCS_TRAILER_BYTES, c->size,
                                     c->site_id, c->has_pool_objects ? LK_POOL : 0};
    return 0;
}

/* The chunk holding v, or -1. */
static long lk_find(uintptr_t v)
{
    if (v < lk.lo || v >= lk.hi) return -1;
    size_t a = 0, b = lk.n; /* the last chunk with base <= v */
    while (b - a > 1) {
        size_t m = a + (b - a) / 2;
        if (lk.c[m].base <= v)
            a = m;
        else
            b = m;
    }
    return lk.c[a].base <= v && v < lk.c[a].end ? (long)a : -1;
}

/* ---- where a site's pointers are ---- */
static bool add_offsets(struct lk_layout *l, const struct uniqtype *t, uint64_t at, int depth)
{
    t = meta_resolve(t);
    if (!t || depth > 16) return false;
    switch (t->kind) {
    case ALLOCS_KIND_POINTER:
        if (at & 7 || l->noffsets >= LK_MAX_OFFSETS) return false;
        l->offsets[l->noffsets++] = (uint32_t)at;
        return true;
    case ALLOCS_KIND_STRUCT:
    case ALLOCS_KIND_UNION:
        if (!t->members && t->size) return false;
        for (uint32_t i = 0; i < t->count; i++)
            if (!t->members[i].bit_size &&
                !add_offsets(l, t->members[i].type, at + t->members[i].offset, depth + 1))
                return false;
        return true;
    case ALLOCS_KIND_ARRAY: {
        const struct uniqtype *el = meta_resolve(t->related);
        if (!el || !el->size) return false;
        if (el->kind == ALLOCS_KIND_BASE && el->size == 1) return false; /* a byte buffer */
        for (uint32_t i = 0; i < t->count; i++) {
            uint8_t before = l->noffsets;
            if (!add_offsets(l, el, at + i * el->size, depth + 1)) return false;
            if (l->noffsets == before) break; /* no pointers in the element type */
        }
        return true;
    }
    case ALLOCS_KIND_VOID:
        return false;
    default:
        return true;
    }
}

static struct lk_layout *layout_of(uint32_t site)
{
    if (!lk.layouts || site == 0 || site >= lk.nsites) return NULL;
    struct lk_layout *l = &lk.layouts[site];
    if (l->known) return l->precise ? l : NULL;
    l->known = 1;
    const struct uniqtype *t = meta_type_of_chunk(site, heap_site_pc(site), 0);
    t = meta_resolve(t);
    if (!t) return NULL;
    l->type = t;
    if (t->kind == ALLOCS_KIND_ARRAY && t->count == 0) {
        const struct uniqtype *el = meta_resolve(t->related);
        if (!el || !el->size || el->size & 7 || (el->kind == ALLOCS_KIND_BASE && el->size == 1))
            return NULL;
        l->repeat = 1;
        l->stride = (uint32_t)el->size;
        t = el;
    }
    l->type_size = t->size;
    l->precise = add_offsets(l, t, 0, 0);
    return l->precise ? l : NULL;
}

/* An array site's chunk must hold whole elements, a single object's at least the type: a header
 * with a flexible array member taken for an array of headers, or a type too big for the chunk,
 * is scanned conservatively rather than at wrong offsets. */
static bool layout_fits(const struct lk_layout *l, uint64_t size)
{
    return l->repeat ? l->stride && size % l->stride == 0 : size >= l->type_size;
}

/* ---- marking ---- */
static void lk_reach(long j, bool typed)
{
    if (j < 0) return;
    struct lk_chunk *c = &lk.c[j];
    if (c->state & LK_REACHED) return;
    c->state |= LK_REACHED | (typed ? LK_TYPED : 0);
    lk.stack[lk.top++] = (uint32_t)j;
}

static void scan_words(const uintptr_t *w, size_t nwords, long self, void (*hit)(long, long))
{
    for (size_t k = 0; k < nwords; k++)
        if (w[k] >= lk.lo && w[k] < lk.hi) {
            long j = lk_find(w[k]);
            if (j >= 0 && j != self) hit(self, j);
        }
}

/* Calls hit(i, j) for every pointer of chunk i into chunk j (precisely where typed). */
static void chunk_pointers(long i, void (*hit)(long, long))
{
    struct lk_chunk *c = &lk.c[i];
    size_t nwords = c->size / 8;
    uintptr_t buf[512];
    const uintptr_t *w = (const uintptr_t *)c->base;
    /* A big chunk may be an mmap another thread unmaps: read in blocks through lv_safe_read,
     * untyped. While other threads run, any chunk may be freed and its arena's heap shrunk under
     * the walk: small chunks are copied through lv_safe_read first (a chunk gone is skipped). */
    if (c->size > LK_DIRECT_READ) {
        for (size_t at = 0; at < nwords; at += 512) {
            size_t k = nwords - at < 512 ? nwords - at : 512;
            if (lv_safe_read(buf, c->base + 8 * at, 8 * k)) scan_words(buf, k, i, hit);
        }
        return;
    }
    if (lk.careful) {
        if (!lv_safe_read(lk.copy, c->base, nwords * 8)) return;
        w = lk.copy;
    }
    struct lk_layout *l = (c->state & LK_POOL) ? NULL : layout_of(c->site);
    if (l && !layout_fits(l, c->size)) l = NULL;
    if (!l) {
        scan_words(w, nwords, i, hit);
        return;
    }
    size_t stride = l->repeat ? l->stride / 8 : nwords + 1;
    for (size_t e = 0; e < nwords; e += stride)
        for (unsigned k = 0; k < l->noffsets; k++) {
            size_t at = e + l->offsets[k] / 8;
            if (at < nwords) scan_words(&w[at], 1, i, hit);
        }
    if (!l->repeat && (l->type_size + 7) / 8 < nwords) /* past the type: untyped */
        scan_words(&w[(l->type_size + 7) / 8], nwords - (l->type_size + 7) / 8, i, hit);
}

static bool chunk_is_typed(long i)
{
    const struct lk_layout *l = (lk.c[i].state & LK_POOL) ? NULL : layout_of(lk.c[i].site);
    return l && lk.c[i].size <= LK_DIRECT_READ && layout_fits(l, lk.c[i].size);
}

static void reach_hit(long i, long j)
{
    (void)i;
    lk_reach(j, lk.phase == 1);
}

static void root_hit(long i, long j)
{
    (void)i;
    lk_reach(j, true);
}

static void scan_root(uintptr_t lo, uintptr_t hi)
{
    uintptr_t buf[512];
    lo &= ~(uintptr_t)7;
    for (uintptr_t at = lo; at < hi; at += sizeof buf) {
        size_t n = hi - at < sizeof buf ? hi - at : sizeof buf;
        if (lv_safe_read(buf, at, n & ~(size_t)7)) scan_words(buf, n / 8, -1, root_hit);
    }
}

static bool holds_chunk(uintptr_t lo, uintptr_t hi)
{
    long j = lk_find(lo);
    if (j >= 0) return true;
    size_t a = 0, b = lk.n;
    while (a < b) { /* the first chunk with base >= lo */
        size_t m = a + (b - a) / 2;
        if (lk.c[m].base < lo)
            a = m + 1;
        else
            b = m;
    }
    return a < lk.n && lk.c[a].base < hi;
}

static int tls_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_TLS && info->dlpi_tls_data)
            scan_root((uintptr_t)info->dlpi_tls_data,
                      (uintptr_t)info->dlpi_tls_data + info->dlpi_phdr[i].p_memsz);
    return 0;
}

__attribute__((noinline)) static void scan_roots(void)
{
    struct allocs_root *r = &__allocs_root;
    const struct allocs_object *objs = (const struct allocs_object *)(uintptr_t)r->objects;
    uint32_t self_obj = UINT32_MAX;
    for (uint32_t i = 0; objs && i < r->nobjects; i++)
        if (objs[i].lo <= (uintptr_t)r && (uintptr_t)r < objs[i].hi) self_obj = i;
    const struct allocs_big *bigs = (const struct allocs_big *)(uintptr_t)r->bigs;
    for (uint32_t i = 0; bigs && i < r->nbigs; i++) {
        struct allocs_big b;
        if (!lv_safe_read(&b, (uintptr_t)&bigs[i], sizeof b) || !(b.flags & ALLOCS_BIG_F_WRITE))
            continue;
        if ((b.kind == ALLOCS_BIG_ELF_SEGMENT && b.object != self_obj) ||
            (b.kind == ALLOCS_BIG_MAPPING && (b.flags & ALLOCS_BIG_F_USER_MMAP) &&
             !holds_chunk(b.begin, b.end)))
            scan_root(b.begin, b.end);
    }
    /* This thread: its callee-saved registers spilled into this frame, then its stack. */
    uintptr_t regs[6];
    __asm__ volatile("mov %%rbx, 0(%0)\n\tmov %%rbp, 8(%0)\n\tmov %%r12, 16(%0)\n\t"
                     "mov %%r13, 24(%0)\n\tmov %%r14, 32(%0)\n\tmov %%r15, 40(%0)"
                     :
                     : "r"(regs)
                     : "memory");
    scan_words(regs, 6, -1, root_hit);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0), lo, hi;
    uint32_t tid = 0;
    bool me = false;
    if (threads_find_stack(sp, &lo, &hi, &tid, &me)) scan_root(sp, hi);
    dl_iterate_phdr(tls_cb, NULL);
    const struct allocs_thread *th = (const struct allocs_thread *)(uintptr_t)r->threads;
    long self_tid = syscall(SYS_gettid);
    for (uint32_t i = 0; th && i < r->nthreads; i++) {
        struct allocs_thread t;
        if (!lv_safe_read(&t, (uintptr_t)&th[i], sizeof t) || !(t.flags & ALLOCS_THREAD_F_LIVE) ||
            t.tid == (uint32_t)self_tid || t.stack_hi <= t.stack_lo ||
            t.stack_hi - t.stack_lo > (64u << 20))
            continue;
        scan_root(t.stack_lo, t.stack_hi);
    }
}

static void drain(void)
{
    while (lk.top) {
        long i = lk.stack[--lk.top];
        chunk_pointers(i, reach_hit);
    }
}

/* ---- dividing what is lost ---- */
static void pointed_hit(long i, long j)
{
    if (!(lk.c[j].state & LK_REACHED) && j != i) lk.c[j].state |= LK_POINTED;
}

static void indirect_hit(long i, long j)
{
    (void)i;
    struct lk_chunk *c = &lk.c[j];
    if (!(c->state & (LK_REACHED | LK_DEFINITE | LK_INDIRECT))) {
        c->state |= LK_INDIRECT;
        lk.stack[lk.top++] = (uint32_t)j;
    }
}

static void lose_from(size_t h)
{
    lk.c[h].state |= LK_DEFINITE;
    lk.stack[lk.top++] = (uint32_t)h;
    while (lk.top) {
        long i = lk.stack[--lk.top];
        chunk_pointers(i, indirect_hit);
    }
}

static bool other_threads_live(void)
{
    const struct allocs_thread *th = (const struct allocs_thread *)(uintptr_t)__allocs_root.threads;
    long self_tid = syscall(SYS_gettid);
    for (uint32_t i = 0; th && i < __allocs_root.nthreads; i++) {
        struct allocs_thread t;
        if (lv_safe_read(&t, (uintptr_t)&th[i], sizeof t) && (t.flags & ALLOCS_THREAD_F_LIVE) &&
            t.tid != (uint32_t)self_tid)
            return true;
    }
    return false;
}

__attribute__((destructor)) static void leaks_at_exit(void)
{
    int status = leaks_exit_status();
    if (status < 0 || !rt_initialised() || !(__allocs_root.flags & ALLOCS_ROOT_F_GLIBC_MALLOC))
        return;
    size_t n = 0;
    heap_walk(count_cb, &n);
    lk.cap = n + 4096;
    lk.nsites = __allocs_root.nsites;
    size_t bytes = lk.cap * (sizeof *lk.c + sizeof *lk.stack);
    size_t groups_bytes = 2 * (size_t)lk.nsites * sizeof(struct lk_group);
    size_t layout_bytes = (size_t)lk.nsites * sizeof(struct lk_layout) + LK_DIRECT_READ;
    char *mem = rt_map(bytes + groups_bytes + layout_bytes);
    if (!mem) {
        rt_warn("leak check: no memory for %zu chunks", n);
        return;
    }
    lk.c = (struct lk_chunk *)mem;
    lk.stack = (uint32_t *)(mem + lk.cap * sizeof *lk.c);
    struct lk_group *definite = (struct lk_group *)(mem + bytes);
    struct lk_group *indirect = definite + lk.nsites;
    lk.layouts = (struct lk_layout *)(mem + bytes + groups_bytes);
    lk.copy = (uintptr_t *)(mem + bytes + groups_bytes + layout_bytes - LK_DIRECT_READ);
    heap_walk(fill_cb, NULL);
    for (size_t i = 1; i < lk.n; i++) /* the walk is in address order; make sure */
        if (lk.c[i].base < lk.c[i - 1].base) {
            rt_warn("leak check: the heap walk was not in address order; no report");
            rt_unmap(mem, bytes + groups_bytes + layout_bytes);
            return;
        }
    if (lk.n) lk.lo = lk.c[0].base, lk.hi = lk.c[lk.n - 1].end;
    lk.careful = other_threads_live();
    lk.phase = 1;
    scan_roots();
    while (lk.top) { /* phase 1 follows typed chunks only; the untyped ones wait */
        long i = lk.stack[--lk.top];
        if (chunk_is_typed(i))
            chunk_pointers(i, reach_hit);
        else
            lk.c[i].state |= LK_FRONTIER;
    }
    lk.phase = 2;
    for (size_t i = 0; i < lk.n; i++)
        if (lk.c[i].state & (LK_FRONTIER)) lk.stack[lk.top++] = (uint32_t)i;
    drain();
    for (size_t i = 0; i < lk.n; i++)
        if (!(lk.c[i].state & LK_REACHED)) chunk_pointers((long)i, pointed_hit);
    for (int pass = 0; pass < 2; pass++) /* heads first, then what cycles leave */
        for (size_t i = 0; i < lk.n; i++) {
            uint32_t st = lk.c[i].state;
            if (st & (LK_REACHED | LK_DEFINITE | LK_INDIRECT)) continue;
            if (pass == 0 && (st & LK_POINTED)) continue;
            lose_from(i);
        }
    uint64_t cons = 0, cons_bytes = 0, lost = 0;
    for (size_t i = 0; i < lk.n; i++) {
        struct lk_chunk *c = &lk.c[i];
        struct lk_group *g = c->state & LK_DEFINITE   ? &definite[c->site < lk.nsites ? c->site : 0]
                             : c->state & LK_INDIRECT ? &indirect[c->site < lk.nsites ? c->site : 0]
                                                      : NULL;
        if ((c->state & LK_REACHED) && !(c->state & LK_TYPED)) cons++, cons_bytes += c->size;
        if (!g) continue;
        if (!g->count || c->base < g->example) g->example = c->base;
        g->count++, g->bytes += c->size, lost++;
    }
    leaks_out("allocs: leak check at exit: %lu live chunks\n", (unsigned long)lk.n);
    leaks_report_kind(definite, lk.nsites, "definitely lost");
    leaks_report_kind(indirect, lk.nsites, "indirectly lost (reachable only from leaked chunks)");
    leaks_out("allocs: reachable only through untyped memory: %lu bytes in %lu chunk%s\n",
              (unsigned long)cons_bytes, (unsigned long)cons, cons == 1 ? "" : "s");
    rt_unmap(mem, bytes + groups_bytes + layout_bytes);
    if (lost && status > 0) {
        fflush(NULL); /* the program's output is kept whole */
        _exit(status);
    }
}
