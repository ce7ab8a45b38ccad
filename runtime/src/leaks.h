/* leaks.h: between the leak check at exit (leaks.c: marking and dividing what is lost) and its
 * report (leaks_report.c: the settings from ALLOCS_LEAKS, the groups on a copy of stderr). */
#ifndef ALLOCS_LEAKS_H
#define ALLOCS_LEAKS_H

#include <stdint.h>

struct lk_group {
    uint64_t count, bytes;
    uintptr_t example;
};

/* ALLOCS_LEAKS: -1 off (unset, empty or "0"), 0 report only ("1"), N exit with N after a leak
 * ("exit:N"). */
int leaks_exit_status(void);
/* printf to the report's stderr (a copy kept from start-up); no malloc. */
void leaks_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One kind's total and its groups (indexed by site id), largest first; empties the groups. */
void leaks_report_kind(struct lk_group *groups, uint32_t nsites, const char *title);

#endif
