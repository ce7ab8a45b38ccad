/* rt_fork.c: every runtime lock held across fork(), in one fixed order, with signals blocked.
 * This is the one file that names every part's lock; the parts only define theirs
 * (internal.h), so no part needs this file and rt_core.c stays a leaf. */
#define _GNU_SOURCE
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* The order the fork handler takes them in: a lock taken while another is held comes after
 * it (wrappers_lock holds symbols_lock and arena_lock inside; custom_lock holds arena_lock;
 * objects_scan_lock and symbols_lock hold levels_lock), so the forking thread and a nesting
 * thread never wait on each other. Every lock is listed, so none needs registering at first use
 * (which would itself need a lock while the fork holds them all). */
static rt_lock_t *const fork_locks[] = {
    &meta_lock,         &wrappers_lock, &custom_lock,  &objects_scan_lock,
    &symbols_lock,      &pool_lock,     &threads_lock, &sites_lock,
    &large_chunks_lock, &levels_lock,   &arena_lock,
};
#define NFORK_LOCKS (sizeof fork_locks / sizeof fork_locks[0])

/* Signals are blocked while the locks are held (levels_fork.c blocks them around the whole
 * fork too): a handler that ran on the forking thread in that window would wait forever for a
 * lock its own thread holds. Each lock is marked as the fork's, so that rt_lock_unless_forking
 * on the other threads gives up instead of waiting for it. */
static RT_TLS sigset_t mask_before_fork;

static void before_fork(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &mask_before_fork);
    for (size_t i = 0; i < NFORK_LOCKS; i++)
        rt_lock_for_fork(fork_locks[i]);
}

static void release_after_fork(void)
{
    for (size_t i = NFORK_LOCKS; i-- > 0;)
        rt_unlock(fork_locks[i]);
    pthread_sigmask(SIG_SETMASK, &mask_before_fork, NULL);
}

static void after_fork_parent(void)
{
    release_after_fork();
}

static void after_fork_child(void)
{
    __allocs_root.pid = (uint32_t)getpid();
    release_after_fork();
}

void rt_fork_handlers_install(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
