/* stack.c: the stack levels. An address in the calling thread's own stack is resolved to the
 * stack frame holding it by unwinding from the query with libgcc's unwinder: a caller's frame
 * is [its callee's CFA, its own CFA), so the frame that holds a local is found without any
 * frame-layout metadata. The runtime's own frames (the API call) are skipped, so &local in
 * main resolves to main's frame. An address in another thread's stack, or below the caller's
 * stack pointer, can only be given the whole stack: those frames change under us. */
#define _GNU_SOURCE
#include "levels.h"

#include <unwind.h>

#pragma weak threads_find_stack

static uintptr_t rt_text_lo, rt_text_hi; /* this library's extent: frames to skip */

struct walk {
    uintptr_t addr;
    uintptr_t prev_cfa, prev_ip; /* the frame seen at the previous step */
    uintptr_t base, end, ip;
    unsigned frames;
    bool past_runtime, found;
};

/* libgcc hands each step a context whose CFA belongs to the frame below the one its IP is in
 * (the CFA is where the callee's frame ends, i.e. this frame's stack pointer at the call).
 * So the frame of the previous step's IP is [previous CFA, this CFA). */
static _Unwind_Reason_Code step(struct _Unwind_Context *ctx, void *arg)
{
    struct walk *w = arg;
    int before = 0;
    uintptr_t cfa = _Unwind_GetCFA(ctx), ip = _Unwind_GetIPInfo(ctx, &before);
    if (++w->frames > 512) return _URC_END_OF_STACK;
    if (w->prev_ip) {
        bool ours = w->prev_ip >= rt_text_lo && w->prev_ip < rt_text_hi;
        if (!w->past_runtime && !ours) {
            w->past_runtime = true;
            if (w->addr < w->prev_cfa) return _URC_END_OF_STACK; /* below the caller's sp */
        }
        if (w->past_runtime && w->addr >= w->prev_cfa && w->addr < cfa) {
            w->found = true;
            w->base = w->prev_cfa;
            w->end = cfa;
            w->ip = w->prev_ip;
            return _URC_END_OF_STACK;
        }
        if (w->past_runtime && cfa <= w->prev_cfa) return _URC_END_OF_STACK; /* corrupt */
    }
    if (!ip) return _URC_END_OF_STACK;
    w->prev_cfa = cfa;
    /* A return address points after the call; the call itself is in the function. */
    w->prev_ip = before ? ip : ip - 1;
    return _URC_NO_REASON;
}

static bool find_stack(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, bool *is_self)
{
    uint32_t tid;
    if (threads_find_stack && threads_find_stack(addr, lo, hi, &tid, is_self)) return true;
    /* Without a thread record (the heap part absent, or a thread that has not allocated): the
     * main thread's stack is still known from /proc/self/maps. */
    if (addr >= lv_main_stack_lo && addr < lv_main_stack_hi) {
        *lo = lv_main_stack_lo;
        *hi = lv_main_stack_hi;
        *is_self = lv_syscall3(SYS_gettid, 0, 0, 0) == lv_syscall3(SYS_getpid, 0, 0, 0);
        return true;
    }
    return false;
}

bool stack_bounds(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    bool self;
    return find_stack(addr, lo, hi, &self);
}

__attribute__((noinline)) bool stack_find_leaf(uintptr_t addr, struct rt_leaf *out,
                                               uintptr_t *stack_lo, uintptr_t *stack_hi)
{
    bool self = false;
    if (!find_stack(addr, stack_lo, stack_hi, &self)) return false;
    if (self) {
        if (!rt_text_hi) {
            uint32_t idx;
            struct allocs_object o;
            struct lv_segment seg;
            if (objects_find((uintptr_t)&stack_find_leaf, &idx, &o, &seg)) {
                rt_text_lo = (uintptr_t)o.lo;
                rt_text_hi = (uintptr_t)o.hi;
            }
        }
        struct walk w = {.addr = addr};
        _Unwind_Backtrace(step, &w);
        if (w.found) {
            out->allocator = rt_allocator(ALLOCS_ALLOCATOR_STACKFRAME);
            out->base = w.base;
            out->size = w.end - w.base;
            out->symbol = symbols_function_at(w.ip, &out->object);
            return true;
        }
    }
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_STACK);
    out->base = *stack_lo;
    out->size = *stack_hi - *stack_lo;
    return true;
}
