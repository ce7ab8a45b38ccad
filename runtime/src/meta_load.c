/* meta_load.c: each ELF object's type metadata (docs/metadata-format.md). For every object the
 * loader reports, once: find the file by the documented rule, read it with raw syscalls into
 * private anonymous memory (so a core holds it, and nothing depends on the file afterwards),
 * validate every field before using any, build one struct uniqtype per type, unique them
 * across objects by canonical name, and publish struct allocs_loaded_meta in objects[i].meta.
 * The file is data: nothing in it is executed, every index and offset is checked, and a bad
 * or stale file is refused whole with one line on stderr. */
#define _GNU_SOURCE
#include "meta.h"
#include "levels.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

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

/* Memory we are about to fill: populated up front. Page faults are the bulk of the load time
 * (one fault costs ~30 us on the benchmark's VM, populating a page ~1 us); still private
 * anonymous memory, so cores hold it. */
void *meta_map(size_t bytes)
{
    bytes = (bytes + 4095) & ~(size_t)4095;
    long r = lv_syscall6(SYS_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return r < 0 && r > -4096 ? NULL : (void *)r;
}

/* A private bump pool (only under meta_lock, so no other runtime lock is ever nested in it). */
#define POOL_CHUNK (256u * 1024u)
static char *pool_next, *pool_end;

void *meta_pool_alloc(size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    if (!bytes) return NULL;
    if (bytes > POOL_CHUNK / 4) return rt_map(bytes); /* big: its own mapping */
    if (!pool_next || (size_t)(pool_end - pool_next) < bytes) {
        char *c = rt_map(POOL_CHUNK);
        if (!c) return NULL;
        pool_next = c;
        pool_end = c + POOL_CHUNK;
    }
    void *p = pool_next;
    pool_next += bytes;
    return p;
}

/* ---- validation ---- */
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

struct view {
    const uint8_t *file;
    uint64_t size;
    const struct allocs_meta_header *h;
    const char *str;
    uint64_t nstr;
    const struct allocs_meta_type *types;
    const struct allocs_meta_member *members;
    const struct allocs_meta_enumerator *enums;
    const uint32_t *params;
    const struct allocs_meta_static *statics;
    const struct allocs_meta_frame *frames;
    const struct allocs_meta_frame_var *vars;
    const struct allocs_meta_site *sites;
    uint64_t n[ALLOCS_META_NSECTIONS];
    char why[200];
    uint64_t at; /* file offset of the offending field */
};

#define BAD(v, off, ...)                                                                           \
    do {                                                                                           \
        (v)->at = (uint64_t)(off);                                                                 \
        snprintf((v)->why, sizeof(v)->why, __VA_ARGS__);                                           \
        return false;                                                                              \
    } while (0)

static const void *sec(const struct view *v, int s)
{
    return v->file + v->h->sections[s].offset;
}

static uint64_t file_off(const struct view *v, const void *p)
{
    return (uint64_t)((const uint8_t *)p - v->file);
}

static bool check_str(struct view *v, uint32_t s, const void *field)
{
    if (s >= v->nstr) BAD(v, file_off(v, field), "string offset %u outside STRINGS", s);
    return true;
}

static bool check_type(struct view *v, uint32_t t, const void *field, bool none_ok)
{
    if (t == ALLOCS_META_NONE && none_ok) return true;
    if (t >= v->n[ALLOCS_META_TYPES])
        BAD(v, file_off(v, field), "type index %u out of range (%llu types)", t,
            (unsigned long long)v->n[ALLOCS_META_TYPES]);
    return true;
}

static bool check_range(struct view *v, uint32_t first, uint32_t count, int s, const void *field)
{
    if (first > v->n[s] || count > v->n[s] - first)
        BAD(v, file_off(v, field), "%s %u + %u out of range (%llu)", sec_name[s], first, count,
            (unsigned long long)v->n[s]);
    return true;
}

/* The header and the build-id: a stale file is told apart from a broken one. */
static bool check_header(struct view *v)
{
    const struct allocs_meta_header *h = (const void *)v->file;
    v->h = h;
    if (v->size < sizeof *h)
        BAD(v, 0, "%llu bytes: shorter than the header", (unsigned long long)v->size);
    if (memcmp(h->magic, ALLOCS_META_MAGIC, 8) != 0)
        BAD(v, 0, "bad magic (not an allocs metadata file)");
    if (h->version != ALLOCS_META_VERSION)
        BAD(v, 8, "version %u, expected %u", h->version, ALLOCS_META_VERSION);
    if (h->header_size != sizeof *h)
        BAD(v, 12, "header_size %u, expected %zu", h->header_size, sizeof *h);
    if (h->file_size != v->size)
        BAD(v, 16, "file_size %llu, but the file has %llu bytes", (unsigned long long)h->file_size,
            (unsigned long long)v->size);
    if (h->build_id_len > 20) BAD(v, 44, "build_id_len %u > 20", h->build_id_len);
    return true;
}

static bool check_all(struct view *v)
{
    const struct allocs_meta_header *h = v->h;
    for (int s = 0; s < ALLOCS_META_NSECTIONS; s++) {
        uint64_t off = h->sections[s].offset, n = h->sections[s].count;
        uint64_t at = offsetof(struct allocs_meta_header, sections) + 16u * (unsigned)s;
        if (off % 8)
            BAD(v, at, "section %s offset %llu is not 8-byte aligned", sec_name[s],
                (unsigned long long)off);
        if (n && off < sizeof *h) BAD(v, at, "section %s overlaps the header", sec_name[s]);
        if (off > v->size || n > (v->size - off) / rec_size[s])
            BAD(v, at, "section %s runs past the end of the file", sec_name[s]);
        if (s != ALLOCS_META_STRINGS && n >= ALLOCS_META_NONE)
            BAD(v, at + 8, "section %s: too many records", sec_name[s]);
        v->n[s] = n;
    }
    v->str = sec(v, ALLOCS_META_STRINGS);
    v->nstr = v->n[ALLOCS_META_STRINGS];
    if (v->nstr < 1 || v->str[0])
        BAD(v, h->sections[0].offset, "STRINGS must start with the empty string");
    /* Every offset below nstr then finds a NUL within the section. */
    if (v->str[v->nstr - 1])
        BAD(v, h->sections[0].offset + v->nstr - 1, "STRINGS does not end with a NUL");
    v->types = sec(v, ALLOCS_META_TYPES);
    v->members = sec(v, ALLOCS_META_MEMBERS);
    v->enums = sec(v, ALLOCS_META_ENUMERATORS);
    v->params = sec(v, ALLOCS_META_PARAMS);
    v->statics = sec(v, ALLOCS_META_STATICS);
    v->frames = sec(v, ALLOCS_META_FRAMES);
    v->vars = sec(v, ALLOCS_META_FRAME_VARS);
    v->sites = sec(v, ALLOCS_META_SITES);

    for (uint64_t i = 0; i < v->n[ALLOCS_META_TYPES]; i++) {
        const struct allocs_meta_type *t = &v->types[i];
        if (!check_str(v, t->name, &t->name) || !check_str(v, t->c_name, &t->c_name)) return false;
        if (!v->str[t->name])
            BAD(v, file_off(v, &t->name), "type %llu has no name", (unsigned long long)i);
        if (t->kind > ALLOCS_KIND_FRAME)
            BAD(v, file_off(v, &t->kind), "type kind %u unknown", t->kind);
        if (!check_type(v, t->related, &t->related, true)) return false;
        switch (t->kind) {
        case ALLOCS_KIND_STRUCT:
        case ALLOCS_KIND_UNION:
        case ALLOCS_KIND_FRAME:
            if (!check_range(v, t->first, t->count, ALLOCS_META_MEMBERS, &t->first)) return false;
            break;
        case ALLOCS_KIND_ENUM:
            if (!check_range(v, t->first, t->count, ALLOCS_META_ENUMERATORS, &t->first))
                return false;
            break;
        case ALLOCS_KIND_FUNCTION:
            if (!check_range(v, t->first, t->count, ALLOCS_META_PARAMS, &t->first)) return false;
            break;
        case ALLOCS_KIND_ARRAY:
            if (t->related == ALLOCS_META_NONE)
                BAD(v, file_off(v, &t->related), "an array without an element type");
            break;
        }
    }
    for (uint64_t i = 0; i < v->n[ALLOCS_META_MEMBERS]; i++) {
        const struct allocs_meta_member *m = &v->members[i];
        if (!check_str(v, m->name, &m->name) || !check_type(v, m->type, &m->type, true))
            return false;
    }
    for (uint64_t i = 0; i < v->n[ALLOCS_META_ENUMERATORS]; i++)
        if (!check_str(v, v->enums[i].name, &v->enums[i].name)) return false;
    for (uint64_t i = 0; i < v->n[ALLOCS_META_PARAMS]; i++)
        if (!check_type(v, v->params[i], &v->params[i], true)) return false;
    for (uint64_t i = 0; i < v->n[ALLOCS_META_STATICS]; i++) {
        const struct allocs_meta_static *s = &v->statics[i];
        if (i && s->vaddr < s[-1].vaddr) BAD(v, file_off(v, s), "STATICS not sorted by vaddr");
        if (s->kind != ALLOCS_STATIC_FUNCTION && s->kind != ALLOCS_STATIC_VARIABLE)
            BAD(v, file_off(v, &s->kind), "static kind %u unknown", s->kind);
        if (!check_str(v, s->name, &s->name) || !check_type(v, s->type, &s->type, true))
            return false;
    }
    for (uint64_t i = 0; i < v->n[ALLOCS_META_FRAMES]; i++) {
        const struct allocs_meta_frame *f = &v->frames[i];
        if (i && f->lo < f[-1].lo) BAD(v, file_off(v, f), "FRAMES not sorted by lo");
        if (f->hi < f->lo) BAD(v, file_off(v, &f->hi), "frame hi < lo");
        if (!check_str(v, f->function, &f->function) || !check_type(v, f->type, &f->type, false) ||
            !check_range(v, f->first_var, f->nvars, ALLOCS_META_FRAME_VARS, &f->first_var))
            return false;
        if (v->types[f->type].kind != ALLOCS_KIND_FRAME)
            BAD(v, file_off(v, &f->type), "frame type is not a FRAME type");
    }
    for (uint64_t i = 0; i < v->n[ALLOCS_META_FRAME_VARS]; i++) {
        const struct allocs_meta_frame_var *fv = &v->vars[i];
        if (fv->pc_hi < fv->pc_lo) BAD(v, file_off(v, &fv->pc_hi), "frame var pc_hi < pc_lo");
        if (!check_str(v, fv->name, &fv->name) || !check_type(v, fv->type, &fv->type, true))
            return false;
    }
    for (uint64_t i = 0; i < v->n[ALLOCS_META_SITES]; i++) {
        const struct allocs_meta_site *s = &v->sites[i];
        if (i && s->vaddr < s[-1].vaddr) BAD(v, file_off(v, s), "SITES not sorted by vaddr");
        if (!check_type(v, s->type, &s->type, false)) return false;
    }
    return true;
}

/* ---- building the in-memory types ---- */
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

static struct allocs_loaded_meta *build(const struct view *v, const char *path, bool *completed)
{
    uint64_t nt = v->n[ALLOCS_META_TYPES], nm = v->n[ALLOCS_META_MEMBERS];
    uint64_t ne = v->n[ALLOCS_META_ENUMERATORS], np = v->n[ALLOCS_META_PARAMS];
    size_t bytes = sizeof(struct allocs_loaded_meta) + strlen(path) + 1 + 16;
    size_t o_types = (bytes + 15) & ~(size_t)15;
    size_t o_ptrs = o_types + nt * sizeof(struct uniqtype);
    size_t o_mem = o_ptrs + nt * sizeof(void *);
    size_t o_enum = o_mem + nm * sizeof(struct uniqtype_member);
    size_t o_par = o_enum + ne * sizeof(struct uniqtype_enumerator);
    size_t total = o_par + np * sizeof(void *);
    char *mem = meta_map(total);
    if (!mem) return NULL;
    struct allocs_loaded_meta *lm = (void *)mem;
    char *p = mem + sizeof *lm;
    memcpy(p, path, strlen(path) + 1);
    struct uniqtype *ts = (void *)(mem + o_types);
    const struct uniqtype **ptrs = (void *)(mem + o_ptrs);
    struct uniqtype_member *ms = (void *)(mem + o_mem);
    struct uniqtype_enumerator *es = (void *)(mem + o_enum);
    const struct uniqtype **ps = (void *)(mem + o_par);

    for (uint64_t i = 0; i < nt; i++) {
        const struct allocs_meta_type *r = &v->types[i];
        struct uniqtype *t = &ts[i];
        t->name = v->str + r->name;
        t->c_name = v->str + r->c_name;
        t->size = r->size;
        t->kind = r->kind;
        t->encoding = r->encoding;
        t->flags = r->flags;
        t->bit_size = r->bit_size;
        t->count = r->count;
        ptrs[i] = t;
        if (t->kind == ALLOCS_KIND_FRAME) continue; /* frames are per object, never shared */
        const struct uniqtype *e = meta_table_find(t->name);
        if (!e) {
            meta_table_put(t);
        } else if (mergeable(e, t) && completable(e) && !(t->flags & ALLOCS_TYPE_F_INCOMPLETE)) {
            meta_table_put(t); /* the first complete definition wins from now on */
            ((struct uniqtype *)e)->related = t;
            *completed = true;
        } else if (mergeable(e, t) &&
                   (e->size == t->size || (t->flags & ALLOCS_TYPE_F_INCOMPLETE))) {
            ptrs[i] = e;
        } /* else: an unrelated type of the same name; both are kept, the first is found */
    }
    for (uint64_t i = 0; i < nt; i++) {
        const struct allocs_meta_type *r = &v->types[i];
        struct uniqtype *t = &ts[i];
        t->related = r->related == ALLOCS_META_NONE ? NULL : ptrs[r->related];
        switch (t->kind) {
        case ALLOCS_KIND_STRUCT:
        case ALLOCS_KIND_UNION:
        case ALLOCS_KIND_FRAME:
            t->members = ms + r->first;
            break;
        case ALLOCS_KIND_ENUM:
            t->enumerators = es + r->first;
            break;
        case ALLOCS_KIND_FUNCTION:
            t->params = ps + r->first;
            break;
        }
    }
    for (uint64_t i = 0; i < nm; i++) {
        const struct allocs_meta_member *r = &v->members[i];
        ms[i] = (struct uniqtype_member){
            v->str + r->name, r->type == ALLOCS_META_NONE ? NULL : ptrs[r->type],
            r->offset,        r->bit_offset,
            r->bit_size,      0};
    }
    for (uint64_t i = 0; i < ne; i++)
        es[i] = (struct uniqtype_enumerator){v->str + v->enums[i].name, v->enums[i].value};
    for (uint64_t i = 0; i < np; i++)
        ps[i] = v->params[i] == ALLOCS_META_NONE ? NULL : ptrs[v->params[i]];

    lm->path = (uintptr_t)p;
    lm->strings = (uintptr_t)v->str;
    lm->strings_size = v->nstr;
    lm->types = (uintptr_t)ts;
    lm->type_ptrs = (uintptr_t)ptrs;
    lm->ntypes = nt;
    lm->members = (uintptr_t)ms;
    lm->nmembers = nm;
    lm->statics = (uintptr_t)v->statics;
    lm->nstatics = v->n[ALLOCS_META_STATICS];
    lm->frames = (uintptr_t)v->frames;
    lm->nframes = v->n[ALLOCS_META_FRAMES];
    lm->frame_vars = (uintptr_t)v->vars;
    lm->nframe_vars = v->n[ALLOCS_META_FRAME_VARS];
    lm->sites = (uintptr_t)v->sites;
    lm->nsites = v->n[ALLOCS_META_SITES];
    return lm;
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
    int fd = lv_open_read(path);
    if (fd < 0) return TRY_ABSENT;
    long size = lv_file_size(fd);
    struct view v;
    memset(&v, 0, sizeof v);
    if (size < 0 || (uint64_t)size > MAX_FILE_BYTES) {
        lv_close(fd);
        rt_warn("metadata %s is invalid: size %ld; ignored", path, size);
        return TRY_REFUSED;
    }
    size_t mapped = ((size_t)size + 4095) & ~(size_t)4095;
    uint8_t *buf = size ? meta_map(mapped) : NULL;
    long got = buf ? lv_pread(fd, buf, (size_t)size, 0) : 0;
    lv_close(fd);
    if (size && (!buf || got != size)) {
        if (buf) rt_unmap(buf, mapped);
        rt_warn("metadata %s could not be read; ignored", path);
        return TRY_REFUSED;
    }
    v.file = buf ? buf : (const uint8_t *)"";
    v.size = (uint64_t)size;
    if (!check_header(&v)) goto bad;
    if (v.h->build_id_len != obj->build_id_len ||
        memcmp(v.h->build_id, obj->build_id, obj->build_id_len) != 0) {
        char want[41], have[41];
        hex(want, obj->build_id, obj->build_id_len);
        hex(have, v.h->build_id, v.h->build_id_len);
        rt_warn("metadata %s is for build-id %s, but %s has build-id %s: rerun allocs typegen %s",
                path, have[0] ? have : "(none)", objname, want, objname);
        rt_unmap(buf, mapped);
        return TRY_REFUSED;
    }
    if (!check_all(&v)) goto bad;
    struct allocs_loaded_meta *lm = build(&v, path, completed);
    if (!lm) {
        rt_unmap(buf, mapped);
        rt_warn("metadata %s: out of memory; ignored", path);
        return TRY_REFUSED;
    }
    __atomic_store_n(&obj->meta, (uint64_t)(uintptr_t)lm, __ATOMIC_RELEASE);
    return TRY_LOADED;
bad:
    rt_warn("metadata %s is invalid: %s (at file offset %llu); ignored", path, v.why,
            (unsigned long long)v.at);
    if (buf) rt_unmap(buf, mapped);
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
