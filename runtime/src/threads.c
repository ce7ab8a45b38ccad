/* threads.c: one record per thread in root.threads: stack bounds, tid, heap counters and the
 * thread's block of sequence numbers.
 *
 * A record is written only by its thread (no atomics on the malloc path) and found through an
 * initial-exec TLS pointer. When a thread exits, a pthread key destructor folds its counters
 * into root.retired_* and frees the slot for reuse; anything the thread still allocates or
 * frees afterwards (later TLS destructors) is counted straight into retired_* with atomics, so
 * the sum over records plus retired_* stays exact. */
#define _GNU_SOURCE
#include "heap.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS_CAPACITY 16384u
#define SEQ_BLOCK THREADS_SEQ_BLOCK

enum { TLS_NONE = 0, TLS_RECORD, TLS_RETIRED };

static RT_TLS int tls_state;
static RT_TLS uintptr_t own_stack_lo, own_stack_hi; /* from the trampoline, for the record */

static struct allocs_thread *threads;
rt_lock_t threads_lock = RT_LOCK_INIT;
static int32_t free_next[THREADS_CAPACITY]; /* free list of reusable slots */
static int32_t free_head = -1;
static pthread_key_t exit_key;
static bool exit_key_ok;
static uint64_t global_seq = 1; /* 0 means "no sequence number" */
static uintptr_t main_stack_lo, main_stack_hi;

static void thread_exit(void *v);
static void after_fork_child(void);

static uint32_t sys_gettid(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

void threads_init(void)
{
    threads = rt_map(THREADS_CAPACITY * sizeof *threads);
    if (!threads) return;
    __allocs_root.threads = (uint64_t)(uintptr_t)threads;
    __allocs_root.threads_capacity = THREADS_CAPACITY;
    exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
    pthread_atfork(NULL, NULL, after_fork_child);
}

void threads_count_retired(uint64_t allocs, uint64_t frees, uint64_t bytes_alloc,
                           uint64_t bytes_freed)
{
    struct allocs_root *r = &__allocs_root;
    if (allocs) __atomic_fetch_add(&r->retired_allocs, allocs, __ATOMIC_RELAXED);
    if (frees) __atomic_fetch_add(&r->retired_frees, frees, __ATOMIC_RELAXED);
    if (bytes_alloc) __atomic_fetch_add(&r->retired_bytes_allocated, bytes_alloc, __ATOMIC_RELAXED);
    if (bytes_freed) __atomic_fetch_add(&r->retired_bytes_freed, bytes_freed, __ATOMIC_RELAXED);
}

/* The record's count of allocations (allocs_layout.h: allocs plus what its current sequence
 * block counts). Read by other threads while the owner writes: volatile, each field once. */
static uint64_t record_allocs(const volatile struct allocs_thread *rec)
{
    uint64_t allocs = rec->allocs, next = rec->next_seq, limit = rec->seq_limit;
    uint64_t used = next - (limit - SEQ_BLOCK);
    return allocs + (limit && used <= SEQ_BLOCK ? used : 0);
}

static void retire(struct allocs_thread *rec)
{
    threads_count_retired(record_allocs(rec), rec->frees, rec->bytes_allocated, rec->bytes_freed);
    rec->allocs = rec->frees = rec->bytes_allocated = rec->bytes_freed = 0;
    rec->next_seq = rec->seq_limit = 0;
    __atomic_store_n(&rec->flags, 0, __ATOMIC_RELEASE);
}

struct allocs_thread *threads_self_slow(void)
{
    if (tls_state != TLS_NONE) return rt_self.rec; /* NULL once retired */
    if (!threads) return NULL;
    int saved_errno = errno;
    rt_self.heap_busy++; /* pthread_setspecific may calloc its second-level array */
    /* A thread that meets another thread's fork stuck for milliseconds goes on unrecorded
     * (its counters count as retired) and tries again at its next allocation: the fork may be
     * waiting for something only this thread will do. */
    if (!rt_lock_unless_forking(&threads_lock)) {
        rt_self.heap_busy--;
        errno = saved_errno;
        return NULL;
    }
    int32_t idx = -1;
    if (free_head >= 0) {
        idx = free_head;
        free_head = free_next[idx];
    } else if (__allocs_root.nthreads < THREADS_CAPACITY) {
        idx = (int32_t)__allocs_root.nthreads;
    }
    struct allocs_thread *rec = idx >= 0 ? &threads[idx] : NULL;
    if (rec) {
        memset(rec, 0, sizeof *rec);
        rec->tid = sys_gettid();
        rec->flags = ALLOCS_THREAD_F_LIVE;
        if (rec->tid == (uint32_t)getpid()) {
            rec->flags |= ALLOCS_THREAD_F_MAIN;
            rec->stack_lo = main_stack_lo;
            rec->stack_hi = main_stack_hi;
        } else {
            rec->stack_lo = own_stack_lo;
            rec->stack_hi = own_stack_hi;
        }
        if ((uint32_t)idx == __allocs_root.nthreads)
            __atomic_store_n(&__allocs_root.nthreads, (uint32_t)idx + 1, __ATOMIC_RELEASE);
    }
    rt_unlock(&threads_lock);
    rt_self.rec = rec;
    tls_state = rec ? TLS_RECORD : TLS_RETIRED; /* no slot left: count as retired */
    if (rec && exit_key_ok) pthread_setspecific(exit_key, rec);
    rt_self.heap_busy--;
    errno = saved_errno;
    return rec;
}

struct allocs_thread *threads_self(void)
{
    return threads_current();
}

/* The pthread key destructor: also runs for pthread_exit, after C++ thread_local destructors. */
static void thread_exit(void *v)
{
    struct allocs_thread *rec = v;
    if (!rec || rec != rt_self.rec) return;
    rt_self.rec = NULL;
    heap_site_cache_clear(); /* malloc's fast path then finds no site, nor the missing record */
    tls_state = TLS_RETIRED;
    retire(rec);
    rt_lock(&threads_lock);
    int32_t idx = (int32_t)(rec - threads);
    free_next[idx] = free_head;
    free_head = idx;
    rt_unlock(&threads_lock);
}

/* In the child only the forking thread exists: retire every other record. rt_core's fork
 * handlers hold all rt_locks across fork and may release them after we run, so this does not
 * take threads_lock (the child is single-threaded here). */
static void after_fork_child(void)
{
    struct allocs_thread *self = rt_self.rec;
    uint32_t n = __allocs_root.nthreads;
    for (uint32_t i = 0; i < n; i++) {
        struct allocs_thread *rec = &threads[i];
        if (rec == self) {
            rec->tid = sys_gettid();
            rec->flags |= ALLOCS_THREAD_F_MAIN;
        } else if (rec->flags & ALLOCS_THREAD_F_LIVE) {
            retire(rec);
            free_next[i] = free_head;
            free_head = (int32_t)i;
        }
    }
}

uint64_t threads_next_seq_slow(struct allocs_thread *rec)
{
    if (!rec) return __atomic_fetch_add(&global_seq, 1, __ATOMIC_RELAXED);
    /* [base, base + SEQ_BLOCK) is ours; the numbers used run up to the next multiple of the
     * block (heap.h: threads_seq_left), which differs from base + SEQ_BLOCK only when single
     * numbers taken meanwhile put base off the grid. */
    uint64_t base = __atomic_fetch_add(&global_seq, SEQ_BLOCK, __ATOMIC_RELAXED);
    uint64_t first = base & ALLOCS_TRAILER_SEQ_MASK;
    if (!(first & (SEQ_BLOCK - 1))) first++;
    /* The number returned counts as an allocation (its caller takes back one the index could
     * not take), and the new block counts next_seq - (seq_limit - SEQ_BLOCK), from the block's
     * aligned start: allocs takes the difference, so the record's count goes up by one. The
     * stores in this order keep a reader's error below a block (record_allocs). */
    uint64_t count = record_allocs(rec), limit = (first | (SEQ_BLOCK - 1)) + 1;
    rec->allocs = count + 1 - (first + 1 - (limit - SEQ_BLOCK));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    rec->seq_limit = limit;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    rec->next_seq = first + 1;
    return first;
}

void threads_set_main_stack(uintptr_t lo, uintptr_t hi)
{
    main_stack_lo = lo;
    main_stack_hi = hi;
    if (!threads) return;
    uint32_t n = __atomic_load_n(&__allocs_root.nthreads, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++)
        if ((threads[i].flags & (ALLOCS_THREAD_F_MAIN | ALLOCS_THREAD_F_LIVE)) ==
            (ALLOCS_THREAD_F_MAIN | ALLOCS_THREAD_F_LIVE)) {
            threads[i].stack_lo = lo;
            threads[i].stack_hi = hi;
        }
}

bool threads_find_stack(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uint32_t *tid, bool *is_self)
{
    /* Our own stack, read by the trampoline, even before (or without) a record: a thread
     * whose record waits for another thread's fork still knows where its frames are. */
    if (own_stack_lo < own_stack_hi && addr >= own_stack_lo && addr < own_stack_hi) {
        if (lo) *lo = own_stack_lo;
        if (hi) *hi = own_stack_hi;
        if (tid) *tid = rt_self.rec ? rt_self.rec->tid : 0;
        if (is_self) *is_self = true;
        return true;
    }
    if (!threads) return false;
    uint32_t n = __atomic_load_n(&__allocs_root.nthreads, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        const struct allocs_thread *rec = &threads[i];
        if (!(__atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & ALLOCS_THREAD_F_LIVE)) continue;
        uintptr_t l = rec->stack_lo, h = rec->stack_hi;
        if (l < h && addr >= l && addr < h) {
            if (lo) *lo = l;
            if (hi) *hi = h;
            if (tid) *tid = rec->tid;
            if (is_self) *is_self = rec == rt_self.rec;
            return true;
        }
    }
    return false;
}

void heap_stats(struct alloc_stats *out)
{
    uint64_t allocs = __atomic_load_n(&__allocs_root.retired_allocs, __ATOMIC_RELAXED);
    uint32_t n = threads ? __atomic_load_n(&__allocs_root.nthreads, __ATOMIC_ACQUIRE) : 0;
    for (uint32_t i = 0; i < n; i++)
        allocs += record_allocs(&threads[i]);
    /* Live figures from the index itself: the malloc path counts allocations only. */
    heap_live(&out->live_chunks, &out->live_bytes);
    out->total_allocs = allocs;
    out->total_frees = allocs > out->live_chunks ? allocs - out->live_chunks : 0;
}

/* ---- pthread_create: record the new thread's stack before the user's routine runs ---- */
struct start {
    void *(*fn)(void *);
    void *arg;
};

/* The real allocator for struct start, resolved here like pthread_create itself (the same
 * answers as heap_real's: dlsym(RTLD_NEXT) from this object), so that this file needs nothing
 * from heap_malloc.c, which calls into it. */
static void *(*start_malloc)(size_t);
static void (*start_free)(void *);

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    __atomic_load_n(&start_free, __ATOMIC_ACQUIRE)(p);
    int saved_errno = errno;
    rt_self.heap_busy++; /* pthread_getattr_np allocates; keep that out of the program's heap */
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            own_stack_lo = (uintptr_t)addr;
            own_stack_hi = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    rt_self.heap_busy--;
    threads_current(); /* the record, with the stack bounds just read */
    errno = saved_errno;
    return s.fn(s.arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

RT_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    static pthread_create_fn real;
    pthread_create_fn next = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    if (!next) {
        next = (pthread_create_fn)heap_next_symbol("pthread_create");
        if (!next) return EAGAIN;
        __atomic_store_n(&real, next, __ATOMIC_RELEASE);
    }
    if (!__atomic_load_n(&start_malloc, __ATOMIC_ACQUIRE)) {
        void (*f)(void *) = (void (*)(void *))heap_next_symbol("free");
        void *(*m)(size_t) = (void *(*)(size_t))heap_next_symbol("malloc");
        if (!f || !m) return next(t, attr, fn, arg);
        __atomic_store_n(&start_free, f, __ATOMIC_RELEASE); /* before malloc: it is checked */
        __atomic_store_n(&start_malloc, m, __ATOMIC_RELEASE);
    }
    struct start *s = start_malloc(sizeof *s);
    if (!s) return next(t, attr, fn, arg);
    s->fn = fn;
    s->arg = arg;
    int r = next(t, attr, trampoline, s);
    if (r != 0) start_free(s);
    return r;
}
