/* levels_fork.c: the levels part's fork handlers: signals blocked across the whole atfork
 * window, and in the child, the mapping log and the loader's state made consistent again. */
#define _GNU_SOURCE
#include "levels.h"

#include <pthread.h>

/* rt_fork.c's atfork prepare handler takes every runtime lock. A signal whose handler calls
 * mmap or a query on the forking thread between that and the parent/child handlers would wait
 * for a lock its own thread holds. So signals are blocked across that window: our handlers are
 * registered after rt_fork.c's (this constructor runs after rt_init's), and glibc runs prepare
 * handlers in reverse order of registration and the others in order. This blocks with the raw
 * system call (every signal, glibc's internal ones included) before any other prepare handler
 * and restores after every other parent/child handler: rt_fork.c's own blocking, inside its
 * handlers, does not cover that whole window (the stress test deadlocked without this). */
static RT_TLS uint64_t fork_saved_mask;

static void fork_prepare(void)
{
    uint64_t all = ~0ull;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &fork_saved_mask, 8);
}

static void fork_after(void)
{
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &fork_saved_mask, 0, 8);
}

static void fork_after_child(void)
{
    maps_pending_after_fork_child();
    objects_after_fork_child();
    fork_after();
}

__attribute__((constructor(102))) static void levels_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_after, fork_after_child);
}
