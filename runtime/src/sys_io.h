/* sys_io.h: raw system calls and file reads (sys_io.c), for the levels files. */
#ifndef ALLOCS_SYS_IO_H
#define ALLOCS_SYS_IO_H

#include "internal.h"

#include <sys/syscall.h>

/* ---- raw syscalls: no errno, no libc locks, safe anywhere ---- */
static inline long lv_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define lv_syscall3(n, a, b, c) lv_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define lv_syscall4(n, a, b, c, d)                                                                 \
    lv_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

int lv_open_read(const char *path); /* fd or -errno */
void lv_close(int fd);
long lv_pread(int fd, void *buf, size_t n, uint64_t off); /* bytes or -errno; loops */
long lv_file_size(int fd);                                /* bytes or -errno */
/* Copies n bytes of the process's memory that may have been unmapped concurrently: a syscall
 * that reports EFAULT instead of a fault. false when any byte is unreadable. */
bool lv_safe_read(void *dst, uintptr_t src, size_t n);
uint64_t lv_now_ns(void); /* CLOCK_MONOTONIC */

#endif
