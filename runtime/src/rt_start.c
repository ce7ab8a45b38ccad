/* rt_start.c: the runtime's start-up order. It names the parts' start-up functions; none of
 * them needs this file (rt_initialised aside, asked by the API and the leak check). */
#include "internal.h"

#include <unistd.h>

static volatile int init_done;

bool rt_initialised(void)
{
    return __atomic_load_n(&init_done, __ATOMIC_ACQUIRE) != 0;
}

void rt_init(int argc, char **argv, char **envp)
{
    if (__atomic_exchange_n(&init_done, 1, __ATOMIC_ACQ_REL)) return;
    __allocs_root.pid = (uint32_t)getpid();
    heap_init_early();
    levels_init(argc, argv, envp);
    /* before the levels' and the heap's own atfork handlers (registered by their constructors,
     * which run after this one): glibc runs prepare handlers in reverse order of registration */
    rt_fork_handlers_install();
    __atomic_or_fetch(&__allocs_root.flags, ALLOCS_ROOT_F_INITIALISED, __ATOMIC_RELEASE);
}

/* glibc passes (argc, argv, envp) to init_array functions; the auxv level needs them. The
 * priority runs us before other constructors of this library, and since we are preloaded,
 * before the program's own constructors. */
__attribute__((constructor(101))) static void rt_constructor(int argc, char **argv, char **envp)
{
    rt_init(argc, argv, envp);
}
