/* meta_validate.c: the metadata loader's checks on the header, the section table and the
 * records kept in the arena (STATICS, FRAMES, FRAME_VARS, SITES). The per-field checks shared
 * with building the records (str_ok, type_ok, range_ok) are inline in meta.h. */
#define _GNU_SOURCE
#define ALLOCS_META_LOADER
#include "meta.h"
#include "levels.h"

#include <string.h>

/* The header and the build-id: a stale file is told apart from a broken one. */
bool meta_header_ok(struct meta_load *L)
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

bool meta_sections_ok(struct meta_load *L)
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

/* STATICS, FRAMES, FRAME_VARS and SITES, validated where they stay (the arena). */
bool meta_records_ok(struct meta_load *L)
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
        /* A WRAPPER, INLINED or SUBALLOC record may have no type: it still says where the
         * site is. */
        bool none_ok =
            (s->flags & (ALLOCS_SITE_WRAPPER | ALLOCS_SITE_INLINED | ALLOCS_SITE_SUBALLOC)) != 0;
        if (!type_ok(L, s->type, FO(L, S, i, struct allocs_meta_site, type), none_ok)) return false;
        if (s->flags & 0xffu & ~ALLOCS_SITE_KNOWN_FLAGS)
            BAD(L, FO(L, S, i, struct allocs_meta_site, flags), "unknown site flag");
        uint32_t with_arg =
            s->flags & (ALLOCS_SITE_WRAPPER | ALLOCS_SITE_INLINED | ALLOCS_SITE_HEADER);
        if (with_arg & (with_arg - 1))
            BAD(L, FO(L, S, i, struct allocs_meta_site, flags), "two site flags with an argument");
        if ((s->flags & ALLOCS_SITE_WRAPPER) && ALLOCS_SITE_ARG(s->flags) % 8)
            BAD(L, FO(L, S, i, struct allocs_meta_site, flags), "wrapper CFA offset not 8-aligned");
    }
    return true;
}
