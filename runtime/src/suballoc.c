/* suballoc.c: declared suballocators (LIBALLOCS_SUBALLOC_FNS, LIBALLOCS_SUBFREE_FNS) make their
 * objects pool objects, one level below the malloc chunk they are carved out of.
 *
 * A suballocator inside the program (a bump or free-list allocator handing out pieces of a
 * malloc'd chunk) never calls malloc per object, and a call from the executable to its own
 * function cannot be interposed with LD_PRELOAD. typegen records every direct `call rel32` of a
 * declared function as a SITES record flagged ALLOCS_SITE_SUBALLOC (typed as a malloc call
 * would be). When an object's metadata is loaded, each such call is redirected: its 4-byte
 * displacement is rewritten to reach a trampoline (`jmp *stub_k`) in a page mapped within
 * +-2 GiB of the object's code, and stub_k calls the original function with the six integer
 * argument registers unchanged, then registers what it returned as a pool object (base = the
 * result, size = the declared size arguments, site = the original call's return address, so
 * the type is that site's record). A stub for a declared free function drops the object first.
 *
 * Why patching is safe: the executable's metadata is loaded by the runtime's constructor,
 * before the executable's own constructors and main, so no thread runs its code yet; a
 * library's is loaded inside dlopen, before dlopen returns its handle (only the library's own
 * constructors, which ran already, could have leaked a pointer to another thread). Each site's
 * bytes are checked first (E8 and a displacement reaching the declared function); anything
 * unexpected leaves the call alone with one warning. Only the 4 displacement bytes change and
 * the page keeps PROT_EXEC throughout (RWX for the write, then back to R-X).
 *
 * Limits, each said once on stderr: at most 6 declared arguments (no stack arguments), no
 * floating-point arguments (the declaration letters cannot express them), calls through the
 * GOT or PLT and tail calls (jmp) are not redirected, and inlined copies of the function have
 * no call to redirect (typegen lists them). */
#define _GNU_SOURCE
#include "heap.h"
#include "levels.h"
#include "meta.h"

#include <errno.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define MAX_DECLS 32
#define MAX_SLOTS 64 /* distinct (object, function) pairs redirected */
#define TRAMP_BYTES 16
#define PAGE 4096ul

struct decl {
    char name[128];
    bool free;
    uint8_t nargs;
    uint8_t ptr_arg;      /* free: the freed pointer */
    uint8_t size_args[6]; /* alloc: arguments whose product is the size */
    uint8_t nsize_args;
    char owner[128]; /* free: the suballocator it frees for ("->name"), or "" */
    const struct allocator *a;
    uintptr_t addr; /* the function's address this pass (0: not defined in a loaded object) */
    unsigned patched;
    bool warned;
};

static struct decl decls[MAX_DECLS];
static unsigned ndecls;

struct slot {
    uintptr_t orig; /* the function called */
    const struct decl *d;
    uintptr_t tramp; /* its trampoline, in a page near the caller */
};
static struct slot slots[MAX_SLOTS];
static unsigned nslots;
static uint8_t done[LV_MAX_OBJECTS];
static uint64_t records_seen; /* SUBALLOC records in the metadata loaded so far */

/* One well-formed declaration (heap_suballoc_decls). */
static void declare(const char *d, size_t len, bool is_free)
{
    if (ndecls >= MAX_DECLS) return;
    struct decl *x = &decls[ndecls];
    memset(x, 0, sizeof *x);
    size_t i = 0;
    while (i < len && d[i] != '(')
        i++;
    if (i == 0 || i >= sizeof x->name) return;
    memcpy(x->name, d, i);
    x->free = is_free;
    for (i++; i < len && d[i] != ')'; i++, x->nargs++) {
        if (x->nargs >= 6) {
            rt_warn("%s: ignoring \"%.*s\": more than 6 arguments (they would be passed on the "
                    "stack, which the redirection does not forward)",
                    is_free ? "LIBALLOCS_SUBFREE_FNS" : "LIBALLOCS_SUBALLOC_FNS", (int)len, d);
            return;
        }
        char c = d[i];
        if (c == 'P') x->ptr_arg = x->nargs;
        if (c == 'Z' || c == 'I' || c == 'z') x->size_args[x->nsize_args++] = x->nargs;
    }
    const char *arrow = memchr(d, '>', len);
    if (is_free && arrow) {
        size_t n = len - (size_t)(arrow + 1 - d);
        if (n < sizeof x->owner) memcpy(x->owner, arrow + 1, n);
    }
    ndecls++;
}

/* ---- the stubs: one per slot, all the same but for their index ---- */
typedef uintptr_t (*fn6)(uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t);

/* The allocator a free function's "->name" names, or NULL when it names none. */
static const struct allocator *owner_allocator(const struct decl *d)
{
    for (unsigned i = 0; d->owner[0] && i < ndecls; i++)
        if (!decls[i].free && strcmp(decls[i].name, d->owner) == 0) return decls[i].a;
    return NULL;
}

static uintptr_t stub_body(unsigned k, const uintptr_t *args, uintptr_t site)
{
    const struct slot *s = &slots[k];
    const struct decl *d = s->d;
    fn6 f = (fn6)s->orig;
    if (d->free) {
        uintptr_t p = args[d->ptr_arg];
        if (p && !rt_self.heap_busy) {
            int e = errno;
            const struct allocator *a = owner_allocator(d);
            if (a)
                pool_unregister(a, p);
            else /* without "->name": whichever declared suballocator registered it */
                for (unsigned i = 0; i < ndecls; i++)
                    if (!decls[i].free && decls[i].a && pool_unregister(decls[i].a, p) == ALLOCS_OK)
                        break;
            errno = e;
        }
        return f(args[0], args[1], args[2], args[3], args[4], args[5]);
    }
    uintptr_t r = f(args[0], args[1], args[2], args[3], args[4], args[5]);
    if (r && d->a && !rt_self.heap_busy) {
        int e = errno;
        size_t size = 1;
        for (unsigned i = 0; i < d->nsize_args; i++)
            size = __builtin_mul_overflow(size, args[d->size_args[i]], &size) ? 0 : size;
        if (size) {
            /* Memory handed out again without a declared free (a bump pool reset, a free list
             * nobody told us about): whatever was registered there before is gone. */
            if (pool_register(d->a, r, size, site) == ALLOCS_ERR_INVALID) {
                pool_drop_range(r, r + size);
                pool_register(d->a, r, size, site);
            }
        }
        errno = e;
    }
    return r;
}

/* stub_<two octal digits> passes 0<digits>, an octal constant: REF8(j) lists stubs j0..j7, so
 * stubs[k] is the stub that passes k, the slot it serves. */
// clang-format off
#define STUB(k)                                                                                    \
    static __attribute__((noinline)) uintptr_t stub_##k(uintptr_t a0, uintptr_t a1, uintptr_t a2,  \
                                                        uintptr_t a3, uintptr_t a4, uintptr_t a5)  \
    {                                                                                              \
        uintptr_t args[6] = {a0, a1, a2, a3, a4, a5};                                              \
        return stub_body(0##k, args, (uintptr_t)__builtin_return_address(0));                      \
    }
#define STUB8(k)                                                                                   \
    STUB(k##0) STUB(k##1) STUB(k##2) STUB(k##3) STUB(k##4) STUB(k##5) STUB(k##6) STUB(k##7)
STUB8(0) STUB8(1) STUB8(2) STUB8(3) STUB8(4) STUB8(5) STUB8(6) STUB8(7)
#define REF8(k)                                                                                    \
    stub_##k##0, stub_##k##1, stub_##k##2, stub_##k##3, stub_##k##4, stub_##k##5, stub_##k##6,     \
        stub_##k##7
static const fn6 stubs[MAX_SLOTS] = {REF8(0), REF8(1), REF8(2), REF8(3),
                                     REF8(4), REF8(5), REF8(6), REF8(7)};
// clang-format on

/* ---- redirecting the calls ---- */
static rt_lock_t suballoc_lock = RT_LOCK_INIT;
static bool first_pass_done;

/* A page within reach of every rel32 in [lo, hi) (objects are far smaller than 2 GiB), or 0:
 * tried just below the object, then just above it, never over an existing mapping. */
static uintptr_t page_near(uintptr_t lo, uintptr_t hi)
{
    for (int side = 0; side < 2; side++)
        for (uintptr_t step = 1; step <= 4096; step *= 2) {
            uintptr_t want = side == 0 ? (lo & ~(PAGE - 1)) - step * 16 * PAGE
                                       : ((hi + PAGE - 1) & ~(PAGE - 1)) + step * 16 * PAGE;
            if (side == 0 && want >= lo) continue; /* wrapped below 0 */
            void *p = mmap((void *)want, PAGE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (p == MAP_FAILED) continue;
            if ((uintptr_t)p == want) return want;
            munmap(p, PAGE); /* an old kernel ignoring MAP_FIXED_NOREPLACE put it elsewhere */
        }
    return 0;
}

static int slot_for(uintptr_t orig, const struct decl *d)
{
    for (unsigned k = 0; k < nslots; k++)
        if (slots[k].orig == orig) return (int)k;
    if (nslots >= MAX_SLOTS) return -1;
    slots[nslots] = (struct slot){orig, d, 0};
    return (int)nslots++;
}

/* `jmp *0(%rip)` followed by the stub's address. */
static void write_trampoline(uintptr_t page, unsigned k)
{
    uint8_t *t = (uint8_t *)(page + (uintptr_t)k * TRAMP_BYTES);
    static const uint8_t jmp[6] = {0xff, 0x25, 0, 0, 0, 0};
    uintptr_t target = (uintptr_t)stubs[k];
    memcpy(t, jmp, sizeof jmp);
    memcpy(t + 6, &target, sizeof target);
}

/* Rewrites the displacement of the call returning to pc. */
static bool patch_call(uintptr_t pc, int32_t rel)
{
    uintptr_t first = (pc - 4) & ~(PAGE - 1), last = (pc - 1) & ~(PAGE - 1);
    size_t len = last - first + PAGE;
    if (mprotect((void *)first, len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return false;
    memcpy((void *)(pc - 4), &rel, 4);
    mprotect((void *)first, len, PROT_READ | PROT_EXEC);
    return true;
}

static const struct decl *decl_at(uintptr_t target)
{
    for (unsigned i = 0; i < ndecls; i++)
        if (decls[i].addr && decls[i].addr == target) return &decls[i];
    return NULL;
}

/* A PLT entry's GOT slot value when target is one (`jmp *GOT(%rip)`, after an endbr64 and a
 * bnd prefix in .plt.sec), else 0. Only a slot already bound (BIND_NOW, or called before)
 * holds the function's address; a lazy one points back into the PLT and matches nothing. */
static uintptr_t plt_slot_value(uintptr_t target, const struct allocs_object *o)
{
    uint8_t b[11];
    if (target < o->lo || target + sizeof b > o->hi || !lv_safe_read(b, target, sizeof b)) return 0;
    size_t i = 0;
    if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa) i = 4; /* endbr64 */
    if (b[i] == 0xf2) i++;                                                   /* bnd */
    if (b[i] != 0xff || b[i + 1] != 0x25) return 0;
    int32_t rel;
    memcpy(&rel, b + i + 2, 4);
    uintptr_t slot = target + i + 6 + (intptr_t)rel, value = 0;
    return lv_safe_read(&value, slot, sizeof value) ? value : 0;
}

static void patch_object(const struct allocs_object *o)
{
    const struct allocs_loaded_meta *lm = (const struct allocs_loaded_meta *)(uintptr_t)o->meta;
    const struct allocs_meta_site *sites = (const struct allocs_meta_site *)(uintptr_t)lm->sites;
    const char *name = o->name ? (const char *)(uintptr_t)o->name : "?";
    uintptr_t page = 0;
    uint64_t written[MAX_SLOTS / 64] = {0};
    unsigned mismatched = 0;
    for (uint64_t i = 0; i < lm->nsites; i++) {
        if (!(sites[i].flags & ALLOCS_SITE_SUBALLOC)) continue;
        records_seen++;
        uintptr_t pc = o->load_bias + sites[i].vaddr;
        uint8_t b[5];
        if (pc < o->lo + 5 || pc > o->hi || !lv_safe_read(b, pc - 5, 5) || b[0] != 0xe8) {
            mismatched++;
            continue;
        }
        int32_t rel;
        memcpy(&rel, b + 1, 4);
        uintptr_t target = pc + (intptr_t)rel;
        const struct decl *d = decl_at(target);
        if (!d && (d = decl_at(plt_slot_value(target, o)))) target = d->addr; /* another object's */
        if (!d) continue; /* a function not declared in this run (or a lazy PLT slot): left alone */
        if (!page && !(page = page_near(o->lo, o->hi))) {
            rt_warn("suballocators: no free page within 2 GiB of %s's code: its calls of %s are "
                    "not redirected",
                    name, d->name);
            return;
        }
        int k = slot_for(target, d);
        intptr_t dist = (intptr_t)(page + (uintptr_t)k * TRAMP_BYTES) - (intptr_t)pc;
        if (k < 0 || dist != (int32_t)dist) {
            if (!((struct decl *)d)->warned)
                rt_warn("suballocators: too many functions or too far: a call of %s is not "
                        "redirected",
                        d->name);
            ((struct decl *)d)->warned = true;
            continue;
        }
        if (!(written[k / 64] & (1ull << (k % 64)))) {
            write_trampoline(page, (unsigned)k);
            written[k / 64] |= 1ull << (k % 64);
        }
        if (!patch_call(pc, (int32_t)dist)) {
            rt_warn("suballocators: cannot make %s's code writable (%s): its calls are not "
                    "redirected",
                    name, strerror(errno));
            break;
        }
        ((struct decl *)d)->patched++;
    }
    if (page) mprotect((void *)page, PAGE, PROT_READ | PROT_EXEC);
    if (mismatched)
        rt_warn("suballocators: %u call sites recorded in %s's metadata are not calls in its code "
                "(stale metadata?): not redirected",
                mismatched, name);
}

static void warn_unused_decls(void)
{
    for (unsigned i = 0; i < ndecls; i++) {
        const struct decl *d = &decls[i];
        const char *var = d->free ? "LIBALLOCS_SUBFREE_FNS" : "LIBALLOCS_SUBALLOC_FNS";
        /* A process whose metadata records no suballocator call was not prepared for any (a
         * child like sh inheriting the variables): a name it lacks is no news there. */
        if (!d->addr) {
            if (records_seen)
                rt_warn("%s: no function %s in the program or its libraries: nothing redirected",
                        var, d->name);
        } else if (!d->patched)
            rt_warn("%s: no call of %s redirected (inlined everywhere, called through pointers "
                    "or through a PLT slot not bound yet, which LD_BIND_NOW=1 binds, or metadata "
                    "made without the declaration: `allocs typegen` with %s set makes it again)",
                    var, d->name, var);
    }
}

/* The declarations, taken once from heap_helpers.c's parse; a second caller meanwhile waits
 * for the first (both run at start-up or in dlopen, never in a signal handler). */
static void take_decls(void)
{
    static int state; /* 0 not taken, 1 being taken, 2 taken */
    if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2) return;
    unsigned n;
    const struct heap_suballoc_decl *d = heap_suballoc_decls(&n);
    int expected = 0;
    if (__atomic_compare_exchange_n(&state, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        for (unsigned i = 0; i < n; i++)
            declare(d[i].text, d[i].len, d[i].is_free);
        __atomic_store_n(&state, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
        __builtin_ia32_pause();
}

void suballoc_objects_loaded(void)
{
    take_decls();
    if (!ndecls) {
        first_pass_done = true;
        return;
    }
    /* Signals stay blocked while the lock is held: a handler's query would come back here. */
    uint64_t all = ~0ull, old_mask = 0;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old_mask, 8);
    rt_lock(&suballoc_lock);
    for (unsigned i = 0; i < ndecls; i++) {
        if (!decls[i].free && !decls[i].a) decls[i].a = rt_add_custom_allocator(decls[i].name);
        uintptr_t lo, hi; /* looked up once per pass: a symbol search walks every object */
        decls[i].addr = elf_lookup_function(decls[i].name, &lo, &hi) ? lo : 0;
    }
    const struct allocs_object *objects =
        (const struct allocs_object *)(uintptr_t)__allocs_root.objects;
    uint32_t n = __atomic_load_n(&__allocs_root.nobjects, __ATOMIC_ACQUIRE);
    int saved_errno = errno;
    for (uint32_t i = 0; objects && i < n && i < LV_MAX_OBJECTS; i++) {
        if (done[i] || !__atomic_load_n(&objects[i].meta, __ATOMIC_ACQUIRE)) continue;
        done[i] = 1;
        patch_object(&objects[i]);
    }
    if (!first_pass_done) warn_unused_decls();
    first_pass_done = true;
    rt_unlock(&suballoc_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old_mask, 0, 8);
    errno = saved_errno;
}

/* Whether the program declares suballocators (the metadata is then loaded at start-up). */
bool suballoc_declared(void)
{
    take_decls();
    return ndecls != 0;
}
