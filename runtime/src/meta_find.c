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

#define MAX_FILE_BYTES (1ull << 30)
static uint8_t tried[LV_MAX_OBJECTS]; /* per object slot: metadata search done */

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

static enum try_result try_file(const char *path, struct allocs_object *obj, const char *objname,
                                bool *completed)
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
static bool try_beside_link_targets(const char *name, struct allocs_object *obj, bool *completed)
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
            try_file(path_buf, obj, name, completed) == TRY_LOADED)
            return true;
    }
    return false;
}

/* The documented search: ALLOCS_META_PATH dirs by build-id, P.allocsmeta, next to P's symlink
 * targets, the cache by build-id. */
static void search_object(struct allocs_object *obj, bool *completed)
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
            try_file(path_buf, obj, name, completed) == TRY_LOADED)
            return;
        mp = end ? end + 1 : NULL;
    }
    if (*name && join(name, strlen(name), "", ALLOCS_META_SUFFIX) &&
        try_file(path_buf, obj, name, completed) == TRY_LOADED)
        return;
    if (*name && try_beside_link_targets(name, obj, completed)) return;
    const char *xdg = rt_getenv("XDG_CACHE_HOME"), *home = rt_getenv("HOME");
    if (xdg && *xdg) {
        if (join(xdg, strlen(xdg), "/allocs/meta", id) && strlen(path_buf) + 12 < sizeof path_buf) {
            strcat(path_buf, ALLOCS_META_SUFFIX);
            try_file(path_buf, obj, name, completed);
        }
    } else if (home && *home) {
        if (join(home, strlen(home), "/.cache/allocs/meta", id) &&
            strlen(path_buf) + 12 < sizeof path_buf) {
            strcat(path_buf, ALLOCS_META_SUFFIX);
            try_file(path_buf, obj, name, completed);
        }
    }
}

/* A stale file is reported only when no other candidate loads: after a rebuild with plain cc,
 * zero setup has put the new build's metadata in the cache, and the old file next to the
 * program is then no news. */
static void load_object(struct allocs_object *obj, bool *completed)
{
    if (!obj->build_id_len) return;
    stale_msg[0] = 0;
    search_object(obj, completed);
    if (!obj->meta && stale_msg[0]) rt_warn("%s", stale_msg);
}

bool meta_objects_changed(bool may_wait)
{
    struct allocs_object *objects = (struct allocs_object *)(uintptr_t)__allocs_root.objects;
    if (!objects) return true;
    const char *off = rt_getenv("ALLOCS_META");
    if (off && strcmp(off, "off") == 0) return true;
    /* ALLOCS_META_STATS=1: one line per call with the time spent (the load benchmark). */
    const char *stats = rt_getenv("ALLOCS_META_STATS");
    struct timespec c0, c1;
    uint64_t w0 = lv_now_ns(), loaded = 0, ntypes = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    uint64_t mask;
    if (!meta_lock_take(&mask, may_wait)) return false;
    bool completed = false;
    uint32_t n = __atomic_load_n(&__allocs_root.nobjects, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < LV_MAX_OBJECTS; i++) {
        if (tried[i]) continue;
        /* A slot's identity (name, build-id) never changes once filled: a different object
         * gets a fresh slot, and only meta (ours) is written later. */
        if (!(__atomic_load_n(&objects[i].flags, __ATOMIC_ACQUIRE) & ALLOCS_OBJECT_F_LIVE))
            continue;
        tried[i] = 1;
        load_object(&objects[i], &completed);
        if (objects[i].meta) {
            loaded++;
            ntypes += ((struct allocs_loaded_meta *)(uintptr_t)objects[i].meta)->ntypes;
        }
    }
    if (completed) /* an incomplete type met its definition: redirect every reference */
        for (uint32_t i = 0; i < n && i < LV_MAX_OBJECTS; i++)
            if (objects[i].meta)
                meta_patch_refs((struct allocs_loaded_meta *)(uintptr_t)objects[i].meta);
    meta_lock_drop(mask);
    if (loaded) heap_sites_meta_changed(); /* wrapper call sites may now be known */
    suballoc_objects_loaded(); /* redirect the new objects' suballocator calls (suballoc.c) */
    if (stats && *stats == '1') {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu =
            (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
        rt_warn("metadata: %llu files, %llu types loaded in %.3f ms (cpu %.3f ms)",
                (unsigned long long)loaded, (unsigned long long)ntypes,
                (double)(lv_now_ns() - w0) / 1e6, cpu);
    }
    return true;
}
