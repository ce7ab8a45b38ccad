/* meta.h: type metadata inside the runtime (private).
 *
 *   meta_find.c     finding each object's metadata file by the search rule, reading its header;
 *                   meta_objects_changed (the loader's entry point)
 *   meta_validate.c the checks on the header, the sections and the records kept in the arena
 *   meta_load.c     the arena; reading, checking and building the struct uniqtype instances,
 *                   uniquing them and publishing struct allocs_loaded_meta (objects[i].meta)
 *   meta_mem.c      meta_lock, populated mappings and the private pool
 *   meta_types.c  the global name -> uniqtype table, types synthesised at run time (arrays
 *                 sized by a chunk, auxv objects), and the per-allocator type queries
 *
 * Locking: one rt_lock (meta_lock) around loading and synthesis, taken with every signal
 * blocked; it is never held while taking another runtime lock (memory comes from the private
 * pool below, not rt_arena_alloc). Queries of loaded data take no lock: objects[i].meta and
 * table entries are published with release stores and never freed.
 */
#ifndef ALLOCS_META_H
#define ALLOCS_META_H

#include "internal.h"
#include "../include/allocs_uniqtype.h"

/* elf_objects.c -> meta: objects were added (also the first scan at start-up); called outside
 * the levels part's locks. Loads metadata for every live object not tried before. may_wait as
 * for heap_objects_changed: false when a fork holds the lock and nothing was done. */
bool meta_objects_changed(bool may_wait);
/* Lazy loading (meta_find.c): objects whose metadata file was found but whose types are not
 * built yet. Every type query calls meta_ensure_loaded first, which loads them all (in object
 * order, as an eager load would, so uniquing and completion give the same answers). */
extern uint32_t meta_npending;
void meta_load_pending(void);
static inline void meta_ensure_loaded(void)
{
    if (__builtin_expect(__atomic_load_n(&meta_npending, __ATOMIC_ACQUIRE) != 0, 0))
        meta_load_pending();
}
/* A pending object's SITES records, read at start-up for the malloc path's wrapper flags. */
const struct allocs_meta_site *meta_early_sites(uint32_t slot, uint64_t *n);
/* Takes meta_lock with every signal blocked; with may_wait = false, gives up (false) when a fork
 * on another thread holds it. */
bool meta_lock_take(uint64_t *saved_mask, bool may_wait);

/* meta_mem.c */
void meta_lock_drop(uint64_t saved_mask);
void *meta_pool_alloc(size_t bytes); /* zeroed, 16-aligned, permanent; under meta_lock */
/* Zeroed private anonymous memory, populated (no page faults); big requests on transparent huge
 * pages. *mapped (if not NULL) gets the size mapped, which may be more than asked for. */
void *meta_map(size_t bytes, size_t *mapped);

/* meta_types.c: the global table (insert/replace under meta_lock; lookups lock-free) */
uint32_t meta_name_hash(const char *name);
const struct uniqtype *meta_table_find(const char *name);
const struct uniqtype *meta_table_find_h(const char *name, uint32_t hash);
bool meta_table_put(const struct uniqtype *t); /* adds or replaces the entry for t->name */
/* With room reserved before: */
void meta_table_put_h(const struct uniqtype *t, uint32_t hash); /* adds or replaces */
/* Adds t unless its name is there: NULL when added, else the instance found. */
const struct uniqtype *meta_table_add_h(const struct uniqtype *t, uint32_t hash);
/* Room for `more` names: 0 if the table has it, else the bytes a big enough table needs, which
 * the caller provides (zeroed) to meta_table_grow_into before putting the names. */
size_t meta_table_plan(uint64_t more);
void meta_table_grow_into(void *mem, size_t bytes);
/* Follows an incomplete type to the complete one that superseded it (see meta_load.c). */
static inline const struct uniqtype *meta_resolve(const struct uniqtype *t)
{
    if (t && (t->flags & ALLOCS_TYPE_F_INCOMPLETE) && t->related &&
        (t->kind == ALLOCS_KIND_STRUCT || t->kind == ALLOCS_KIND_UNION ||
         t->kind == ALLOCS_KIND_ENUM))
        return t->related;
    return t;
}

/* The queries api.c makes (NULL when nothing is known). */
const struct uniqtype *meta_type_of_static(uintptr_t addr, uintptr_t base);
const struct uniqtype *meta_type_of_frame(uintptr_t pc);
/* heap_sites.c: metadata was loaded; every thread's site cache must classify pcs again. */
void heap_sites_meta_changed(void);
/* The SITES flags of the call returning to pc (ALLOCS_SITE_*), 0 when none. */
uint32_t meta_site_flags(uintptr_t pc);
const struct uniqtype *meta_type_of_chunk(uint32_t site_id, uintptr_t site_pc, size_t size);
const struct uniqtype *meta_type_of_auxv(uintptr_t base, size_t size);
/* A string literal of `size` bytes (NUL included): char[size], made up without metadata. */
const struct uniqtype *meta_type_of_string(size_t size);

#ifdef ALLOCS_META_LOADER
/* ---- shared by the loader's files only (meta_find.c, meta_validate.c, meta_load.c,
 * meta_mem.c), which define ALLOCS_META_LOADER before including this header ---- */
#include <stddef.h>
#include <stdio.h>

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

struct meta_load {
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
static inline uint64_t fo(const struct meta_load *L, int s, uint64_t i, uint64_t f)
{
    return L->off[s] + i * rec_size[s] + f;
}
#define FO(L, s, i, type, field) fo((L), (s), (i), offsetof(type, field))

static inline bool str_ok(struct meta_load *L, uint32_t s, uint64_t at)
{
    if (s >= L->nstr) BAD(L, at, "string offset %u outside STRINGS", s);
    return true;
}

static inline bool type_ok(struct meta_load *L, uint32_t t, uint64_t at, bool none_ok)
{
    if (t == ALLOCS_META_NONE && none_ok) return true;
    if (t >= L->n[ALLOCS_META_TYPES])
        BAD(L, at, "type index %u out of range (%llu types)", t,
            (unsigned long long)L->n[ALLOCS_META_TYPES]);
    return true;
}

static inline bool range_ok(struct meta_load *L, uint32_t first, uint32_t count, int s, uint64_t at)
{
    if (first > L->n[s] || count > L->n[s] - first)
        BAD(L, at, "%s %u + %u out of range (%llu)", sec_name[s], first, count,
            (unsigned long long)L->n[s]);
    return true;
}

/* meta_validate.c */
bool meta_header_ok(struct meta_load *L); /* the header and the build-id length */
bool meta_sections_ok(struct meta_load *L);
bool meta_records_ok(struct meta_load *L); /* STATICS, FRAMES, FRAME_VARS, SITES */
/* meta_load.c */
/* Reads and validates everything; on success the arena holds the built (unresolved) types. */
bool meta_load_all(struct meta_load *L, const char *path);
void meta_unique_and_publish(struct meta_load *L, struct allocs_object *obj, bool *completed);
void meta_patch_refs(struct allocs_loaded_meta *lm);
/* meta_mem.c: [p, end) (an arena's unused tail) becomes the pool's space if it is bigger. */
void meta_pool_offer(char *p, char *end);
#endif

#endif
