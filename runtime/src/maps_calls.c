/* maps_calls.c: the program's own mmap, mmap64, munmap and mremap, interposed. Each calls
 * glibc's function (found with dlsym(RTLD_NEXT) at start-up, so every detail of glibc's
 * behaviour is kept) and then tells maps.c what changed, with the caller's return address as
 * the mapping's site. errno is exactly what glibc left. The runtime's own memory comes from
 * rt_map, a raw syscall, and never shows up here. */
#define _GNU_SOURCE
#include "levels.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
static mmap_fn real_mmap, real_mmap64;
static munmap_fn real_munmap;
static mremap_fn real_mremap;

/* Before maps_init has found glibc's functions: the same system calls glibc makes. */
static void *raw_mmap(void *a, size_t len, int prot, int flags, int fd, off_t off)
{
    long r = off & 4095 ? -EINVAL : lv_syscall6(SYS_mmap, (long)a, (long)len, prot, flags, fd, off);
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return MAP_FAILED;
    }
    return (void *)r;
}

static uint16_t flags_of(int prot, int flags)
{
    return (uint16_t)(ALLOCS_BIG_F_USER_MMAP | (prot & PROT_READ ? ALLOCS_BIG_F_READ : 0) |
                      (prot & PROT_WRITE ? ALLOCS_BIG_F_WRITE : 0) |
                      (prot & PROT_EXEC ? ALLOCS_BIG_F_EXEC : 0) |
                      (flags & MAP_ANONYMOUS ? 0 : ALLOCS_BIG_F_FILE));
}

/* A fresh mapping's range was free, so recording it after the call is safe; MAP_FIXED replaces
 * what was there, so like munmap it holds the lock across the call (see maps.c). When a fork on
 * another thread holds the lock, the change is logged instead (maps_pending.c): waiting could
 * deadlock the fork, which waits next for malloc's locks, perhaps held by this very thread
 * under the signal handler we run in. */
static void *do_mmap(mmap_fn real, void *addr, size_t len, int prot, int flags, int fd, off_t off,
                     void *site)
{
    bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE), locked = false;
    if (fixed && !(locked = levels_write_try_begin())) maps_pending_begin();
    void *r =
        real ? real(addr, len, prot, flags, fd, off) : raw_mmap(addr, len, prot, flags, fd, off);
    int saved = errno;
    if (!fixed && r != MAP_FAILED && len && !(locked = levels_write_try_begin()))
        maps_pending_begin();
    bool logged = (fixed || (r != MAP_FAILED && len)) && !locked;
    if (r != MAP_FAILED && len) {
        uintptr_t b = (uintptr_t)r, e = b + len;
        if (locked)
            maps_note_map_locked(b, e, flags_of(prot, flags), (uintptr_t)site);
        else
            maps_pending_map(b, e, flags_of(prot, flags), (uintptr_t)site);
    }
    if (locked) levels_write_end();
    if (logged) maps_pending_end();
    errno = saved;
    return r;
}

RT_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return do_mmap(real_mmap, addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

RT_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return do_mmap(real_mmap64, addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

RT_EXPORT int munmap(void *addr, size_t len)
{
    int r;
    bool locked = levels_write_try_begin();
    if (!locked) maps_pending_begin();
    if (real_munmap) {
        r = real_munmap(addr, len);
    } else {
        long k = lv_syscall3(SYS_munmap, addr, len, 0);
        if (k < 0) errno = (int)-k;
        r = k < 0 ? -1 : 0;
    }
    int saved = errno;
    uintptr_t b = (uintptr_t)addr, e = b + len;
    if (locked) {
        if (r == 0 && len) maps_note_unmap_locked(b, e);
        levels_write_end();
    } else {
        if (r == 0 && len) maps_pending_unmap(b, e);
        maps_pending_end();
    }
    errno = saved;
    return r;
}

RT_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *new_addr = NULL;
    if (flags & MREMAP_FIXED) { /* glibc reads the fifth argument only in this case */
        va_list ap;
        va_start(ap, flags);
        new_addr = va_arg(ap, void *);
        va_end(ap);
    }
    void *site = __builtin_return_address(0);
    void *r;
    struct allocs_big was;
    bool locked = levels_write_try_begin(), known = false;
    if (!locked) {
        known = maps_lookup((uintptr_t)old, &was);
        maps_pending_begin();
    }
    if (real_mremap) {
        r = real_mremap(old, old_len, new_len, flags, new_addr);
    } else {
        long k = lv_syscall6(SYS_mremap, (long)old, (long)old_len, (long)new_len, flags,
                             (long)new_addr, 0);
        if (k < 0 && k > -4096) errno = (int)-k;
        r = k < 0 && k > -4096 ? MAP_FAILED : (void *)k;
    }
    int saved = errno;
    bool keep_old = flags & 4; /* MREMAP_DONTUNMAP: the old range stays mapped */
    if (locked) {
        if (r != MAP_FAILED)
            maps_note_remap_locked((uintptr_t)old, old_len, (uintptr_t)r, new_len, keep_old,
                                   (uintptr_t)site);
        levels_write_end();
    } else {
        if (r != MAP_FAILED)
            maps_pending_remap((uintptr_t)old, old_len, (uintptr_t)r, new_len, keep_old,
                               (uintptr_t)site, known ? &was : NULL);
        maps_pending_end();
    }
    errno = saved;
    return r;
}

void maps_calls_init(void)
{
    int saved = errno;
    real_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
    real_mmap64 = (mmap_fn)dlsym(RTLD_NEXT, "mmap64");
    real_munmap = (munmap_fn)dlsym(RTLD_NEXT, "munmap");
    real_mremap = (mremap_fn)dlsym(RTLD_NEXT, "mremap");
    errno = saved;
}
