/* nw-check: the walker core without Node, for the sanitizer build (make sanitize, -fsanitize=
 * address,undefined). It reads the sections and units tests/typegen/native-sanitize.test.ts
 * dumps (typegen's own decompressed sections, so no ELF reader here), walks every unit, then
 * walks every unit of COUNT mutated copies (1-4 bytes changed in the DWARF sections). Any
 * out-of-bounds read, overflow or leak stops it with the sanitizer's report; it prints
 *   ok UNITS WALKED HANDED_BACK
 * otherwise.
 *   nw-check DIR SEED COUNT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw.h"

static const char *const NAMES[] = {"info",     "types",       "abbrev",  "str",
                                    "line_str", "str_offsets", "addr",    "loc",
                                    "loclists", "ranges",      "rnglists"};
#define N_SECTIONS 11
#define UNIT_STRIDE 12

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)) exit(2);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int no_list_static(void *ctx, double form, double start, double lo, double hi, double *value)
{
    (void)ctx, (void)form, (void)start, (void)lo, (void)hi, (void)value;
    return 0;
}

/* Columns of `n` records / items / rows, every one allocated (realloc'd when a walk asks). */
static void size_columns(nw_columns *c, size_t recs, size_t items, size_t rows, size_t slots)
{
#define R(field, count) c->field = realloc(c->field, (count) * sizeof *c->field)
    R(key, recs), R(name_ref, recs), R(byte_size, recs), R(encoding, recs), R(bit_size, recs);
    R(target, recs), R(tag, recs), R(flags, recs), R(head, recs * 4), R(tail, recs * 4);
    R(id_epoch, recs), R(name_epoch, recs), R(code_epoch, recs);
    c->rec_cap = recs;
    R(item_name_ref, items), R(item_a, items), R(item_offset, items), R(item_bit_size, items);
    R(item_bit_offset, items), R(item_next, items);
    c->item_cap = items;
    R(slots, slots);
    c->slots_len = slots;
    R(fcols, rows * 10), R(lcols, rows * 9), R(cd_keys, rows), R(cd_depths, rows);
    R(scopes, rows * 4), R(scols, rows * 7);
    c->f_cap = rows * 10, c->l_cap = rows * 9, c->cd_cap = rows, c->scopes_cap = rows * 4;
    c->s_cap = rows * 7;
#undef R
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}

/* Walks every unit; counts walked and handed-back units. */
static void walk_all(nw_file *f, nw_columns *c, size_t *walked, size_t *back)
{
    nw_hooks h = {NULL, no_list_static};
    size_t recs = c->rec_cap, items = c->item_cap, rows = c->cd_cap;
    for (size_t ui = 0; ui < f->n_units; ui++) {
        size_t need = f->units[ui].end - f->units[ui].offset;
        if (c->slots_len < need) size_columns(c, recs, items, rows, need);
        for (;;) {
            nw_state st = {.synth = 1e12};
            const char *why = NULL;
            int rc = nw_walk_unit(f, ui, 1, c, &h, &st, &why);
            if (rc == NW_OK || rc == NW_FALLBACK) {
                *(rc == NW_OK ? walked : back) += 1;
                break;
            }
            if (rc == NW_ROOM_RECORDS)
                recs *= 2;
            else if (rc == NW_ROOM_ITEMS)
                items *= 2;
            else
                rows *= 2;
            size_columns(c, recs, items, rows, c->slots_len);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: nw-check DIR SEED COUNT\n");
        return 2;
    }
    const char *dir = argv[1];
    rng_state = strtoull(argv[2], NULL, 10) * 2654435761u + 1;
    long count = strtol(argv[3], NULL, 10);
    nw_file f;
    memset(&f, 0, sizeof f);
    nw_sec *secs[N_SECTIONS] = {&f.info,     &f.types,       &f.abbrev,  &f.str,
                                &f.line_str, &f.str_offsets, &f.addr,    &f.loc,
                                &f.loclists, &f.ranges,      &f.rnglists};
    uint8_t *orig[N_SECTIONS];
    for (int i = 0; i < N_SECTIONS; i++) {
        orig[i] = slurp(dir, NAMES[i], &secs[i]->len);
        secs[i]->b = orig[i];
    }
    size_t ulen;
    double *u = (double *)slurp(dir, "units.f64", &ulen);
    size_t mlen;
    char *meta = (char *)slurp(dir, "meta.txt", &mlen);
    meta = realloc(meta, mlen + 1);
    meta[mlen] = 0;
    double has_alt = 0;
    sscanf(meta, "%lf %lf %lf", &f.types_base, &f.alt_info_base, &has_alt);
    f.has_alt = has_alt != 0;
    f.n_units = ulen / sizeof(double) / UNIT_STRIDE;
    f.units = calloc(f.n_units ? f.n_units : 1, sizeof(nw_unit));
    for (size_t i = 0; i < f.n_units; i++) {
        const double *r = u + i * UNIT_STRIDE;
        nw_unit *x = &f.units[i];
        x->src = (int)r[0], x->offset = (size_t)r[1], x->end = (size_t)r[2];
        x->die_offset = (size_t)r[3], x->version = (int)r[4], x->addr_size = (int)r[5];
        x->offset_size = (int)r[6], x->abbrev_offset = (size_t)r[7], x->is_type_unit = r[8] != 0;
        x->signature = (uint64_t)r[9] << 32 | (uint64_t)r[10], x->type_offset = (size_t)r[11];
    }
    nw_columns c;
    memset(&c, 0, sizeof c);
    size_columns(&c, 64, 64, 16, 64);
    size_t walked = 0, back = 0;
    walk_all(&f, &c, &walked, &back);
    printf("original: %zu walked, %zu handed back\n", walked, back);
    /* Mutants: sections copied, 1-4 bytes changed in those the walker reads most. */
    uint8_t *copy[N_SECTIONS] = {0};
    size_t mwalked = 0, mback = 0;
    for (long m = 0; m < count; m++) {
        for (int i = 0; i < N_SECTIONS; i++) {
            copy[i] = realloc(copy[i], secs[i]->len ? secs[i]->len : 1);
            memcpy(copy[i], orig[i], secs[i]->len);
            secs[i]->b = copy[i];
        }
        int n = 1 + (int)(rnd() % 4);
        for (int k = 0; k < n; k++) {
            static const int pick[] = {0, 0, 0, 0, 2, 2, 3, 5, 6, 7, 8, 9, 10};
            int s = pick[rnd() % (sizeof pick / sizeof pick[0])];
            if (secs[s]->len == 0) continue;
            size_t at = rnd() % secs[s]->len;
            copy[s][at] = (rnd() & 1) ? (uint8_t)rnd() : copy[s][at] ^ (uint8_t)(1u << (rnd() % 8));
        }
        nw_file_free(&f);
        for (size_t i = 0; i < f.n_units; i++)
            f.units[i].init = 0;
        walk_all(&f, &c, &mwalked, &mback);
    }
    printf("ok %zu units, %ld mutants: %zu walked, %zu handed back\n", f.n_units, count, mwalked,
           mback);
    nw_file_free(&f);
    for (int i = 0; i < N_SECTIONS; i++)
        free(orig[i]), free(copy[i]);
    free(c.key), free(c.name_ref), free(c.byte_size), free(c.encoding), free(c.bit_size);
    free(c.target), free(c.tag), free(c.flags), free(c.head), free(c.tail), free(c.id_epoch);
    free(c.name_epoch), free(c.code_epoch), free(c.item_name_ref), free(c.item_a);
    free(c.item_offset), free(c.item_bit_size), free(c.item_bit_offset), free(c.item_next);
    free(c.slots), free(c.fcols), free(c.lcols), free(c.cd_keys), free(c.cd_depths);
    free(c.scopes), free(c.scols), free(c.positions[0]), free(c.positions[1]);
    free(f.units), free(u), free(meta);
    return 0;
}
