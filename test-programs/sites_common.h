/* sites_common.h: types and the probe printer shared by the allocation-site test programs
 * (tests/typegen/sites-*.test.ts). */
#ifndef SITES_COMMON_H
#define SITES_COMMON_H
#include <allocs.h>
#include <stddef.h>
#include <stdio.h>

struct point {
    int x, y;
};
/* A flexible array member: offsetof-sized allocations are this struct with a tail. */
struct msg {
    int len;
    char data[];
};
struct hdr {
    long tag;
    int n;
};
typedef struct {
    double w;
    int k;
} anon_t;
struct node {
    struct node *next;
    struct point pt;
};

/* `probe NAME type=UNIQTYPE_NAME tsize=type size chunk=chunk size`. */
static inline void sites_show(const char *probe, const void *p)
{
    const struct uniqtype *t = alloc_get_type(p);
    printf("probe %s type=%s tsize=%llu chunk=%llu\n", probe, t ? UNIQTYPE_NAME(t) : "none",
           t ? (unsigned long long)UNIQTYPE_SIZE_IN_BYTES(t) : 0ULL,
           (unsigned long long)alloc_get_size(p));
}
#endif
