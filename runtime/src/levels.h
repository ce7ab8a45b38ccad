/* levels.h: private interfaces between the levels files (levels*.c, maps*.c, elf_*.c, stack*.c,
 * auxv.c, allocators.c). The heap part and the API see it only through
 * allocators.h, for the records one query's lookups keep (struct rt_where).
 *
 * Concurrency model: every level table (bigs, objects, the private indexes) is written only
 * with levels_write_begin()/levels_write_end() held: one rt_lock plus all signals blocked, so a
 * signal handler that queries or calls mmap can never deadlock against its own thread.
 * Readers never lock: they copy what they need between two reads of a sequence counter and
 * retry when a writer intervened (a seqlock). Tables live in fixed rt_map'd arrays that are
 * never unmapped, so a racing reader can read stale values but never fault.
 */
#ifndef ALLOCS_LEVELS_H
#define ALLOCS_LEVELS_H

#include "internal.h"
#include "sys_io.h"

#include <signal.h>

/* ---- levels.c: the write lock and the seqlock ---- */
void levels_write_begin(void);
/* The same unless a fork() on another thread holds the lock: then false, and nothing held.
 * For the paths a signal handler can reach (see rt_lock_unless_forking). */
bool levels_write_try_begin(void);
void levels_write_end(void);
unsigned levels_read_begin(void);     /* waits out a writer; returns the sequence */
bool levels_read_retry(unsigned seq); /* true: a writer intervened, read again */
extern rt_lock_t levels_lock;

/* Permanent storage for names, owned by the levels part and only used under the write lock
 * (a private bump pool, so no rt_lock is ever taken while holding levels_lock). */
const char *levels_intern(const char *s, size_t len);
/* Fixed tables, carved from one reservation made at start-up (called only from init). */
void *levels_reserve(size_t bytes);
/* Page-granular memory for level data that is never freed (symbol tables). */
void *levels_alloc(size_t bytes);

/* ---- maps_index.c: the mapping records and their sorted index (write lock held to change) ---- */
#define LV_MAX_BIGS 65536u
#define PAGE_UP(x) (((uintptr_t)(x) + 4095) & ~(uintptr_t)4095)
extern struct allocs_big *lv_bigs; /* root.bigs */
extern int32_t *lv_map_index;      /* MAPPING slots sorted by begin; non-overlapping */
extern uint32_t lv_nmaps;
extern volatile int lv_maps_ready;                /* the tables are reserved (maps_init) */
extern int lv_brk_big, lv_stack_big, lv_auxv_big; /* indexes into bigs, -1 if none */
extern uintptr_t lv_main_stack_lo, lv_main_stack_hi;
bool maps_index_init(void); /* reserves the tables; false if it could not */
/* Slots in root.bigs for the other levels (under the write lock). -1 when full. */
int bigs_alloc(const struct allocs_big *b);
void bigs_free(int idx);
void bigs_relink(void); /* recomputes the parent of BRK/STACK/AUXV bigs */
/* The first index position whose mapping ends above addr, among the first n. Readers call it
 * under the seqlock, so a slot read while a writer moves it is masked into the table (the
 * answer is then retried); the writers' index is never torn. */
static inline uint32_t maps_index_lower_of(uintptr_t addr, uint32_t n)
{
    uint32_t lo = 0, hi = n < LV_MAX_BIGS ? n : LV_MAX_BIGS;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (lv_bigs[(uint32_t)lv_map_index[mid] % LV_MAX_BIGS].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
static inline uint32_t maps_index_lower(uintptr_t addr)
{
    return maps_index_lower_of(addr, lv_nmaps);
}
void maps_index_append(int32_t slot); /* for a rescan, which rebuilds the index in order */
void maps_remove_range(uintptr_t b, uintptr_t e); /* drops, trims or splits what [b, e) overlaps */
void maps_add_mapping(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site, uint64_t name);
struct allocs_big *maps_mapping_at(uintptr_t a); /* the record containing a, or NULL */
/* [end of the record below addr, start of the record above), read under the seqlock. */
void maps_index_gap(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

/* ---- maps_scan.c: /proc/self/maps into the index ---- */
bool maps_scan_init(void);
/* The first read of /proc/self/maps, deferred until needed: maps_ensure on every lookup, the
 * flag tested inline (a query's path crosses it several times). */
extern volatile int lv_maps_scanned;
void maps_first_scan(void);
static inline void maps_ensure(void)
{
    if (RT_UNLIKELY(!lv_maps_scanned)) maps_first_scan();
}
void maps_ensure_scanned_locked(void); /* the same, with the write lock held */
void maps_rescan_locked(void);
bool maps_rescan(void);     /* takes the lock; false if rate-limited or a fork holds it */
void maps_rescan_now(void); /* the same, never rate-limited (and it too gives way to a fork) */

/* ---- maps.c: lookups; the mmap and brk allocators ---- */
void maps_init(void);
/* Copies the mapping containing addr (a top-level MAPPING big). When no known mapping contains
 * it, asks the kernel and rereads /proc/self/maps if it is mapped. */
bool maps_find(uintptr_t addr, struct allocs_big *out, bool may_rescan);
/* The index and the pending log, read without any lock and never rescanning. */
bool maps_lookup(uintptr_t addr, struct allocs_big *out);
void brk_refresh(void); /* brk_hi = current break */
/* m: the mapping containing addr, or NULL if none is known. */
bool brk_contains(uintptr_t addr, const struct allocs_big *m);

/* ---- maps_line.c ---- */
uintptr_t lv_parse_hex(const char **p, const char *end);
/* The /proc/self/maps line containing addr, read with no lock and no shared buffer. */
bool maps_read_line_at(uintptr_t addr, uintptr_t *b, uintptr_t *e, bool *file);

/* ---- maps_note.c: from the interposed calls and the log, with levels_write_begin() held ---- */
void maps_note_map_locked(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site);
void maps_note_unmap_locked(uintptr_t b, uintptr_t e);
void maps_note_remap_locked(uintptr_t old, size_t old_len, uintptr_t to, size_t new_len,
                            bool keep_old, uint64_t site);

/* ---- maps_calls.c ---- */
void maps_calls_init(void); /* finds glibc's functions */

/* ---- maps_pending.c: changes logged while a fork holds the levels lock ---- */
void maps_pending_begin(void); /* blocks signals, takes the log's own lock */
void maps_pending_end(void);
void maps_pending_map(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site);
void maps_pending_unmap(uintptr_t b, uintptr_t e);
/* was: the mapping at old before the call (looked up before maps_pending_begin: a reader that
 * holds the log's lock must not wait for a writer, who may be waiting for that lock). */
void maps_pending_remap(uintptr_t old, size_t old_len, uintptr_t to, size_t new_len, bool keep_old,
                        uint64_t site, const struct allocs_big *was);
extern volatile uint32_t lv_maps_npending;
static inline bool maps_pending_nonempty(void) /* inline: every mapping lookup asks */
{
    return __atomic_load_n(&lv_maps_npending, __ATOMIC_ACQUIRE) != 0;
}
void maps_pending_drain_locked(void); /* applies and empties the log (levels lock held) */
/* The answer for addr once the logged changes are applied to the index's answer. */
bool maps_pending_overlay(uintptr_t addr, struct allocs_big *out, bool found);
void maps_pending_after_fork_child(void);
/* A change went unlogged: the index must be reread (take: and the flag cleared). Tested
 * inline: every mapping lookup asks. */
extern volatile int lv_maps_pending_lost;
static inline bool maps_pending_lost(void)
{
    return __atomic_load_n(&lv_maps_pending_lost, __ATOMIC_ACQUIRE) != 0;
}
bool maps_pending_take_lost(void);

/* ---- elf_objects.c ---- */
#define LV_MAX_OBJECTS 4096u
#define LV_MAX_SEGMENTS 16u
struct lv_segment {
    uintptr_t lo, hi;  /* [lo, hi) in memory */
    uint32_t flags;    /* PF_* */
    uintptr_t file_hi; /* end of the file-backed part (lo + p_filesz) */
};
struct lv_object_priv { /* private per-object data, parallel to root.objects */
    struct lv_segment seg[LV_MAX_SEGMENTS];
    unsigned nseg;
    int file_big;
    int seg_big[LV_MAX_SEGMENTS];
    uintptr_t dynamic; /* address of PT_DYNAMIC, 0 if none */
    const struct lv_section *sections;
    unsigned nsections;
    const uint64_t *max_end;  /* prefix maximum of symbol ends (exact covering search) */
    volatile int build_state; /* 0 not tried, 1 built (or failed for good) */
};
extern struct lv_object_priv *lv_objects_priv; /* [LV_MAX_OBJECTS], rt_map'd */
void objects_init(void);
void objects_check_changed(void);    /* cheap: rescans after a dlopen that bypassed the wrapper */
void objects_after_fork_child(void); /* was another thread inside the loader? */
/* After objects_find failed: true if the loader knows an object there (we rescanned). */
bool objects_missed(uintptr_t addr);
/* The live object and segment containing addr (by value; consistent under the seqlock). */
bool objects_find(uintptr_t addr, uint32_t *obj, struct allocs_object *o, struct lv_segment *seg);
bool objects_ready(void); /* the tables are reserved (objects_init) */
/* Rescans the loader's list. wait = false gives up when another thread is scanning. */
bool objects_rescan(bool wait);
/* Around a call into glibc's dlopen or dlclose (a fork meanwhile: objects_after_fork_child). */
void objects_loader_enter(void);
void objects_loader_leave(void);
extern volatile unsigned lv_dlopen_pending; /* bumped by every dlopen (elf_dlopen.c) */

/* ---- elf_dlopen.c ---- */
void elf_dlopen_init(void); /* finds glibc's dlopen and dlclose (before objects_init) */

/* ---- elf_symbols.c ---- */
struct lv_section {
    uintptr_t lo, hi; /* in memory */
    const char *name;
    uint32_t flags; /* SHF_* */
    uint32_t type;
};
/* Builds the object's symbols and sections once (no-op afterwards). */
void symbols_ensure(uint32_t obj);
/* The static leaf for addr in object obj's segment seg. */
bool symbols_static_leaf(uint32_t obj, const struct allocs_object *o, const struct lv_segment *seg,
                         uintptr_t addr, struct rt_leaf *out);
/* The function symbol covering pc, or NULL. */
const char *symbols_function_at(uintptr_t pc, const char **object);

/* ---- stack.c ---- */
void stack_init(void);
bool stack_find_leaf(uintptr_t addr, struct rt_leaf *out, uintptr_t *stack_lo, uintptr_t *stack_hi);
bool stack_bounds(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

/* ---- stack_cfi.c: the frame rules of the stack walk's fast path ---- */
/* On x86-64 almost every frame's rule: CFA = rsp or rbp + cfa_off; rbp saved at CFA + rbp_off
 * (0: not saved); the return address at CFA - 8. */
struct stack_rule {
    int32_t cfa_off, rbp_off;
    uint8_t cfa_reg; /* 6 rbp, 7 rsp */
};
/* pc's rule from its object's .eh_frame_hdr; false when the CFI says more than such a rule can
 * (libgcc's unwinder answers then). stack.c caches the rules per PC. */
bool stack_cfi_rule(uintptr_t pc, struct stack_rule *out);
/* Bumped when code may have moved (objects came or went): cached rules of an older
 * generation are stale. */
extern unsigned lv_stack_rule_gen;
void stack_rules_forget(void);

/* ---- auxv.c ---- */
void auxv_init(int argc, char **argv, char **envp);
bool auxv_find(uintptr_t addr, uintptr_t *base, size_t *size);
bool auxv_area(uintptr_t addr); /* within [auxv_lo, auxv_hi) */

#endif
