/* meta_find.c: finding each object's metadata file by the documented search rule, opening it
 * and reading its header with raw syscalls, and reporting a refused file (one line on stderr);
 * meta_objects_changed drives the loading of every new object. */
#define _GNU_SOURCE
#define ALLOCS_META_LOADER
#include "meta.h"
#include "levels.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

void suballoc_objects_loaded(void); /* suballoc.c */
bool suballoc_declared(void);

#define MAX_FILE_BYTES (1ull << 30)
static uint8_t tried[LV_MAX_OBJECTS]; /* per object slot: metadata search done */
/* Lazy loading: a slot whose file was found (header and build-id checked) but not yet loaded.
 * A process that never asks about a type never builds the types: libc's metadata alone is
 * ~2.4 MB of resident memory once built. Only its SITES records (the malloc path's wrapper
 * flags, a few KB) are read at start-up, into early_sites. */
static uint8_t pending[LV_MAX_OBJECTS];
/* The file a pending object's probe found (pool memory): its full load reads that file, not
 * the search's answer at query time, which the program can change in between (clearenv, a new
 * HOME or XDG_CACHE_HOME) and would then miss the file or report a refused one twice. */
static const char *found_path[LV_MAX_OBJECTS];
uint32_t meta_npending; /* slots pending; read lock-free by the queries (meta.h) */
static struct early_sites {
    const struct allocs_meta_site *s;
    uint64_t n;
} early[LV_MAX_OBJECTS];

static void hex(char *out, const uint8_t *id, uint32_t n)
{
    static const char d[] = "0123456789abcdef";
    for (uint32_t i = 0; i < n; i++) {
        out[2 * i] = d[id[i] >> 4];
        out[2 * i + 1] = d[id[i] & 15];
    }
    out[2 * n] = 0;
}

enum try_result { TRY_ABSENT, TRY_REFUSED, TRY_LOADED };
static char stale_msg[3 * 4096]; /* the first stale file met in one object's search */

/* The SITES records of a found file, for meta_site_flags until the types are loaded; none
 * when they are not sorted (the full load will refuse the file then). Under meta_lock. */
static void read_early_sites(struct meta_load *L, uint32_t slot)
{
    const int S = ALLOCS_META_SITES;
    if (!meta_sections_ok(L)) return; /* fills L->n and L->off */
    uint64_t n = L->n[S], bytes = n * sizeof(struct allocs_meta_site);
    if (!n) return;
    struct allocs_meta_site *s = meta_pool_alloc(bytes);
    if (!s || lv_pread(L->fd, s, bytes, L->off[S]) != (long)bytes) return;
    for (uint64_t i = 1; i < n; i++)
        if (s[i].vaddr < s[i - 1].vaddr) return;
    early[slot].n = n;
    __atomic_store_n(&early[slot].s, s, __ATOMIC_RELEASE);
}

/* probe: stop once the header and build-id match (the object is then pending), reading only
 * the SITES records; else load the whole file. */
static enum try_result try_file(const char *path, struct allocs_object *obj, const char *objname,
                                bool *completed, bool probe)
{
    struct meta_load L;
    memset(&L, 0, sizeof L);
    L.fd = lv_open_read(path);
    if (L.fd < 0) return TRY_ABSENT;
    long size = lv_file_size(L.fd);
    if (size < 0 || (uint64_t)size > MAX_FILE_BYTES) {
        lv_close(L.fd);
        rt_warn("metadata %s is invalid: size %ld; ignored", path, size);
        return TRY_REFUSED;
    }
    L.size = (uint64_t)size;
    long hdr = L.size >= sizeof L.h ? lv_pread(L.fd, &L.h, sizeof L.h, 0) : 0;
    if (hdr < 0 || (L.size >= sizeof L.h && hdr != (long)sizeof L.h)) {
        lv_close(L.fd);
        rt_warn("metadata %s could not be read; ignored", path);
        return TRY_REFUSED;
    }
    if (!meta_header_ok(&L)) goto bad;
    if (L.h.build_id_len != obj->build_id_len ||
        memcmp(L.h.build_id, obj->build_id, obj->build_id_len) != 0) {
        char want[41], have[41];
        hex(want, obj->build_id, obj->build_id_len);
        hex(have, L.h.build_id, L.h.build_id_len);
        if (!stale_msg[0]) /* said only if no later candidate loads (the cache may have it) */
            snprintf(
                stale_msg, sizeof stale_msg,
                "metadata %s is for build-id %s, but %s has build-id %s: rerun allocs typegen %s",
                path, have[0] ? have : "(none)", objname, want, objname);
        lv_close(L.fd);
        return TRY_REFUSED;
    }
    if (probe) {
        uint32_t slot = (uint32_t)(obj - (struct allocs_object *)(uintptr_t)__allocs_root.objects);
        read_early_sites(&L, slot);
        size_t plen = strlen(path) + 1;
        char *copy = meta_pool_alloc(plen);
        if (copy) memcpy(copy, path, plen);
        found_path[slot] = copy;
        lv_close(L.fd);
        return TRY_LOADED;
    }
    if (!meta_load_all(&L, path)) goto bad;
    lv_close(L.fd);
    meta_unique_and_publish(&L, obj, completed);
    return TRY_LOADED;
bad:
    lv_close(L.fd);
    if (L.oom) {
        rt_warn("metadata %s: out of memory; ignored", path);
        return TRY_REFUSED;
    }
    rt_warn("metadata %s is invalid: %s (at file offset %llu); ignored", path, L.why,
            (unsigned long long)L.at);
    if (L.arena) rt_unmap(L.arena, L.arena_bytes);
    return TRY_REFUSED;
}

static char path_buf[4096 + 64];

static bool join(const char *a, size_t alen, const char *b, const char *c)
{
    size_t bl = strlen(b), cl = strlen(c);
    if (alen + bl + cl + 1 > sizeof path_buf) return false;
    memcpy(path_buf, a, alen);
    memcpy(path_buf + alen, b, bl);
    memcpy(path_buf + alen + bl, c, cl + 1);
    return true;
}
/* Next to each file the loader's path P resolves to through symlinks (libtool installs
 * libfoo.so.0 -> libfoo.so.0.8.6 and `allocs cc` wrote libfoo.so.0.8.6.allocsmeta), 8 levels. */
static bool try_beside_link_targets(const char *name, struct allocs_object *obj, bool *completed,
                                    bool probe)
{
    static char cur[4096], target[4096]; /* under the metadata lock, like path_buf */
    size_t n = strlen(name);
    if (n >= sizeof cur) return false;
    memcpy(cur, name, n + 1);
    for (int depth = 0; depth < 8; depth++) {
        long len = lv_syscall3(SYS_readlink, cur, target, sizeof target - 1);
        if (len <= 0) return false;
        target[len] = 0;
        size_t dir = 0;
        if (target[0] != '/') {
            const char *slash = strrchr(cur, '/');
            dir = slash ? (size_t)(slash - cur + 1) : 0;
        }
        if (dir + (size_t)len + 1 > sizeof cur) return false;
        memcpy(cur + dir, target, (size_t)len + 1);
        if (join(cur, strlen(cur), "", ALLOCS_META_SUFFIX) &&
            try_file(path_buf, obj, name, completed, probe) == TRY_LOADED)
            return true;
    }
    return false;
}

/* The documented search: ALLOCS_META_PATH dirs by build-id, P.allocsmeta, next to P's symlink
 * targets, the cache by build-id. */
static bool search_object(struct allocs_object *obj, bool *completed, bool probe)
{
    const char *name = (const char *)(uintptr_t)obj->name;
    if (!name) name = "";
    char id[48];
    id[0] = '/';
    hex(id + 1, obj->build_id, obj->build_id_len);
    const char *mp = rt_getenv("ALLOCS_META_PATH");
    while (mp && *mp) {
        const char *end = strchr(mp, ':');
        size_t len = end ? (size_t)(end - mp) : strlen(mp);
        if (len && join(mp, len, id, ALLOCS_META_SUFFIX) &&
            try_file(path_buf, obj, name, completed, probe) == TRY_LOADED)
            return true;
        mp = end ? end + 1 : NULL;
    }
    if (*name && join(name, strlen(name), "", ALLOCS_META_SUFFIX) &&
        try_file(path_buf, obj, name, completed, probe) == TRY_LOADED)
        return true;
    if (*name && try_beside_link_targets(name, obj, completed, probe)) return true;
    const char *xdg = rt_getenv("XDG_CACHE_HOME"), *home = rt_getenv("HOME");
    if (xdg && *xdg) {
        if (join(xdg, strlen(xdg), "/allocs/meta", id) && strlen(path_buf) + 12 < sizeof path_buf) {
            strcat(path_buf, ALLOCS_META_SUFFIX);
            return try_file(path_buf, obj, name, completed, probe) == TRY_LOADED;
        }
    } else if (home && *home) {
        if (join(home, strlen(home), "/.cache/allocs/meta", id) &&
            strlen(path_buf) + 12 < sizeof path_buf) {
            strcat(path_buf, ALLOCS_META_SUFFIX);
            return try_file(path_buf, obj, name, completed, probe) == TRY_LOADED;
        }
    }
    return false;
}

/* A stale file is reported only when no other candidate loads: after a rebuild with plain cc,
 * zero setup has put the new build's metadata in the cache, and the old file next to the
 * program is then no news. */
static bool load_object(struct allocs_object *obj, bool *completed, bool probe)
{
    if (!obj->build_id_len) return false;
    uint32_t slot = (uint32_t)(obj - (struct allocs_object *)(uintptr_t)__allocs_root.objects);
    stale_msg[0] = 0;
    const char *name = obj->name ? (const char *)(uintptr_t)obj->name : "";
    /* A pending object loads the file its probe found (or nothing, when that file changed since:
     * try_file says why); the search is not run again, so nothing refused is reported twice. */
    bool found = !probe && found_path[slot]
                     ? try_file(found_path[slot], obj, name, completed, false) == TRY_LOADED
                     : search_object(obj, completed, probe);
    if (!found && stale_msg[0]) rt_warn("%s", stale_msg);
    return found;
}

/* Loading waits for the process's first type query (the default) unless ALLOCS_META_LAZY=0 asks
 * for it at start-up, or the program declares suballocators, whose calls are redirected from the
 * metadata's SITES at load time. Waiting keeps a process that never asks about a type from
 * building them (libc's alone are ~2.4 MB resident once built): a core of such a process holds
 * no types, and its reader takes them from the same files on disk (by build-id, the search
 * below, with the process's own environment). */
static bool load_now(void)
{
    const char *lazy = rt_getenv("ALLOCS_META_LAZY");
    return (lazy && strcmp(lazy, "0") == 0) || suballoc_declared();
}

/* Searches every new object (probe: only finding its file) or loads every pending one. */
static bool scan(bool may_wait, bool loading_pending)
{
    struct allocs_object *objects = (struct allocs_object *)(uintptr_t)__allocs_root.objects;
    if (!objects) return true;
    const char *off = rt_getenv("ALLOCS_META");
    if (off && strcmp(off, "off") == 0) return true;
    /* ALLOCS_META_STATS=1: one line per call with the time spent (the load benchmark). */
    const char *stats = rt_getenv("ALLOCS_META_STATS");
    struct timespec c0, c1;
    uint64_t w0 = lv_now_ns(), loaded = 0, ntypes = 0, found = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    bool probe = !loading_pending && !load_now();
    uint64_t mask;
    if (!meta_lock_take(&mask, may_wait)) return false;
    bool completed = false;
    uint32_t loaded_pending = 0;
    uint32_t n = __atomic_load_n(&__allocs_root.nobjects, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < LV_MAX_OBJECTS; i++) {
        if (loading_pending) {
            if (!pending[i]) continue;
            pending[i] = 0;
            loaded_pending++;
        } else {
            if (tried[i]) continue;
            /* A slot's identity (name, build-id) never changes once filled: a different object
             * gets a fresh slot, and only meta (ours) is written later. */
            if (!(__atomic_load_n(&objects[i].flags, __ATOMIC_ACQUIRE) & ALLOCS_OBJECT_F_LIVE))
                continue;
            tried[i] = 1;
        }
        if (load_object(&objects[i], &completed, probe) && probe) {
            pending[i] = 1;
            __atomic_fetch_add(&meta_npending, 1, __ATOMIC_RELEASE);
            found++;
        }
        if (loading_pending && !objects[i].meta) /* refused after all: its SITES too */
            __atomic_store_n(&early[i].s, NULL, __ATOMIC_RELEASE);
        if (objects[i].meta) {
            loaded++;
            ntypes += ((struct allocs_loaded_meta *)(uintptr_t)objects[i].meta)->ntypes;
        }
    }
    if (completed) /* an incomplete type met its definition: redirect every reference */
        for (uint32_t i = 0; i < n && i < LV_MAX_OBJECTS; i++)
            if (objects[i].meta)
                meta_patch_refs((struct allocs_loaded_meta *)(uintptr_t)objects[i].meta);
    /* Only now, with every pending object published and patched: a query on another thread
     * that sees no object pending answers from them all (counted down slot by slot, one that
     * came between two slots would have answered before the last ones were loaded). */
    if (loaded_pending) __atomic_fetch_sub(&meta_npending, loaded_pending, __ATOMIC_RELEASE);
    meta_lock_drop(mask);
    if (loaded || found) heap_sites_meta_changed(); /* wrapper call sites may now be known */
    suballoc_objects_loaded(); /* redirect the new objects' suballocator calls (suballoc.c) */
    if (stats && *stats == '1') {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu =
            (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
        rt_warn("metadata: %llu files found (loaded at the first query), %llu files, %llu types "
                "loaded in %.3f ms (cpu %.3f ms)",
                (unsigned long long)found, (unsigned long long)loaded, (unsigned long long)ntypes,
                (double)(lv_now_ns() - w0) / 1e6, cpu);
    }
    return true;
}

bool meta_objects_changed(bool may_wait)
{
    return scan(may_wait, false);
}

void meta_load_pending(void)
{
    scan(false, true);
}

const struct allocs_meta_site *meta_early_sites(uint32_t slot, uint64_t *n)
{
    if (slot >= LV_MAX_OBJECTS) return NULL;
    const struct allocs_meta_site *s = __atomic_load_n(&early[slot].s, __ATOMIC_ACQUIRE);
    *n = s ? early[slot].n : 0;
    return s;
}
