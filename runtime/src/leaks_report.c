/* leaks_report.c: the leak check's report (docs/leaks.md): its setting from ALLOCS_LEAKS, and the
 * groups, by site and type, written with write(2) to a copy of stderr taken at start-up (many
 * programs close stderr at exit). The site is its function (the runtime's own symbol tables,
 * static functions included) and object+offset; no malloc anywhere. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "heap.h"
#include "levels.h"
#include "meta.h"
#include "leaks.h"

#define LK_MAX_GROUPS 40u /* groups printed per kind */

static int report_fd = 2;

void leaks_out(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(report_fd, buf + off, len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
}

static const char *type_name(uint32_t site, char *buf, size_t n)
{
    const struct uniqtype *t = meta_resolve(meta_type_of_chunk(site, heap_site_pc(site), 0));
    if (!t) return "(type unknown)";
    if (t->kind == ALLOCS_KIND_ARRAY && t->count == 0 && t->related) {
        snprintf(buf, n, "%s[]", meta_resolve(t->related)->c_name);
        return buf;
    }
    return t->c_name;
}

static void print_site(uint32_t site, struct lk_group *g)
{
    uintptr_t pc = heap_site_pc(site);
    char tbuf[256];
    const char *type = site ? type_name(site, tbuf, sizeof tbuf) : "(type unknown)";
    const char *object = NULL;
    const char *fn = pc ? symbols_function_at(pc - 1, &object) : NULL; /* static functions too */
    Dl_info di;
    if (pc && dladdr((void *)(pc - 1), &di) && di.dli_fname) {
        const char *obj = strrchr(di.dli_fname, '/');
        obj = obj ? obj + 1 : di.dli_fname;
        if (!fn) fn = di.dli_sname;
        leaks_out("allocs:   %8lu %12lu  %s  at %s (%s+%#lx)  e.g. %#lx\n", (unsigned long)g->count,
                  (unsigned long)g->bytes, type, fn ? fn : "?", *obj ? obj : "?",
                  (unsigned long)(pc - (uintptr_t)di.dli_fbase), (unsigned long)g->example);
    } else {
        leaks_out("allocs:   %8lu %12lu  %s  at pc %#lx  e.g. %#lx\n", (unsigned long)g->count,
                  (unsigned long)g->bytes, type, (unsigned long)pc, (unsigned long)g->example);
    }
}

void leaks_report_kind(struct lk_group *groups, uint32_t nsites, const char *title)
{
    uint64_t count = 0, bytes = 0;
    for (uint32_t s = 0; s < nsites; s++)
        count += groups[s].count, bytes += groups[s].bytes;
    leaks_out("allocs: %s: %lu bytes in %lu chunk%s\n", title, (unsigned long)bytes,
              (unsigned long)count, count == 1 ? "" : "s");
    for (unsigned printed = 0; printed < LK_MAX_GROUPS; printed++) { /* largest first */
        uint32_t best = UINT32_MAX;
        for (uint32_t s = 0; s < nsites; s++)
            if (groups[s].count && (best == UINT32_MAX || groups[s].bytes > groups[best].bytes))
                best = s;
        if (best == UINT32_MAX) break;
        print_site(best, &groups[best]);
        groups[best].count = 0;
    }
}

int leaks_exit_status(void)
{
    const char *v = rt_getenv("ALLOCS_LEAKS");
    if (!v || !*v || strcmp(v, "0") == 0) return -1;
    if (strncmp(v, "exit:", 5) == 0) return atoi(v + 5) & 255;
    return 0;
}

/* Many programs close stderr at exit (gnulib's close_stdout): the report keeps a copy of it, made
 * at start-up, close-on-exec and numbered high, out of the program's way. */
__attribute__((constructor)) static void leaks_keep_stderr(void)
{
    if (leaks_exit_status() < 0) return;
    int fd = fcntl(2, F_DUPFD_CLOEXEC, 900);
    if (fd >= 0) report_fd = fd;
}
