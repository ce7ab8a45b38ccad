/* maps_note.c: what the interposed calls (maps_calls.c) and the pending log (maps_pending.c)
 * report, applied to the mapping index with the write lock held. munmap and mremap hold the
 * lock across the system call itself: otherwise a range freed by one thread could be mapped
 * again by another, recorded, and then wrongly removed when the first thread records its
 * munmap. */
#include "levels.h"

void maps_note_map_locked(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site)
{
    if (!lv_maps_ready) return;
    maps_ensure_scanned_locked();
    maps_add_mapping(b, PAGE_UP(e), flags, site, 0);
    bigs_relink();
}

void maps_note_unmap_locked(uintptr_t b, uintptr_t e)
{
    if (!lv_maps_ready) return;
    maps_ensure_scanned_locked();
    maps_remove_range(b, PAGE_UP(e));
    bigs_relink();
}

void maps_note_remap_locked(uintptr_t old, size_t old_len, uintptr_t to, size_t new_len,
                            bool keep_old, uint64_t site)
{
    if (!lv_maps_ready) return;
    maps_ensure_scanned_locked();
    /* The moved or resized mapping keeps the record's identity: its original mmap site if it
     * was the program's own, else this call becomes its site. */
    struct allocs_big *m = maps_mapping_at(old);
    uint16_t f = m ? m->flags : (uint16_t)(ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE);
    uint64_t s = m && (m->flags & ALLOCS_BIG_F_USER_MMAP) ? m->site : site;
    uint64_t name = m ? m->name : 0;
    if (!keep_old) maps_remove_range(old, PAGE_UP(old + old_len));
    maps_add_mapping(to, PAGE_UP(to + new_len), (uint16_t)(f | ALLOCS_BIG_F_USER_MMAP), s, name);
    bigs_relink();
}
