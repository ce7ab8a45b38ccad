/* heap_cxx.c: the C++ allocation functions (operator new and operator delete, every form).
 *
 * libstdc++'s operator new calls malloc from inside libstdc++, so without this file every C++
 * heap object's site is a pc in libstdc++. Here each form is defined over the heap's own entry
 * points (heap_malloc_at, heap_memalign_at, heap_free) with the caller of operator new as the
 * site, at the cost of one malloc call: the success path is the malloc path plus one call.
 *
 * Behaviour stays the library's: when our allocation fails, the next definition (libstdc++'s,
 * or libc++'s) is called with the same arguments, and it runs the new_handler loop and throws
 * std::bad_alloc (or returns NULL for the nothrow forms) exactly as without us. If its retry
 * succeeds, its malloc recorded a pc in the library as the site: the chunk's trailer gets the
 * caller's site instead. Nothing here throws or catches, so this C file needs no exception
 * support: an exception from the next definition unwinds through our frame (.eh_frame).
 *
 * A program that replaces operator new or operator delete (its own definitions come before a
 * preloaded library in symbol lookup) reaches its own functions directly; libstdc++'s other
 * forms call the replaced ones (new[] calls new, sized delete calls delete). Those forms must
 * keep doing so, so when any plain or aligned form is not ours, every form here forwards to
 * the next definition (decided once, on the first call).
 *
 * The runtime stays loadable into C programs: nothing here needs libstdc++, whose symbols are
 * looked up only when a C++ program calls these functions. */
#define _GNU_SOURCE
#include "heap.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALLER ((uintptr_t)__builtin_return_address(0))

/* The Itanium C++ ABI's names of the replaceable allocation functions (size_t is `m`). */
#define NEW "_Znwm"
#define NEW_ARR "_Znam"
#define NEW_NT "_ZnwmRKSt9nothrow_t"
#define NEW_ARR_NT "_ZnamRKSt9nothrow_t"
#define NEW_AL "_ZnwmSt11align_val_t"
#define NEW_ARR_AL "_ZnamSt11align_val_t"
#define NEW_AL_NT "_ZnwmSt11align_val_tRKSt9nothrow_t"
#define NEW_ARR_AL_NT "_ZnamSt11align_val_tRKSt9nothrow_t"
#define DEL "_ZdlPv"
#define DEL_AL "_ZdlPvSt11align_val_t"

typedef void *(*new_fn)(size_t);
typedef void *(*new_nt_fn)(size_t, const void *);
typedef void *(*new_al_fn)(size_t, size_t);
typedef void *(*new_al_nt_fn)(size_t, size_t, const void *);
typedef void (*del_fn)(void *);
typedef void (*del_sz_fn)(void *, size_t);
/* The three-argument deletes: (p, size, align) or (p, align, const nothrow_t &); the second
 * and third argument travel in integer registers either way (x86-64 System V). */
typedef void (*del_sz_al_fn)(void *, size_t, size_t);

/* The next definitions (libstdc++'s), looked up once each: one slot per name, since one
 * failure path serves several forms and each must reach its own next definition (libstdc++'s
 * new[] calls our new, whose failure must not come back to new[]). */
enum next_slot {
    N_NEW,
    N_NEW_ARR,
    N_NEW_NT,
    N_NEW_ARR_NT,
    N_NEW_AL,
    N_NEW_ARR_AL,
    N_NEW_AL_NT,
    N_NEW_ARR_AL_NT,
    /* the deletes use 8-19 */
    N_CXA_ALLOC = 20,
    N_SLOTS = 32
};
static void *next_fns[N_SLOTS];
static const char *const next_names[N_NEW_ARR_AL_NT + 1] = {
    NEW, NEW_ARR, NEW_NT, NEW_ARR_NT, NEW_AL, NEW_ARR_AL, NEW_AL_NT, NEW_ARR_AL_NT,
};

static void *next_symbol(unsigned slot, const char *name)
{
    void *f = __atomic_load_n(&next_fns[slot], __ATOMIC_ACQUIRE);
    if (!f) {
        f = heap_next_symbol(name);
        __atomic_store_n(&next_fns[slot], f, __ATOMIC_RELEASE);
    }
    return f;
}

/* ---- are the allocation functions ours? ---- */
enum { MODE_UNKNOWN, MODE_OURS, MODE_FORWARD };
static int mode;

RT_EXPORT void *_Znwm(size_t n);
RT_EXPORT void _ZdlPv(void *p);
RT_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t align);
RT_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align);
/* Our own definitions' addresses, not the global resolution (which &_Znwm would give). */
extern __typeof(_Znwm) cxx_new_here __attribute__((alias("_Znwm"), visibility("hidden")));
extern __typeof(_ZdlPv) cxx_del_here __attribute__((alias("_ZdlPv"), visibility("hidden")));
extern __typeof(_ZnwmSt11align_val_t) cxx_new_al_here
    __attribute__((alias("_ZnwmSt11align_val_t"), visibility("hidden")));
extern __typeof(_ZdlPvSt11align_val_t) cxx_del_al_here
    __attribute__((alias("_ZdlPvSt11align_val_t"), visibility("hidden")));

static void *global_symbol(const char *name)
{
    rt_self.heap_busy++; /* dlsym may allocate */
    void *sym = dlsym(RTLD_DEFAULT, name);
    rt_self.heap_busy--;
    return sym;
}

static __attribute__((noinline)) int decide_mode(void)
{
    bool ours = global_symbol(NEW) == (void *)cxx_new_here &&
                global_symbol(DEL) == (void *)cxx_del_here &&
                global_symbol(NEW_AL) == (void *)cxx_new_al_here &&
                global_symbol(DEL_AL) == (void *)cxx_del_al_here;
    int m = ours ? MODE_OURS : MODE_FORWARD;
    __atomic_store_n(&mode, m, __ATOMIC_RELEASE);
    return m;
}

static inline bool forwarding(void)
{
    int m = __atomic_load_n(&mode, __ATOMIC_ACQUIRE);
    return RT_UNLIKELY(m != MODE_OURS) && (m == MODE_FORWARD || decide_mode() == MODE_FORWARD);
}

/* ---- failure: the next definition decides ---- */

/* The next definition succeeded where we failed (its new_handler freed memory): the chunk its
 * malloc tracked names a pc in the library; name the caller of operator new instead. */
static void *resite(void *p, uintptr_t pc) /* pc 0: a forwarded call, not ours to name */
{
    if (p && pc && heap_index_is_start((uintptr_t)p)) {
        uint64_t *t = heap_trailer_at((uintptr_t)p, heap_usable(p));
        uint64_t site = (uint64_t)heap_site_id(pc) << ALLOCS_TRAILER_SITE_SHIFT;
        uint64_t mask = (uint64_t)ALLOCS_TRAILER_SITE_MASK << ALLOCS_TRAILER_SITE_SHIFT;
        *t = (*t & ~mask) | site;
    }
    return p;
}

/* Without a next definition nobody could have called us with the program still correct;
 * a throwing form then ends the program as libstdc++ built without exceptions does. */
static void __attribute__((noreturn)) no_next(const char *name)
{
    static const char msg[] = "allocs: no next definition of a C++ allocation function: ";
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, name, strlen(name));
    (void)!write(2, "\n", 1);
    abort();
}

static __attribute__((noinline)) void *new_failed(unsigned slot, size_t n, uintptr_t pc)
{
    new_fn next = (new_fn)next_symbol(slot, next_names[slot]);
    if (!next) no_next(next_names[slot]);
    return resite(next(n), pc);
}

static __attribute__((noinline)) void *new_nt_failed(unsigned slot, size_t n, const void *nt,
                                                     uintptr_t pc)
{
    new_nt_fn next = (new_nt_fn)next_symbol(slot, next_names[slot]);
    return next ? resite(next(n, nt), pc) : NULL;
}

static __attribute__((noinline)) void *new_al_failed(unsigned slot, size_t n, size_t al,
                                                     uintptr_t pc)
{
    new_al_fn next = (new_al_fn)next_symbol(slot, next_names[slot]);
    if (!next) no_next(next_names[slot]);
    return resite(next(n, al), pc);
}

static __attribute__((noinline)) void *new_al_nt_failed(unsigned slot, size_t n, size_t al,
                                                        const void *nt, uintptr_t pc)
{
    new_al_nt_fn next = (new_al_nt_fn)next_symbol(slot, next_names[slot]);
    return next ? resite(next(n, al, nt), pc) : NULL;
}

/* ---- operator new ---- */

/* The exported operator's CFA (these helpers are always inlined into it): with the metadata's
 * CFA offset of a wrapper's call, the wrapper's own return address (heap_site_id_at). */
#define OUR_CFA ((uintptr_t)__builtin_dwarf_cfa())

/* A power of two: anything else is undefined behaviour, which the next definition handles
 * its own way (libstdc++ throws std::bad_alloc). */
static inline bool good_alignment(size_t al)
{
    return al != 0 && (al & (al - 1)) == 0;
}

static inline __attribute__((always_inline)) void *new_impl(unsigned slot, size_t n, uintptr_t pc)
{
    if (RT_UNLIKELY(forwarding())) return new_failed(slot, n, 0);
    void *p = heap_malloc_at_cfa(n, pc, OUR_CFA);
    return RT_LIKELY(p != NULL) ? p : new_failed(slot, n, pc);
}

static inline __attribute__((always_inline)) void *new_nt_impl(unsigned slot, size_t n,
                                                               const void *nt, uintptr_t pc)
{
    if (RT_UNLIKELY(forwarding())) return new_nt_failed(slot, n, nt, 0);
    void *p = heap_malloc_at_cfa(n, pc, OUR_CFA);
    return RT_LIKELY(p != NULL) ? p : new_nt_failed(slot, n, nt, pc);
}

static inline __attribute__((always_inline)) void *new_al_impl(unsigned slot, size_t n, size_t al,
                                                               uintptr_t pc)
{
    if (RT_UNLIKELY(forwarding() || !good_alignment(al))) return new_al_failed(slot, n, al, 0);
    void *p = heap_memalign_at(al, n, pc, OUR_CFA);
    return RT_LIKELY(p != NULL) ? p : new_al_failed(slot, n, al, pc);
}

static inline __attribute__((always_inline)) void *
new_al_nt_impl(unsigned slot, size_t n, size_t al, const void *nt, uintptr_t pc)
{
    if (RT_UNLIKELY(forwarding() || !good_alignment(al)))
        return new_al_nt_failed(slot, n, al, nt, 0);
    void *p = heap_memalign_at(al, n, pc, OUR_CFA);
    return RT_LIKELY(p != NULL) ? p : new_al_nt_failed(slot, n, al, nt, pc);
}

RT_EXPORT void *_Znwm(size_t n)
{
    return new_impl(N_NEW, n, CALLER);
}
RT_EXPORT void *_Znam(size_t n)
{
    return new_impl(N_NEW_ARR, n, CALLER);
}
RT_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
    return new_nt_impl(N_NEW_NT, n, nt, CALLER);
}
RT_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
    return new_nt_impl(N_NEW_ARR_NT, n, nt, CALLER);
}
RT_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al)
{
    return new_al_impl(N_NEW_AL, n, al, CALLER);
}
RT_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al)
{
    return new_al_impl(N_NEW_ARR_AL, n, al, CALLER);
}
RT_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
    return new_al_nt_impl(N_NEW_AL_NT, n, al, nt, CALLER);
}
RT_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
    return new_al_nt_impl(N_NEW_ARR_AL_NT, n, al, nt, CALLER);
}

/* ---- operator delete: libstdc++'s every form ends in free() ---- */

static __attribute__((noinline)) void del_forward(unsigned slot, const char *name, void *p)
{
    del_fn next = (del_fn)next_symbol(slot, name);
    if (next)
        next(p);
    else
        heap_free(p);
}
static __attribute__((noinline)) void del_forward2(unsigned slot, const char *name, void *p,
                                                   size_t a)
{
    del_sz_fn next = (del_sz_fn)next_symbol(slot, name);
    if (next)
        next(p, a);
    else
        heap_free(p);
}
static __attribute__((noinline)) void del_forward3(unsigned slot, const char *name, void *p,
                                                   size_t a, size_t b)
{
    del_sz_al_fn next = (del_sz_al_fn)next_symbol(slot, name);
    if (next)
        next(p, a, b);
    else
        heap_free(p);
}

#define DELETE1(slot, sym)                                                                         \
    RT_EXPORT void sym(void *p)                                                                    \
    {                                                                                              \
        if (RT_UNLIKELY(forwarding())) {                                                           \
            del_forward(slot, #sym, p);                                                            \
            return;                                                                                \
        }                                                                                          \
        heap_free(p);                                                                              \
    }
#define DELETE2(slot, sym, type2)                                                                  \
    RT_EXPORT void sym(void *p, type2 a)                                                           \
    {                                                                                              \
        if (RT_UNLIKELY(forwarding())) {                                                           \
            del_forward2(slot, #sym, p, (size_t)a);                                                \
            return;                                                                                \
        }                                                                                          \
        heap_free(p);                                                                              \
    }
#define DELETE3(slot, sym, type2, type3)                                                           \
    RT_EXPORT void sym(void *p, type2 a, type3 b)                                                  \
    {                                                                                              \
        if (RT_UNLIKELY(forwarding())) {                                                           \
            del_forward3(slot, #sym, p, (size_t)a, (size_t)b);                                     \
            return;                                                                                \
        }                                                                                          \
        heap_free(p);                                                                              \
    }

DELETE1(8, _ZdlPv)
DELETE1(9, _ZdaPv)
DELETE2(10, _ZdlPvm, size_t)
DELETE2(11, _ZdaPvm, size_t)
DELETE2(12, _ZdlPvRKSt9nothrow_t, const void *)
DELETE2(13, _ZdaPvRKSt9nothrow_t, const void *)
DELETE2(14, _ZdlPvSt11align_val_t, size_t)
DELETE2(15, _ZdaPvSt11align_val_t, size_t)
DELETE3(16, _ZdlPvmSt11align_val_t, size_t, size_t)
DELETE3(17, _ZdaPvmSt11align_val_t, size_t, size_t)
DELETE3(18, _ZdlPvSt11align_val_tRKSt9nothrow_t, size_t, const void *)
DELETE3(19, _ZdaPvSt11align_val_tRKSt9nothrow_t, size_t, const void *)

/* ---- exceptions in flight ----
 * libstdc++'s __cxa_allocate_exception mallocs the thrown object behind its 128-byte header
 * (__cxa_refcounted_exception) from inside libstdc++; the site that matters is the throw
 * expression, its caller. The next definition runs with the site override the libc helpers
 * use (heap_helpers.c), so its malloc records the throw's pc. It never throws (it calls
 * std::terminate when out of memory), so the override is always restored. */
typedef void *(*cxa_alloc_fn)(size_t);

RT_EXPORT void *__cxa_allocate_exception(size_t thrown_size)
{
    cxa_alloc_fn next = (cxa_alloc_fn)next_symbol(N_CXA_ALLOC, "__cxa_allocate_exception");
    if (!next) no_next("__cxa_allocate_exception");
    uintptr_t saved = heap_site_override_begin(CALLER);
    void *r = next(thrown_size);
    heap_site_override_end(saved);
    return r;
}
