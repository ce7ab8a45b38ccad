/* The DIE cursor: dwarf/die.ts's DieCursor, read for read. Each accessor takes
 * the same path as its JS twin (the same forms, the same checks), and where the JS would throw
 * the cursor jumps to the unit's trap instead. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

void nw_cur_set_unit(nw_cur *c, nw_unit *u)
{
    if (c->u == u) return;
    /* The alt file's own units and tables with DW_FORM_indirect stay with the JS walk. */
    if (u->src == 2) nw_fail(c->t, "unit of the dwz alt file");
    nw_abbrevs *a = nw_abbrevs_for(c->f, u, c->t);
    if (a->has_indirect) nw_fail(c->t, "DW_FORM_indirect");
    const nw_sec *s = nw_unit_sec(c->f, u);
    c->u = u;
    c->tab = a;
    c->b = s->b;
    c->buflen = s->len;
    c->end = u->end < s->len ? u->end : s->len;
    c->base = nw_unit_base(c->f, u);
    if (!u->init) nw_unit_init(c->f, u, c->t);
    if (u->init < 0) nw_fail(c->t, "the unit's root DIE is malformed");
}

double nw_cur_key(const nw_cur *c)
{
    return c->base + (double)c->off;
}

/* Steps over one value of `form` at p (forms.ts skipForm); returns the position after it. */
static size_t skip_value(nw_cur *c, size_t p, int form)
{
    const nw_abbrevs *a = c->tab;
    int sz = nw_form_skip(form, a->version, a->addr_size, a->offset_size);
    size_t end = c->end;
    const uint8_t *b = c->b;
    if (p > end) nw_fail(c->t, "DIE runs past the end of its unit");
    size_t n;
    switch (sz) {
    case NW_SKIP_CSTR: {
        const uint8_t *nul = memchr(b + p, 0, end - p);
        if (!nul) nw_fail(c->t, "unterminated string");
        return (size_t)(nul - b) + 1;
    }
    case NW_SKIP_LEB:
        while (p < end && b[p] >= 0x80)
            p++;
        if (p >= end) nw_fail(c->t, "truncated LEB128");
        return p + 1;
    case NW_SKIP_BLOCK1:
        n = rd_u8(b, &p, end, c->t);
        break;
    case NW_SKIP_BLOCK2:
        n = (size_t)rd_fixed(b, &p, end, 2, c->t);
        break;
    case NW_SKIP_BLOCK4:
        n = (size_t)rd_fixed(b, &p, end, 4, c->t);
        break;
    case NW_SKIP_BLOCK_LEB: {
        double d = rd_uleb(b, &p, end, c->t);
        if (!(d <= (double)(end - p))) nw_fail(c->t, "truncated");
        n = (size_t)d;
        break;
    }
    default:
        if (sz < 0) nw_fail(c->t, "unknown form");
        n = (size_t)sz;
    }
    if (end - p < n) nw_fail(c->t, "truncated");
    return p + n;
}

/* DieCursor.read: the DIE at section offset `off`; 0 for a null entry. */
int nw_cur_read(nw_cur *c, size_t off)
{
    size_t end = c->end;
    if (off > end) nw_fail(c->t, "offset out of bounds");
    size_t p = off;
    c->off = off;
    double code = rd_uleb(c->b, &p, end, c->t);
    if (code == 0) {
        c->ai = -1;
        c->tag = 0;
        c->has_children = 0;
        c->next = p;
        return 0;
    }
    const nw_abbrevs *tab = c->tab;
    int k = nw_abbrev_index(tab, code);
    if (k < 0) nw_fail(c->t, "unknown abbrev code");
    c->ai = k;
    c->tag = tab->tags[k];
    c->has_children = tab->children[k];
    c->attr_base = p;
    int size = tab->sizes[k];
    if (size >= 0) {
        c->variable = 0;
        if (end - p < (size_t)size) nw_fail(c->t, "truncated");
        p += (size_t)size;
    } else {
        c->variable = 1;
        size_t s = (size_t)tab->starts[k], n = (size_t)tab->counts[k];
        if (c->n_positions < n) {
            size_t *np = realloc(c->positions, n * 2 * sizeof *np);
            if (!np) nw_fail(c->t, "out of memory");
            c->positions = np;
            c->n_positions = n * 2;
        }
        const int *sizes = tab->spec_sizes;
        const uint8_t *b = c->b;
        for (size_t i = 0; i < n; i++) {
            c->positions[i] = p;
            int sz = sizes[s + i];
            if (sz >= 0) {
                if (end - p < (size_t)sz) nw_fail(c->t, "DIE runs past the end of its unit");
                p += (size_t)sz;
            } else if (sz == NW_SKIP_LEB && p < end && b[p] < 0x80)
                p++;
            else
                p = skip_value(c, p, tab->forms[s + i]);
        }
    }
    c->next = p;
    return 1;
}

/* AbbrevTable.find: the first spec of attribute `at` in the current abbrev, or -1. */
int nw_cur_find(const nw_cur *c, int at)
{
    if (c->ai < 0) return -1;
    const nw_abbrevs *tab = c->tab;
    int s = tab->starts[c->ai], e = s + tab->counts[c->ai];
    int slot = at >= 0 && at < 0x100 ? nw_slot_of[at] - 1 : -1;
    if (slot >= 0 && e - s < 0x7fff) {
        int j = tab->plan[(size_t)c->ai * NW_SLOTS + (size_t)slot];
        return j < 0 ? -1 : s + j;
    }
    for (int i = s; i < e; i++)
        if (tab->attrs[i] == at) return i;
    return -1;
}

static size_t pos_of(const nw_cur *c, int i)
{
    return c->variable ? c->positions[i - c->tab->starts[c->ai]]
                       : c->attr_base + (size_t)c->tab->offsets[i];
}

int nw_cur_form(nw_cur *c, int at)
{
    int i = nw_cur_find(c, at);
    return i < 0 ? 0 : c->tab->forms[i];
}

/* DieCursor.udata (any form; no DW_FORM_indirect reaches here). 0: undefined. */
int nw_cur_udata(nw_cur *c, int at, double *out)
{
    int i = nw_cur_find(c, at);
    if (i < 0) return 0;
    int form = c->tab->forms[i];
    size_t p = pos_of(c, i), end = c->end;
    const uint8_t *b = c->b;
    switch (form) {
    case 0x0b: /* data1 */
    case 0x0c: /* flag */
    case 0x11: /* ref1 */
        *out = rd_fixed(b, &p, end, 1, c->t);
        return 1;
    case 0x05:
    case 0x12:
        *out = rd_fixed(b, &p, end, 2, c->t);
        return 1;
    case 0x06:
    case 0x13:
        *out = rd_fixed(b, &p, end, 4, c->t);
        return 1;
    case 0x07:
    case 0x14:
        *out = rd_fixed(b, &p, end, 8, c->t);
        return 1;
    case 0x0f: /* udata */
    case 0x15: /* ref_udata */
    case 0x22: /* loclistx */
    case 0x23: /* rnglistx */
        *out = rd_uleb(b, &p, end, c->t);
        return 1;
    case 0x0d:
        *out = rd_sleb(b, &p, end, c->t);
        return 1;
    case 0x21:
        *out = c->tab->consts[i];
        return 1;
    case 0x19:
        *out = 1;
        return 1;
    case 0x17: /* sec_offset */
        *out = rd_fixed(b, &p, end, c->u->offset_size, c->t);
        return 1;
    default:
        return 0;
    }
}

/* DieCursor.sdata. */
int nw_cur_sdata(nw_cur *c, int at, double *out)
{
    int i = nw_cur_find(c, at);
    if (i < 0) return 0;
    size_t p = pos_of(c, i), end = c->end;
    const uint8_t *b = c->b;
    double v;
    switch (c->tab->forms[i]) {
    case 0x0b:
        v = rd_fixed(b, &p, end, 1, c->t);
        *out = v >= 128 ? v - 256 : v;
        return 1;
    case 0x05:
        v = rd_fixed(b, &p, end, 2, c->t);
        *out = v >= 0x8000 ? v - 0x10000 : v;
        return 1;
    case 0x06:
        v = rd_fixed(b, &p, end, 4, c->t);
        *out = v >= 2147483648.0 ? v - NW_TWO32 : v;
        return 1;
    case 0x07: {
        double lo = rd_fixed(b, &p, end, 4, c->t);
        double hi = rd_fixed(b, &p, end, 4, c->t);
        *out = (hi >= 2147483648.0 ? hi - NW_TWO32 : hi) * NW_TWO32 + lo;
        return 1;
    }
    case 0x0d:
        *out = rd_sleb(b, &p, end, c->t);
        return 1;
    case 0x0f:
        *out = rd_uleb(b, &p, end, c->t);
        return 1;
    case 0x21:
        *out = c->tab->consts[i];
        return 1;
    default:
        return 0;
    }
}

int nw_cur_flag(nw_cur *c, int at)
{
    double v;
    return nw_cur_udata(c, at, &v) && v != 0;
}

/* The .debug_str offset of string index `idx` (DieCursor.strIndexOffset). */
static double str_index_offset(nw_cur *c, double idx)
{
    const nw_unit *u = c->u;
    const nw_sec *tab = &c->f->str_offsets;
    double base = u->str_offsets_base >= 0 ? u->str_offsets_base : u->version >= 5 ? 8 : 0;
    double at = base + idx * u->offset_size;
    if (!(at >= 0 && at + u->offset_size <= (double)tab->len))
        nw_fail(c->t, "string index out of range");
    size_t p = (size_t)at;
    return rd_fixed(tab->b, &p, tab->len, u->offset_size, c->t);
}

/* DieCursor.strRef: a string attribute as a reference (str-ref.ts); NW_NO_STR if absent. */
double nw_cur_str_ref(nw_cur *c, int at)
{
    int i = nw_cur_find(c, at);
    if (i < 0) return NW_NO_STR;
    size_t p = pos_of(c, i), end = c->end;
    const uint8_t *b = c->b;
    int os = c->u->offset_size;
    switch (c->tab->forms[i]) {
    case 0x08: { /* string: -(3 + key), its terminator checked */
        if (p > end) nw_fail(c->t, "unterminated string");
        if (!memchr(b + p, 0, end - p)) nw_fail(c->t, "unterminated string");
        return -(3 + c->base + (double)p);
    }
    case 0x0e:
        return rd_fixed(b, &p, end, os, c->t);
    case 0x1f:
        return NW_LINE_STR + rd_fixed(b, &p, end, os, c->t);
    case 0x1a:
    case 0x1f02:
        return str_index_offset(c, rd_uleb(b, &p, end, c->t));
    case 0x25:
        return str_index_offset(c, rd_fixed(b, &p, end, 1, c->t));
    case 0x26:
        return str_index_offset(c, rd_fixed(b, &p, end, 2, c->t));
    case 0x27:
        return str_index_offset(c, rd_fixed(b, &p, end, 3, c->t));
    case 0x28:
        return str_index_offset(c, rd_fixed(b, &p, end, 4, c->t));
    case 0x1f21: /* GNU_strp_alt */
    case 0x1d: { /* strp_sup */
        double off = rd_fixed(b, &p, end, os, c->t);
        return c->f->has_alt ? NW_ALT_STR + off : NW_NO_STR;
    }
    default:
        return NW_NO_STR;
    }
}

/* DieCursor.ref: a reference as a DIE key; -1 if absent or unresolvable. */
double nw_cur_ref(nw_cur *c, int at)
{
    int i = nw_cur_find(c, at);
    if (i < 0) return -1;
    size_t p = pos_of(c, i), end = c->end;
    const uint8_t *b = c->b;
    const nw_unit *u = c->u;
    double rel;
    switch (c->tab->forms[i]) {
    case 0x11:
        rel = rd_fixed(b, &p, end, 1, c->t);
        break;
    case 0x12:
        rel = rd_fixed(b, &p, end, 2, c->t);
        break;
    case 0x13:
        rel = rd_fixed(b, &p, end, 4, c->t);
        break;
    case 0x14:
        rel = rd_fixed(b, &p, end, 8, c->t);
        break;
    case 0x15:
        rel = rd_uleb(b, &p, end, c->t);
        break;
    case 0x10: { /* ref_addr: into the same file's .debug_info (its key base is 0) */
        double off = rd_fixed(b, &p, end, u->version <= 2 ? u->addr_size : u->offset_size, c->t);
        return 0 + off;
    }
    case 0x1f20: /* GNU_ref_alt */
    case 0x1c:   /* ref_sup4 */
    case 0x24: { /* ref_sup8 */
        int form = c->tab->forms[i];
        double off = rd_fixed(b, &p, end,
                              form == 0x1c   ? 4
                              : form == 0x24 ? 8
                                             : u->offset_size,
                              c->t);
        return c->f->alt_info_base < 0 ? -1 : c->f->alt_info_base + off;
    }
    case 0x20: { /* ref_sig8 */
        if (end - p < 8 || p > end) nw_fail(c->t, "truncated");
        uint64_t sig = 0;
        for (int k = 7; k >= 0; k--)
            sig = sig << 8 | b[p + (size_t)k];
        return nw_resolve_sig(c->f, sig, c->t);
    }
    default:
        return -1;
    }
    double off = (double)u->offset + rel;
    if (off >= (double)u->end) nw_fail(c->t, "reference outside its unit");
    return c->base + off;
}

static double addr_index(nw_cur *c, double idx)
{
    return nw_addr_index(c->f, c->u, idx, c->t);
}

/* DieCursor.addr. */
int nw_cur_addr(nw_cur *c, int at, double *out)
{
    int i = nw_cur_find(c, at);
    if (i < 0) return 0;
    size_t p = pos_of(c, i), end = c->end;
    const uint8_t *b = c->b;
    switch (c->tab->forms[i]) {
    case 0x01:
        *out = rd_fixed(b, &p, end, c->u->addr_size, c->t);
        return 1;
    case 0x1b:
    case 0x1f01:
        *out = addr_index(c, rd_uleb(b, &p, end, c->t));
        return 1;
    case 0x29:
        *out = addr_index(c, rd_fixed(b, &p, end, 1, c->t));
        return 1;
    case 0x2a:
        *out = addr_index(c, rd_fixed(b, &p, end, 2, c->t));
        return 1;
    case 0x2b:
        *out = addr_index(c, rd_fixed(b, &p, end, 3, c->t));
        return 1;
    case 0x2c:
        *out = addr_index(c, rd_fixed(b, &p, end, 4, c->t));
        return 1;
    default:
        return 0;
    }
}

/* DieCursor.block: sets block_start/block_end; 0 if absent or not a block form. */
int nw_cur_block(nw_cur *c, int at)
{
    int i = nw_cur_find(c, at);
    if (i < 0) return 0;
    size_t p = pos_of(c, i), end = c->end;
    const uint8_t *b = c->b;
    double n;
    switch (c->tab->forms[i]) {
    case 0x18:
    case 0x09:
        n = rd_uleb(b, &p, end, c->t);
        break;
    case 0x0a:
        n = rd_fixed(b, &p, end, 1, c->t);
        break;
    case 0x03:
        n = rd_fixed(b, &p, end, 2, c->t);
        break;
    case 0x04:
        n = rd_fixed(b, &p, end, 4, c->t);
        break;
    default:
        return 0;
    }
    if (!(n >= 0 && (double)p + n <= (double)end)) nw_fail(c->t, "truncated block");
    c->block_start = p;
    c->block_end = p + (size_t)n;
    return 1;
}

/* DieCursor.highPc: DW_AT_high_pc as an address (an offset from low_pc when constant). */
int nw_cur_high_pc(nw_cur *c, double low, double *out)
{
    int f = nw_cur_form(c, 0x12);
    if (f == 0) return 0;
    if (f == 0x01 || (f >= 0x29 && f <= 0x2c) || f == 0x1b) return nw_cur_addr(c, 0x12, out);
    double d;
    if (!nw_cur_udata(c, 0x12, &d)) return 0;
    *out = low + d;
    return 1;
}

/* DieCursor.skipChildren: the offset of the current DIE's next sibling. */
size_t nw_cur_skip_children(nw_cur *c)
{
    if (!c->has_children) return c->next;
    if (nw_cur_find(c, 0x01) >= 0) {
        double k = nw_cur_ref(c, 0x01);
        double off = k - c->base;
        if (off > (double)c->off && off <= (double)c->u->end) return (size_t)off;
    }
    int depth = 1;
    size_t off = c->next, start = c->off;
    while (depth > 0) {
        if (off >= c->u->end) return c->u->end;
        int is_die = nw_cur_read(c, off);
        if (is_die && c->has_children)
            depth++;
        else if (!is_die)
            depth--;
        off = c->next;
    }
    c->off = start;
    return off;
}

void nw_cur_free(nw_cur *c)
{
    free(c->positions);
    c->positions = NULL;
    c->n_positions = 0;
}
