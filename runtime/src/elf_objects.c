/* elf_objects.c: the loaded ELF objects (root.objects) and their ELF_FILE/ELF_SEGMENT levels,
 * kept in step with the dynamic loader. A scan walks dl_iterate_phdr into a private scratch
 * list, then reconciles it with the table under the write lock: objects that went away lose
 * their LIVE flag and levels (their slot and symbols stay, since a racing reader may still
 * hold them), new ones get a slot, and a library loaded again at the same place gets its old
 * slot back with its symbols. Symbols themselves are built lazily (elf_symbols.c). */
#define _GNU_SOURCE
#include "allocators.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#pragma weak heap_objects_changed
bool meta_objects_changed(bool may_wait); /* meta_find.c: loads metadata for new objects */
#pragma weak meta_objects_changed

struct lv_object_priv *lv_objects_priv;
static struct allocs_object *objects;

struct scan_obj {
    uintptr_t bias, lo, hi, dynamic;
    struct lv_segment seg[LV_MAX_SEGMENTS];
    unsigned nseg;
    uint8_t build_id[20];
    uint32_t build_id_len;
    uint32_t name_off; /* into scan_names */
    bool exe;
};
static struct scan_obj *scan;
static char *scan_names;
#define SCAN_NAMES_BYTES (1u << 20)
struct scan_state {
    uint32_t n, names_used;
    unsigned long long adds, subs;
};
rt_lock_t objects_scan_lock = RT_LOCK_INIT;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
static char exe_path[4096];
/* dlopen tail-jumps to glibc (see below) and only bumps this; the next query rescans. */
volatile unsigned lv_dlopen_pending;
static unsigned dlopen_seen;

bool objects_ready(void)
{
    return objects != NULL;
}

/* ---- collecting: runs inside dl_iterate_phdr, with the loader's lock held ---- */
static bool in_load(const struct dl_phdr_info *info, uintptr_t vaddr, uintptr_t len)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && len <= ph->p_filesz &&
            vaddr - ph->p_vaddr <= ph->p_filesz - len)
            return true;
    }
    return false;
}

static void read_build_id(const struct dl_phdr_info *info, struct scan_obj *o)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE || !in_load(info, ph->p_vaddr, ph->p_memsz)) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        size_t off = 0, len = ph->p_memsz;
        while (off + 12 <= len) {
            const uint32_t *h = (const uint32_t *)(p + off);
            size_t namesz = (h[0] + 3u) & ~3u, descsz = (h[1] + 3u) & ~3u;
            if (namesz > len || descsz > len || off + 12 + namesz + descsz > len) break;
            if (h[2] == NT_GNU_BUILD_ID && h[0] == 4 && memcmp(p + off + 12, "GNU", 4) == 0) {
                o->build_id_len = h[1] > 20 ? 20 : h[1];
                memcpy(o->build_id, p + off + 12 + namesz, o->build_id_len);
                return;
            }
            off += 12 + namesz + descsz;
        }
    }
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan_state *st = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        st->adds = info->dlpi_adds;
        st->subs = info->dlpi_subs;
    }
    if (st->n >= LV_MAX_OBJECTS) return 0;
    struct scan_obj *o = &scan[st->n];
    memset(o, 0, sizeof *o);
    o->bias = info->dlpi_addr;
    o->lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC) o->dynamic = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || !ph->p_memsz || o->nseg >= LV_MAX_SEGMENTS) continue;
        struct lv_segment *s = &o->seg[o->nseg++];
        s->lo = info->dlpi_addr + ph->p_vaddr;
        s->hi = s->lo + ph->p_memsz;
        s->file_hi = s->lo + ph->p_filesz;
        s->flags = ph->p_flags;
        if (s->lo < o->lo) o->lo = s->lo;
        if (s->hi > o->hi) o->hi = s->hi;
    }
    if (!o->nseg) return 0;
    read_build_id(info, o);
    o->exe = st->n == 0; /* the loader lists the main program first */
    const char *name = o->exe ? exe_path : info->dlpi_name ? info->dlpi_name : "";
    size_t len = strlen(name) + 1;
    if (st->names_used + len > SCAN_NAMES_BYTES) return 0;
    memcpy(scan_names + st->names_used, name, len);
    o->name_off = st->names_used;
    st->names_used += (uint32_t)len;
    st->n++;
    return 0;
}

/* ---- reconciling (write lock held) ---- */
static void drop_levels(uint32_t i)
{
    struct lv_object_priv *p = &lv_objects_priv[i];
    bigs_free(p->file_big);
    p->file_big = -1;
    for (unsigned k = 0; k < LV_MAX_SEGMENTS; k++) {
        bigs_free(p->seg_big[k]);
        p->seg_big[k] = -1;
    }
}

static void add_levels(uint32_t i, const struct scan_obj *s)
{
    struct lv_object_priv *p = &lv_objects_priv[i];
    struct allocs_big f = {s->lo, s->hi, -1, ALLOCS_BIG_ELF_FILE, ALLOCS_BIG_F_FILE,
                           i,     0,     0,  objects[i].name};
    p->file_big = bigs_alloc(&f);
    for (unsigned k = 0; k < s->nseg; k++) {
        const struct lv_segment *g = &s->seg[k];
        uint16_t fl = (uint16_t)(ALLOCS_BIG_F_FILE | (g->flags & PF_R ? ALLOCS_BIG_F_READ : 0) |
                                 (g->flags & PF_W ? ALLOCS_BIG_F_WRITE : 0) |
                                 (g->flags & PF_X ? ALLOCS_BIG_F_EXEC : 0));
        struct allocs_big b = {g->lo, g->hi, p->file_big, ALLOCS_BIG_ELF_SEGMENT, fl,
                               i,     0,     0,           objects[i].name};
        p->seg_big[k] = bigs_alloc(&b);
    }
}

static bool same_object(const struct allocs_object *o, const struct scan_obj *s, const char *name)
{
    return o->load_bias == s->bias && o->lo == s->lo && o->hi == s->hi &&
           (const char *)(uintptr_t)o->name == name && o->build_id_len == s->build_id_len &&
           memcmp(o->build_id, s->build_id, s->build_id_len) == 0;
}

static bool reconcile(const struct scan_state *st)
{
    static bool matched[LV_MAX_OBJECTS];
    static const char *names[LV_MAX_OBJECTS];
    bool changed = false;
    for (uint32_t j = 0; j < st->n; j++) {
        const char *nm = scan_names + scan[j].name_off;
        names[j] = levels_intern(nm, strlen(nm));
        matched[j] = false;
    }
    for (uint32_t i = 0; i < __allocs_root.nobjects; i++) {
        if (!(objects[i].flags & ALLOCS_OBJECT_F_LIVE)) continue;
        bool found = false;
        for (uint32_t j = 0; j < st->n && !found; j++)
            if (!matched[j] && same_object(&objects[i], &scan[j], names[j]))
                found = matched[j] = true;
        if (found) continue;
        objects[i].flags &= ~ALLOCS_OBJECT_F_LIVE;
        drop_levels(i);
        changed = true;
    }
    for (uint32_t j = 0; j < st->n; j++) {
        if (matched[j]) continue;
        const struct scan_obj *s = &scan[j];
        uint32_t i = 0;
        while (i < __allocs_root.nobjects && ((objects[i].flags & ALLOCS_OBJECT_F_LIVE) ||
                                              !same_object(&objects[i], s, names[j])))
            i++;
        if (i == __allocs_root.nobjects) { /* not seen before: a fresh slot */
            if (i >= LV_MAX_OBJECTS) continue;
            struct lv_object_priv *p = &lv_objects_priv[i];
            memset(p, 0, sizeof *p);
            p->file_big = -1;
            for (unsigned k = 0; k < LV_MAX_SEGMENTS; k++)
                p->seg_big[k] = -1;
            memset(&objects[i], 0, sizeof objects[i]);
            objects[i].load_bias = s->bias;
            objects[i].name = (uintptr_t)names[j];
            objects[i].lo = s->lo;
            objects[i].hi = s->hi;
            memcpy(objects[i].build_id, s->build_id, sizeof s->build_id);
            objects[i].build_id_len = s->build_id_len;
            memcpy(p->seg, s->seg, sizeof s->seg);
            p->nseg = s->nseg;
            p->dynamic = s->dynamic;
            __allocs_root.nobjects = i + 1;
        }
        objects[i].flags |= ALLOCS_OBJECT_F_LIVE | (s->exe ? ALLOCS_OBJECT_F_EXECUTABLE : 0);
        add_levels(i, s);
        changed = true;
    }
    return changed;
}

/* The heap and meta parts learn of new objects outside our locks. A query (wait = false) that
 * met a fork holding their locks leaves the news pending for the next query. Both calls are
 * idempotent. */
static volatile int notify_pending;

static void notify_changed(bool wait)
{
    if (!__atomic_exchange_n(&notify_pending, 0, __ATOMIC_ACQ_REL)) return;
    bool done = !heap_objects_changed || heap_objects_changed(wait);
    done = (!meta_objects_changed || meta_objects_changed(wait)) && done;
    if (!done) __atomic_store_n(&notify_pending, 1, __ATOMIC_RELEASE);
}

/* One scan. wait=false gives up when another thread is scanning: a query then answers from
 * the tables as they are rather than risk waiting on a thread that waits on the loader. */
static uintptr_t untracked_start; /* objects_missed */

/* Threads inside glibc's dlopen or dlclose through our wrappers. A fork while one of them holds
 * the loader's list lock leaves that lock held for ever in the child (glibc 2.36 does not reset
 * it), and the child's first query after a dlopen rescanned the list with dl_iterate_phdr and
 * hung, and its parent in waitpid with it (levels_stress, fork mode, about 1 run in 400). So a
 * child forked while any was busy never rescans the loader's list from a query: it answers
 * from the tables it inherited. (A dlopen that tail-jumps to glibc is not counted: we never
 * see it return.) */
static volatile int loader_busy;
static RT_TLS int loader_mine; /* of those, this thread (a constructor may fork) */
static bool loader_lost;

void objects_after_fork_child(void)
{
    /* A child of such a child inherits the held lock too. */
    int others = __atomic_load_n(&loader_busy, __ATOMIC_ACQUIRE) - loader_mine;
    loader_lost = loader_lost || others != 0;
    loader_busy = loader_mine; /* the other threads do not exist here */
}

void objects_loader_enter(void)
{
    loader_mine++;
    __atomic_fetch_add(&loader_busy, 1, __ATOMIC_ACQ_REL);
}

void objects_loader_leave(void)
{
    __atomic_fetch_sub(&loader_busy, 1, __ATOMIC_ACQ_REL);
    loader_mine--;
}

bool objects_rescan(bool wait)
{
    if (!wait && loader_lost) return false;
    uint64_t all = ~0ull, old = 0;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
    if (wait) {
        rt_lock(&objects_scan_lock);
    } else if (!rt_trylock(&objects_scan_lock)) {
        lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
        return false;
    } else if (heap_interrupted_libc()) {
        /* A query from a signal handler that interrupted its own thread in the loader or libc:
         * dl_iterate_phdr would wait for the loader's list lock, which that thread may hold or
         * be halfway through taking (levels_stress hung so: SIGALRM landed in
         * _dl_add_to_namespace_list's pthread_mutex_lock during a dlopen whose entry had
         * marked a rescan pending, and the handler's query rescanned). The tables answer as
         * they are; a later query rescans. */
        rt_unlock(&objects_scan_lock);
        lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
        return false;
    }
    unsigned pending = lv_dlopen_pending;
    bool first = seen_adds == ~0ull;
    struct scan_state st = {0, 0, 0, 0};
    dl_iterate_phdr(collect, &st);
    loader_lost = false; /* it returned: the lock is free after all (this process's own dlopen) */
    levels_write_begin();
    bool changed = reconcile(&st);
    /* dlopen and dlclose map and unmap through glibc's internal calls, unseen by our mmap. */
    if (changed && !first) maps_rescan_locked();
    if (changed) stack_rules_forget();
    levels_write_end();
    seen_adds = st.adds;
    seen_subs = st.subs;
    dlopen_seen = pending;
    rt_unlock(&objects_scan_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
    if (changed) __atomic_store_n(&notify_pending, 1, __ATOMIC_RELEASE);
    if (changed) __atomic_store_n(&untracked_start, 0, __ATOMIC_RELEASE);
    notify_changed(wait);
    return true;
}

/* The query path reaches dl_iterate_phdr only through objects_rescan(false): never while
 * another thread scans, and never from a signal handler that interrupted its thread in the
 * loader or libc (dl_iterate_phdr takes the loader's lock, which that thread may hold). It
 * rescans after a dlopen that tail-jumped to glibc (lv_dlopen_pending); the other dlopens and
 * every dlclose rescan in our wrappers. glibc's own loads (NSS, iconv modules) are noticed when
 * an address misses every object we know but _dl_find_object, which is lock-free, places it
 * in one. */
void objects_check_changed(void)
{
    if (objects && lv_dlopen_pending != dlopen_seen) objects_rescan(false);
    if (__atomic_load_n(&notify_pending, __ATOMIC_ACQUIRE)) notify_changed(false);
}

/* An object the loader knows and we do not: rescan, once per such object rather than once per
 * time interval. With "at most every 10 ms", an object glibc loaded for itself (an NSS module)
 * just after another one's rescan was answered as no object at all until 10 ms had passed,
 * an answer that depended on the machine's speed. An object that a rescan still does not add
 * (no loadable segment we keep, or the table is full) is remembered by its start, so queries
 * in it do not rescan again; any rescan that changes the objects forgets it. */
bool objects_missed(uintptr_t addr)
{
    struct dl_find_object dlfo;
    if (!objects || _dl_find_object((void *)addr, &dlfo) != 0) return false;
    uintptr_t start = (uintptr_t)dlfo.dlfo_map_start;
    if (__atomic_load_n(&untracked_start, __ATOMIC_ACQUIRE) == start) return false;
    if (!objects_rescan(false)) return true; /* another thread is scanning: look again */
    uint32_t idx;
    struct allocs_object o;
    struct lv_segment seg;
    if (!objects_find(addr, &idx, &o, &seg))
        __atomic_store_n(&untracked_start, start, __ATOMIC_RELEASE);
    return true;
}

bool objects_find(uintptr_t addr, uint32_t *obj, struct allocs_object *o, struct lv_segment *seg)
{
    if (!objects) return false;
    bool found;
    unsigned seq;
    do {
        seq = levels_read_begin();
        found = false;
        /* The bound once, and the span before the flags: most objects miss on one compare (a
         * stack or heap address scans them all on every query). objects_rescan never counts
         * past LV_MAX_OBJECTS; the clamp is for a root the program scribbled on. */
        uint32_t n = __allocs_root.nobjects;
        if (n > LV_MAX_OBJECTS) n = LV_MAX_OBJECTS;
        for (uint32_t i = 0; i < n; i++) {
            const struct allocs_object *c = &objects[i];
            if (addr < c->lo || addr >= c->hi || !(c->flags & ALLOCS_OBJECT_F_LIVE)) continue;
            *obj = i;
            *o = *c;
            memset(seg, 0, sizeof *seg);
            const struct lv_object_priv *p = &lv_objects_priv[i];
            for (unsigned k = 0; k < p->nseg && k < LV_MAX_SEGMENTS; k++)
                if (addr >= p->seg[k].lo && addr < p->seg[k].hi) *seg = p->seg[k];
            found = true;
            break;
        }
    } while (levels_read_retry(seq));
    return found;
}

void objects_init(void)
{
    objects = levels_reserve(LV_MAX_OBJECTS * sizeof *objects);
    lv_objects_priv = levels_reserve(LV_MAX_OBJECTS * sizeof *lv_objects_priv);
    scan = levels_reserve(LV_MAX_OBJECTS * sizeof *scan);
    scan_names = levels_reserve(SCAN_NAMES_BYTES);
    if (!objects || !lv_objects_priv || !scan || !scan_names) {
        objects = NULL;
        return;
    }
    long n = lv_syscall3(SYS_readlink, "/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = 0;
    __allocs_root.objects = (uintptr_t)objects;
    __allocs_root.objects_capacity = LV_MAX_OBJECTS;
    objects_rescan(true);
}

/* ---- the ELF allocators (allocators.h): a loaded file and its segments (the statics in them
 * are elf_symbols.c's) ---- */
/* After a miss: the loader knows an object there that the tables do not (rescanned). */
__attribute__((noinline, cold)) static bool object_after_rescan(struct rt_where *w)
{
    return objects_missed(w->addr) &&
           objects_find(w->addr, &w->object, &w->object_rec, &w->segment);
}

void where_object_lookup(struct rt_where *w, bool retry_missed)
{
    bool found = objects_find(w->addr, &w->object, &w->object_rec, &w->segment) ||
                 (retry_missed && object_after_rescan(w));
    w->object_state = found ? 1 : -1;
}

/* A range the program mapped over itself is no longer the library's (a dlclose'd range
 * mapped again before the rescan): the leaf order asks mmap's own records first for the same
 * reason. */
static bool elf_file_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    if (where_mapping(w) && (w->mapping.flags & ALLOCS_BIG_F_USER_MMAP)) return false;
    if (!where_object(w, false)) return false;
    *lo = (uintptr_t)w->object_rec.lo;
    *hi = (uintptr_t)w->object_rec.hi;
    return true;
}

const struct allocs_allocator elf_file_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_ELF_FILE,
    .id = ALLOCS_ALLOCATOR_ELF_FILE,
    .level = ALLOCS_LEVEL_REGION,
    .extent = elf_file_extent,
};

static bool elf_segment_extent(struct rt_where *w, uintptr_t *lo, uintptr_t *hi)
{
    if (!where_object(w, false)) return false;
    *lo = w->segment.lo;
    *hi = w->segment.hi;
    return true;
}

const struct allocs_allocator elf_segment_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_ELF_SEGMENT,
    .id = ALLOCS_ALLOCATOR_ELF_SEGMENT,
    .level = ALLOCS_LEVEL_PART,
    .extent = elf_segment_extent,
};
