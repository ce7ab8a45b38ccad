/* typegen fixture: the second unit for typegen_dwz_a.c (same header types). */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

struct shared_rec {
    FILE *out;
    struct stat st;
    struct tm when;
};

struct shared_rec rec_b;

int fill_b(struct shared_rec *r)
{
    rec_b = *r;
    return fprintf(r->out, "%d\n", rec_b.when.tm_year) > 0 ? 0 : 1;
}
