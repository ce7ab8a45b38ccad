/* maps_line.c: reading /proc/self/maps without the levels part's state: the hex fields every
 * reader parses, and the one line containing an address, for a thread that must find its own
 * stack while a fork holds the levels lock (and may be waiting for this very thread). */
#define _GNU_SOURCE
#include "levels.h"

#include <string.h>
#include <sys/syscall.h>

/* Advances *p past the hex digits at *p (lower case, as the kernel writes them). */
uintptr_t lv_parse_hex(const char **p, const char *end)
{
    uintptr_t v = 0;
    for (; *p < end; (*p)++) {
        char c = **p;
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16u;
        if (d == 16) break;
        v = v * 16 + d;
    }
    return v;
}

/* Whether the maps line [p, nl) contains addr; if so its range and whether a file backs it
 * (a non-zero inode, the fourth field after the range). */
static bool line_contains(const char *p, const char *nl, uintptr_t addr, uintptr_t *b, uintptr_t *e,
                          bool *file)
{
    uintptr_t lo = lv_parse_hex(&p, nl);
    if (p >= nl || *p++ != '-') return false;
    uintptr_t hi = lv_parse_hex(&p, nl);
    if (addr < lo || addr >= hi) return false;
    for (int field = 0; field < 4; field++) { /* perms, offset, dev, then the inode's start */
        while (p < nl && *p != ' ')
            p++;
        while (p < nl && *p == ' ')
            p++;
    }
    *b = lo;
    *e = hi;
    *file = !(p < nl && *p == '0' && (p + 1 == nl || p[1] == ' '));
    return true;
}

/* The /proc/self/maps line containing addr, read into a small stack buffer with no lock and
 * no shared state: for a thread that must find its own stack while a fork holds the levels
 * lock (and may be waiting for this very thread). Only the range and a file flag. */
bool maps_read_line_at(uintptr_t addr, uintptr_t *b, uintptr_t *e, bool *file)
{
    int fd = lv_open_read("/proc/self/maps");
    if (fd < 0) return false;
    char buf[1024];
    size_t have = 0;
    bool found = false, skipping = false;
    for (;;) {
        long r = lv_syscall3(SYS_read, fd, buf + have, sizeof buf - have);
        if (r == -4) continue;
        if (r <= 0) break;
        have += (size_t)r;
        char *p = buf, *end = buf + have, *nl;
        while (!found && (nl = memchr(p, '\n', (size_t)(end - p)))) {
            if (!skipping) found = line_contains(p, nl, addr, b, e, file);
            skipping = false;
            p = nl + 1;
        }
        if (found) break;
        have = (size_t)(end - p);
        memmove(buf, p, have);
        if (have == sizeof buf) { /* a long path: skip the rest of this line */
            have = 0;
            skipping = true;
        }
    }
    lv_syscall3(SYS_close, fd, 0, 0);
    return found;
}
