/* .debug_abbrev tables, parsed as dwarf/abbrev.ts parses them (same checks, same values), once
 * per (offset, unit format) and kept for the file. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* The attributes the walk asks about (abbrev.ts PLANNED), each with a slot (here + 1) in every
 * abbrev's plan: name, type, byte_size, sibling, location, declaration, external, abstract_origin,
 * specification, linkage_name, low_pc, high_pc, ranges, frame_base, data_member_location,
 * bit_size, data_bit_offset, bit_offset, encoding, signature, prototyped, const_value, count,
 * upper_bound, lower_bound. */
const int8_t nw_slot_of[0x100] = {
    [0x03] = 1,  [0x49] = 2,  [0x0b] = 3,  [0x01] = 4,  [0x02] = 5,  [0x3c] = 6,  [0x3f] = 7,
    [0x31] = 8,  [0x47] = 9,  [0x6e] = 10, [0x11] = 11, [0x12] = 12, [0x55] = 13, [0x40] = 14,
    [0x38] = 15, [0x0d] = 16, [0x6b] = 17, [0x0c] = 18, [0x3e] = 19, [0x69] = 20, [0x27] = 21,
    [0x1c] = 22, [0x37] = 23, [0x2f] = 24, [0x22] = 25,
}; /* 0: not planned */

/* forms.ts fixedFormSize / formSkip. */
int nw_form_skip(int form, int version, int addr_size, int offset_size)
{
    switch (form) {
    case 0x01: /* addr */
        return addr_size;
    case 0x0b: /* data1 */
    case 0x11: /* ref1 */
    case 0x0c: /* flag */
    case 0x25: /* strx1 */
    case 0x29: /* addrx1 */
        return 1;
    case 0x05: /* data2 */
    case 0x12: /* ref2 */
    case 0x26: /* strx2 */
    case 0x2a: /* addrx2 */
        return 2;
    case 0x27: /* strx3 */
    case 0x2b: /* addrx3 */
        return 3;
    case 0x06: /* data4 */
    case 0x13: /* ref4 */
    case 0x1c: /* ref_sup4 */
    case 0x28: /* strx4 */
    case 0x2c: /* addrx4 */
        return 4;
    case 0x07: /* data8 */
    case 0x14: /* ref8 */
    case 0x20: /* ref_sig8 */
    case 0x24: /* ref_sup8 */
        return 8;
    case 0x1e: /* data16 */
        return 16;
    case 0x0e:   /* strp */
    case 0x17:   /* sec_offset */
    case 0x1f:   /* line_strp */
    case 0x1d:   /* strp_sup */
    case 0x1f20: /* GNU_ref_alt */
    case 0x1f21: /* GNU_strp_alt */
        return offset_size;
    case 0x10: /* ref_addr */
        return version <= 2 ? addr_size : offset_size;
    case 0x19: /* flag_present */
    case 0x21: /* implicit_const */
        return 0;
    case 0x08: /* string */
        return NW_SKIP_CSTR;
    case 0x0d:   /* sdata */
    case 0x0f:   /* udata */
    case 0x15:   /* ref_udata */
    case 0x1a:   /* strx */
    case 0x1b:   /* addrx */
    case 0x22:   /* loclistx */
    case 0x23:   /* rnglistx */
    case 0x1f01: /* GNU_addr_index */
    case 0x1f02: /* GNU_str_index */
        return NW_SKIP_LEB;
    case 0x0a:
        return NW_SKIP_BLOCK1;
    case 0x03:
        return NW_SKIP_BLOCK2;
    case 0x04:
        return NW_SKIP_BLOCK4;
    case 0x09: /* block */
    case 0x18: /* exprloc */
        return NW_SKIP_BLOCK_LEB;
    case 0x16:
        return NW_SKIP_INDIRECT;
    default:
        return NW_SKIP_UNKNOWN;
    }
}

/* abbrev.ts implicitConst: a signed LEB128 summed at half scale (its exact doubles). */
static double implicit_const(const uint8_t *b, size_t *pp, size_t end, nw_trap *t)
{
    size_t p = *pp;
    double half = 0, weight = 0.5;
    unsigned byte;
    do {
        if (p >= end) nw_fail(t, "truncated LEB128");
        byte = b[p++];
        half += (byte & 0x7f) * weight;
        weight *= 128;
    } while (byte >= 0x80);
    if (byte & 0x40) half -= weight;
    double v = half * 2;
    if (!(v >= -NW_TWO63 && v <= NW_TWO64)) nw_fail(t, "LEB128 value wider than 64 bits");
    *pp = p;
    return v;
}

void nw_abbrevs_free(nw_abbrevs *a)
{
    if (!a) return;
    free(a->attrs);
    free(a->forms);
    free(a->offsets);
    free(a->spec_sizes);
    free(a->consts);
    free(a->tags);
    free(a->codes);
    free(a->children);
    free(a->starts);
    free(a->counts);
    free(a->sizes);
    free(a->dense);
    free(a->plan);
    free(a);
}

static void *grow(void *p, size_t n, size_t size, nw_trap *t)
{
    void *q = realloc(p, n * size);
    if (!q) nw_fail(t, "out of memory");
    return q;
}

/* Parses the table at `offset`; on failure the partly built table is freed by the caller. */
static void parse(nw_abbrevs *a, const nw_sec *sec, nw_trap *t)
{
    const uint8_t *b = sec->b;
    size_t end = sec->len;
    if (a->offset > end) nw_fail(t, "abbrev offset out of bounds");
    size_t p = a->offset;
    size_t spec_cap = 0, ab_cap = 0;
    for (;;) {
        double code = rd_uleb(b, &p, end, t);
        if (code == 0) break;
        double tag = rd_uleb(b, &p, end, t);
        int children = rd_u8(b, &p, end, t) != 0;
        size_t start = a->n_specs;
        int off = 0;
        for (;;) {
            double at, formd;
            if (p + 1 < end && b[p] < 0x80 && b[p + 1] < 0x80) {
                at = b[p];
                formd = b[p + 1];
                p += 2;
            } else {
                at = rd_uleb(b, &p, end, t);
                formd = rd_uleb(b, &p, end, t);
            }
            if (at == 0 && formd == 0) break;
            int form = formd < 0x10000 ? (int)formd : -1;
            int sz = form < 0 ? NW_SKIP_UNKNOWN
                              : nw_form_skip(form, a->version, a->addr_size, a->offset_size);
            if (sz == NW_SKIP_UNKNOWN) nw_fail(t, "unknown form in abbrev");
            if (sz == NW_SKIP_INDIRECT) a->has_indirect = 1;
            double cv = 0;
            if (form == 0x21) cv = implicit_const(b, &p, end, t);
            if (a->n_specs == spec_cap) {
                spec_cap = spec_cap ? spec_cap * 2 : 64;
                a->attrs = grow(a->attrs, spec_cap, sizeof(double), t);
                a->forms = grow(a->forms, spec_cap, sizeof(int), t);
                a->offsets = grow(a->offsets, spec_cap, sizeof(int), t);
                a->spec_sizes = grow(a->spec_sizes, spec_cap, sizeof(int), t);
                a->consts = grow(a->consts, spec_cap, sizeof(double), t);
            }
            size_t i = a->n_specs++;
            a->attrs[i] = at;
            a->forms[i] = form;
            a->offsets[i] = off;
            a->spec_sizes[i] = sz;
            a->consts[i] = cv;
            if (off >= 0) off = sz >= 0 ? off + sz : -1;
            if (a->n_specs - start > 4096) nw_fail(t, "abbrev has too many attributes");
        }
        if (a->n_abbrevs == ab_cap) {
            ab_cap = ab_cap ? ab_cap * 2 : 16;
            a->tags = grow(a->tags, ab_cap, sizeof(double), t);
            a->codes = grow(a->codes, ab_cap, sizeof(double), t);
            a->children = grow(a->children, ab_cap, 1, t);
            a->starts = grow(a->starts, ab_cap, sizeof(int), t);
            a->counts = grow(a->counts, ab_cap, sizeof(int), t);
            a->sizes = grow(a->sizes, ab_cap, sizeof(int), t);
        }
        size_t k = a->n_abbrevs++;
        a->tags[k] = tag;
        a->codes[k] = code;
        a->children[k] = (uint8_t)children;
        a->starts[k] = (int)start;
        a->counts[k] = (int)(a->n_specs - start);
        a->sizes[k] = off;
        if (code < NW_DENSE_CODES && (size_t)code + 1 > a->n_dense) a->n_dense = (size_t)code + 1;
    }
    /* Exact sizes: a large file keeps thousands of tables for the whole run. */
    size_t ns = a->n_specs ? a->n_specs : 1, na = a->n_abbrevs ? a->n_abbrevs : 1;
    a->attrs = grow(a->attrs, ns, sizeof(double), t);
    a->forms = grow(a->forms, ns, sizeof(int), t);
    a->offsets = grow(a->offsets, ns, sizeof(int), t);
    a->spec_sizes = grow(a->spec_sizes, ns, sizeof(int), t);
    a->consts = grow(a->consts, ns, sizeof(double), t);
    a->tags = grow(a->tags, na, sizeof(double), t);
    a->codes = grow(a->codes, na, sizeof(double), t);
    a->children = grow(a->children, na, 1, t);
    a->starts = grow(a->starts, na, sizeof(int), t);
    a->counts = grow(a->counts, na, sizeof(int), t);
    a->sizes = grow(a->sizes, na, sizeof(int), t);
    a->plan = malloc(na * NW_SLOTS * sizeof(int16_t));
    if (!a->plan) nw_fail(t, "out of memory");
    memset(a->plan, 0xff, na * NW_SLOTS * sizeof(int16_t));
    for (size_t k = 0; k < a->n_abbrevs; k++)
        for (int j = a->counts[k] - 1; j >= 0; j--) { /* backwards: the first spec wins */
            double at = a->attrs[a->starts[k] + j];
            int slot = at >= 0 && at < 0x100 ? nw_slot_of[(int)at] - 1 : -1;
            if (slot >= 0 && j < 0x7fff) a->plan[k * NW_SLOTS + (size_t)slot] = (int16_t)j;
        }
    a->dense = calloc(a->n_dense ? a->n_dense : 1, sizeof(int));
    if (!a->dense) nw_fail(t, "out of memory");
    for (size_t k = 0; k < a->n_abbrevs; k++) {
        double code = a->codes[k];
        if (code < NW_DENSE_CODES && a->dense[(size_t)code] == 0)
            a->dense[(size_t)code] = (int)k + 1;
    }
}

static size_t hash_slot(size_t offset, size_t size)
{
    return (offset * 0x9E3779B97F4A7C15ull) & (size - 1);
}

/* Adds `a` to the file's hash of tables (grown to keep it at most half full). */
static void hash_add(nw_file *f, nw_abbrevs *a, nw_trap *t)
{
    if ((f->abbrev_count + 1) * 2 > f->abbrev_hash_size) {
        size_t n = f->abbrev_hash_size ? f->abbrev_hash_size * 2 : 256;
        nw_abbrevs **h = calloc(n, sizeof *h);
        if (!h) nw_fail(t, "out of memory");
        for (size_t i = 0; i < f->abbrev_hash_size; i++) {
            nw_abbrevs *x = f->abbrev_hash[i];
            if (!x) continue;
            size_t j = hash_slot(x->offset, n);
            while (h[j])
                j = (j + 1) & (n - 1);
            h[j] = x;
        }
        free(f->abbrev_hash);
        f->abbrev_hash = h;
        f->abbrev_hash_size = n;
    }
    size_t j = hash_slot(a->offset, f->abbrev_hash_size);
    while (f->abbrev_hash[j])
        j = (j + 1) & (f->abbrev_hash_size - 1);
    f->abbrev_hash[j] = a;
    f->abbrev_count++;
}

nw_abbrevs *nw_abbrevs_for(nw_file *f, nw_unit *u, nw_trap *t)
{
    if (u->abbrevs) return u->abbrevs;
    if (f->abbrev_hash_size) {
        size_t j = hash_slot(u->abbrev_offset, f->abbrev_hash_size);
        for (nw_abbrevs *c; (c = f->abbrev_hash[j]); j = (j + 1) & (f->abbrev_hash_size - 1))
            if (c->offset == u->abbrev_offset && c->version == u->version &&
                c->addr_size == u->addr_size && c->offset_size == u->offset_size)
                return u->abbrevs = c;
    }
    nw_abbrevs *volatile a = calloc(1, sizeof *a);
    if (!a) nw_fail(t, "out of memory");
    a->offset = u->abbrev_offset;
    a->version = u->version;
    a->addr_size = u->addr_size;
    a->offset_size = u->offset_size;
    nw_trap inner;
    if (setjmp(inner.jb)) {
        nw_abbrevs_free(a);
        nw_fail(t, inner.why);
    }
    parse(a, &f->abbrev, &inner);
    hash_add(f, a, &inner);
    a->next = f->abbrev_cache;
    f->abbrev_cache = a;
    return u->abbrevs = a;
}

int nw_abbrevs_check(const nw_sec *abbrev, double offset, int version, int addr_size,
                     int offset_size)
{
    if (!(offset >= 0 && offset <= (double)abbrev->len)) return 0;
    nw_abbrevs *volatile a = calloc(1, sizeof *a);
    if (!a) return 0;
    a->offset = (size_t)offset;
    a->version = version;
    a->addr_size = addr_size;
    a->offset_size = offset_size;
    nw_trap t;
    if (setjmp(t.jb)) {
        nw_abbrevs_free(a);
        return 0;
    }
    parse(a, abbrev, &t);
    nw_abbrevs_free(a);
    return 1;
}

/* AbbrevTable.index: the first abbrev with `code`, or -1. */
int nw_abbrev_index(const nw_abbrevs *a, double code)
{
    if (code < NW_DENSE_CODES) return code < (double)a->n_dense ? a->dense[(size_t)code] - 1 : -1;
    for (size_t k = 0; k < a->n_abbrevs; k++)
        if (a->codes[k] == code) return (int)k;
    return -1;
}

/* Frees the file's abbrev tables (the file itself is its owner's). */
void nw_file_free(nw_file *f)
{
    nw_abbrevs *a = f->abbrev_cache;
    while (a) {
        nw_abbrevs *n = a->next;
        nw_abbrevs_free(a);
        a = n;
    }
    f->abbrev_cache = NULL;
    free(f->abbrev_hash);
    f->abbrev_hash = NULL;
    free(f->sig_order);
    f->sig_order = NULL;
    f->n_sigs = 0;
    f->abbrev_hash_size = f->abbrev_count = 0;
    for (size_t i = 0; i < f->n_units; i++)
        f->units[i].abbrevs = NULL;
}
