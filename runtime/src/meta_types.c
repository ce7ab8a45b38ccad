/* meta_types.c: the process-wide name -> struct uniqtype table, the types the runtime makes
 * up at run time, and the type queries behind alloc_get_type:
 *   static      the static's type from the object's STATICS (functions: their function type)
 *   stackframe  the FRAME type of the function whose FRAMES entry holds the frame's pc
 *   heap        the allocation site's type (SITES, by the call's return address), cached in
 *               root.sites[id].type; an ARRAY site caches the unbounded array __ARR0_T and a
 *               chunk answers __ARR<n>_T with n = size / sizeof(T)
 *   auxv        made up here, without metadata: argv/envp `__ARR<n>___PTR_signed_char$8`,
 *               strings `__ARR<n>_signed_char$8`, the argc word `long$64`, AT_RANDOM's bytes
 *               `__ARR16_unsigned_char$8`, the auxv array `__ARR<n>___allocs_auxv_entry`
 *               (a 16-byte struct {unsigned long a_type, a_val})
 * Made-up types live in the private pool (permanent anonymous memory) and are uniqued by
 * name in the same table as loaded ones. */
#define _GNU_SOURCE
#include "meta.h"
#include "levels.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

/* ---- the table: open addressing on a 32-bit name hash, at most 3/4 full. A slot holds the
 * uniqtype's address with the hash's top 16 bits in its top 16 bits (user addresses have 47),
 * so a probe compares names only when those agree. It grows by publishing a bigger copy (old
 * tables are never freed, so a lock-free reader holding one stays safe). The loader reserves
 * room for a whole file at once (meta_table_plan), in the file's own arena. ---- */
struct table {
    uint32_t mask, count;
    uint64_t slots[];
};
static struct table *table;

#define SLOT_PTR(s) ((const struct uniqtype *)(uintptr_t)((s) & ((1ull << 48) - 1)))
#define SLOT_TAG(h) ((uint64_t)((h) >> 16) << 48)

uint32_t meta_name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

const struct uniqtype *meta_table_find_h(const char *name, uint32_t h)
{
    const struct table *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
    if (!t || !name) return NULL;
    uint64_t tag = SLOT_TAG(h);
    for (uint32_t i = h & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
        uint64_t s = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
        if (!s) return NULL;
        if ((s & ~((1ull << 48) - 1)) == tag && strcmp(SLOT_PTR(s)->name, name) == 0)
            return SLOT_PTR(s);
    }
    return NULL;
}

const struct uniqtype *meta_table_find(const char *name)
{
    return name ? meta_table_find_h(name, meta_name_hash(name)) : NULL;
}

/* Puts u in its slot; with keep, an entry of the same name stays and is returned. */
static const struct uniqtype *put_in(struct table *t, const struct uniqtype *u, uint32_t h,
                                     bool keep)
{
    uint64_t tag = SLOT_TAG(h);
    uint32_t i = h & t->mask;
    for (;; i = (i + 1) & t->mask) {
        uint64_t e = t->slots[i];
        if (!e) {
            t->count++;
            break;
        }
        if ((e & ~((1ull << 48) - 1)) == tag && strcmp(SLOT_PTR(e)->name, u->name) == 0) {
            if (keep) return SLOT_PTR(e);
            break;
        }
    }
    __atomic_store_n(&t->slots[i], (uint64_t)(uintptr_t)u | tag, __ATOMIC_RELEASE);
    return NULL;
}

static uint32_t cap_for(uint64_t n)
{
    uint64_t cap = 1024;
    while (cap * 3 < n * 4)
        cap *= 2;
    return cap > (1ull << 31) ? 0 : (uint32_t)cap;
}

size_t meta_table_plan(uint64_t more)
{
    uint64_t need = (table ? table->count : 0) + more;
    if (table && need * 4 <= ((uint64_t)table->mask + 1) * 3) return 0;
    uint32_t cap = cap_for(need);
    return cap ? sizeof(struct table) + (size_t)cap * sizeof(uint64_t) : 0;
}

void meta_table_grow_into(void *mem, size_t bytes)
{
    struct table *b = mem;
    uint64_t cap = (bytes - sizeof *b) / sizeof(uint64_t);
    b->mask = (uint32_t)(cap - 1);
    if (table)
        for (uint32_t i = 0; i <= table->mask; i++)
            if (table->slots[i]) {
                const struct uniqtype *u = SLOT_PTR(table->slots[i]);
                put_in(b, u, meta_name_hash(u->name), false);
            }
    __atomic_store_n(&table, b, __ATOMIC_RELEASE);
}

void meta_table_put_h(const struct uniqtype *u, uint32_t h)
{
    put_in(table, u, h, false);
}

const struct uniqtype *meta_table_add_h(const struct uniqtype *u, uint32_t h)
{
    return put_in(table, u, h, true);
}

bool meta_table_put(const struct uniqtype *u)
{
    size_t bytes = meta_table_plan(1);
    if (bytes) {
        void *m = meta_pool_alloc(bytes);
        if (!m) return false;
        meta_table_grow_into(m, bytes);
    }
    put_in(table, u, meta_name_hash(u->name), false);
    return true;
}

RT_EXPORT const struct uniqtype *uniqtype_lookup(const char *canonical_name)
{
    meta_ensure_loaded();
    return meta_resolve(meta_table_find(canonical_name));
}

/* ---- made-up types (under meta_lock) ---- */
static const char *pool_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = meta_pool_alloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static const struct uniqtype *make(const char *name, const char *c_name, uint8_t kind,
                                   uint64_t size, uint8_t enc, uint32_t bits,
                                   const struct uniqtype *related, uint32_t count,
                                   const struct uniqtype_member *members)
{
    const struct uniqtype *e = meta_table_find(name);
    if (e) return e;
    struct uniqtype *t = meta_pool_alloc(sizeof *t);
    if (!t || !(t->name = pool_str(name)) || !(t->c_name = pool_str(c_name))) return NULL;
    t->kind = kind;
    t->size = size;
    t->encoding = enc;
    t->bit_size = bits;
    t->related = related;
    t->count = count;
    t->members = members;
    return meta_table_put(t) ? t : NULL;
}

/* DW_ATE_* */
#define ATE_SIGNED 5
#define ATE_SIGNED_CHAR 6
#define ATE_UNSIGNED 7
#define ATE_UNSIGNED_CHAR 8

static const struct uniqtype *base(const char *name, const char *c, uint8_t enc, uint32_t bits)
{
    return make(name, c, ALLOCS_KIND_BASE, bits / 8, enc, bits, NULL, 0, NULL);
}

/* The C spelling of an array of n elements of t: "int[42]", "char *[2]", "int[2][3]". */
static void array_c_name(char *out, size_t cap, const struct uniqtype *el, uint64_t n)
{
    const char *c = el->c_name ? el->c_name : "?";
    const char *br = el->kind == ALLOCS_KIND_ARRAY ? strchr(c, '[') : NULL;
    if (br)
        snprintf(out, cap, "%.*s[%llu]%s", (int)(br - c), c, (unsigned long long)n, br);
    else
        snprintf(out, cap, "%s[%llu]", c, (unsigned long long)n);
}

static const struct uniqtype *array_locked(const struct uniqtype *el, uint64_t n)
{
    char name[512], c[512];
    if ((size_t)snprintf(name, sizeof name, "__ARR%llu_%s", (unsigned long long)n, el->name) >=
        sizeof name)
        return NULL;
    array_c_name(c, sizeof c, el, n);
    return make(name, c, ALLOCS_KIND_ARRAY, n * el->size, 0, 0, el, (uint32_t)n, NULL);
}

/* __ARR<n>_<el>, made on first use. n = 0: unbounded (sized by the chunk). */
static const struct uniqtype *array_of(const struct uniqtype *el, uint64_t n)
{
    if (!el || n > UINT32_MAX) return NULL;
    char name[512];
    if ((size_t)snprintf(name, sizeof name, "__ARR%llu_%s", (unsigned long long)n, el->name) >=
        sizeof name)
        return NULL;
    const struct uniqtype *t = meta_table_find(name);
    if (t) return t;
    uint64_t mask;
    if (!meta_lock_take(&mask, false)) return NULL;
    t = array_locked(el, n);
    meta_lock_drop(mask);
    return t;
}

/* ---- trailing arrays ----
 * A struct whose last member is an array of 0 or 1 elements (`double vals[];`, `char name[1];`)
 * in a chunk with room past it is that struct with the array holding n elements,
 * n = (chunk size - the member's offset) / element size: `__FLEX<n>_<S>`, C spelling
 * `struct S (vals[n])`, size offset + n * element size, members S's with the last retyped. */
static const struct uniqtype *flex_locked(const struct uniqtype *s, uint64_t n)
{
    const struct uniqtype_member *last = &s->members[s->count - 1];
    const struct uniqtype *el = last->type->related;
    char name[512], c[512];
    if ((size_t)snprintf(name, sizeof name, "__FLEX%llu_%s", (unsigned long long)n, s->name) >=
        sizeof name)
        return NULL;
    const struct uniqtype *e = meta_table_find(name);
    if (e) return e;
    const struct uniqtype *arr = array_locked(el, n);
    struct uniqtype_member *m = meta_pool_alloc(s->count * sizeof *m);
    if (!arr || !m) return NULL;
    memcpy(m, s->members, s->count * sizeof *m);
    m[s->count - 1].type = arr;
    snprintf(c, sizeof c, "%s (%s[%llu])", s->c_name ? s->c_name : s->name, last->name,
             (unsigned long long)n);
    return make(name, c, ALLOCS_KIND_STRUCT, last->offset + n * el->size, 0, 0, NULL, s->count, m);
}

/* __HDR<h>_T: a chunk holding an h-byte header, then one T (ALLOCS_SITE_HEADER). */
static const struct uniqtype *header_of(const struct uniqtype *t, uint32_t h)
{
    char name[512], c[512];
    if (!t || !h || (size_t)snprintf(name, sizeof name, "__HDR%u_%s", h, t->name) >= sizeof name)
        return NULL;
    const struct uniqtype *e = meta_table_find(name);
    if (e) return e;
    uint64_t mask;
    if (!meta_lock_take(&mask, false)) return NULL;
    const struct uniqtype *u = base("unsigned_char$8", "unsigned char", ATE_UNSIGNED_CHAR, 8);
    const struct uniqtype *arr = u ? array_locked(u, h) : NULL;
    struct uniqtype_member *m = meta_pool_alloc(2 * sizeof *m);
    const struct uniqtype *r = NULL;
    if (arr && m) {
        m[0] = (struct uniqtype_member){pool_str("__header"), arr, 0, 0, 0, 0};
        m[1] = (struct uniqtype_member){pool_str("object"), t, h, 0, 0, 0};
        snprintf(c, sizeof c, "%s (after a %u-byte header)", t->c_name ? t->c_name : t->name, h);
        r = make(name, c, ALLOCS_KIND_STRUCT, h + t->size, 0, 0, NULL, 2, m);
    }
    meta_lock_drop(mask);
    return r;
}

/* t, or its __FLEX<n> form when a chunk of `size` bytes has room for more trailing elements. */
static const struct uniqtype *with_trailing(const struct uniqtype *t, size_t size)
{
    if (!t || t->kind != ALLOCS_KIND_STRUCT || !t->count || !t->members || size <= t->size)
        return t;
    const struct uniqtype_member *last = &t->members[t->count - 1];
    const struct uniqtype *a = last->type;
    if (!a || a->kind != ALLOCS_KIND_ARRAY || a->count > 1 || !a->related || !a->related->size ||
        last->bit_size || size < last->offset)
        return t;
    uint64_t n = (size - last->offset) / a->related->size;
    if (n <= a->count || n > UINT32_MAX) return t;
    uint64_t mask;
    if (!meta_lock_take(&mask, false)) return t;
    const struct uniqtype *f = flex_locked(t, n);
    meta_lock_drop(mask);
    return f ? f : t;
}

/* ---- per-object lookups ---- */
static const struct allocs_loaded_meta *meta_at(uintptr_t addr, uintptr_t *bias)
{
    uint32_t idx;
    struct allocs_object o;
    struct lv_segment seg;
    if (!objects_find(addr, &idx, &o, &seg) || !o.meta) return NULL;
    *bias = (uintptr_t)o.load_bias;
    return (const struct allocs_loaded_meta *)(uintptr_t)o.meta;
}

/* The SITES records of the object at addr: the loaded ones, else, when early, those read at
 * start-up for a pending object (the malloc path never loads types). */
static inline __attribute__((always_inline)) const struct allocs_meta_site *
sites_at(uintptr_t addr, uintptr_t *bias, uint64_t *n, const struct allocs_loaded_meta **lm,
         bool early)
{
    uint32_t idx;
    struct allocs_object o;
    struct lv_segment seg;
    if (!objects_find(addr, &idx, &o, &seg)) return NULL;
    *bias = (uintptr_t)o.load_bias;
    *lm = (const struct allocs_loaded_meta *)(uintptr_t)o.meta;
    if (!*lm) return early ? meta_early_sites(idx, n) : NULL;
    *n = (*lm)->nsites;
    return (const struct allocs_meta_site *)(uintptr_t)(*lm)->sites;
}

static const struct uniqtype *type_at(const struct allocs_loaded_meta *lm, uint32_t idx)
{
    if (idx >= lm->ntypes) return NULL;
    return meta_resolve(((const struct uniqtype *const *)(uintptr_t)lm->type_ptrs)[idx]);
}

const struct uniqtype *meta_type_of_static(uintptr_t addr, uintptr_t sym_base)
{
    meta_ensure_loaded();
    uintptr_t bias;
    const struct allocs_loaded_meta *lm = meta_at(addr, &bias);
    if (!lm || !lm->nstatics) return NULL;
    const struct allocs_meta_static *s = (const void *)(uintptr_t)lm->statics;
    uint64_t a = addr - bias, b = sym_base - bias, lo = 0, hi = lm->nstatics;
    while (lo < hi) { /* the first entry with vaddr > a */
        uint64_t mid = (lo + hi) / 2;
        if (s[mid].vaddr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Prefer the entry starting at the symbol the static leaf found; else one covering a. */
    const struct allocs_meta_static *cover = NULL;
    for (uint64_t i = lo; i-- > 0 && lo - i <= 64;) {
        if (s[i].vaddr == b && s[i].type != ALLOCS_META_NONE) return type_at(lm, s[i].type);
        if (!cover && s[i].type != ALLOCS_META_NONE && a < s[i].vaddr + (s[i].size ? s[i].size : 1))
            cover = &s[i];
    }
    return cover ? type_at(lm, cover->type) : NULL;
}

const struct uniqtype *meta_type_of_frame(uintptr_t pc)
{
    meta_ensure_loaded();
    uintptr_t bias;
    const struct allocs_loaded_meta *lm = meta_at(pc, &bias);
    if (!lm || !lm->nframes) return NULL;
    const struct allocs_meta_frame *f = (const void *)(uintptr_t)lm->frames;
    uint64_t a = pc - bias, lo = 0, hi = lm->nframes;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (f[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo || a >= f[lo - 1].hi) return NULL;
    return type_at(lm, f[lo - 1].type);
}

/* The SITES record for the call whose return address is pc, or NULL; *out is NULL when the
 * object's types are not loaded yet (then the start-up records answer only when early: a type
 * query has no use for a record without its types, and skips the look). */
static inline __attribute__((always_inline)) const struct allocs_meta_site *
site_record(uintptr_t pc, const struct allocs_loaded_meta **out, bool early)
{
    uintptr_t bias;
    uint64_t n = 0;
    const struct allocs_meta_site *s = sites_at(pc, &bias, &n, out, early);
    if (!s || !n) return NULL;
    uint64_t a = pc - bias, lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (s[mid].vaddr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= n || s[lo].vaddr != a) return NULL;
    return &s[lo];
}

/* Lock-free (a seqlock read of the objects and a binary search): safe on the malloc path. */
uint32_t meta_site_flags(uintptr_t pc)
{
    const struct allocs_loaded_meta *lm;
    const struct allocs_meta_site *s = site_record(pc, &lm, true);
    return s ? s->flags : 0;
}

/* The site's type as cached in root.sites (an ARRAY site as its unbounded array type). */
static const struct uniqtype *site_type(uintptr_t pc)
{
    const struct allocs_loaded_meta *lm;
    const struct allocs_meta_site *s = site_record(pc, &lm, false);
    if (!s || !lm) return NULL;
    const struct uniqtype *t = type_at(lm, s->type);
    if (t && (s->flags & ALLOCS_SITE_HEADER) && !(s->flags & ALLOCS_SITE_ARRAY))
        t = header_of(t, ALLOCS_SITE_ARG(s->flags));
    else if (t && (s->flags & ALLOCS_SITE_ARRAY))
        t = array_of(t, 0);
    return t;
}

const struct uniqtype *meta_type_of_chunk(uint32_t site_id, uintptr_t site_pc, size_t size)
{
    meta_ensure_loaded();
    struct allocs_site *sites = (struct allocs_site *)(uintptr_t)__allocs_root.sites;
    const struct uniqtype *t = NULL;
    bool cacheable =
        sites && site_id && site_id < __atomic_load_n(&__allocs_root.nsites, __ATOMIC_ACQUIRE);
    if (cacheable)
        t = (const struct uniqtype *)(uintptr_t)__atomic_load_n(&sites[site_id].type,
                                                                __ATOMIC_ACQUIRE);
    if (!t && site_pc) {
        t = site_type(site_pc);
        if (t && cacheable)
            __atomic_store_n(&sites[site_id].type, (uint64_t)(uintptr_t)t, __ATOMIC_RELEASE);
    }
    if (t && t->kind == ALLOCS_KIND_ARRAY && t->count == 0 && t->related && t->related->size)
        return array_of(t->related, size / t->related->size);
    return with_trailing(t, size);
}

/* ---- auxv ---- */
static const struct uniqtype *char_ptr_locked(void)
{
    const struct uniqtype *c = base("signed_char$8", "char", ATE_SIGNED_CHAR, 8);
    return c ? make("__PTR_signed_char$8", "char *", ALLOCS_KIND_POINTER, 8, 0, 0, c, 0, NULL)
             : NULL;
}

static const struct uniqtype *auxv_entry_locked(void)
{
    const struct uniqtype *e = meta_table_find("__allocs_auxv_entry");
    if (e) return e;
    const struct uniqtype *ul = base("unsigned_long$64", "unsigned long", ATE_UNSIGNED, 64);
    struct uniqtype_member *m = meta_pool_alloc(2 * sizeof *m);
    if (!ul || !m) return NULL;
    m[0] = (struct uniqtype_member){pool_str("a_type"), ul, 0, 0, 0, 0};
    m[1] = (struct uniqtype_member){pool_str("a_val"), ul, 8, 0, 0, 0};
    return make("__allocs_auxv_entry", "struct __allocs_auxv_entry", ALLOCS_KIND_STRUCT, 16, 0, 0,
                NULL, 2, m);
}

static bool is_at_random(uintptr_t base)
{
    const Elf64_auxv_t *av = (const Elf64_auxv_t *)(uintptr_t)__allocs_root.auxv;
    for (unsigned i = 0; av && i < 256 && av[i].a_type != AT_NULL; i++)
        if (av[i].a_type == AT_RANDOM) return av[i].a_un.a_val == base;
    return false;
}

const struct uniqtype *meta_type_of_string(size_t size)
{
    meta_ensure_loaded();
    uint64_t mask;
    if (!meta_lock_take(&mask, false)) return NULL;
    const struct uniqtype *c = base("signed_char$8", "char", ATE_SIGNED_CHAR, 8);
    const struct uniqtype *t = c ? array_locked(c, size) : NULL;
    meta_lock_drop(mask);
    return t;
}

const struct uniqtype *meta_type_of_auxv(uintptr_t b, size_t size)
{
    meta_ensure_loaded();
    const struct allocs_root *r = &__allocs_root;
    uint64_t mask;
    if (!meta_lock_take(&mask, false)) return NULL;
    const struct uniqtype *t = NULL;
    if (b == r->argv || b == r->envp) {
        const struct uniqtype *p = char_ptr_locked();
        if (p) t = array_locked(p, size / 8);
    } else if (b == r->auxv) {
        const struct uniqtype *e = auxv_entry_locked();
        if (e) t = array_locked(e, size / 16);
    } else if (b + 8 == r->argv && size == 8) {
        t = base("long$64", "long", ATE_SIGNED, 64);
    } else if (size == 16 && is_at_random(b)) {
        const struct uniqtype *u = base("unsigned_char$8", "unsigned char", ATE_UNSIGNED_CHAR, 8);
        if (u) t = array_locked(u, 16);
    } else {
        const struct uniqtype *c = base("signed_char$8", "char", ATE_SIGNED_CHAR, 8);
        if (c) t = array_locked(c, size);
    }
    meta_lock_drop(mask);
    return t;
}
