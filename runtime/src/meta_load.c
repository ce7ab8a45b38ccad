/* meta_load.c: each ELF object's type metadata (docs/metadata-format.md). For every object the
 * loader reports, once: find the file by the documented rule, read it with raw syscalls,
 * validate every field before using any, build one struct uniqtype per type in private
 * anonymous memory (so a core holds it, and nothing depends on the file afterwards), unique
 * them across objects by canonical name, and publish struct allocs_loaded_meta in
 * objects[i].meta. The file is data: nothing in it is executed, every index and offset is
 * checked, and a bad or stale file is refused whole with one line on stderr.
 *
 * Cost (bench/meta-load-bench.sh, docs/benchmarks.md): the load is dominated by first-touching
 * fresh memory, so it touches as little as it can. Each object gets one arena, sized exactly
 * from the header's counts and populated in one call (on a transparent huge page when it is big
 * enough: one fault instead of hundreds); it holds what the runtime and the gdb bridge answer
 * from and nothing else: the STRINGS section (names point into it), the built struct uniqtype /
 * member / enumerator / parameter arrays, type_ptrs, and the STATICS, FRAMES, FRAME_VARS and
 * SITES records as in the file. TYPES, MEMBERS, ENUMERATORS and PARAMS are read through one
 * small reused buffer, validated and built in the same pass, and never kept. */
#define _GNU_SOURCE
#include "meta.h"
#include "levels.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static rt_lock_t meta_lock = RT_LOCK_INIT;
static uint8_t tried[LV_MAX_OBJECTS]; /* per object slot: metadata search done */

void meta_lock_take(uint64_t *saved)
{
    uint64_t all = ~0ull;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, saved, 8);
    rt_lock_register(&meta_lock);
    rt_lock(&meta_lock);
}

void meta_lock_drop(uint64_t saved)
{
    rt_unlock(&meta_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &saved, 0, 8);
}

/* ---- memory ----
 * Memory we are about to fill is populated up front: on the benchmark's VM a page fault costs
 * ~30 us and populating a 4 KiB page a few us, while a 2 MiB transparent huge page is populated
 * in ~0.2 ms. So a big request (at least HUGE_MIN) gets a 2 MiB-aligned mapping advised
 * MADV_HUGEPAGE (when THP is not "never"): whole huge pages, and the rest on 4 KiB pages, or
 * one more huge page when the rest is itself at least HUGE_MIN (so at most HUGE_MIN is mapped
 * beyond the request; the arena's unused tail feeds the private pool below). Still private
 * anonymous memory: cores hold it, huge pages or not. */
#define HUGE_BYTES (2ul << 20)
#define HUGE_MIN (1ul << 20)

static long raw_mmap(size_t bytes, int flags)
{
    return lv_syscall6(SYS_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static bool map_failed(long r)
{
    return r < 0 && r > -4096;
}

static bool thp_usable(void)
{
    static int state; /* 0 unknown, 1 yes, 2 no */
    if (!state) {
        char buf[96] = {0};
        int fd = lv_open_read("/sys/kernel/mm/transparent_hugepage/enabled");
        long got = fd >= 0 ? lv_pread(fd, buf, sizeof buf - 1, 0) : -1;
        if (fd >= 0) lv_close(fd);
        state = got > 0 && !strstr(buf, "[never]") ? 1 : 2;
    }
    return state == 1;
}

void *meta_map(size_t bytes, size_t *mapped)
{
    bytes = (bytes + 4095) & ~(size_t)4095;
    if (!bytes) return NULL;
    if (bytes >= HUGE_MIN && thp_usable()) {
        size_t rest = bytes & (HUGE_BYTES - 1);
        size_t len = rest >= HUGE_MIN ? bytes - rest + HUGE_BYTES : bytes;
        long r = raw_mmap(len + HUGE_BYTES, MAP_NORESERVE);
        if (!map_failed(r)) {
            uintptr_t lo = (uintptr_t)r, a = (lo + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
            uintptr_t hi = lo + len + HUGE_BYTES;
            if (a > lo) lv_syscall3(SYS_munmap, lo, a - lo, 0);
            if (hi > a + len) lv_syscall3(SYS_munmap, a + len, hi - (a + len), 0);
            lv_syscall3(SYS_madvise, a, len, MADV_HUGEPAGE);
            if (lv_syscall3(SYS_madvise, a, len, MADV_POPULATE_WRITE) != 0)
                for (size_t o = 0; o < len; o += 4096) /* kernels before 5.14 */
                    *(volatile char *)(a + o) = 0;
            if (mapped) *mapped = len;
            return (void *)a;
        }
    }
    long r = raw_mmap(bytes, MAP_POPULATE);
    if (map_failed(r)) return NULL;
    if (mapped) *mapped = bytes;
    return (void *)r;
}

/* A private bump pool (only under meta_lock, so no other runtime lock is ever nested in it):
 * small records (types made up at run time) and the name table. Its space is whichever is
 * bigger of the current chunk's rest and the unused tail of the newest arena. */
#define POOL_CHUNK (256u * 1024u)
static char *pool_next, *pool_end;

static void pool_offer(char *p, char *end)
{
    p = (char *)(((uintptr_t)p + 15) & ~(uintptr_t)15);
    if (p < end && end - p > pool_end - pool_next) {
        pool_next = p;
        pool_end = end;
    }
}

void *meta_pool_alloc(size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    if (!bytes) return NULL;
    if ((size_t)(pool_end - pool_next) >= bytes) {
        void *p = pool_next;
        pool_next += bytes;
        return p;
    }
    char *c;
    size_t got;
    if (bytes > POOL_CHUNK / 4) { /* big (a table): populated, its own mapping */
        c = meta_map(bytes, &got);
    } else { /* small records, faulted in as they come */
        c = rt_map(POOL_CHUNK);
        got = POOL_CHUNK;
    }
    if (!c) return NULL;
    pool_offer(c + bytes, c + got);
    return c;
}

/* ---- loading one file ---- */
#define MAX_FILE_BYTES (1ull << 30)
static const uint64_t rec_size[ALLOCS_META_NSECTIONS] = {
    1,
    sizeof(struct allocs_meta_type),
    sizeof(struct allocs_meta_member),
    sizeof(struct allocs_meta_enumerator),
    sizeof(uint32_t),
    sizeof(struct allocs_meta_static),
    sizeof(struct allocs_meta_frame),
    sizeof(struct allocs_meta_frame_var),
    sizeof(struct allocs_meta_site),
};
static const char *const sec_name[ALLOCS_META_NSECTIONS] = {"STRINGS",     "TYPES",      "MEMBERS",
                                                            "ENUMERATORS", "PARAMS",     "STATICS",
                                                            "FRAMES",      "FRAME_VARS", "SITES"};

/* Records of TYPES, MEMBERS, ENUMERATORS and PARAMS pass through here (under meta_lock). */
static uint8_t rbuf[64 * 1024] __attribute__((aligned(64)));

struct load {
    int fd;
    uint64_t size;
    struct allocs_meta_header h;
    uint64_t n[ALLOCS_META_NSECTIONS], off[ALLOCS_META_NSECTIONS];
    /* the arena and its parts */
    char *arena;
    size_t arena_bytes, arena_used;
    struct allocs_loaded_meta *lm;
    char *pathcopy;
    const char *str;
    uint64_t nstr;
    struct uniqtype *ts;
    const struct uniqtype **ptrs;
    struct uniqtype_member *ms;
    struct uniqtype_enumerator *es;
    const struct uniqtype **ps;
    struct allocs_meta_static *statics;
    struct allocs_meta_frame *frames;
    struct allocs_meta_frame_var *vars;
    struct allocs_meta_site *sites;
    void *table_mem; /* room for a bigger name table, if this file needs one */
    size_t table_bytes;
    bool oom;
    char why[200];
    uint64_t at; /* file offset of the offending field */
};

#define BAD(L, off, ...)                                                                           \
    do {                                                                                           \
        (L)->at = (uint64_t)(off);                                                                 \
        snprintf((L)->why, sizeof(L)->why, __VA_ARGS__);                                           \
        return false;                                                                              \
    } while (0)

/* File offset of field f of record i of section s (f: byte offset in the record). */
static uint64_t fo(const struct load *L, int s, uint64_t i, uint64_t f)
{
    return L->off[s] + i * rec_size[s] + f;
}
#define FO(L, s, i, type, field) fo((L), (s), (i), offsetof(type, field))

static bool str_ok(struct load *L, uint32_t s, uint64_t at)
{
    if (s >= L->nstr) BAD(L, at, "string offset %u outside STRINGS", s);
    return true;
}

static bool type_ok(struct load *L, uint32_t t, uint64_t at, bool none_ok)
{
    if (t == ALLOCS_META_NONE && none_ok) return true;
    if (t >= L->n[ALLOCS_META_TYPES])
        BAD(L, at, "type index %u out of range (%llu types)", t,
            (unsigned long long)L->n[ALLOCS_META_TYPES]);
    return true;
}

static bool range_ok(struct load *L, uint32_t first, uint32_t count, int s, uint64_t at)
{
    if (first > L->n[s] || count > L->n[s] - first)
        BAD(L, at, "%s %u + %u out of range (%llu)", sec_name[s], first, count,
            (unsigned long long)L->n[s]);
    return true;
}

/* The header and the build-id: a stale file is told apart from a broken one. */
static bool header_ok(struct load *L)
{
    const struct allocs_meta_header *h = &L->h;
    if (L->size < sizeof *h)
        BAD(L, 0, "%llu bytes: shorter than the header", (unsigned long long)L->size);
    if (memcmp(h->magic, ALLOCS_META_MAGIC, 8) != 0)
        BAD(L, 0, "bad magic (not an allocs metadata file)");
    if (h->version != ALLOCS_META_VERSION)
        BAD(L, 8, "version %u, expected %u", h->version, ALLOCS_META_VERSION);
    if (h->header_size != sizeof *h)
        BAD(L, 12, "header_size %u, expected %zu", h->header_size, sizeof *h);
    if (h->file_size != L->size)
        BAD(L, 16, "file_size %llu, but the file has %llu bytes", (unsigned long long)h->file_size,
            (unsigned long long)L->size);
    if (h->build_id_len > 20) BAD(L, 44, "build_id_len %u > 20", h->build_id_len);
    return true;
}

static bool sections_ok(struct load *L)
{
    const struct allocs_meta_header *h = &L->h;
    for (int s = 0; s < ALLOCS_META_NSECTIONS; s++) {
        uint64_t off = h->sections[s].offset, n = h->sections[s].count;
        uint64_t at = offsetof(struct allocs_meta_header, sections) + 16u * (unsigned)s;
        if (off % 8)
            BAD(L, at, "section %s offset %llu is not 8-byte aligned", sec_name[s],
                (unsigned long long)off);
        if (n && off < sizeof *h) BAD(L, at, "section %s overlaps the header", sec_name[s]);
        if (off > L->size || n > (L->size - off) / rec_size[s])
            BAD(L, at, "section %s runs past the end of the file", sec_name[s]);
        if (s != ALLOCS_META_STRINGS && n >= ALLOCS_META_NONE)
            BAD(L, at + 8, "section %s: too many records", sec_name[s]);
        L->n[s] = n;
        L->off[s] = off;
    }
    if (L->n[ALLOCS_META_STRINGS] < 1)
        BAD(L, L->off[ALLOCS_META_STRINGS], "STRINGS must start with the empty string");
    return true;
}

/* Lays out and maps the arena: every part sized from the header's counts. */
static bool arena_new(struct load *L, const char *path)
{
    const uint64_t *n = L->n;
    size_t o = sizeof(struct allocs_loaded_meta), plen = strlen(path) + 1;
    size_t o_path = o;
    o = (o + plen + 7) & ~(size_t)7;
    size_t o_str = o;
    o = (o + n[ALLOCS_META_STRINGS] + 7) & ~(size_t)7;
    size_t o_types = o;
    o += n[ALLOCS_META_TYPES] * sizeof(struct uniqtype);
    size_t o_ptrs = o;
    o += n[ALLOCS_META_TYPES] * sizeof(void *);
    size_t o_mem = o;
    o += n[ALLOCS_META_MEMBERS] * sizeof(struct uniqtype_member);
    size_t o_enum = o;
    o += n[ALLOCS_META_ENUMERATORS] * sizeof(struct uniqtype_enumerator);
    size_t o_par = o;
    o += n[ALLOCS_META_PARAMS] * sizeof(void *);
    size_t o_sta = o;
    o += n[ALLOCS_META_STATICS] * sizeof(struct allocs_meta_static);
    size_t o_fr = o;
    o += n[ALLOCS_META_FRAMES] * sizeof(struct allocs_meta_frame);
    size_t o_var = o;
    o += n[ALLOCS_META_FRAME_VARS] * sizeof(struct allocs_meta_frame_var);
    size_t o_site = o;
    o += n[ALLOCS_META_SITES] * sizeof(struct allocs_meta_site);
    o = (o + 15) & ~(size_t)15;
    size_t o_table = o, table = meta_table_plan(n[ALLOCS_META_TYPES]);
    o += table;
    char *m = meta_map(o, &L->arena_bytes);
    if (!m) return false;
    L->arena = m;
    L->arena_used = o;
    L->lm = (void *)m;
    L->pathcopy = m + o_path;
    memcpy(L->pathcopy, path, plen);
    L->str = m + o_str;
    L->nstr = n[ALLOCS_META_STRINGS];
    L->ts = (void *)(m + o_types);
    L->ptrs = (void *)(m + o_ptrs);
    L->ms = (void *)(m + o_mem);
    L->es = (void *)(m + o_enum);
    L->ps = (void *)(m + o_par);
    L->statics = (void *)(m + o_sta);
    L->frames = (void *)(m + o_fr);
    L->vars = (void *)(m + o_var);
    L->sites = (void *)(m + o_site);
    L->table_mem = table ? m + o_table : NULL;
    L->table_bytes = table;
    return true;
}

/* Section s read whole into dst (the arena). */
static bool read_section(struct load *L, int s, void *dst)
{
    uint64_t bytes = L->n[s] * rec_size[s];
    if (bytes && lv_pread(L->fd, dst, bytes, L->off[s]) != (long)bytes)
        BAD(L, L->off[s], "section %s could not be read", sec_name[s]);
    return true;
}

/* The next records of section s from record i on, into rbuf: how many (0: read error). */
static uint64_t read_chunk(struct load *L, int s, uint64_t i)
{
    uint64_t k = L->n[s] - i, fit = sizeof rbuf / rec_size[s];
    if (k > fit) k = fit;
    long want = (long)(k * rec_size[s]);
    if (lv_pread(L->fd, rbuf, (size_t)want, fo(L, s, i, 0)) != want) {
        L->at = fo(L, s, i, 0);
        snprintf(L->why, sizeof L->why, "section %s could not be read", sec_name[s]);
        return 0;
    }
    return k;
}

/* While loading, before anything is published, index fields are parked in pointer fields
 * (resolved by resolve()): related and member/param types as index + 1 (0: none), a type's
 * first member/enumerator/param in items. */
static const void *park(uint32_t idx)
{
    return (const void *)(uintptr_t)(idx == ALLOCS_META_NONE ? 0 : (uint64_t)idx + 1);
}

static bool load_types(struct load *L)
{
    const int S = ALLOCS_META_TYPES;
    for (uint64_t i = 0; i < L->n[S];) {
        uint64_t k = read_chunk(L, S, i);
        if (!k) return false;
        const struct allocs_meta_type *r = (const void *)rbuf;
        for (uint64_t j = 0; j < k; j++, i++, r++) {
            if (!str_ok(L, r->name, FO(L, S, i, struct allocs_meta_type, name)) ||
                !str_ok(L, r->c_name, FO(L, S, i, struct allocs_meta_type, c_name)))
                return false;
            if (!L->str[r->name])
                BAD(L, FO(L, S, i, struct allocs_meta_type, name), "type %llu has no name",
                    (unsigned long long)i);
            if (r->kind > ALLOCS_KIND_FRAME)
                BAD(L, FO(L, S, i, struct allocs_meta_type, kind), "type kind %u unknown", r->kind);
            if (!type_ok(L, r->related, FO(L, S, i, struct allocs_meta_type, related), true))
                return false;
            uint64_t at_first = FO(L, S, i, struct allocs_meta_type, first);
            switch (r->kind) {
            case ALLOCS_KIND_STRUCT:
            case ALLOCS_KIND_UNION:
            case ALLOCS_KIND_FRAME:
                if (!range_ok(L, r->first, r->count, ALLOCS_META_MEMBERS, at_first)) return false;
                break;
            case ALLOCS_KIND_ENUM:
                if (!range_ok(L, r->first, r->count, ALLOCS_META_ENUMERATORS, at_first))
                    return false;
                break;
            case ALLOCS_KIND_FUNCTION:
                if (!range_ok(L, r->first, r->count, ALLOCS_META_PARAMS, at_first)) return false;
                break;
            case ALLOCS_KIND_ARRAY:
                if (r->related == ALLOCS_META_NONE)
                    BAD(L, FO(L, S, i, struct allocs_meta_type, related),
                        "an array without an element type");
                break;
            }
            struct uniqtype *t = &L->ts[i];
            t->name = L->str + r->name;
            t->c_name = L->str + r->c_name;
            t->size = r->size;
            t->kind = r->kind;
            t->encoding = r->encoding;
            t->flags = r->flags;
            t->bit_size = r->bit_size;
            t->count = r->count;
            t->related = park(r->related);
            t->items = (const void *)(uintptr_t)r->first;
            /* The name's hash, for the uniquing passes; cleared before anyone can see t. */
            t->reserved = t->kind == ALLOCS_KIND_FRAME ? 0 : meta_name_hash(t->name);
        }
    }
    return true;
}

static bool load_members(struct load *L)
{
    const int S = ALLOCS_META_MEMBERS;
    for (uint64_t i = 0; i < L->n[S];) {
        uint64_t k = read_chunk(L, S, i);
        if (!k) return false;
        const struct allocs_meta_member *r = (const void *)rbuf;
        for (uint64_t j = 0; j < k; j++, i++, r++) {
            if (!str_ok(L, r->name, FO(L, S, i, struct allocs_meta_member, name)) ||
                !type_ok(L, r->type, FO(L, S, i, struct allocs_meta_member, type), true))
                return false;
            struct uniqtype_member *m = &L->ms[i];
            m->name = L->str + r->name;
            m->type = park(r->type);
            m->offset = r->offset;
            m->bit_offset = r->bit_offset;
            m->bit_size = r->bit_size;
        }
    }
    return true;
}

static bool load_enumerators(struct load *L)
{
    const int S = ALLOCS_META_ENUMERATORS;
    for (uint64_t i = 0; i < L->n[S];) {
        uint64_t k = read_chunk(L, S, i);
        if (!k) return false;
        const struct allocs_meta_enumerator *r = (const void *)rbuf;
        for (uint64_t j = 0; j < k; j++, i++, r++) {
            if (!str_ok(L, r->name, FO(L, S, i, struct allocs_meta_enumerator, name))) return false;
            L->es[i].name = L->str + r->name;
            L->es[i].value = r->value;
        }
    }
    return true;
}

static bool load_params(struct load *L)
{
    const int S = ALLOCS_META_PARAMS;
    for (uint64_t i = 0; i < L->n[S];) {
        uint64_t k = read_chunk(L, S, i);
        if (!k) return false;
        const uint32_t *r = (const void *)rbuf;
        for (uint64_t j = 0; j < k; j++, i++) {
            if (!type_ok(L, r[j], fo(L, S, i, 0), true)) return false;
            L->ps[i] = park(r[j]);
        }
    }
    return true;
}

/* STATICS, FRAMES, FRAME_VARS and SITES, validated where they stay (the arena). */
static bool records_ok(struct load *L)
{
    for (uint64_t i = 0; i < L->n[ALLOCS_META_STATICS]; i++) {
        const int S = ALLOCS_META_STATICS;
        const struct allocs_meta_static *s = &L->statics[i];
        if (i && s->vaddr < s[-1].vaddr) BAD(L, fo(L, S, i, 0), "STATICS not sorted by vaddr");
        if (s->kind != ALLOCS_STATIC_FUNCTION && s->kind != ALLOCS_STATIC_VARIABLE)
            BAD(L, FO(L, S, i, struct allocs_meta_static, kind), "static kind %u unknown", s->kind);
        if (!str_ok(L, s->name, FO(L, S, i, struct allocs_meta_static, name)) ||
            !type_ok(L, s->type, FO(L, S, i, struct allocs_meta_static, type), true))
            return false;
    }
    for (uint64_t i = 0; i < L->n[ALLOCS_META_FRAMES]; i++) {
        const int S = ALLOCS_META_FRAMES;
        const struct allocs_meta_frame *f = &L->frames[i];
        if (i && f->lo < f[-1].lo) BAD(L, fo(L, S, i, 0), "FRAMES not sorted by lo");
        if (f->hi < f->lo) BAD(L, FO(L, S, i, struct allocs_meta_frame, hi), "frame hi < lo");
        if (!str_ok(L, f->function, FO(L, S, i, struct allocs_meta_frame, function)) ||
            !type_ok(L, f->type, FO(L, S, i, struct allocs_meta_frame, type), false) ||
            !range_ok(L, f->first_var, f->nvars, ALLOCS_META_FRAME_VARS,
                      FO(L, S, i, struct allocs_meta_frame, first_var)))
            return false;
        if (L->ts[f->type].kind != ALLOCS_KIND_FRAME)
            BAD(L, FO(L, S, i, struct allocs_meta_frame, type), "frame type is not a FRAME type");
    }
    for (uint64_t i = 0; i < L->n[ALLOCS_META_FRAME_VARS]; i++) {
        const int S = ALLOCS_META_FRAME_VARS;
        const struct allocs_meta_frame_var *fv = &L->vars[i];
        if (fv->pc_hi < fv->pc_lo)
            BAD(L, FO(L, S, i, struct allocs_meta_frame_var, pc_hi), "frame var pc_hi < pc_lo");
        if (!str_ok(L, fv->name, FO(L, S, i, struct allocs_meta_frame_var, name)) ||
            !type_ok(L, fv->type, FO(L, S, i, struct allocs_meta_frame_var, type), true))
            return false;
    }
    for (uint64_t i = 0; i < L->n[ALLOCS_META_SITES]; i++) {
        const int S = ALLOCS_META_SITES;
        const struct allocs_meta_site *s = &L->sites[i];
        if (i && s->vaddr < s[-1].vaddr) BAD(L, fo(L, S, i, 0), "SITES not sorted by vaddr");
        if (!type_ok(L, s->type, FO(L, S, i, struct allocs_meta_site, type), false)) return false;
    }
    return true;
}

/* Reads and validates everything; on success the arena holds the built (unresolved) types. */
static bool load_all(struct load *L, const char *path)
{
    if (!sections_ok(L)) return false;
    if (!arena_new(L, path)) {
        L->oom = true;
        return false;
    }
    if (!read_section(L, ALLOCS_META_STRINGS, (void *)L->str)) return false;
    if (L->str[0]) BAD(L, L->off[0], "STRINGS must start with the empty string");
    /* Every offset below nstr then finds a NUL within the section. */
    if (L->str[L->nstr - 1]) BAD(L, L->off[0] + L->nstr - 1, "STRINGS does not end with a NUL");
    return load_types(L) && load_members(L) && load_enumerators(L) && load_params(L) &&
           read_section(L, ALLOCS_META_STATICS, L->statics) &&
           read_section(L, ALLOCS_META_FRAMES, L->frames) &&
           read_section(L, ALLOCS_META_FRAME_VARS, L->vars) &&
           read_section(L, ALLOCS_META_SITES, L->sites) && records_ok(L);
}

/* ---- uniquing and resolving (the file is valid from here on) ---- */
static bool mergeable(const struct uniqtype *a, const struct uniqtype *b)
{
    return a->kind == b->kind && a->kind != ALLOCS_KIND_FRAME;
}

static bool completable(const struct uniqtype *t)
{
    return (t->flags & ALLOCS_TYPE_F_INCOMPLETE) &&
           (t->kind == ALLOCS_KIND_STRUCT || t->kind == ALLOCS_KIND_UNION ||
            t->kind == ALLOCS_KIND_ENUM);
}

/* Redirects every reference to a superseded (incomplete) instance in one loaded file. */
static void patch_refs(struct allocs_loaded_meta *lm)
{
    struct uniqtype *ts = (struct uniqtype *)(uintptr_t)lm->types;
    const struct uniqtype **ptrs = (const struct uniqtype **)(uintptr_t)lm->type_ptrs;
    struct uniqtype_member *ms = (struct uniqtype_member *)(uintptr_t)lm->members;
    for (uint64_t i = 0; i < lm->ntypes; i++) {
        ptrs[i] = meta_resolve(ptrs[i]);
        struct uniqtype *t = &ts[i];
        if (t->kind == ALLOCS_KIND_FUNCTION) {
            const struct uniqtype **ps = (const struct uniqtype **)t->params;
            for (uint32_t k = 0; k < t->count; k++)
                ps[k] = meta_resolve(ps[k]);
        }
        if (!completable(t)) t->related = meta_resolve(t->related);
    }
    for (uint64_t i = 0; i < lm->nmembers; i++)
        ms[i].type = meta_resolve(ms[i].type);
}

static const struct uniqtype *unpark(const struct load *L, const void *p)
{
    uintptr_t v = (uintptr_t)p;
    return v ? L->ptrs[v - 1] : NULL;
}

/* Three passes over the types: (1) which loaded instance each index stands for (type_ptrs);
 * (2) every pointer field resolved; (3) this file's new names entered in the table. Nothing is
 * in the table before its fields are complete, so a lock-free lookup never sees half a type. */
static void unique_and_publish(struct load *L, struct allocs_object *obj, bool *completed)
{
    uint64_t nt = L->n[ALLOCS_META_TYPES];
    for (uint64_t i = 0; i < nt; i++) {
        struct uniqtype *t = &L->ts[i];
        const struct uniqtype *e =
            t->kind == ALLOCS_KIND_FRAME ? NULL : meta_table_find_h(t->name, t->reserved);
        L->ptrs[i] = t; /* frames are per object, never shared */
        if (e && mergeable(e, t) && !(completable(e) && !(t->flags & ALLOCS_TYPE_F_INCOMPLETE)) &&
            (e->size == t->size || (t->flags & ALLOCS_TYPE_F_INCOMPLETE)))
            L->ptrs[i] = e;
        /* else: new, completes an incomplete one, or an unrelated type of the same name (both
         * are kept and the first is found by name) */
    }
    for (uint64_t i = 0; i < nt; i++) {
        struct uniqtype *t = &L->ts[i];
        uint32_t first = (uint32_t)(uintptr_t)t->items;
        t->related = unpark(L, t->related);
        switch (t->kind) {
        case ALLOCS_KIND_STRUCT:
        case ALLOCS_KIND_UNION:
        case ALLOCS_KIND_FRAME:
            t->members = L->ms + first;
            break;
        case ALLOCS_KIND_ENUM:
            t->enumerators = L->es + first;
            break;
        case ALLOCS_KIND_FUNCTION:
            t->params = L->ps + first;
            break;
        default:
            t->items = NULL;
        }
    }
    for (uint64_t i = 0; i < L->n[ALLOCS_META_MEMBERS]; i++)
        L->ms[i].type = unpark(L, L->ms[i].type);
    for (uint64_t i = 0; i < L->n[ALLOCS_META_PARAMS]; i++)
        L->ps[i] = unpark(L, L->ps[i]);

    struct allocs_loaded_meta *lm = L->lm;
    lm->path = (uintptr_t)L->pathcopy;
    lm->strings = (uintptr_t)L->str;
    lm->strings_size = L->nstr;
    lm->types = (uintptr_t)L->ts;
    lm->type_ptrs = (uintptr_t)L->ptrs;
    lm->ntypes = nt;
    lm->members = (uintptr_t)L->ms;
    lm->nmembers = L->n[ALLOCS_META_MEMBERS];
    lm->statics = (uintptr_t)L->statics;
    lm->nstatics = L->n[ALLOCS_META_STATICS];
    lm->frames = (uintptr_t)L->frames;
    lm->nframes = L->n[ALLOCS_META_FRAMES];
    lm->frame_vars = (uintptr_t)L->vars;
    lm->nframe_vars = L->n[ALLOCS_META_FRAME_VARS];
    lm->sites = (uintptr_t)L->sites;
    lm->nsites = L->n[ALLOCS_META_SITES];

    if (L->table_mem) meta_table_grow_into(L->table_mem, L->table_bytes);
    pool_offer(L->arena + L->arena_used, L->arena + L->arena_bytes);
    for (uint64_t i = 0; i < nt; i++) {
        struct uniqtype *t = &L->ts[i];
        uint32_t h = t->reserved;
        t->reserved = 0;
        if (L->ptrs[i] != t || t->kind == ALLOCS_KIND_FRAME) continue;
        const struct uniqtype *e = meta_table_add_h(t, h); /* NULL: added */
        if (e && mergeable(e, t) && completable(e) && !(t->flags & ALLOCS_TYPE_F_INCOMPLETE)) {
            meta_table_put_h(t, h); /* the first complete definition wins from now on */
            ((struct uniqtype *)e)->related = t;
            *completed = true;
        }
    }
    __atomic_store_n(&obj->meta, (uint64_t)(uintptr_t)lm, __ATOMIC_RELEASE);
}

/* ---- finding and reading ---- */
static void hex(char *out, const uint8_t *id, uint32_t n)
{
    static const char d[] = "0123456789abcdef";
    for (uint32_t i = 0; i < n; i++) {
        out[2 * i] = d[id[i] >> 4];
        out[2 * i + 1] = d[id[i] & 15];
    }
    out[2 * n] = 0;
}

enum try_result { TRY_ABSENT, TRY_REFUSED, TRY_LOADED };

static enum try_result try_file(const char *path, struct allocs_object *obj, const char *objname,
                                bool *completed)
{
    struct load L;
    memset(&L, 0, sizeof L);
    L.fd = lv_open_read(path);
    if (L.fd < 0) return TRY_ABSENT;
    long size = lv_file_size(L.fd);
    if (size < 0 || (uint64_t)size > MAX_FILE_BYTES) {
        lv_close(L.fd);
        rt_warn("metadata %s is invalid: size %ld; ignored", path, size);
        return TRY_REFUSED;
    }
    L.size = (uint64_t)size;
    long hdr = L.size >= sizeof L.h ? lv_pread(L.fd, &L.h, sizeof L.h, 0) : 0;
    if (hdr < 0 || (L.size >= sizeof L.h && hdr != (long)sizeof L.h)) {
        lv_close(L.fd);
        rt_warn("metadata %s could not be read; ignored", path);
        return TRY_REFUSED;
    }
    if (!header_ok(&L)) goto bad;
    if (L.h.build_id_len != obj->build_id_len ||
        memcmp(L.h.build_id, obj->build_id, obj->build_id_len) != 0) {
        char want[41], have[41];
        hex(want, obj->build_id, obj->build_id_len);
        hex(have, L.h.build_id, L.h.build_id_len);
        rt_warn("metadata %s is for build-id %s, but %s has build-id %s: rerun allocs typegen %s",
                path, have[0] ? have : "(none)", objname, want, objname);
        lv_close(L.fd);
        return TRY_REFUSED;
    }
    if (!load_all(&L, path)) goto bad;
    lv_close(L.fd);
    unique_and_publish(&L, obj, completed);
    return TRY_LOADED;
bad:
    lv_close(L.fd);
    if (L.oom) {
        rt_warn("metadata %s: out of memory; ignored", path);
        return TRY_REFUSED;
    }
    rt_warn("metadata %s is invalid: %s (at file offset %llu); ignored", path, L.why,
            (unsigned long long)L.at);
    if (L.arena) rt_unmap(L.arena, L.arena_bytes);
    return TRY_REFUSED;
}

static char path_buf[4096 + 64];

static bool join(const char *a, size_t alen, const char *b, const char *c)
{
    size_t bl = strlen(b), cl = strlen(c);
    if (alen + bl + cl + 1 > sizeof path_buf) return false;
    memcpy(path_buf, a, alen);
    memcpy(path_buf + alen, b, bl);
    memcpy(path_buf + alen + bl, c, cl + 1);
    return true;
}
/* The documented search: ALLOCS_META_PATH dirs by build-id, P.allocsmeta, the cache. */
static void load_object(struct allocs_object *obj, bool *completed)
{
    if (!obj->build_id_len) return;
    const char *name = (const char *)(uintptr_t)obj->name;
    if (!name) name = "";
    char id[48];
    id[0] = '/';
    hex(id + 1, obj->build_id, obj->build_id_len);
    const char *mp = rt_getenv("ALLOCS_META_PATH");
    while (mp && *mp) {
        const char *end = strchr(mp, ':');
        size_t len = end ? (size_t)(end - mp) : strlen(mp);
        if (len && join(mp, len, id, ALLOCS_META_SUFFIX) &&
            try_file(path_buf, obj, name, completed) == TRY_LOADED)
            return;
        mp = end ? end + 1 : NULL;
    }
    if (*name && join(name, strlen(name), "", ALLOCS_META_SUFFIX) &&
        try_file(path_buf, obj, name, completed) == TRY_LOADED)
        return;
    const char *xdg = rt_getenv("XDG_CACHE_HOME"), *home = rt_getenv("HOME");
    if (xdg && *xdg) {
        if (join(xdg, strlen(xdg), "/allocs/meta", id) && strlen(path_buf) + 12 < sizeof path_buf) {
            strcat(path_buf, ALLOCS_META_SUFFIX);
            try_file(path_buf, obj, name, completed);
        }
    } else if (home && *home) {
        if (join(home, strlen(home), "/.cache/allocs/meta", id) &&
            strlen(path_buf) + 12 < sizeof path_buf) {
            strcat(path_buf, ALLOCS_META_SUFFIX);
            try_file(path_buf, obj, name, completed);
        }
    }
}

void meta_objects_changed(void)
{
    struct allocs_object *objects = (struct allocs_object *)(uintptr_t)__allocs_root.objects;
    if (!objects) return;
    const char *off = rt_getenv("ALLOCS_META");
    if (off && strcmp(off, "off") == 0) return;
    /* ALLOCS_META_STATS=1: one line per call with the time spent (the load benchmark). */
    const char *stats = rt_getenv("ALLOCS_META_STATS");
    struct timespec c0, c1;
    uint64_t w0 = lv_now_ns(), loaded = 0, ntypes = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    uint64_t mask;
    meta_lock_take(&mask);
    bool completed = false;
    uint32_t n = __atomic_load_n(&__allocs_root.nobjects, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < LV_MAX_OBJECTS; i++) {
        if (tried[i]) continue;
        /* A slot's identity (name, build-id) never changes once filled: a different object
         * gets a fresh slot, and only meta (ours) is written later. */
        if (!(__atomic_load_n(&objects[i].flags, __ATOMIC_ACQUIRE) & ALLOCS_OBJECT_F_LIVE))
            continue;
        tried[i] = 1;
        load_object(&objects[i], &completed);
        if (objects[i].meta) {
            loaded++;
            ntypes += ((struct allocs_loaded_meta *)(uintptr_t)objects[i].meta)->ntypes;
        }
    }
    if (completed) /* an incomplete type met its definition: redirect every reference */
        for (uint32_t i = 0; i < n && i < LV_MAX_OBJECTS; i++)
            if (objects[i].meta)
                patch_refs((struct allocs_loaded_meta *)(uintptr_t)objects[i].meta);
    meta_lock_drop(mask);
    if (stats && *stats == '1') {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu =
            (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
        rt_warn("metadata: %llu files, %llu types loaded in %.3f ms (cpu %.3f ms)",
                (unsigned long long)loaded, (unsigned long long)ntypes,
                (double)(lv_now_ns() - w0) / 1e6, cpu);
    }
}
