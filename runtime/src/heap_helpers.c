/* heap_helpers.c: allocations made on the caller's behalf.
 *
 * libc helpers (strdup, asprintf, getline, realpath...) allocate from inside libc, so the
 * return address our malloc sees is a pc in libc. strdup/strndup are reimplemented on top of
 * heap_malloc_at with the caller's pc; the others run the next definition with a thread-local
 * "site override" set, which the nested mallocs pick up (an outer override wins, so a helper
 * calling a helper still reports the outermost caller).
 *
 * Declared wrappers (LIBALLOCS_ALLOC_FNS etc., liballocs syntax) name functions like xmalloc
 * whose callers are the interesting sites. Their extents come from the levels part
 * (elf_lookup_function) at start-up and after every dlopen/dlclose; an allocation whose pc is
 * inside one is attributed to the first caller outside any wrapper, found by unwinding (only
 * on that slow path). This file finds their ranges; heap_sites.c, which classifies pcs, holds
 * them and does the unwinding. */
#define _GNU_SOURCE
#include "heap.h"
#include "levels.h"
#include "meta.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>

/* The levels part provides this; until it is linked in, wrappers stay unresolved. */
#pragma weak elf_lookup_function

#define CALLER ((uintptr_t)__builtin_return_address(0))

#define WITH_SITE(type, call)                                                                      \
    ({                                                                                             \
        uintptr_t saved_ = heap_site_override_begin(CALLER);                                       \
        type r_ = (call);                                                                          \
        heap_site_override_end(saved_);                                                            \
        r_;                                                                                        \
    })

#define NEXT(type, name)                                                                           \
    static type next_;                                                                             \
    if (!__atomic_load_n(&next_, __ATOMIC_ACQUIRE))                                                \
        __atomic_store_n(&next_, (type)heap_next_symbol(name), __ATOMIC_RELEASE);                  \
    type next = __atomic_load_n(&next_, __ATOMIC_ACQUIRE)

RT_EXPORT char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = heap_malloc_at_cfa(n, CALLER, (uintptr_t)__builtin_dwarf_cfa());
    if (p) memcpy(p, s, n);
    return p;
}

RT_EXPORT char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *p = heap_malloc_at_cfa(n + 1, CALLER, (uintptr_t)__builtin_dwarf_cfa());
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

typedef int (*vasprintf_fn)(char **, const char *, va_list);
typedef int (*vasprintf_chk_fn)(char **, int, const char *, va_list);

RT_EXPORT int vasprintf(char **out, const char *fmt, va_list ap)
{
    NEXT(vasprintf_fn, "vasprintf");
    return WITH_SITE(int, next(out, fmt, ap));
}

RT_EXPORT int asprintf(char **out, const char *fmt, ...)
{
    NEXT(vasprintf_fn, "vasprintf");
    va_list ap;
    va_start(ap, fmt);
    int r = WITH_SITE(int, next(out, fmt, ap));
    va_end(ap);
    return r;
}

/* The _FORTIFY_SOURCE entry points for the two above. */
int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap);
int __asprintf_chk(char **out, int flag, const char *fmt, ...);

RT_EXPORT int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap)
{
    NEXT(vasprintf_chk_fn, "__vasprintf_chk");
    return WITH_SITE(int, next(out, flag, fmt, ap));
}

RT_EXPORT int __asprintf_chk(char **out, int flag, const char *fmt, ...)
{
    NEXT(vasprintf_chk_fn, "__vasprintf_chk");
    va_list ap;
    va_start(ap, fmt);
    int r = WITH_SITE(int, next(out, flag, fmt, ap));
    va_end(ap);
    return r;
}

typedef ssize_t (*getdelim_fn)(char **, size_t *, int, FILE *);
typedef ssize_t (*getline_fn)(char **, size_t *, FILE *);
typedef char *(*realpath_fn)(const char *, char *);
typedef char *(*getcwd_fn)(char *, size_t);

RT_EXPORT ssize_t getdelim(char **line, size_t *n, int delim, FILE *f)
{
    NEXT(getdelim_fn, "getdelim");
    return WITH_SITE(ssize_t, next(line, n, delim, f));
}

RT_EXPORT ssize_t getline(char **line, size_t *n, FILE *f)
{
    NEXT(getline_fn, "getline");
    return WITH_SITE(ssize_t, next(line, n, f));
}

RT_EXPORT char *realpath(const char *path, char *resolved)
{
    NEXT(realpath_fn, "realpath");
    return WITH_SITE(char *, next(path, resolved));
}

RT_EXPORT char *getcwd(char *buf, size_t size)
{
    NEXT(getcwd_fn, "getcwd");
    return WITH_SITE(char *, next(buf, size));
}

/* ---- declared wrappers ---- */
enum decl_kind { DECL_ALLOC, DECL_FREE, DECL_SUBALLOC, DECL_SUBFREE };
static const char *const decl_env[] = {"LIBALLOCS_ALLOC_FNS", "LIBALLOCS_FREE_FNS",
                                       "LIBALLOCS_SUBALLOC_FNS", "LIBALLOCS_SUBFREE_FNS"};

#define MAX_WRAPPERS HEAP_MAX_WRAPPERS

static const char *alloc_wrapper_names[MAX_WRAPPERS];
static unsigned nalloc_wrappers;
rt_lock_t wrappers_lock = RT_LOCK_INIT;
static bool parsed;
static bool decls_ready; /* set (release) once parse_decls has finished */
/* The well-formed suballocator declarations, for suballoc.c (heap_suballoc_decls). */
static struct heap_suballoc_decl suballoc_decls[HEAP_MAX_SUBALLOC_DECLS];
static unsigned nsuballoc_decls;

/* Checks one declaration, e.g. "xcalloc(zZ)p"; NULL if well-formed, else what is wrong. */
static const char *check_decl(const char *d, size_t len, enum decl_kind kind, size_t *name_len)
{
    size_t i = 0;
    if (len == 0 || !(isalpha((unsigned char)d[0]) || d[0] == '_'))
        return "expected a function name";
    while (i < len && (isalnum((unsigned char)d[i]) || d[i] == '_'))
        i++;
    *name_len = i;
    if (i == len || d[i] != '(') return "expected '(' after the function name";
    unsigned nargs = 0, ncaps = 0;
    char cap = 0;
    for (i++; i < len && d[i] != ')'; i++, nargs++) {
        if (!strchr("zpiZPI", d[i]))
            return "argument letters must be z, p or i (capital: the size or freed pointer)";
        if (isupper((unsigned char)d[i])) ncaps++, cap = d[i];
    }
    if (i == len) return "missing ')'";
    if (nargs == 0) return "no argument letters between the parentheses";
    if (ncaps != 1) return "exactly one argument letter must be a capital";
    i++; /* past ')' */
    size_t ret_len = len - i;
    if (kind == DECL_SUBFREE) { /* liballocs: "pool_free(pP)->pool_alloc" */
        const char *arrow = memchr(d + i, '-', len - i);
        if (arrow) {
            size_t k = (size_t)(arrow - d);
            if (k + 2 >= len || d[k + 1] != '>' ||
                !(isalpha((unsigned char)d[k + 2]) || d[k + 2] == '_'))
                return "expected \"->\" and the suballocator's name";
            for (size_t j = k + 2; j < len; j++)
                if (!isalnum((unsigned char)d[j]) && d[j] != '_')
                    return "the name after \"->\" is not a function name";
            ret_len = k - i;
        }
    }
    if (kind == DECL_FREE || kind == DECL_SUBFREE) {
        if (cap != 'P') return "a free function's capital letter must be P (the freed pointer)";
        if (ret_len > 1 || (ret_len == 1 && !strchr("zpi", d[i])))
            return "after ')' expected nothing or one return letter (z, p or i)";
    } else {
        if (cap == 'P') return "the capital letter must mark the size argument (Z or I)";
        if (ret_len != 1) return "expected one return letter after ')'";
        if (d[i] != 'p') return "an allocation function must return a pointer (p)";
    }
    return NULL;
}

/* Under wrappers_lock, once: parse the three variables, warning once per malformed entry. */
static void parse_decls(void)
{
    if (parsed) return;
    parsed = true;
    for (int kind = DECL_ALLOC; kind <= DECL_SUBFREE; kind++) {
        const char *v = rt_getenv(decl_env[kind]);
        while (v && *v) {
            while (isspace((unsigned char)*v))
                v++;
            size_t len = 0;
            while (v[len] && !isspace((unsigned char)v[len]))
                len++;
            if (len == 0) break;
            size_t name_len = 0;
            const char *why = check_decl(v, len, (enum decl_kind)kind, &name_len);
            if (why) {
                rt_warn("%s: ignoring \"%.*s\": %s", decl_env[kind], (int)len, v, why);
            } else if (kind == DECL_ALLOC && nalloc_wrappers < MAX_WRAPPERS) {
                char name[256];
                if (name_len < sizeof name) {
                    memcpy(name, v, name_len);
                    name[name_len] = 0;
                    const char *copy = rt_strdup(name);
                    if (copy) alloc_wrapper_names[nalloc_wrappers++] = copy;
                }
            } else if ((kind == DECL_SUBALLOC || kind == DECL_SUBFREE) &&
                       nsuballoc_decls < HEAP_MAX_SUBALLOC_DECLS) {
                char *copy = rt_arena_alloc(len + 1); /* the program may change its environment */
                if (copy) {
                    memcpy(copy, v, len);
                    suballoc_decls[nsuballoc_decls++] =
                        (struct heap_suballoc_decl){copy, len, kind == DECL_SUBFREE};
                }
            }
            /* Free declarations are validated; frees reach our free anyway. */
            v += len;
        }
    }
    __atomic_store_n(&decls_ready, true, __ATOMIC_RELEASE);
}

static void decls_parse(void)
{
    /* Parsed by now in practice (resolve_wrappers runs first on every change): no lock then. */
    if (__atomic_load_n(&decls_ready, __ATOMIC_ACQUIRE)) return;
    uint64_t all = ~0ull, old = 0;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
    rt_lock(&wrappers_lock);
    parse_decls();
    rt_unlock(&wrappers_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
}

const struct heap_suballoc_decl *heap_suballoc_decls(unsigned *n)
{
    decls_parse();
    *n = nsuballoc_decls;
    return suballoc_decls;
}

static bool resolve_wrappers(bool may_wait)
{
    int saved_errno = errno;
    /* Signals stay blocked while wrappers_lock is held, as for the runtime's other locks: a
     * handler that interrupted this thread inside the lock and queried (a dlopen's rescan
     * calls back here) would wait for the lock its own thread holds, forever. */
    uint64_t all = ~0ull, old = 0;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
    if (!may_wait && !rt_lock_unless_forking(&wrappers_lock)) {
        lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
        errno = saved_errno;
        return false;
    }
    if (may_wait) rt_lock(&wrappers_lock);
    parse_decls();
    if (nalloc_wrappers && elf_lookup_function) {
        struct heap_wrapper_ranges *set = rt_arena_alloc(sizeof *set);
        if (set) {
            for (unsigned i = 0; i < nalloc_wrappers; i++) {
                uintptr_t lo, hi;
                if (elf_lookup_function(alloc_wrapper_names[i], &lo, &hi) && lo < hi)
                    set->r[set->n++] = (struct heap_range){lo, hi};
            }
            heap_sites_set_wrappers(set); /* and a new generation of every site cache */
        }
    }
    rt_unlock(&wrappers_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
    errno = saved_errno;
    return true;
}

bool heap_objects_changed(bool may_wait)
{
    /* Code at a pc may now be another object's: every cached classification (a wrapper's CFA
     * offset above all) is looked up again. */
    heap_site_cache_flush();
    return resolve_wrappers(may_wait);
}

/* Around fork, rt_core holds every rt_lock on the forking thread. A signal handler running
 * there in that window must not wait for one of ours: mark the thread busy (its mallocs pass
 * through, its queries avoid locks). Registered after rt_core's handlers, so our prepare runs
 * before its locks are taken and our parent/child handlers after they are released. */
static void fork_prepare(void)
{
    rt_self.heap_busy++;
}
static void fork_after(void)
{
    rt_self.heap_busy--;
}

/* After rt_init (priority 101): the levels part knows the loaded objects by now. */
__attribute__((constructor(102))) static void heap_late_init(void)
{
    resolve_wrappers(true);
    pthread_atfork(fork_prepare, fork_after, fork_after);
}
