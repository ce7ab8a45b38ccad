/* meta.h: type metadata inside the runtime (private).
 *
 *   meta_load.c   finding, reading and validating each object's metadata file; building its
 *                 struct uniqtype instances and struct allocs_loaded_meta (objects[i].meta)
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
 * the levels part's locks. Loads metadata for every live object not tried before. */
void meta_objects_changed(void);

/* meta_load.c */
void meta_lock_take(uint64_t *saved_mask); /* blocks signals, then takes meta_lock */
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
const struct uniqtype *meta_type_of_chunk(uint32_t site_id, uintptr_t site_pc, size_t size);
const struct uniqtype *meta_type_of_auxv(uintptr_t base, size_t size);

#endif
