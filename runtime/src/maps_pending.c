/* maps_pending.c: mapping changes made while another thread's fork() holds the levels lock.
 *
 * glibc's fork runs the atfork handlers (ours take every runtime lock) and only then takes
 * malloc's and stdio's locks. A signal handler on a thread that holds one of those, calling
 * mmap, must not wait for the levels lock: the fork would wait for it in turn. So mmap, munmap
 * and mremap go ahead and log what they did here instead, under a lock of its own that the
 * fork never takes. Queries overlay the log on the (frozen) index, so even a handler's query of
 * the mapping it just made is answered exactly; whoever next takes the levels lock applies the
 * log in order (levels_write_begin) and empties it. A full log, or a child forked while an
 * entry was being written, falls back to rereading /proc/self/maps. */
#define _GNU_SOURCE
#include "levels.h"

#include <signal.h>
#include <sys/syscall.h>

enum op_kind { OP_MAP, OP_UNMAP, OP_REMAP };
struct pending_op {
    uintptr_t b, e;      /* the range mapped, unmapped, or remapped to */
    uintptr_t old, olen; /* OP_REMAP: the old range */
    uint64_t site, name;
    uint16_t flags;
    uint8_t kind, keep_old;
};

/* Room for a program mapping and unmapping in a loop on every thread while a fork stalls and
 * its threads log after their 100 ms of patience, or at once from a handler that interrupted
 * libc (interrupted.c). */
#define PENDING_MAX 2048
static struct pending_op ops[PENDING_MAX];
volatile uint32_t lv_maps_npending;   /* levels.h: maps_pending_nonempty */
static volatile unsigned pending_seq; /* odd while the log is emptied */
static rt_lock_t pending_lock = RT_LOCK_INIT;
static RT_TLS uint64_t pending_saved_mask;

void maps_pending_begin(void)
{
    uint64_t all = ~0ull, old = 0;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
    rt_lock(&pending_lock);
    pending_saved_mask = old;
}

void maps_pending_end(void)
{
    uint64_t old = pending_saved_mask;
    rt_unlock(&pending_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
}

/* A change that could not be logged (the log was full, or an entry was half written when
 * the process forked): the index must be reread from /proc/self/maps (maps.c). */
volatile int lv_maps_pending_lost;

static void mark_lost(void)
{
    __atomic_store_n(&lv_maps_pending_lost, 1, __ATOMIC_RELEASE);
}

bool maps_pending_take_lost(void)
{
    return __atomic_exchange_n(&lv_maps_pending_lost, 0, __ATOMIC_ACQ_REL) != 0;
}

/* Entries are written before lv_maps_npending is raised past them, so a reader sees whole ones. */
static void append(const struct pending_op *op)
{
    uint32_t n = lv_maps_npending;
    if (n >= PENDING_MAX) {
        mark_lost();
        return;
    }
    ops[n] = *op;
    __atomic_store_n(&lv_maps_npending, n + 1, __ATOMIC_RELEASE);
}

void maps_pending_map(uintptr_t b, uintptr_t e, uint16_t flags, uint64_t site)
{
    append(&(struct pending_op){b, PAGE_UP(e), 0, 0, site, 0, flags, OP_MAP, 0});
}

void maps_pending_unmap(uintptr_t b, uintptr_t e)
{
    append(&(struct pending_op){b, PAGE_UP(e), 0, 0, 0, 0, 0, OP_UNMAP, 0});
}

void maps_pending_remap(uintptr_t old, size_t old_len, uintptr_t to, size_t new_len, bool keep_old,
                        uint64_t site, const struct allocs_big *was)
{
    /* What the overlay answers for the new range: the old record's identity, as
     * maps_note_remap_locked will give it when the log is applied. */
    uint16_t f = was ? was->flags : (uint16_t)(ALLOCS_BIG_F_READ | ALLOCS_BIG_F_WRITE);
    uint64_t s = was && (was->flags & ALLOCS_BIG_F_USER_MMAP) ? was->site : site;
    append(&(struct pending_op){to, PAGE_UP(to + new_len), old, old_len, s, was ? was->name : 0,
                                (uint16_t)(f | ALLOCS_BIG_F_USER_MMAP), OP_REMAP, keep_old});
}

void maps_pending_drain_locked(void)
{
    /* Taken even when the log looks empty: a thread may be between its system call and its
     * entry (it holds pending_lock, with signals blocked, for both), and whatever the lock's
     * holder does next (a rescan of /proc/self/maps, say) must not see the change without
     * the entry. Signals are blocked here too: we hold the levels lock. */
    rt_lock(&pending_lock);
    if (!maps_pending_nonempty()) {
        rt_unlock(&pending_lock);
        return;
    }
    __atomic_fetch_add(&pending_seq, 1, __ATOMIC_ACQ_REL);
    for (uint32_t i = 0; i < lv_maps_npending; i++) {
        const struct pending_op *op = &ops[i];
        if (op->kind == OP_MAP)
            maps_note_map_locked(op->b, op->e, op->flags, op->site);
        else if (op->kind == OP_UNMAP)
            maps_note_unmap_locked(op->b, op->e);
        else
            maps_note_remap_locked(op->old, op->olen, op->b, op->e - op->b, op->keep_old, op->site);
    }
    __atomic_store_n(&lv_maps_npending, 0, __ATOMIC_RELEASE);
    __atomic_fetch_add(&pending_seq, 1, __ATOMIC_ACQ_REL);
    rt_unlock(&pending_lock);
}

/* Removes [b, e) from the answer: gone if addr is inside, else trimmed to addr's side. */
static void cut(uintptr_t addr, uintptr_t b, uintptr_t e, struct allocs_big *out, bool *found)
{
    if (!*found || e <= out->begin || b >= out->end) return;
    if (b <= addr && addr < e)
        *found = false;
    else if (e <= addr)
        out->begin = e;
    else
        out->end = b;
}

static void put(const struct pending_op *op, struct allocs_big *out, bool *found)
{
    *out = (struct allocs_big){op->b, op->e,    -1,      ALLOCS_BIG_MAPPING, op->flags, UINT32_MAX,
                               0,     op->site, op->name};
    *found = true;
}

bool maps_pending_overlay(uintptr_t addr, struct allocs_big *out, bool found)
{
    struct allocs_big base = *out, cur;
    bool f;
    unsigned seq;
    do {
        while ((seq = __atomic_load_n(&pending_seq, __ATOMIC_ACQUIRE)) & 1)
            lv_syscall3(SYS_sched_yield, 0, 0, 0);
        cur = base;
        f = found;
        uint32_t n = __atomic_load_n(&lv_maps_npending, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; i < n && i < PENDING_MAX; i++) {
            struct pending_op op = ops[i];
            if (op.kind == OP_REMAP && !op.keep_old)
                cut(addr, op.old, PAGE_UP(op.old + op.olen), &cur, &f);
            if (op.kind == OP_UNMAP || op.kind == OP_MAP || op.kind == OP_REMAP)
                cut(addr, op.b, op.e, &cur, &f);
            if (op.kind != OP_UNMAP && op.b <= addr && addr < op.e) put(&op, &cur, &f);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while (__atomic_load_n(&pending_seq, __ATOMIC_RELAXED) != seq);
    *out = cur;
    return f;
}

/* In the child only the forking thread runs. An entry half written by another thread at the
 * moment of fork is lost: reread /proc/self/maps instead of trusting the log's neighbours. */
void maps_pending_after_fork_child(void)
{
    if (pending_lock.word) {
        pending_lock.word = 0;
        mark_lost();
    }
}
