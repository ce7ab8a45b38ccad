/* Bounds-checked little-endian reads, as typegen/src/bytes.ts's Cursor makes them: every read
 * checks against `end` and a failure jumps to the unit's trap. Values are doubles computed the
 * way the JS computes them, so the same inputs give the same numbers, rounding included. */
#ifndef NW_BYTES_H
#define NW_BYTES_H

#include "nw.h"

#define NW_TWO32 4294967296.0
#define NW_TWO63 9223372036854775808.0
#define NW_TWO64 18446744073709551616.0

static inline unsigned rd_u8(const uint8_t *b, size_t *p, size_t end, nw_trap *t)
{
    if (*p >= end) nw_fail(t, "truncated");
    return b[(*p)++];
}

static inline double rd_fixed_at(const uint8_t *b, size_t p, int size)
{
    if (size == 1) return b[p];
    if (size == 2) return b[p] | (b[p + 1] << 8);
    if (size == 3) return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
    double lo = (double)(b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 16777216.0;
    if (size == 4) return lo;
    double hi = (double)(b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16)) + b[p + 7] * 16777216.0;
    return hi * NW_TWO32 + lo;
}

/* An unsigned value of `size` (1, 2, 3, 4 or 8) bytes. */
static inline double rd_fixed(const uint8_t *b, size_t *p, size_t end, int size, nw_trap *t)
{
    if (*p > end || end - *p < (size_t)size) nw_fail(t, "truncated");
    double v = rd_fixed_at(b, *p, size);
    *p += (size_t)size;
    return v;
}

/* Cursor.uleb: a sum of doubles; wider than 64 bits fails. */
static inline double rd_uleb(const uint8_t *b, size_t *pp, size_t end, nw_trap *t)
{
    size_t p = *pp;
    if (p >= end) nw_fail(t, "truncated LEB128");
    unsigned byte = b[p++];
    if (byte < 0x80) {
        *pp = p;
        return byte;
    }
    double result = byte & 0x7f;
    double mul = 128;
    for (;;) {
        if (p >= end) nw_fail(t, "truncated LEB128");
        byte = b[p++];
        result += (byte & 0x7f) * mul;
        if (byte < 0x80) break;
        mul *= 128;
    }
    if (!(result <= NW_TWO64)) nw_fail(t, "LEB128 value wider than 64 bits");
    *pp = p;
    return result;
}

/* Cursor.sleb. */
static inline double rd_sleb(const uint8_t *b, size_t *pp, size_t end, nw_trap *t)
{
    size_t p = *pp;
    double result = 0, mul = 1;
    unsigned byte;
    do {
        if (p >= end) nw_fail(t, "truncated LEB128");
        byte = b[p++];
        result += (byte & 0x7f) * mul;
        mul *= 128;
    } while (byte >= 0x80);
    if (byte & 0x40) result -= mul;
    if (!(result >= -NW_TWO63 && result <= NW_TWO64)) nw_fail(t, "LEB128 value wider than 64 bits");
    *pp = p;
    return result;
}

/* A double that is a valid position (integral, 0..max) as a size_t; else the trap. */
static inline size_t rd_pos(double v, nw_trap *t)
{
    if (!(v >= 0 && v <= 9007199254740991.0) || v != (double)(size_t)v) nw_fail(t, "bad offset");
    return (size_t)v;
}

#endif
