/* A subprogram's DW_AT_ranges (dwarf/ranges.ts readRanges: .debug_rnglists or .debug_ranges),
 * read as the JS reads it, down to what collect-code.ts keeps: the lowest start and the
 * highest end. */
#include "bytes.h"

/* A list longer than this goes back to JS: Math.min(...starts) there may throw on a huge one. */
#define MAX_ENTRIES 50000

typedef struct {
    size_t n;
    double lo, hi;
} span;

static void add(span *s, double lo, double hi, nw_trap *t)
{
    if (++s->n > MAX_ENTRIES) nw_fail(t, "range list too long for the native walk");
    if (s->n == 1 || lo < s->lo) s->lo = lo;
    if (s->n == 1 || hi > s->hi) s->hi = hi;
}

/* DWARF 5 .debug_rnglists (readRnglist). */
static void rnglist(nw_file *f, const nw_unit *u, size_t p, span *s, nw_trap *t)
{
    const uint8_t *b = f->rnglists.b;
    size_t end = f->rnglists.len;
    int a = u->addr_size;
    double base = u->low_pc;
    for (;;) {
        unsigned kind = rd_u8(b, &p, end, t);
        double lo, hi;
        switch (kind) {
        case 0: /* end_of_list */
            return;
        case 1: /* base_addressx */
            base = nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            break;
        case 2: /* startx_endx */
            lo = nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            hi = nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            add(s, lo, hi, t);
            break;
        case 3: /* startx_length */
            lo = nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            add(s, lo, lo + rd_uleb(b, &p, end, t), t);
            break;
        case 4: /* offset_pair */
            lo = rd_uleb(b, &p, end, t);
            hi = rd_uleb(b, &p, end, t);
            add(s, base + lo, base + hi, t);
            break;
        case 5: /* base_address */
            base = rd_fixed(b, &p, end, a, t);
            break;
        case 6: /* start_end */
            lo = rd_fixed(b, &p, end, a, t);
            hi = rd_fixed(b, &p, end, a, t);
            add(s, lo, hi, t);
            break;
        case 7: /* start_length */
            lo = rd_fixed(b, &p, end, a, t);
            add(s, lo, lo + rd_uleb(b, &p, end, t), t);
            break;
        default:
            nw_fail(t, "unknown range list entry kind");
        }
    }
}

/* DWARF 2-4 .debug_ranges (readDebugRanges). */
static void debug_ranges(nw_file *f, const nw_unit *u, size_t p, span *s, nw_trap *t)
{
    const nw_sec *sec = &f->ranges;
    int a = u->addr_size;
    /* The base selector as a double, as the JS compares it (2^64 - 1 rounds to 2^64). */
    double max = a == 8 ? NW_TWO64 : 4294967295.0;
    double base = u->low_pc;
    for (;;) {
        double lo = rd_fixed(sec->b, &p, sec->len, a, t);
        double hi = rd_fixed(sec->b, &p, sec->len, a, t);
        if (lo == 0 && hi == 0) return;
        if (lo == max)
            base = hi;
        else
            add(s, base + lo, base + hi, t);
    }
}

int nw_ranges_span(nw_file *f, const nw_unit *u, int form, double value, double *lo, double *hi,
                   nw_trap *t)
{
    span s = {0, 0, 0};
    if (u->version >= 5) {
        const nw_sec *sec = &f->rnglists;
        double off = value;
        if (form == 0x23) { /* rnglistx: ranges.ts listOffset */
            double b = u->rnglists_base >= 0 ? u->rnglists_base : 12;
            double at = b + value * u->offset_size;
            if (!(at >= 0 && at <= (double)sec->len)) nw_fail(t, "list offset out of bounds");
            size_t p = (size_t)at;
            off = b + rd_fixed(sec->b, &p, sec->len, u->offset_size, t);
        }
        if (!(off >= 0 && off <= (double)sec->len)) nw_fail(t, "range list offset out of bounds");
        rnglist(f, u, (size_t)off, &s, t);
    } else {
        if (!(value >= 0 && value <= (double)f->ranges.len))
            nw_fail(t, "range list offset out of bounds");
        debug_ranges(f, u, (size_t)value, &s, t);
    }
    if (s.n == 0) return 0;
    *lo = s.lo;
    *hi = s.hi;
    return 1;
}
