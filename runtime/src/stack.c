/* stack.c: the stack levels. An address in the calling thread's own stack is resolved to the
 * stack frame holding it by unwinding from the query with libgcc's unwinder: a caller's frame
 * is [its callee's CFA, its own CFA), so the frame that holds a local is found without any
 * frame-layout metadata. The runtime's own frames (the API call) are skipped, so &local in
 * main resolves to main's frame. An address in another thread's stack, or below the caller's
 * stack pointer, can only be given the whole stack: those frames change under us. */
#define _GNU_SOURCE
#include "allocators.h"
#include "meta.h"

#include <dlfcn.h>
#include <string.h>
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

static bool force_libgcc; /* ALLOCS_LEVELS_UNWIND=libgcc: the reference path, for tests */

void stack_init(void)
{
    const char *e = rt_getenv("ALLOCS_LEVELS_UNWIND");
    force_libgcc = e && strcmp(e, "libgcc") == 0;
}

/* ---- the fast path: frame rules (stack_cfi.c) cached per PC ---- */
#define RULE_SLOTS 2048u
static struct rule_slot {
    unsigned ver; /* odd while written */
    unsigned gen; /* lv_stack_rule_gen when computed: code can change when objects come and go */
    uintptr_t pc;
    struct stack_rule r;
} rule_cache[RULE_SLOTS];

static bool rule_for(uintptr_t pc, struct stack_rule *out)
{
    struct rule_slot *s = &rule_cache[(pc * 0x9E3779B97F4A7C15ull) >> 53 & (RULE_SLOTS - 1)];
    unsigned gen = __atomic_load_n(&lv_stack_rule_gen, __ATOMIC_ACQUIRE);
    unsigned v = __atomic_load_n(&s->ver, __ATOMIC_ACQUIRE);
    if (!(v & 1) && s->pc == pc && s->gen == gen) {
        *out = s->r;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->ver, __ATOMIC_RELAXED) == v) return true;
    }
    if (!stack_cfi_rule(pc, out)) return false;
    /* Publish unless another thread is writing this slot (then just skip caching). */
    if (!(v & 1) && __atomic_compare_exchange_n(&s->ver, &v, v + 1, false, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED)) {
        s->pc = pc;
        s->gen = gen;
        s->r = *out;
        __atomic_store_n(&s->ver, v + 2, __ATOMIC_RELEASE);
    }
    return true;
}

enum { FAST_FAIL, FAST_FOUND, FAST_NONE };

/* Walks our own stack (always mapped: it is the one we run on) from this frame upwards. */
__attribute__((noinline)) static int fast_walk(struct walk *w, uintptr_t slo, uintptr_t shi)
{
    uintptr_t pc, sp, fp;
    __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
                     : "=r"(pc), "=r"(sp), "=r"(fp));
    for (unsigned frames = 0; frames < 512; frames++) {
        struct stack_rule r;
        if (!rule_for(pc, &r)) return FAST_FAIL;
        uintptr_t cfa = (r.cfa_reg == 7 ? sp : fp) + (uintptr_t)r.cfa_off;
        if (cfa <= sp || cfa < slo + 8 || cfa > shi) return FAST_FAIL;
        if (!w->past_runtime && !(pc >= rt_text_lo && pc < rt_text_hi)) {
            w->past_runtime = true;
            if (w->addr < sp) return FAST_NONE; /* below the caller's stack pointer */
        }
        if (w->past_runtime && w->addr >= sp && w->addr < cfa) {
            w->base = sp;
            w->end = cfa;
            w->ip = pc;
            return FAST_FOUND;
        }
        uintptr_t ra = *(const uintptr_t *)(cfa - 8);
        if (r.rbp_off) {
            uintptr_t at = cfa + (uintptr_t)(intptr_t)r.rbp_off;
            if (at < sp || at + 8 > shi) return FAST_FAIL;
            fp = *(const uintptr_t *)at;
        }
        if (!ra) return FAST_NONE; /* the outermost frame */
        sp = cfa;
        pc = ra - 1; /* the call instruction, inside the caller */
    }
    return FAST_FAIL;
}

static bool find_stack(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, bool *is_self)
{
    uint32_t tid;
    if (threads_find_stack && threads_find_stack(addr, lo, hi, &tid, is_self)) return true;
    /* Stacks do not overlap: we run on a stack iff our own frame is in it. */
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (addr >= lv_main_stack_lo && addr < lv_main_stack_hi) {
        *lo = lv_main_stack_lo;
        *hi = lv_main_stack_hi;
        *is_self = sp >= lv_main_stack_lo && sp < lv_main_stack_hi;
        return true;
    }
    /* On the main thread, the mapping we run on lies within the main stack's bounds (they reach
     * from the top down to the mapping below): addr is in no stack we can see. */
    if (sp >= lv_main_stack_lo && sp < lv_main_stack_hi) return false;
    /* A thread without a record (it never allocated, or it is starting or exiting): if the
     * address is in the mapping we are running on, that mapping is our stack (glibc puts a
     * guard page below each thread stack, so the kernel never merges two of them). */
    struct allocs_big m;
    if (!maps_find(sp, &m, true)) { /* our own stack is surely mapped: not worth rate-limiting */
        maps_rescan_now();
        /* A rescan gives way to a fork that may be waiting for this thread: read our line. */
        uintptr_t b, e;
        bool file;
        if (!maps_find(sp, &m, false)) {
            if (!maps_read_line_at(sp, &b, &e, &file)) return false;
            m.begin = b;
            m.end = e;
            m.flags = file ? ALLOCS_BIG_F_FILE : 0;
        }
    }
    if (addr >= m.begin && addr < m.end && !(m.flags & ALLOCS_BIG_F_FILE)) {
        *lo = (uintptr_t)m.begin;
        *hi = (uintptr_t)m.end;
        *is_self = true;
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
        int fast = force_libgcc ? FAST_FAIL : fast_walk(&w, *stack_lo, *stack_hi);
        if (fast == FAST_FAIL) {
            w = (struct walk){.addr = addr};
            _Unwind_Backtrace(step, &w);
        } else {
            w.found = fast == FAST_FOUND;
        }
        if (w.found) {
            out->allocator = rt_allocator(ALLOCS_ALLOCATOR_STACKFRAME);
            out->base = w.base;
            out->size = w.end - w.base;
            out->symbol = symbols_function_at(w.ip, &out->object);
            out->pc = w.ip;
            return true;
        }
    }
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_STACK);
    out->base = *stack_lo;
    out->size = *stack_hi - *stack_lo;
    return true;
}

/* ---- the stack allocators (allocators.h): a thread's stack, and the frames in the caller's
 * own stack (another thread's stack answers as the stack: its frames are not walked) ---- */
static bool stack_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    return stack_bounds(w->addr, lo, hi);
}

const struct allocs_allocator stack_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_STACK,
    .id = ALLOCS_ALLOCATOR_STACK,
    .level = ALLOCS_LEVEL_REGION,
    .extent = stack_extent,
};

static bool stackframe_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    (void)how;
    uintptr_t lo, hi;
    return stack_find_leaf(w->addr, out, &lo, &hi);
}

static const struct uniqtype *stackframe_type(const struct rt_where *w, const struct rt_leaf *l)
{
    (void)w;
    return l->pc ? meta_type_of_frame(l->pc) : NULL;
}

const struct allocs_allocator stackframe_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_STACKFRAME,
    .id = ALLOCS_ALLOCATOR_STACKFRAME,
    .level = ALLOCS_LEVEL_OBJECT,
    .describe = stackframe_describe,
    .type = stackframe_type,
};
