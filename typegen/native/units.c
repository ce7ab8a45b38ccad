/* Units, as dwarf/units.ts and dwarf.ts know them: the key space (a unit's key base, the unit
 * holding a key, Dwarf.seek), a unit's root DIE facts (DieCursor.initUnit), type units by
 * signature (Dwarf.resolveSig) and .debug_addr entries (readAddrIndex). */
#define _GNU_SOURCE /* qsort_r */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

_Noreturn void nw_fail(nw_trap *t, const char *why)
{
    t->why = why;
    longjmp(t->jb, 1);
}

double nw_unit_base(const nw_file *f, const nw_unit *u)
{
    return u->src == 0 ? 0 : u->src == 1 ? f->types_base : f->alt_info_base;
}

const nw_sec *nw_unit_sec(const nw_file *f, const nw_unit *u)
{
    return u->src == 1 ? &f->types : &f->info;
}

/* readAddrIndex: entry `idx` of the unit's .debug_addr table. */
double nw_addr_index(nw_file *f, const nw_unit *u, double idx, nw_trap *t)
{
    const nw_sec *tab = &f->addr;
    double base = u->addr_base >= 0 ? u->addr_base : 8;
    double at = base + idx * u->addr_size;
    if (!(at >= 0 && at + u->addr_size <= (double)tab->len))
        nw_fail(t, "address index out of range");
    size_t p = (size_t)at;
    return rd_fixed(tab->b, &p, tab->len, u->addr_size, t);
}

/* DieCursor.initUnit: the root DIE's bases, with every read the JS makes (any may fail). */
void nw_unit_init(nw_file *f, nw_unit *u, nw_trap *t)
{
    u->init = -1;
    u->str_offsets_base = -1;
    u->addr_base = -1;
    u->loclists_base = -1;
    u->language = 0;
    nw_cur c = {0};
    c.f = f;
    c.t = t;
    c.u = u;
    c.tab = nw_abbrevs_for(f, u, t);
    const nw_sec *s = nw_unit_sec(f, u);
    c.b = s->b;
    c.buflen = s->len;
    c.end = u->end < s->len ? u->end : s->len;
    c.base = nw_unit_base(f, u);
    nw_trap inner;
    if (setjmp(inner.jb)) {
        free(c.positions);
        nw_fail(t, inner.why);
    }
    c.t = &inner;
    u->root_tag = 0;
    u->rnglists_base = -1;
    u->stmt_list = -1;
    u->low_pc = 0;
    u->name_ref = u->comp_dir_ref = u->producer_ref = NW_NO_STR;
    if (u->die_offset < u->end && nw_cur_read(&c, u->die_offset)) {
        double v;
        u->root_tag = c.tag;
        if (nw_cur_udata(&c, 0x72, &v)) u->str_offsets_base = v;
        if (nw_cur_udata(&c, 0x73, &v)) u->addr_base = v;
        if (nw_cur_udata(&c, 0x74, &v)) u->rnglists_base = v;
        if (nw_cur_udata(&c, 0x8c, &v)) u->loclists_base = v;
        if (nw_cur_udata(&c, 0x10, &v)) u->stmt_list = v;
        if (nw_cur_udata(&c, 0x13, &v)) u->language = v;
        if (nw_cur_addr(&c, 0x11, &v)) u->low_pc = v;
        u->name_ref = nw_cur_str_ref(&c, 0x03);
        u->comp_dir_ref = nw_cur_str_ref(&c, 0x1b);
        u->producer_ref = nw_cur_str_ref(&c, 0x25);
    }
    free(c.positions);
    u->init = 1;
}

/* By signature, then by unit order: the first unit with a signature wins, as in Dwarf's map.
 * (qsort_r: no global, since worker threads may each walk a file.) */
static int by_sig(const void *a, const void *b, void *ctx)
{
    const nw_file *f = ctx;
    const nw_unit *x = &f->units[*(const size_t *)a];
    const nw_unit *y = &f->units[*(const size_t *)b];
    if (x->signature != y->signature) return x->signature < y->signature ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : *(const size_t *)a > *(const size_t *)b;
}

double nw_resolve_sig(nw_file *f, uint64_t sig, nw_trap *t)
{
    if (!f->sig_order) {
        f->sig_order = malloc((f->n_units ? f->n_units : 1) * sizeof(size_t));
        if (!f->sig_order) nw_fail(t, "out of memory");
        f->n_sigs = 0;
        for (size_t i = 0; i < f->n_units; i++)
            if (f->units[i].is_type_unit) f->sig_order[f->n_sigs++] = i;
        qsort_r(f->sig_order, f->n_sigs, sizeof(size_t), by_sig, f);
    }
    size_t lo = 0, hi = f->n_sigs;
    while (lo < hi) { /* the first entry with a signature >= sig */
        size_t mid = (lo + hi) / 2;
        if (f->units[f->sig_order[mid]].signature < sig)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == f->n_sigs) return -1;
    const nw_unit *u = &f->units[f->sig_order[lo]];
    if (u->signature != sig) return -1;
    return nw_unit_base(f, u) + (double)u->type_offset;
}

/* Dwarf.unitFor. */
nw_unit *nw_unit_for(nw_file *f, double key)
{
    size_t lo = 0, hi = f->n_units;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        nw_unit *u = &f->units[mid];
        double base = nw_unit_base(f, u);
        if (key < base + (double)u->offset)
            hi = mid;
        else if (key >= base + (double)u->end)
            lo = mid + 1;
        else
            return u;
    }
    return NULL;
}

int nw_seek(nw_cur *c, double key)
{
    nw_unit *u = nw_unit_for(c->f, key);
    if (!u) nw_fail(c->t, "reference to no unit");
    nw_cur_set_unit(c, u);
    double off = key - c->base;
    if (off < (double)u->die_offset) nw_fail(c->t, "reference into a unit header");
    return nw_cur_read(c, (size_t)off);
}
