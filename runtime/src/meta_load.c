/* meta_load.c: each ELF object's type metadata (docs/metadata-format.md). For every object the
 * loader reports, once: find the file by the documented rule, read it with raw syscalls,
 * validate every field before using any, build one struct uniqtype per type in private
 * anonymous memory (so a core holds it, and nothing depends on the file afterwards), unique
 * them across objects by canonical name, and publish struct allocs_loaded_meta in
 * objects[i].meta. The file is data: nothing in it is executed, every index and offset is
 * checked, and a bad or stale file is refused whole with one line on stderr. Loading is lazy
 * (meta_find.c): at start-up the search only finds each object's file and reads its SITES; this
 * runs at the first type query.
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
#define ALLOCS_META_LOADER
#include "meta.h"
#include "levels.h"

#include <stdio.h>
#include <string.h>

/* Records of TYPES, MEMBERS, ENUMERATORS and PARAMS pass through here (under meta_lock). */
static uint8_t rbuf[64 * 1024] __attribute__((aligned(64)));

/* Lays out and maps the arena: every part sized from the header's counts. */
static bool arena_new(struct meta_load *L, const char *path)
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
static bool read_section(struct meta_load *L, int s, void *dst)
{
    uint64_t bytes = L->n[s] * rec_size[s];
    if (bytes && lv_pread(L->fd, dst, bytes, L->off[s]) != (long)bytes)
        BAD(L, L->off[s], "section %s could not be read", sec_name[s]);
    return true;
}

/* The next records of section s from record i on, into rbuf: how many (0: read error). */
static uint64_t read_chunk(struct meta_load *L, int s, uint64_t i)
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

static bool load_types(struct meta_load *L)
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

static bool load_members(struct meta_load *L)
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

static bool load_enumerators(struct meta_load *L)
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

static bool load_params(struct meta_load *L)
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

/* Reads and validates everything; on success the arena holds the built (unresolved) types. */
bool meta_load_all(struct meta_load *L, const char *path)
{
    if (!meta_sections_ok(L)) return false;
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
           read_section(L, ALLOCS_META_SITES, L->sites) && meta_records_ok(L);
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
void meta_patch_refs(struct allocs_loaded_meta *lm)
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

static const struct uniqtype *unpark(const struct meta_load *L, const void *p)
{
    uintptr_t v = (uintptr_t)p;
    return v ? L->ptrs[v - 1] : NULL;
}

/* Three passes over the types: (1) which loaded instance each index stands for (type_ptrs);
 * (2) every pointer field resolved; (3) this file's new names entered in the table. Nothing is
 * in the table before its fields are complete, so a lock-free lookup never sees half a type. */
void meta_unique_and_publish(struct meta_load *L, struct allocs_object *obj, bool *completed)
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
    meta_pool_offer(L->arena + L->arena_used, L->arena + L->arena_bytes);
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
