/* The first entry of a location list, read as dwarf/loclists.ts's LocListWalker reads it (the
 * same reads, the same checks), for lazy-locations.ts mayBeStatic: a variable whose location
 * list starts with an operation that cannot give a static address is no static, and the walk
 * need not ask JS to decode it. */
#include "bytes.h"

/* ranges.ts listOffset: entry `idx` of the offsets table at `base` (12 when unset). */
static double list_offset(const nw_sec *s, const nw_unit *u, double base, double idx, nw_trap *t)
{
    double b = base >= 0 ? base : 12;
    double at = b + idx * u->offset_size;
    if (!(at >= 0 && at <= (double)s->len)) nw_fail(t, "list offset out of bounds");
    size_t p = (size_t)at;
    return b + rd_fixed(s->b, &p, s->len, u->offset_size, t);
}

/* LocListWalker.entry: the counted expression; its first byte. */
static int entry_op(const nw_sec *s, size_t *p, nw_trap *t)
{
    double n = rd_uleb(s->b, p, s->len, t);
    if (!(n >= 0 && (double)*p + n <= (double)s->len)) nw_fail(t, "truncated expression");
    return n > 0 ? s->b[*p] : 0;
}

/* DWARF 5 .debug_loclists (nextLle up to its first entry). */
static int first_lle(nw_file *f, const nw_unit *u, size_t p, nw_trap *t)
{
    const nw_sec *s = &f->loclists;
    const uint8_t *b = s->b;
    size_t end = s->len;
    int a = u->addr_size;
    for (;;) {
        unsigned kind = rd_u8(b, &p, end, t);
        switch (kind) {
        case 0: /* end_of_list */
            return -1;
        case 1: /* base_addressx */
            nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            break;
        case 2: /* startx_endx */
            nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            return entry_op(s, &p, t);
        case 3: /* startx_length */
            nw_addr_index(f, u, rd_uleb(b, &p, end, t), t);
            rd_uleb(b, &p, end, t);
            return entry_op(s, &p, t);
        case 4: /* offset_pair */
            rd_uleb(b, &p, end, t);
            rd_uleb(b, &p, end, t);
            return entry_op(s, &p, t);
        case 5: /* default_location */
            return entry_op(s, &p, t);
        case 6: /* base_address */
            rd_fixed(b, &p, end, a, t);
            break;
        case 7: /* start_end */
            rd_fixed(b, &p, end, a, t);
            rd_fixed(b, &p, end, a, t);
            return entry_op(s, &p, t);
        case 8: /* start_length */
            rd_fixed(b, &p, end, a, t);
            rd_uleb(b, &p, end, t);
            return entry_op(s, &p, t);
        case 9: /* GNU_view_pair */
            while (p < end && b[p] >= 0x80)
                p++;
            if (p >= end) nw_fail(t, "truncated LEB128");
            p++;
            while (p < end && b[p] >= 0x80)
                p++;
            if (p >= end) nw_fail(t, "truncated LEB128");
            p++;
            break;
        default:
            nw_fail(t, "unknown location list entry kind");
        }
    }
}

/* DWARF 2-4 .debug_loc (nextLoc up to its first entry). */
static int first_loc(nw_file *f, const nw_unit *u, size_t p, nw_trap *t)
{
    const nw_sec *s = &f->loc;
    int a = u->addr_size;
    /* The base selector as a double, as the JS compares it (2^64 - 1 rounds to 2^64). */
    double max = a == 8 ? NW_TWO64 : 4294967295.0;
    for (;;) {
        double lo = rd_fixed(s->b, &p, s->len, a, t);
        double hi = rd_fixed(s->b, &p, s->len, a, t);
        if (lo == 0 && hi == 0) return -1;
        if (lo == max) continue;
        size_t n = (size_t)rd_fixed(s->b, &p, s->len, 2, t);
        if (s->len - p < n) nw_fail(t, "truncated expression");
        return n > 0 ? s->b[p] : 0;
    }
}

int nw_list_first_op(nw_file *f, const nw_unit *u, int form, double value, nw_trap *t)
{
    if (u->version >= 5) {
        const nw_sec *s = &f->loclists;
        double off = form == 0x22 ? list_offset(s, u, u->loclists_base, value, t) : value;
        if (!(off >= 0 && off <= (double)s->len)) nw_fail(t, "list offset out of bounds");
        return first_lle(f, u, (size_t)off, t);
    }
    if (!(value >= 0 && value <= (double)f->loc.len)) nw_fail(t, "list offset out of bounds");
    return first_loc(f, u, (size_t)value, t);
}
