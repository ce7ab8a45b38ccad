/* elf_dlopen.c: dlopen and dlclose, interposed so that the loaded objects (elf_objects.c) are
 * rescanned as soon as they change.
 * glibc's dlopen looks at its caller's return address to choose the caller's namespace, its
 * RUNPATH/RPATH and $ORIGIN. A C wrapper makes every dlopen look as if this library had called
 * it, and a program relying on its RUNPATH would fail to load its plugins. So dlopen is an
 * assembly stub: when the caller cannot matter (a path with a '/', no '$', and a caller without
 * DT_RPATH, whose chain glibc would search for the new object's dependencies) it calls a C
 * wrapper that rescans as soon as glibc returns; otherwise it tail-jumps into glibc with the
 * return address untouched, and the first query afterwards rescans (lv_dlopen_pending).
 * dlclose does not care who calls it: a plain wrapper that rescans at once, so a closed
 * library's addresses stop resolving. */
#define _GNU_SOURCE
#include "levels.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

void *lv_real_dlopen;
static int (*real_dlclose)(void *);

void *lv_dlopen_early(const char *file, int mode);
void *lv_dlopen_early(const char *file, int mode)
{
    /* Only before objects_init: resolve glibc's dlopen first. */
    void *(*f)(const char *, int) = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    if (!f) return NULL;
    lv_real_dlopen = (void *)f;
    return f(file, mode);
}

static bool has_rpath(uintptr_t dynamic)
{
    for (unsigned i = 0; dynamic && i < 1024; i++) {
        ElfW(Dyn) d;
        if (!lv_safe_read(&d, dynamic + i * sizeof d, sizeof d)) return true;
        if (d.d_tag == DT_NULL) return false;
        if (d.d_tag == DT_RPATH) return true;
    }
    return dynamic != 0;
}

int lv_dlopen_route(const char *file, int mode, uintptr_t ra);
int lv_dlopen_route(const char *file, int mode, uintptr_t ra)
{
    (void)mode;
    if (!objects_ready() || !lv_real_dlopen || !file || !strchr(file, '/') || strchr(file, '$'))
        return 0;
    uint32_t idx;
    struct allocs_object o;
    struct lv_segment seg;
    return objects_find(ra, &idx, &o, &seg) && !has_rpath(lv_objects_priv[idx].dynamic);
}

void *lv_dlopen_wrapped(const char *file, int mode);
void *lv_dlopen_wrapped(const char *file, int mode)
{
    objects_loader_enter();
    void *h = ((void *(*)(const char *, int))lv_real_dlopen)(file, mode);
    objects_loader_leave();
    int saved = errno;
    objects_rescan(true);
    errno = saved;
    return h;
}

__asm__(".text\n"
        ".globl dlopen\n"
        ".type dlopen, @function\n"
        "dlopen:\n"
        "    .cfi_startproc\n"
        "    lock incl lv_dlopen_pending(%rip)\n"
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    subq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    movq 24(%rsp), %rdx\n" /* the caller's return address */
        "    call lv_dlopen_route\n"
        "    addq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testl %eax, %eax\n"
        "    jnz lv_dlopen_wrapped\n"
        "    movq lv_real_dlopen(%rip), %rax\n"
        "    testq %rax, %rax\n"
        "    jz 1f\n"
        "    jmp *%rax\n"
        "1:  jmp lv_dlopen_early\n"
        "    .cfi_endproc\n"
        ".size dlopen, .-dlopen\n");

RT_EXPORT int dlclose(void *handle)
{
    if (!real_dlclose) real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    if (!real_dlclose) return -1;
    objects_loader_enter();
    int r = real_dlclose(handle);
    objects_loader_leave();
    if (objects_ready()) {
        int saved = errno;
        objects_rescan(true);
        errno = saved;
    }
    return r;
}

void elf_dlopen_init(void)
{
    int saved = errno;
    lv_real_dlopen = dlsym(RTLD_NEXT, "dlopen");
    real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    errno = saved;
}
