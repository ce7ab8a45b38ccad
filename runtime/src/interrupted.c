/* interrupted.c: whether this thread runs a signal handler that interrupted the allocator or
 * libc, worked out only when it matters (another thread's fork holds a runtime lock), so the
 * malloc path pays nothing for it.
 *
 * glibc's fork takes malloc's arena locks and stdio's list lock after the atfork handlers took
 * the runtime's. A handler that interrupted code holding one of those must not wait for the
 * fork at all: the fork waits for it, and a periodic signal landing again on every return from
 * a wait would keep both waiting forever. The kernel's signal frame says where the thread was
 * interrupted: on x86-64 the handler's stack holds the restorer's address (glibc's
 * __restore_rt, as sigaction installed it) followed by the ucontext, whose saved rip is the
 * interrupted instruction. We scan this thread's stack above the current frame for restorer
 * words and check each frame's rip against the real allocator's, libc's and ld.so's code. A
 * stale word that happens to match only makes a thread give up at once, which is always safe.
 *
 * The same question guards a query's rescan of the loader's list (objects_rescan in
 * elf_objects.c): dl_iterate_phdr takes the loader's list lock, and a handler that interrupted
 * its own thread inside dlopen, dlclose or dl_iterate_phdr (holding that lock, or halfway
 * through taking it) would wait for it forever. */
#define _GNU_SOURCE
#include "heap.h"
#include "levels.h"

#include <dlfcn.h>
#include <elf.h>
#include <signal.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>

struct code_range {
    uintptr_t lo, hi;
};
/* The real allocator's, libc's and the dynamic loader's executable segments. */
static struct code_range code[3];

/* The executable PT_LOAD extent of the object holding fn. */
static void exec_range_of(void *fn, struct code_range *out)
{
    Dl_info info;
    if (!fn || !dladdr(fn, &info) || !info.dli_fbase) return;
    const Elf64_Ehdr *eh = info.dli_fbase;
    if (eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_phentsize != sizeof(Elf64_Phdr)) return;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
    uintptr_t bias = 0;
    bool first = true;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD) continue;
        if (first) bias = (uintptr_t)eh - (ph[i].p_vaddr & ~(uintptr_t)4095);
        first = false;
        if (ph[i].p_flags & PF_X) {
            out->lo = bias + ph[i].p_vaddr;
            out->hi = out->lo + ph[i].p_memsz;
        }
    }
}

void interrupted_init(void)
{
    exec_range_of((void *)heap_real.malloc, &code[0]);
    exec_range_of(heap_next_symbol("fflush"), &code[1]);
    /* ld.so (at AT_BASE): a handler that interrupted the loader, or libc's dl_iterate_phdr,
     * may have interrupted them holding the loader's list lock (objects_rescan). */
    exec_range_of((void *)getauxval(AT_BASE), &code[2]);
}

static bool in_watched_code(uintptr_t pc)
{
    for (unsigned i = 0; i < sizeof code / sizeof code[0]; i++)
        if (pc >= code[i].lo && pc < code[i].hi) return true;
    return false;
}

/* The kernel's struct sigaction, as rt_sigaction reads it back. */
struct kernel_sigaction {
    uintptr_t handler;
    unsigned long flags;
    uintptr_t restorer;
    uint64_t mask;
};
#define KERNEL_SA_RESTORER 0x04000000ul

bool heap_interrupted_libc(void)
{
    uintptr_t restorers[4];
    unsigned nr = 0;
    for (long sig = 1; sig <= 64; sig++) {
        struct kernel_sigaction ka;
        if (lv_syscall4(SYS_rt_sigaction, sig, 0, (long)&ka, 8) != 0) continue;
        if (ka.handler <= 1 || !(ka.flags & KERNEL_SA_RESTORER)) continue; /* SIG_DFL, SIG_IGN */
        unsigned j = 0;
        while (j < nr && restorers[j] != ka.restorer)
            j++;
        if (j == nr && nr < 4) restorers[nr++] = ka.restorer;
    }
    if (!nr) return false;

    uintptr_t sp = (uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)7, lo = 0, hi = 0;
    stack_t ss;
    if (lv_syscall3(SYS_sigaltstack, 0, (long)&ss, 0) == 0 && (ss.ss_flags & SS_ONSTACK))
        hi = (uintptr_t)ss.ss_sp + ss.ss_size;
    else if (!threads_find_stack(sp, &lo, &hi, NULL, NULL))
        return false;
    const size_t rip_at = 8 + offsetof(ucontext_t, uc_mcontext.gregs) + 8 * REG_RIP;
    for (uintptr_t a = sp; a + rip_at + 8 <= hi; a += 8) {
        uintptr_t w = *(const uintptr_t *)a;
        for (unsigned j = 0; j < nr; j++)
            if (w == restorers[j] && in_watched_code(*(const uintptr_t *)(a + rip_at))) return true;
    }
    return false;
}
