/* typegen fixture: two units that share many header types (stdio, stat, time), so `dwz` moves
 * them into partial units imported by both. */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

struct shared_rec {
    FILE *out;
    struct stat st;
    struct tm when;
};

struct shared_rec rec_a;
int fill_b(struct shared_rec *r);

int main(void)
{
    rec_a.out = stdout;
    return fill_b(&rec_a) + (int)rec_a.st.st_size;
}
